"""Pages of a practitioner (从业人员): 我的资格证, 我的电子照片, and 亮证 (seed 000 §2.1).

A practitioner account is bound to an ID number; every ledger record with that ID number is the
account's (legacy data may hold one per authority). 亮证 is open to both holder roles: an
enterprise may show its licence the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from roadcert.accounts.policy import NOT_YOURS, Principal
from roadcert.accounts.web import Holder, Practitioner, Svc, client_ip
from roadcert.audit.web import record_ecert_event
from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, CertificateType, HolderKind
from roadcert.certificates import faces
from roadcert.certificates.models import EcertStatus, SourceKind
from roadcert.certificates.service import (
    IssuanceRefused,
    NotStandardData,
    Target,
    type_for_category,
)
from roadcert.errors import BadInput, Forbidden, RoadcertError
from roadcert.kit import regions
from roadcert.portal.pages import HOME, redirect, render
from roadcert.registry.models import PhotoReview, RecordStatus
from roadcert.registry.models import Practitioner as Person
from roadcert.registry.schemas import RecordId
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.runtime import Services
from roadcert.sharing import showing
from roadcert.sharing.api import sharing, show_code_payload
from roadcert.sharing.repository import SharingRepository
from roadcert.sharing.service import china_time

router = APIRouter(include_in_schema=False)

NO_PHOTO = "请先在「我的电子照片」中设置照片"
PHOTO_PENDING = "照片已提交，发证机关审核通过后即生成电子证照"
REVIEW_LABELS: dict[str, str] = {
    PhotoReview.PENDING: "待审核",
    PhotoReview.APPROVED: "已通过",
    PhotoReview.REJECTED: "未通过",
}
RECORD_STATUS_LABELS: dict[str, str] = {
    RecordStatus.ACTIVE: "有效",
    RecordStatus.CANCELLED: "已注销",
    RecordStatus.REVOKED: "已吊销",
}


def people_of(svc: Services, caller: Principal) -> list[Person]:
    """The ledger records of the signed-in practitioner."""
    if not caller.holder_code:
        return []
    return list(svc.ledger.repo.practitioners_by_id_number(caller.holder_code))


def _own_person(svc: Services, caller: Principal, person_id: int) -> Person:
    for person in people_of(svc, caller):
        if person.id == person_id:
            return person
    raise Forbidden(NOT_YOURS, code="auth.not_yours")


def _pending_photo(svc: Services, person: Person) -> bool:
    return any(
        s.review == PhotoReview.PENDING for s in svc.photos.of_subject("practitioner", person.id)
    )


def why_no_ecert(
    svc: Services,
    target: Target | None,
    status: str,
    cert_type: CertificateType | None,
    photo_pending: bool,
) -> str | None:
    """Why a qualification has no e-cert, in the holder's words, or None if nothing stands in
    the way and the holder may generate it now (seed 000 §2.1: 手动生成).

    Issuance itself decides (``refusal_for``); only the wording is the holder's.
    """
    if status != RecordStatus.ACTIVE:
        return f"该从业资格{RECORD_STATUS_LABELS.get(status, status)}，不再制发电子证照"
    if cert_type is None or target is None:
        return "该从业资格类别不在电子证照目录中"
    refusal = svc.issuance.refusal_for(target)
    if refusal is None:
        return None
    if refusal.code == "issuance.photo_missing":
        return PHOTO_PENDING if photo_pending else NO_PHOTO
    if isinstance(refusal, NotStandardData):
        problems = refusal.message.split("：", 1)[-1]
        return f"您的从业人员信息存在不规范数据（{problems}），请联系发证机关更正"
    return refusal.message


def qualifications_context(svc: Services, caller: Principal) -> dict[str, Any]:
    """One card per qualification category, with its e-cert or the reason it has none."""
    people = people_of(svc, caller)
    targets = {
        (person.id, t.type_code): Target(SourceKind.PRACTITIONER, person.id, t.type_code)
        for person in people
        for t in CATALOGUE.values()
        if t.holder_kind is HolderKind.PERSON
    }
    current = svc.issuance.current_many(list(targets.values()))
    cards = []
    for person in people:
        region = regions.name_of(person.authority.region_code) or person.authority.region_code
        pending = _pending_photo(svc, person)
        for q in sorted(
            person.qualifications, key=lambda q: (q.status != RecordStatus.ACTIVE, q.category)
        ):
            cert_type = type_for_category(q.category)
            target = targets.get((person.id, cert_type.type_code)) if cert_type else None
            ecert = current.get(target.current_key) if target else None
            if q.status != RecordStatus.ACTIVE:
                ecert = None
            status = svc.issuance.effective_status(ecert) if ecert else None
            cards.append(
                {
                    "category": faces.label(codes.QualificationCategory, q.category),
                    "category_code": q.category,
                    "type_name": cert_type.name if cert_type else "",
                    "type_code": cert_type.type_code if cert_type else "",
                    "person_id": person.id,
                    "id_number": person.id_number,
                    "region": region,
                    "first_issued": q.first_issued.isoformat(),
                    "valid_from": q.valid_from.isoformat(),
                    "valid_until": q.valid_until.isoformat(),
                    "qualification_status": RECORD_STATUS_LABELS.get(q.status, q.status),
                    "identifier": ecert.identifier if ecert else None,
                    "number": ecert.number if ecert else "",
                    "ecert_status": status.label if status else None,
                    "ecert_valid": status is EcertStatus.VALID,
                    "activated": bool(ecert and ecert.activated_at),
                    "reason": None
                    if ecert
                    else why_no_ecert(svc, target, q.status, cert_type, pending),
                }
            )
    return {
        "title": "我的资格证",
        "cards": cards,
        "name": people[0].name if people else caller.display_name,
        "has_record": bool(people),
    }


@router.get("/me/qualifications", response_class=HTMLResponse)
def qualifications(request: Request, svc: Svc, caller: Practitioner) -> HTMLResponse:
    return render(request, caller, "me_qualifications.html", qualifications_context(svc, caller))


@router.post("/me/qualifications/issue")
def generate(
    svc: Svc,
    caller: Practitioner,
    person_id: Annotated[RecordId, Form()],
    type_code: Annotated[str, Form(max_length=21)],
) -> Response:
    """证照下载 when no e-cert exists yet: issue it now, or say which precondition fails."""
    person = _own_person(svc, caller, person_id)
    if type_code not in CATALOGUE:
        raise BadInput("未知的证照类型", code="bad_input", field="type_code")
    target = Target(SourceKind.PRACTITIONER, person.id, type_code)
    if svc.issuance.current(target) is not None:
        return redirect("/me/qualifications", "电子证照已存在")
    try:
        ecert = svc.issuance.issue(target)
    except IssuanceRefused as refusal:
        return redirect("/me/qualifications", f"暂不能生成电子证照：{refusal.message}", "error")
    return redirect("/me/qualifications", f"已生成{CATALOGUE[ecert.type_code].name}电子证照")


# -- 我的电子照片 ----------------------------------------------------------------------------------


def photo_context(svc: Services, caller: Principal) -> dict[str, Any]:
    """The current personal photo and every earlier upload with its review."""
    people = people_of(svc, caller)
    submissions = [s for p in people for s in svc.photos.of_subject("practitioner", p.id)]
    uploads = [
        {
            "id": s.id,
            "submitted": china_time(s.submitted_at),
            "review": REVIEW_LABELS.get(s.review, s.review),
            "review_code": s.review,
            "reason": s.reason or "",
            "reviewed_by": s.reviewed_by or "",
        }
        for s in sorted(submissions, key=lambda s: -s.id)
    ]
    return {
        "title": "我的电子照片",
        "has_record": bool(people),
        "has_photo": any(p.photo_id for p in people),
        "uploads": uploads,
        "max_mb": MAX_PHOTO_BYTES // (1024 * 1024),
        "error": None,
    }


@router.get("/me/photo", response_class=HTMLResponse)
def photo_page(request: Request, svc: Svc, caller: Practitioner) -> HTMLResponse:
    return render(request, caller, "me_photo.html", photo_context(svc, caller))


@router.post("/me/photo", response_class=HTMLResponse)
def upload_photo(
    request: Request,
    svc: Svc,
    caller: Practitioner,
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Keep an upload for the authority's review; the face changes only once it is approved."""
    people = people_of(svc, caller)
    try:
        if not people:
            raise BadInput("未找到您的从业人员档案，不能上传照片", code="photo.no_record")
        content = photo.file.read(MAX_PHOTO_BYTES + 1) if photo is not None else b""
        if not content:
            raise BadInput("请选择照片文件（JPEG 或 PNG）", code="photo.missing", field="photo")
        for person in people:
            submission = svc.photos.submit("practitioner", person.id, content, caller.actor)
            svc.audit.record(
                "registry:photo:submitted",
                caller.actor,
                f"practitioner:{person.id}",
                user_id=caller.user_id,
                client_ip=client_ip(request),
                submission=submission.id,
            )
    except RoadcertError as exc:
        svc.session.rollback()
        context = photo_context(svc, caller) | {"error": exc.message}
        return render(request, caller, "me_photo.html", context, status_code=exc.status)
    return redirect("/me/photo", "照片已上传，等待发证机关审核")


def _image(content: bytes, media_type: str) -> Response:
    return Response(content, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.get("/me/photo/current")
def current_photo(svc: Svc, caller: Practitioner) -> Response:
    repo = SharingRepository(svc.session)
    for person in people_of(svc, caller):
        photo = repo.photo(person.photo_id) if person.photo_id else None
        if photo is not None:
            return _image(photo.content, photo.media_type)
    raise RoadcertError("尚未设置照片", code="photo.none", status=404)


@router.get("/me/photo/uploads/{submission_id}")
def uploaded_photo(svc: Svc, caller: Practitioner, submission_id: RecordId) -> Response:
    submission = svc.photos.get(submission_id)
    mine = {p.id for p in people_of(svc, caller)}
    if submission.subject_kind != "practitioner" or submission.subject_id not in mine:
        raise Forbidden(NOT_YOURS, code="auth.not_yours")
    photo = svc.photos.content(submission)
    return _image(photo.content, photo.media_type)


# -- 亮证 ----------------------------------------------------------------------------------------


@router.get("/me/show/{ref}", response_class=HTMLResponse)
def show(request: Request, svc: Svc, caller: Holder, ref: str) -> Response:
    """The full-screen showing page: a code the page renews every 20 s, valid for 45 s."""
    service = sharing(svc, request)
    ecert = service.owned(caller, ref)
    newest = service.newest(ecert)
    if newest.id != ecert.id:
        # An old version's code would only verify as 已换发: show the newest one.
        return RedirectResponse(f"/me/show/{newest.identifier}", status_code=303)
    code = service.make_show_code(caller, ecert.identifier)
    record_ecert_event(svc, request, caller, ecert, "sharing:ecert:shown", via="page")
    context = {
        "title": "亮证",
        "type_name": CATALOGUE[ecert.type_code].name,
        "holder_name": ecert.holder_name,
        "number": ecert.number,
        "identifier": ecert.identifier,
        "code": show_code_payload(code),
        "refresh_seconds": showing.REFRESH_SECONDS,
        "back": HOME[caller.role],
    }
    page = render(request, caller, "show.html", context)
    page.headers["Cache-Control"] = "no-store"  # a signed code of this moment: never cached
    return page
