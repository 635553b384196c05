"""JSON API of the ledger and its business operations (HTTP translation only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from roadcert import present
from roadcert.accounts.policy import authority_scope
from roadcert.accounts.web import SAFE_METHODS, Admin, Staff, client_ip
from roadcert.certificates.models import Operation
from roadcert.deps import Svc
from roadcert.errors import BadInput, Forbidden
from roadcert.registry.models import (
    EntryKind,
    Licence,
    Operator,
    Practitioner,
    Vehicle,
)
from roadcert.registry.schemas import (
    MAX_ID,
    AuthorityIn,
    EntryIn,
    LicenceChange,
    LicenceIn,
    OperatorChange,
    OperatorIn,
    PractitionerChange,
    PractitionerIn,
    QualificationIn,
    Renewal,
    VehicleChange,
    VehicleIn,
)
from roadcert.registry.service import MAX_PHOTO_BYTES, findings_of, snapshot


# A clerk sees and changes only the own authority's records (LedgerService.scope), the
# provincial admin the whole province.
def audit_changes(request: Request, svc: Svc, caller: Staff) -> Iterator[None]:
    """After a ledger change succeeds, an audit event in the same transaction (a refusal raises
    through the ``yield`` and records nothing). The history row says what changed; this says who
    did it through the API, from where."""
    yield
    if request.method not in SAFE_METHODS:
        svc.audit.record(
            "registry:record:changed",
            caller.actor,
            request.url.path.removeprefix("/api/"),
            user_id=caller.user_id,
            client_ip=client_ip(request),
            method=request.method,
            via="api",
        )


# Every ledger route is for staff (require_staff runs inside audit_changes' Staff).
router = APIRouter(
    prefix="/api",
    tags=["ledger 台账"],
    dependencies=[Depends(audit_changes, scope="function")],
)
Offset = Annotated[int, Query(ge=0)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]

MODELS: dict[str, Any] = {
    "operators": Operator,
    "licences": Licence,
    "vehicles": Vehicle,
    "practitioners": Practitioner,
}


@router.get("/authorities", summary="核发机关列表")
def list_authorities(svc: Svc) -> list[dict[str, Any]]:
    return [snapshot(a) for a in svc.ledger.repo.authorities()]


@router.post("/authorities", status_code=201, summary="新增核发机关")
def create_authority(svc: Svc, _: Admin, data: AuthorityIn) -> dict[str, Any]:
    return snapshot(svc.ledger.create_authority(data))


@router.put("/authorities/{authority_id}/ecert-enabled", summary="启用或停用电子证照")
def enable_authority(
    svc: Svc, _: Admin, authority_id: PathId, enabled: Annotated[bool, Body(embed=True)]
) -> dict[str, Any]:
    return snapshot(svc.ledger.set_ecert_enabled(authority_id, enabled))


def _scoped(caller: Staff, authority_id: int | None) -> int | None:
    """The authority a list is limited to: a clerk's own, whatever was asked."""
    scope = authority_scope(caller)
    if scope is None:
        return authority_id
    if authority_id not in (None, scope):
        raise Forbidden("无权访问：该记录属于其他核发机关", code="auth.not_yours")
    return scope


def _page(svc: Svc, kind: str, authority_id: int | None, offset: int, limit: int) -> dict[str, Any]:
    rows, total = svc.ledger.repo.page(
        MODELS[kind], authority_id=authority_id, offset=offset, limit=limit
    )
    return {"total": total, "offset": offset, "items": [snapshot(r) for r in rows]}


for _kind in MODELS:

    def _make(kind: str) -> None:
        @router.get(f"/{kind}", summary=f"{kind} 列表（分页）", name=f"list_{kind}")
        def list_records(
            svc: Svc,
            caller: Staff,
            authority_id: QueryId | None = None,
            offset: Offset = 0,
            limit: Limit = 50,
        ) -> dict[str, Any]:
            return _page(svc, kind, _scoped(caller, authority_id), offset, limit)

        @router.get(f"/{kind}/{{record_id}}", summary=f"{kind} 详情", name=f"get_{kind}")
        def get_record(svc: Svc, record_id: PathId) -> dict[str, Any]:
            record = svc.ledger.get(MODELS[kind], record_id)
            out = snapshot(record)
            out["findings"] = [present.finding(f) for f in findings_of(record)]
            return out

        @router.get(
            f"/{kind}/{{record_id}}/history", summary=f"{kind} 变更历史", name=f"history_{kind}"
        )
        def history(svc: Svc, record_id: PathId) -> list[dict[str, Any]]:
            return [
                {
                    "operation": h.operation,
                    "actor": h.actor,
                    "changed_at": h.changed_at.isoformat(),
                    "snapshot": h.snapshot,
                }
                for h in svc.ledger.history(MODELS[kind], record_id)
            ]

    _make(_kind)


@router.post("/operators", status_code=201, summary="新增经营业户")
def create_operator(svc: Svc, data: OperatorIn) -> dict[str, Any]:
    return present.outcome(svc.business.new_operator(data))


@router.patch("/operators/{operator_id}", summary="业户变更（其全部证照换发新版本）")
def change_operator(svc: Svc, operator_id: PathId, data: OperatorChange) -> dict[str, Any]:
    return present.outcome(svc.business.change_operator(operator_id, data))


@router.post("/licences", status_code=201, summary="经营许可证新增（同步制发电子证照）")
def create_licence(svc: Svc, data: LicenceIn) -> dict[str, Any]:
    return present.outcome(svc.business.new_licence(data))


@router.patch("/licences/{licence_id}", summary="经营许可证变更")
def change_licence(svc: Svc, licence_id: PathId, data: LicenceChange) -> dict[str, Any]:
    return present.outcome(svc.business.change_licence(licence_id, data))


@router.post("/licences/{licence_id}/renew", summary="经营许可证换证")
def renew_licence(svc: Svc, licence_id: PathId, data: Renewal) -> dict[str, Any]:
    return present.outcome(svc.business.renew_licence(licence_id, data))


@router.post("/licences/{licence_id}/review", summary="经营许可证审验")
def review_licence(svc: Svc, licence_id: PathId, data: Renewal) -> dict[str, Any]:
    return present.outcome(svc.business.renew_licence(licence_id, data, Operation.REVIEW))


@router.post("/licences/{licence_id}/reissue", summary="经营许可证补证")
def reissue_licence(svc: Svc, licence_id: PathId) -> dict[str, Any]:
    return present.outcome(svc.business.reissue_licence(licence_id))


@router.post("/licences/{licence_id}/cancel", summary="经营许可证注销（或吊销）")
def cancel_licence(
    svc: Svc, licence_id: PathId, revoked: Annotated[bool, Body(embed=True)] = False
) -> dict[str, Any]:
    return present.outcome(svc.business.cancel_licence(licence_id, revoked))


@router.post("/vehicles", status_code=201, summary="车辆新增（同步制发道路运输证）")
def create_vehicle(svc: Svc, data: VehicleIn) -> dict[str, Any]:
    return present.outcome(svc.business.new_vehicle(data))


@router.patch("/vehicles/{vehicle_id}", summary="车辆变更")
def change_vehicle(svc: Svc, vehicle_id: PathId, data: VehicleChange) -> dict[str, Any]:
    return present.outcome(svc.business.change_vehicle(vehicle_id, data))


@router.post("/vehicles/{vehicle_id}/review", summary="车辆年审（审验）")
def review_vehicle(svc: Svc, vehicle_id: PathId, data: Renewal) -> dict[str, Any]:
    return present.outcome(svc.business.review_vehicle(vehicle_id, data))


@router.post("/vehicles/{vehicle_id}/renew", summary="道路运输证换证")
def renew_vehicle(svc: Svc, vehicle_id: PathId, data: Renewal) -> dict[str, Any]:
    return present.outcome(svc.business.renew_vehicle(vehicle_id, data))


@router.post("/vehicles/{vehicle_id}/reissue", summary="道路运输证补证")
def reissue_vehicle(svc: Svc, vehicle_id: PathId) -> dict[str, Any]:
    return present.outcome(svc.business.reissue_vehicle(vehicle_id))


@router.post("/vehicles/{vehicle_id}/cancel", summary="道路运输证注销")
def cancel_vehicle(svc: Svc, vehicle_id: PathId) -> dict[str, Any]:
    return present.outcome(svc.business.cancel_vehicle(vehicle_id))


async def image_body(request: Request) -> bytes:
    if request.headers.get("content-type", "").split(";")[0] not in ("image/jpeg", "image/png"):
        raise BadInput("照片须以 image/jpeg 或 image/png 上传", code="photo.format", field="photo")
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_PHOTO_BYTES:
        raise BadInput(
            f"照片过大：上限 {MAX_PHOTO_BYTES} 字节", code="photo.too_large", field="photo"
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PHOTO_BYTES:
            raise BadInput(
                f"照片过大：上限 {MAX_PHOTO_BYTES} 字节", code="photo.too_large", field="photo"
            )
    return body


@router.put("/vehicles/{vehicle_id}/photo", summary="上传车辆照片（JPEG/PNG）")
def vehicle_photo(
    svc: Svc, vehicle_id: PathId, body: Annotated[bytes, Depends(image_body)]
) -> dict[str, Any]:
    return present.outcome(svc.business.vehicle_photo(vehicle_id, body))


@router.post("/practitioners", status_code=201, summary="从业人员新增（同步制发从业资格证）")
def create_practitioner(svc: Svc, data: PractitionerIn) -> dict[str, Any]:
    return present.outcome(svc.business.new_practitioner(data))


@router.patch("/practitioners/{practitioner_id}", summary="从业资格证变更")
def change_practitioner(
    svc: Svc, practitioner_id: PathId, data: PractitionerChange
) -> dict[str, Any]:
    return present.outcome(svc.business.change_practitioner(practitioner_id, data))


@router.post("/practitioners/{practitioner_id}/qualifications", summary="增加从业资格类别")
def add_qualification(svc: Svc, practitioner_id: PathId, data: QualificationIn) -> dict[str, Any]:
    return present.outcome(svc.business.add_qualification(practitioner_id, data))


@router.post(
    "/practitioners/{practitioner_id}/qualifications/{category}/renew", summary="从业资格换证"
)
def renew_qualification(
    svc: Svc, practitioner_id: PathId, category: str, data: Renewal
) -> dict[str, Any]:
    return present.outcome(svc.business.renew_qualification(practitioner_id, category, data))


@router.post(
    "/practitioners/{practitioner_id}/qualifications/{category}/reissue", summary="从业资格补证"
)
def reissue_qualification(svc: Svc, practitioner_id: PathId, category: str) -> dict[str, Any]:
    return present.outcome(svc.business.reissue_qualification(practitioner_id, category))


@router.post(
    "/practitioners/{practitioner_id}/qualifications/{category}/cancel", summary="从业资格注销"
)
def cancel_qualification(svc: Svc, practitioner_id: PathId, category: str) -> dict[str, Any]:
    return present.outcome(svc.business.cancel_qualification(practitioner_id, category))


@router.post("/practitioners/{practitioner_id}/integrity", summary="诚信考核签注")
def integrity(svc: Svc, practitioner_id: PathId, data: EntryIn) -> dict[str, Any]:
    return present.outcome(
        svc.business.add_entry(practitioner_id, EntryKind.INTEGRITY_ASSESSMENT, data)
    )


@router.post("/practitioners/{practitioner_id}/education", summary="继续教育记录")
def education(svc: Svc, practitioner_id: PathId, data: EntryIn) -> dict[str, Any]:
    return present.outcome(
        svc.business.add_entry(practitioner_id, EntryKind.CONTINUING_EDUCATION, data)
    )


@router.put("/practitioners/{practitioner_id}/photo", summary="上传个人照片（JPEG/PNG）")
def practitioner_photo(
    svc: Svc, practitioner_id: PathId, body: Annotated[bytes, Depends(image_body)]
) -> dict[str, Any]:
    return present.outcome(svc.business.practitioner_photo(practitioner_id, body))


@router.get("/quality", summary="不规范数据清单（按核发机关）")
def quality_list(
    svc: Svc, caller: Staff, authority_id: QueryId | None = None
) -> list[dict[str, Any]]:
    authority_id = _scoped(caller, authority_id)
    return [
        {
            "authority_id": i.authority_id,
            "entity": i.entity,
            "entity_id": i.entity_id,
            "field": i.field,
            "rule": i.rule,
            "message": i.message,
            "value": i.value,
            "detected_at": i.detected_at.isoformat(),
        }
        for i in svc.ledger.repo.all_open_issues(authority_id)
    ]
