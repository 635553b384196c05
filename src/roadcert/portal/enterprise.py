"""Pages of an enterprise user (经营业户, seed 000 §1.1): its licences, its vehicles, their photos.

The enterprise account is bound to a USCC; every operator record carrying that USCC is its own.
The e-cert itself opens on /ecerts/{identifier} (face, print, save), which checks the holder again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from roadcert.accounts.policy import NOT_YOURS, Principal
from roadcert.accounts.web import Enterprise, Svc, client_ip
from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.faces import label, scope_text
from roadcert.errors import BadInput, Forbidden, NotFound, RoadcertError
from roadcert.kit.chinatime import china_time
from roadcert.portal.ledger_pages import (
    PAGE_SIZE,
    cells_by_source,
    image_response,
    page_number,
    require_upload_size,
    search_text,
    why_no_ecert,
)
from roadcert.portal.pages import pager, redirect, render
from roadcert.portal.repository import PortalRepository
from roadcert.registry.models import Licence, Operator, Photo, PhotoReview, Vehicle
from roadcert.registry.photos import VEHICLE_PHOTO_RULES
from roadcert.registry.schemas import MAX_ID
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.runtime import Services

router = APIRouter(prefix="/enterprise", include_in_schema=False)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Page = Annotated[int, Query()]
# A multipart form of one photo and the CSRF token is a little larger than the photo.
MAX_UPLOAD_BYTES = MAX_PHOTO_BYTES + 64 * 1024

#: The preconditions of seed 000 §1.1.4, shown when an e-cert cannot be viewed.
PRECONDITIONS = (
    "证件的核发机关支持电子证照",
    "业户经营状态处于营运状态",
    "车辆处于营运或停运状态",
    "业户在系统中具备完整正确的 18 位统一社会信用代码",
)
REVIEW_LABELS = {
    PhotoReview.PENDING: "待审核",
    PhotoReview.APPROVED: "审核通过",
    PhotoReview.REJECTED: "审核不通过",
}


def _operators(svc: Services, caller: Principal) -> list[Operator]:
    if not caller.holder_code:
        return []
    return list(PortalRepository(svc.session).operators_by_uscc(caller.holder_code))


def _own(caller: Principal, operator: Operator) -> None:
    if not caller.holder_code or operator.uscc != caller.holder_code:
        raise Forbidden(NOT_YOURS, code="auth.not_yours")


def _licence(svc: Services, caller: Principal, licence_id: int) -> Licence:
    licence = svc.ledger.repo.get(Licence, licence_id)
    if licence is None:
        raise NotFound(f"经营许可证 {licence_id} 不存在", code="licence.not_found")
    _own(caller, licence.operator)
    return licence


def _vehicle(svc: Services, caller: Principal, vehicle_id: int) -> Vehicle:
    vehicle = svc.ledger.repo.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound(f"车辆 {vehicle_id} 不存在", code="vehicle.not_found")
    _own(caller, vehicle.operator)
    return vehicle


# -- 业户电子证照 ----------------------------------------------------------------------------


def licences_context(svc: Services, caller: Principal, page: int) -> dict[str, Any]:
    """The enterprise's licences with their e-certs (seed 000 §1.1.2–1.1.3)."""
    operators = _operators(svc, caller)
    licences = PortalRepository(svc.session).licences_of([o.id for o in operators])
    pg = pager(page, len(licences), PAGE_SIZE)
    shown = licences[pg["offset"] : pg["offset"] + PAGE_SIZE]
    cells = cells_by_source(svc, "licence", [lic.id for lic in shown])
    rows = [
        {
            "index": pg["offset"] + i + 1,
            "id": lic.id,
            "number": lic.number,
            "type_name": CATALOGUE[lic.type_code].name if lic.type_code in CATALOGUE else "",
            "scopes": scope_text(lic.business_scopes),
            "valid_from": lic.valid_from.isoformat(),
            "valid_until": lic.valid_until.isoformat(),
            "authority": lic.authority.name,
            "ecerts": cells.get(lic.id, []),
        }
        for i, lic in enumerate(shown)
    ]
    return {
        "title": "业户电子证照",
        "holder_name": operators[0].name if operators else caller.display_name,
        "holder_code": caller.holder_code or "",
        "rows": rows,
        "pg": pg,
        "query_base": "",
    }


@router.get("/licences", response_class=HTMLResponse)
def licences(request: Request, svc: Svc, caller: Enterprise, page: Page = 1) -> HTMLResponse:
    context = licences_context(svc, caller, page_number(page))
    return render(request, caller, "enterprise_licences.html", context)


def notice_context(what: str, number: str, reasons: list[str], back: str) -> dict[str, Any]:
    """The message seed 000 §1.1.2 shows when a certificate has no e-cert to view."""
    return {
        "title": "暂无电子证照",
        "what": what,
        "number": number,
        "reasons": reasons or ["该证照尚未制发电子证照，请联系核发机关。"],
        "preconditions": PRECONDITIONS,
        "back": back,
    }


@router.get("/licences/{licence_id}", response_class=HTMLResponse)
def licence_ecert(request: Request, svc: Svc, caller: Enterprise, licence_id: RecordId) -> Response:
    """查看: the licence's e-cert, or why there is none."""
    licence = _licence(svc, caller, licence_id)
    cells = cells_by_source(svc, "licence", [licence.id]).get(licence.id)
    if cells:
        return RedirectResponse(f"/ecerts/{cells[0].identifier}", status_code=303)
    reasons = why_no_ecert(svc, svc.issuance.targets_for_licence(licence))
    context = notice_context("经营许可证", licence.number, reasons, "/enterprise/licences")
    return render(request, caller, "enterprise_notice.html", context)


# -- 车辆电子证照 ----------------------------------------------------------------------------


def _photo_state(vehicle: Vehicle, pending: set[int]) -> str:
    if vehicle.id in pending:
        return "待审核"
    return "已上传" if vehicle.photo_id else "缺少照片"


def vehicles_context(svc: Services, caller: Principal, text: str, page: int) -> dict[str, Any]:
    """The enterprise's vehicles, searched by plate or 道路运输证号 (seed 000 §1.1.5.1)."""
    repo = PortalRepository(svc.session)
    operators = _operators(svc, caller)
    pg_offset = (page - 1) * PAGE_SIZE
    vehicles, total = repo.vehicles(
        authority_id=None,
        operator_ids=[o.id for o in operators],
        text=text,
        offset=pg_offset,
        limit=PAGE_SIZE,
    )
    pg = pager(page, total, PAGE_SIZE)
    cells = cells_by_source(svc, "vehicle", [v.id for v in vehicles])
    pending = {
        s.subject_id
        for v in vehicles
        for s in svc.photos.of_subject("vehicle", v.id)
        if s.review == PhotoReview.PENDING
    }
    rows = [
        {
            "index": pg_offset + i + 1,
            "id": v.id,
            "plate": v.plate,
            "plate_color": label(codes.PlateColor, v.plate_color),
            "vehicle_type": label(codes.VehicleType, v.vehicle_type),
            "transport_number": v.transport_number,
            "valid_until": v.valid_until.isoformat(),
            "status": label(codes.VehicleStatus, v.status),
            "photo": _photo_state(v, pending),
            "ecerts": cells.get(v.id, []),
        }
        for i, v in enumerate(vehicles)
    ]
    return {
        "title": "车辆电子证照",
        "q": text,
        "rows": rows,
        "pg": pg,
        "query_base": f"q={text}&" if text else "",
    }


@router.get("/vehicles", response_class=HTMLResponse)
def vehicles(
    request: Request, svc: Svc, caller: Enterprise, q: str = "", page: Page = 1
) -> HTMLResponse:
    context = vehicles_context(svc, caller, search_text(q), page_number(page))
    return render(request, caller, "enterprise_vehicles.html", context)


def vehicle_context(svc: Services, vehicle: Vehicle) -> dict[str, Any]:
    """车辆详细信息: the ledger data, the e-cert, the photo and its uploads."""
    cells = cells_by_source(svc, "vehicle", [vehicle.id]).get(vehicle.id, [])
    reasons = [] if cells else why_no_ecert(svc, svc.issuance.targets_for_vehicle(vehicle))
    uploads = [
        {
            "id": s.id,
            "submitted_at": china_time(s.submitted_at),
            "review": REVIEW_LABELS.get(PhotoReview(s.review), s.review),
            "review_code": s.review,
            "reason": s.reason or "",
        }
        for s in svc.photos.of_subject("vehicle", vehicle.id)
    ]
    return {
        "title": f"车辆详细信息 {vehicle.plate}",
        "vehicle": {
            "id": vehicle.id,
            "plate": vehicle.plate,
            "plate_color": label(codes.PlateColor, vehicle.plate_color),
            "operator": vehicle.operator.name,
            "vehicle_type": label(codes.VehicleType, vehicle.vehicle_type),
            "brand_model": vehicle.brand_model,
            "size": f"{vehicle.length_mm}×{vehicle.width_mm}×{vehicle.height_mm} 毫米",
            "transport_number": vehicle.transport_number,
            "licence_number": vehicle.licence.number if vehicle.licence else "",
            "scopes": scope_text(vehicle.business_scopes),
            "valid": f"{vehicle.valid_from.isoformat()} 至 {vehicle.valid_until.isoformat()}",
            "review_valid_until": vehicle.review_valid_until.isoformat()
            if vehicle.review_valid_until
            else "",
            "status": label(codes.VehicleStatus, vehicle.status),
            "authority": vehicle.authority.name,
            "has_photo": vehicle.photo_id is not None,
        },
        "ecerts": cells,
        "reasons": reasons,
        "uploads": uploads,
        "pending": any(u["review_code"] == PhotoReview.PENDING for u in uploads),
        "rules": VEHICLE_PHOTO_RULES,
        "max_mb": MAX_PHOTO_BYTES // 1024 // 1024,
    }


@router.get("/vehicles/{vehicle_id}", response_class=HTMLResponse)
def vehicle(request: Request, svc: Svc, caller: Enterprise, vehicle_id: RecordId) -> HTMLResponse:
    context = vehicle_context(svc, _vehicle(svc, caller, vehicle_id))
    return render(request, caller, "enterprise_vehicle.html", context)


@router.get("/vehicles/{vehicle_id}/photo")
def vehicle_photo(svc: Svc, caller: Enterprise, vehicle_id: RecordId) -> Response:
    """The vehicle's photo in the ledger (the one on its 道路运输证)."""
    found = _vehicle(svc, caller, vehicle_id)
    photo = svc.ledger.repo.get(Photo, found.photo_id) if found.photo_id else None
    if photo is None:
        raise NotFound("该车辆没有照片", code="photo.not_found")
    return image_response(photo)


@router.get("/vehicles/{vehicle_id}/uploads/{submission_id}")
def vehicle_upload(
    svc: Svc, caller: Enterprise, vehicle_id: RecordId, submission_id: RecordId
) -> Response:
    """A photo the enterprise uploaded for the vehicle, whatever its review."""
    found = _vehicle(svc, caller, vehicle_id)
    for submission in svc.photos.of_subject("vehicle", found.id):
        if submission.id == submission_id:
            return image_response(svc.photos.content(submission))
    raise NotFound(f"照片 {submission_id} 不存在", code="photo_submission.not_found")


async def uploaded_photo(request: Request) -> bytes:
    """The ``photo`` file of a multipart form, refused by its declared size before it is read.

    Runs before the caller is resolved, so the CSRF check reads the form parsed here.
    """
    require_upload_size(request, MAX_UPLOAD_BYTES)
    form = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("photo")
        # Read one byte past the limit, so that store_photo refuses an oversized photo by size.
        content = (
            b""
            if upload is None or isinstance(upload, str)
            else await upload.read(MAX_PHOTO_BYTES + 1)
        )
    finally:
        # The CSRF check reads the form's text fields later; only the spooled file is closed.
        await form.close()
    if not content:
        raise BadInput("请选择要上传的车辆照片", code="photo.missing", field="photo")
    return content


@router.post("/vehicles/{vehicle_id}/photo")
def submit_vehicle_photo(
    request: Request,
    content: Annotated[bytes, Depends(uploaded_photo)],
    svc: Svc,
    caller: Enterprise,
    vehicle_id: RecordId,
) -> Response:
    """上传车辆照片: kept for the authority's review (seed 000 §1.1.5.1)."""
    found = _vehicle(svc, caller, vehicle_id)
    back = f"/enterprise/vehicles/{found.id}"
    try:
        with svc.session.begin_nested():
            submission = svc.photos.submit("vehicle", found.id, content, caller.actor)
    except RoadcertError as error:
        return redirect(back, f"照片未上传：{error.message}", kind="error")
    svc.audit.record(
        "registry:photo:submitted",
        caller.actor,
        f"vehicle:{found.id}",
        user_id=caller.user_id,
        client_ip=client_ip(request),
        submission=submission.id,
        plate=found.plate,
    )
    return redirect(back, "照片已上传，等待交通运输管理部门审核")
