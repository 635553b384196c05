"""JSON API of photo uploads and their review (seed 000 §1.1.5), as the pages offer them.

Holders upload (an enterprise for its vehicles, a practitioner for itself); the upload waits
until a clerk of the record's authority approves it, which issues the new e-cert version.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from roadcert import present
from roadcert.accounts.policy import NOT_YOURS, authority_scope
from roadcert.accounts.web import Enterprise, Practitioner, Staff, client_ip
from roadcert.deps import Svc
from roadcert.errors import Forbidden, NotFound
from roadcert.registry.api import image_body
from roadcert.registry.models import PhotoSubmission, Vehicle
from roadcert.registry.schemas import MAX_ID
from roadcert.runtime import Services

router = APIRouter(prefix="/api", tags=["photos 照片审核"])
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Image = Annotated[bytes, Depends(image_body)]


class Rejection(BaseModel):
    """Why a photo is refused: the holder sees it."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


def submission_view(item: PhotoSubmission) -> dict[str, Any]:
    return {
        "id": item.id,
        "subject_kind": item.subject_kind,
        "subject_id": item.subject_id,
        "authority_id": item.authority_id,
        "submitted_by": item.submitted_by,
        "submitted_at": item.submitted_at.isoformat(),
        "review": item.review,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else None,
        "reason": item.reason,
    }


def _audit(svc: Services, request: Request, tag: str, actor: str, item: PhotoSubmission) -> None:
    svc.audit.record(
        tag,
        actor,
        f"{item.subject_kind}:{item.subject_id}",
        client_ip=client_ip(request),
        submission=item.id,
    )


@router.post(
    "/vehicles/{vehicle_id}/photo-submissions",
    status_code=201,
    summary="经营业户上传本企业车辆照片（JPEG/PNG ≤ 2 MB），待发证机关审核",
)
def submit_vehicle_photo(
    request: Request, svc: Svc, caller: Enterprise, vehicle_id: PathId, body: Image
) -> dict[str, Any]:
    vehicle = svc.ledger.repo.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.operator.uscc != caller.holder_code:
        raise Forbidden(NOT_YOURS, code="auth.not_yours")
    item = svc.photos.submit("vehicle", vehicle.id, body, caller.actor)
    _audit(svc, request, "registry:photo:submitted", caller.actor, item)
    return submission_view(item)


@router.post(
    "/me/photo-submissions",
    status_code=201,
    summary="从业人员上传本人电子照片（JPEG/PNG ≤ 2 MB），待发证机关审核",
)
def submit_own_photo(
    request: Request, svc: Svc, caller: Practitioner, body: Image
) -> list[dict[str, Any]]:
    people = svc.ledger.repo.practitioners_by_id_number(caller.holder_code or "")
    if not people:
        raise NotFound("台账中没有您的从业人员记录", code="practitioner.not_found")
    # The same person may be on the ledger of several authorities; each reviews its own copy.
    items = [svc.photos.submit("practitioner", p.id, body, caller.actor) for p in people]
    for item in items:
        _audit(svc, request, "registry:photo:submitted", caller.actor, item)
    return [submission_view(item) for item in items]


@router.get("/photo-submissions", summary="待审核的照片（发证机关工作人员只见本机关的）")
def pending_photos(svc: Svc, caller: Staff) -> list[dict[str, Any]]:
    return [submission_view(item) for item in svc.photos.pending(authority_scope(caller))]


@router.get(
    "/photo-submissions/{submission_id}/image",
    response_class=Response,
    summary="待审核照片的图片",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def photo_image(svc: Svc, _: Staff, submission_id: PathId) -> Response:
    photo = svc.photos.content(svc.photos.get(submission_id))
    return Response(
        photo.content, media_type=photo.media_type, headers={"Cache-Control": "private, no-store"}
    )


@router.post(
    "/photo-submissions/{submission_id}/approve", summary="审核通过：照片上证，换发新版本电子证照"
)
def approve_photo(
    request: Request, svc: Svc, caller: Staff, submission_id: PathId
) -> dict[str, Any]:
    outcome = svc.photos.approve(submission_id, caller.actor)
    item = svc.photos.get(submission_id)
    _audit(svc, request, "registry:photo:approved", caller.actor, item)
    return submission_view(item) | {"outcome": present.outcome(outcome)}


@router.post("/photo-submissions/{submission_id}/reject", summary="审核不通过（须写明原因）")
def reject_photo(
    request: Request, svc: Svc, caller: Staff, submission_id: PathId, body: Rejection
) -> dict[str, Any]:
    item = svc.photos.reject(submission_id, caller.actor, body.reason)
    _audit(svc, request, "registry:photo:rejected", caller.actor, item)
    return submission_view(item)
