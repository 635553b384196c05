"""JSON API of e-certs: list, show, explicit issuance (HTTP translation only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from roadcert import present
from roadcert.certificates.models import EcertStatus, Operation, SourceKind
from roadcert.certificates.service import Target
from roadcert.deps import get_services
from roadcert.errors import BadInput
from roadcert.registry.schemas import RecordId
from roadcert.runtime import Services

router = APIRouter(prefix="/api/ecerts", tags=["e-certs 电子证照"])
Svc = Annotated[Services, Depends(get_services)]


class IssueRequest(BaseModel):
    """Issue (or re-sign) the e-cert of one ledger record now."""

    model_config = ConfigDict(extra="forbid")
    source_kind: SourceKind
    source_id: RecordId
    type_code: str | None = None


@router.get("", summary="电子证照列表")
def list_ecerts(
    svc: Svc,
    type_code: str | None = None,
    status: EcertStatus | None = None,
    holder_code: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    rows = svc.issuance.repo.search(
        type_code=type_code, status=status, holder_code=holder_code, offset=offset, limit=limit
    )
    return [
        present.ecert_summary(e) | {"status": str(svc.issuance.effective_status(e))} for e in rows
    ]


@router.get("/{ref}", summary="电子证照详情（含签名、签名数据与证书链）")
def show_ecert(svc: Svc, ref: str) -> dict[str, Any]:
    return svc.issuance.describe(svc.issuance.get(ref))


@router.post("/issue", status_code=201, summary="为台账记录制发电子证照（前置条件不满足时拒绝）")
def issue(svc: Svc, data: IssueRequest) -> dict[str, Any]:
    model = {
        SourceKind.LICENCE: "licence",
        SourceKind.VEHICLE: "vehicle",
        SourceKind.PRACTITIONER: "practitioner",
    }[data.source_kind]
    targets = svc.issuance.targets_for(model, data.source_id)
    if data.type_code is not None:
        targets = [t for t in targets if t.type_code == data.type_code]
    if not targets:
        raise BadInput("该记录没有可制发的证照类型", code="issuance.no_target", field="type_code")
    target: Target = targets[0]
    operation = Operation.REISSUE if svc.issuance.current(target) else Operation.NEW
    ecert = svc.issuance.issue(target, operation)
    svc.session.flush()
    return svc.issuance.describe(ecert, with_signature=False)
