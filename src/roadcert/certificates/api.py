"""JSON API of e-certs: list, show, explicit issuance, status lists (HTTP translation only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from roadcert import present
from roadcert.certificates import status as status_lists
from roadcert.certificates.models import EcertStatus, Operation, SourceKind
from roadcert.certificates.service import Target
from roadcert.deps import get_services
from roadcert.errors import BadInput, NotFound
from roadcert.registry.schemas import RecordId
from roadcert.render.service import render
from roadcert.runtime import Services

# Paths are written out in full: status lists live beside /api/ecerts, not under it.
router = APIRouter(tags=["e-certs 电子证照"])
Svc = Annotated[Services, Depends(get_services)]


class IssueRequest(BaseModel):
    """Issue (or re-sign) the e-cert of one ledger record now."""

    model_config = ConfigDict(extra="forbid")
    source_kind: SourceKind
    source_id: RecordId
    type_code: str | None = None


@router.get("/api/ecerts", summary="电子证照列表")
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


@router.get("/api/ecerts/{ref}", summary="电子证照详情（含签名、签名数据与证书链）")
def show_ecert(svc: Svc, ref: str) -> dict[str, Any]:
    return svc.issuance.describe(svc.issuance.get(ref))


@router.post(
    "/api/ecerts/issue", status_code=201, summary="为台账记录制发电子证照（前置条件不满足时拒绝）"
)
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


@router.get(
    "/api/status-lists/{authority_uscc}",
    response_class=Response,
    tags=["status lists 状态列表"],
    summary="核发机关的签名状态列表（Token Status List，CWT；格式见 docs/trust.md）",
    responses={
        200: {"content": {status_lists.MEDIA_TYPE: {}}},
        404: {"description": "核发机关不存在（JSON {code, message}）"},
    },
)
def status_list(svc: Svc, authority_uscc: str) -> Response:
    authority = svc.ledger.repo.authority_by_uscc(authority_uscc)
    if authority is None:
        raise NotFound(f"核发机关 {authority_uscc} 不存在", code="authority.not_found")
    ttl = svc.keys.settings.status_list_ttl
    token = status_lists.build_status_list(
        svc.session, authority, svc.keys, svc.issuance.clock(), ttl
    )
    return Response(
        content=token,
        media_type=status_lists.MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={ttl}"},
    )


@router.get(
    "/api/ecerts/{ref}/{fmt}",
    summary="电子证照照面（pdf 内嵌签名证照；png 图片），按需生成",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/png": {}}}},
)
def face(svc: Svc, ref: str, fmt: Literal["pdf", "png"]) -> Response:
    data = render(svc, svc.issuance.get(ref), fmt)
    media = "application/pdf" if fmt == "pdf" else "image/png"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'inline; filename="ecert.{fmt}"'}
    )
