"""All SQL of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roadcert.db import Base
from roadcert.registry.models import (
    Authority,
    LedgerHistory,
    Licence,
    Operator,
    Photo,
    PhotoReview,
    PhotoSubmission,
    Practitioner,
    QualityIssue,
    Vehicle,
)

M = TypeVar("M", bound=Base)


class LedgerRepository:
    """Queries on ledger tables for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, model: type[M], record_id: int) -> M | None:
        """A record by primary key."""
        return self.session.get(model, record_id)

    def add(self, record: Base) -> None:
        """Stage a new record and give it its primary key."""
        self.session.add(record)
        self.session.flush()

    def find_by(self, model: type[M], column: str, value: Any) -> M | None:
        """The first record whose ``column`` equals ``value``."""
        return self.session.scalars(select(model).where(getattr(model, column) == value)).first()

    def vehicle_by_plate(self, plate: str, color: str) -> Vehicle | None:
        """The vehicle registered under a plate and plate colour."""
        return self.session.scalars(
            select(Vehicle).where(Vehicle.plate == plate, Vehicle.plate_color == color)
        ).first()

    def authorities(self) -> Sequence[Authority]:
        """All issuing authorities in region-code order."""
        return self.session.scalars(select(Authority).order_by(Authority.region_code)).all()

    def authority_by_uscc(self, code: str) -> Authority | None:
        """The authority with this USCC."""
        return self.session.scalars(select(Authority).where(Authority.uscc == code)).first()

    def photo_by_sm3(self, digest: str) -> Photo | None:
        """The stored photo with this SM3 digest."""
        return self.session.scalars(select(Photo).where(Photo.sm3 == digest)).first()

    def photo_digest(self, photo_id: int | None) -> str | None:
        """The SM3 digest of a photo, without loading its bytes."""
        if photo_id is None:
            return None
        return self.session.scalar(select(Photo.sm3).where(Photo.id == photo_id))

    def photo_digests(self, photo_ids: list[int]) -> dict[int, str]:
        """SM3 digests of many photos, by id."""
        found: dict[int, str] = {}
        for start in range(0, len(photo_ids), 1000):
            chunk = photo_ids[start : start + 1000]
            rows = self.session.execute(select(Photo.id, Photo.sm3).where(Photo.id.in_(chunk)))
            found.update({photo_id: digest for photo_id, digest in rows})
        return found

    def licences_of(self, operator_id: int) -> Sequence[Licence]:
        """An operator's licences."""
        return self.session.scalars(
            select(Licence).where(Licence.operator_id == operator_id).order_by(Licence.id)
        ).all()

    def vehicles_of(self, operator_id: int) -> Sequence[Vehicle]:
        """An operator's vehicles."""
        return self.session.scalars(
            select(Vehicle).where(Vehicle.operator_id == operator_id).order_by(Vehicle.id)
        ).all()

    def page(
        self, model: type[M], *, authority_id: int | None, offset: int, limit: int, **equal: Any
    ) -> tuple[Sequence[M], int]:
        """One page of records of ``model`` with equality filters, and the total count."""
        query = select(model)
        if authority_id is not None:
            query = query.where(model.authority_id == authority_id)  # type: ignore[attr-defined]
        for column, value in equal.items():
            if value is not None:
                query = query.where(getattr(model, column) == value)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(model.id).offset(offset).limit(limit)  # type: ignore[attr-defined]
        ).all()
        return rows, total

    def pending_photos(self, authority_id: int | None) -> Sequence[PhotoSubmission]:
        """Uploaded photos waiting for review, oldest first."""
        query = select(PhotoSubmission).where(PhotoSubmission.review == PhotoReview.PENDING)
        if authority_id is not None:
            query = query.where(PhotoSubmission.authority_id == authority_id)
        return self.session.scalars(query.order_by(PhotoSubmission.id)).all()

    def photos_of(self, kind: str, subject_id: int) -> Sequence[PhotoSubmission]:
        """Every upload for one vehicle or person, newest first."""
        query = select(PhotoSubmission).where(
            PhotoSubmission.subject_kind == kind, PhotoSubmission.subject_id == subject_id
        )
        return self.session.scalars(query.order_by(PhotoSubmission.id.desc())).all()

    def practitioner_by_id_number(self, number: str) -> Practitioner | None:
        """A practitioner by ID number."""
        return self.session.scalars(
            select(Practitioner).where(Practitioner.id_number == number)
        ).first()

    def practitioners_by_id_number(self, number: str) -> Sequence[Practitioner]:
        """Every ledger record of one person (several authorities may each keep one)."""
        return self.session.scalars(
            select(Practitioner).where(Practitioner.id_number == number).order_by(Practitioner.id)
        ).all()

    def operator_by_uscc(self, code: str) -> Operator | None:
        """The first operator with this USCC."""
        return self.session.scalars(select(Operator).where(Operator.uscc == code)).first()

    def add_history(self, entry: LedgerHistory) -> None:
        """Record a change."""
        self.session.add(entry)

    def history(self, entity: str, entity_id: int) -> Sequence[LedgerHistory]:
        """All recorded changes of one record, oldest first."""
        return self.session.scalars(
            select(LedgerHistory)
            .where(LedgerHistory.entity == entity, LedgerHistory.entity_id == entity_id)
            .order_by(LedgerHistory.id)
        ).all()

    def open_issues(self, entity: str, entity_id: int) -> Sequence[QualityIssue]:
        """Unresolved findings of one record."""
        return self.session.scalars(
            select(QualityIssue).where(
                QualityIssue.entity == entity,
                QualityIssue.entity_id == entity_id,
                QualityIssue.resolved_at.is_(None),
            )
        ).all()

    def all_open_issues(self, authority_id: int | None = None) -> Sequence[QualityIssue]:
        """Every unresolved finding, by authority then record."""
        query = select(QualityIssue).where(QualityIssue.resolved_at.is_(None))
        if authority_id is not None:
            query = query.where(QualityIssue.authority_id == authority_id)
        return self.session.scalars(
            query.order_by(QualityIssue.authority_id, QualityIssue.entity, QualityIssue.entity_id)
        ).all()
