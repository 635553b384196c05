"""JSON API of e-certs: list, show, explicit issuance, status lists (HTTP translation only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from roadcert import present
from roadcert.accounts.models import Role
from roadcert.accounts.policy import ensure_view_ecert
from roadcert.accounts.web import Caller, Staff
from roadcert.audit.web import record_ecert_event
from roadcert.certificates import status as status_lists
from roadcert.certificates.models import EcertStatus, Operation, SourceKind
from roadcert.certificates.service import Target
from roadcert.deps import Svc
from roadcert.errors import BadInput, Forbidden, NotFound
from roadcert.registry.models import Licence, Practitioner, Vehicle
from roadcert.registry.schemas import RecordId
from roadcert.render.service import render

# Paths are written out in full: status lists live beside /api/ecerts, not under it.
router = APIRouter(tags=["e-certs 电子证照"])


LEDGER_MODELS: dict[SourceKind, type[Licence | Vehicle | Practitioner]] = {
    SourceKind.LICENCE: Licence,
    SourceKind.VEHICLE: Vehicle,
    SourceKind.PRACTITIONER: Practitioner,
}


class IssueRequest(BaseModel):
    """Issue (or re-sign) the e-cert of one ledger record now."""

    model_config = ConfigDict(extra="forbid")
    source_kind: SourceKind
    source_id: RecordId
    type_code: str | None = None


@router.get("/api/ecerts", summary="电子证照列表（持证主体只见本人的，工作人员只见本机关的）")
def list_ecerts(
    svc: Svc,
    caller: Caller,
    type_code: str | None = None,
    status: EcertStatus | None = None,
    holder_code: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    authority_id: int | None = None
    if caller.role in (Role.ENTERPRISE, Role.PRACTITIONER):
        if holder_code not in (None, caller.holder_code):
            raise Forbidden("只能查询本人的电子证照", code="auth.not_yours")
        holder_code = caller.holder_code
    elif caller.role is Role.CLERK:
        authority_id = caller.authority_id
    elif caller.role is not Role.ADMIN:
        raise Forbidden("执法人员请通过核验查看电子证照", code="auth.role")
    rows = svc.issuance.repo.search(
        type_code=type_code,
        status=status,
        authority_id=authority_id,
        holder_code=holder_code,
        offset=offset,
        limit=limit,
    )
    return [
        present.ecert_summary(e) | {"status": str(svc.issuance.effective_status(e))} for e in rows
    ]


@router.get("/api/ecerts/{ref}", summary="电子证照详情（含签名、签名数据与证书链）")
def show_ecert(svc: Svc, caller: Caller, request: Request, ref: str) -> dict[str, Any]:
    ecert = svc.issuance.get(ref)
    ensure_view_ecert(caller, ecert.authority_id, ecert.holder_code)
    record_ecert_event(svc, request, caller, ecert, "certificates:ecert:viewed", via="api")
    return svc.issuance.describe(ecert)


@router.post(
    "/api/ecerts/issue", status_code=201, summary="为台账记录制发电子证照（前置条件不满足时拒绝）"
)
def issue(svc: Svc, _: Staff, data: IssueRequest) -> dict[str, Any]:
    model = {
        SourceKind.LICENCE: "licence",
        SourceKind.VEHICLE: "vehicle",
        SourceKind.PRACTITIONER: "practitioner",
    }[data.source_kind]
    # Through the ledger service, which refuses a record of another authority.
    svc.ledger.get(LEDGER_MODELS[data.source_kind], data.source_id)
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
def face(
    svc: Svc, caller: Caller, request: Request, ref: str, fmt: Literal["pdf", "png"]
) -> Response:
    ecert = svc.issuance.get(ref)
    ensure_view_ecert(caller, ecert.authority_id, ecert.holder_code)
    data = render(svc, ecert, fmt)
    record_ecert_event(svc, request, caller, ecert, "certificates:ecert:downloaded", format=fmt)
    media = "application/pdf" if fmt == "pdf" else "image/png"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'inline; filename="ecert.{fmt}"'}
    )
