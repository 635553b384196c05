"""Photos uploaded by holders and reviewed by staff (seed 000 §1.1.5, §2.1).

A holder's upload waits as a PhotoSubmission; only when a clerk of the record's authority approves
it does it reach the ledger record, and through the business operation, a new e-cert version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from roadcert.certificates.operations import BusinessService, Outcome
from roadcert.db import utcnow
from roadcert.errors import BadInput, Conflict, NotFound
from roadcert.registry.models import Photo, PhotoReview, PhotoSubmission, Practitioner, Vehicle

SUBJECT_MODELS: dict[str, type[Vehicle] | type[Practitioner]] = {
    "vehicle": Vehicle,
    "practitioner": Practitioner,
}

#: The photo rules of seed 000 §1.1.5.2 a reviewer checks, and the reasons offered for rejection.
VEHICLE_PHOTO_RULES = (
    "汽车应当从车前方左侧 45 度角拍摄，全挂车应当从车后方左侧 45 度角拍摄",
    "机动车影像应占标准照片的三分之二",
    "照片应当能够明确辨别机动车号牌号码和车身颜色",
)
REJECT_REASONS = (
    "拍摄角度不符合要求（应为车前方左侧 45 度）",
    "车辆影像不足照片的三分之二",
    "无法辨别号牌号码或车身颜色",
    "不是本车辆的照片",
    "个人照片不符合证件照要求",
)


class PhotoReviewService:
    """Submitting and reviewing photos in one session."""

    def __init__(
        self, session: Session, business: BusinessService, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.session = session
        self.business = business
        self.ledger = business.ledger
        self.clock = clock

    def submit(
        self, kind: str, subject_id: int, content: bytes, submitted_by: str
    ) -> PhotoSubmission:
        """Keep an upload for review after checking it is a JPEG or PNG within the size limit."""
        if kind not in SUBJECT_MODELS:
            raise BadInput(f"不支持的照片对象 {kind}", code="photo.subject", field="kind")
        record: Vehicle | Practitioner | None = self.ledger.repo.get(
            SUBJECT_MODELS[kind], subject_id
        )
        if record is None:
            raise NotFound(f"记录 {subject_id} 不存在", code=f"{kind}.not_found")
        photo = self.ledger.store_photo(content)
        submission = PhotoSubmission(
            subject_kind=kind,
            subject_id=subject_id,
            authority_id=record.authority_id,
            photo_id=photo.id,
            submitted_by=submitted_by,
            submitted_at=self.clock(),
        )
        self.session.add(submission)
        self.session.flush()
        return submission

    def get(self, submission_id: int) -> PhotoSubmission:
        submission = self.ledger.repo.get(PhotoSubmission, submission_id)
        if submission is None:
            raise NotFound(f"照片提交 {submission_id} 不存在", code="photo_submission.not_found")
        # A clerk reviews only the own authority's uploads.
        self.ledger.ensure_in_scope(submission)
        return submission

    def pending(self, authority_id: int | None) -> Sequence[PhotoSubmission]:
        """Uploads waiting for review, oldest first (of one authority, or all)."""
        return self.ledger.repo.pending_photos(authority_id)

    def of_subject(self, kind: str, subject_id: int) -> Sequence[PhotoSubmission]:
        """Every upload for one vehicle or person, newest first."""
        return self.ledger.repo.photos_of(kind, subject_id)

    def content(self, submission: PhotoSubmission) -> Photo:
        photo = self.ledger.repo.get(Photo, submission.photo_id)
        assert photo is not None  # foreign key
        return photo

    def approve(self, submission_id: int, reviewer: str) -> Outcome:
        """Put the photo on the record; the business operation issues the new e-cert version."""
        submission = self._open(submission_id)
        content = self.content(submission).content
        if submission.subject_kind == "vehicle":
            outcome = self.business.vehicle_photo(submission.subject_id, content)
        else:
            outcome = self.business.practitioner_photo(submission.subject_id, content)
        self._close(submission, PhotoReview.APPROVED, reviewer, None)
        return outcome

    def reject(self, submission_id: int, reviewer: str, reason: str) -> PhotoSubmission:
        """Refuse the photo with a reason the holder sees."""
        reason = reason.strip()
        if not reason:
            raise BadInput("请填写不通过的原因", code="photo.reason", field="reason")
        submission = self._open(submission_id)
        self._close(submission, PhotoReview.REJECTED, reviewer, reason[:200])
        return submission

    def _open(self, submission_id: int) -> PhotoSubmission:
        submission = self.get(submission_id)
        if submission.review != PhotoReview.PENDING:
            raise Conflict("该照片已审核", code="photo.reviewed")
        return submission

    def _close(
        self, submission: PhotoSubmission, review: PhotoReview, reviewer: str, reason: str | None
    ) -> None:
        submission.review = review
        submission.reviewed_by = reviewer
        submission.reviewed_at = self.clock()
        submission.reason = reason
        self.session.flush()
