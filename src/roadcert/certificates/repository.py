"""All SQL of e-certs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from roadcert.certificates.models import Ecert, EcertStatus


class EcertRepository:
    """Queries on e-certs for one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ecert: Ecert) -> None:
        """Stage a new e-cert version; it is written with the next flush.

        Not flushed here: bulk issuance lets SQLAlchemy batch the INSERTs (on PostgreSQL one
        statement for many rows), and the next query flushes it anyway.
        """
        self.session.add(ecert)

    def get(self, ecert_id: int) -> Ecert | None:
        """An e-cert version by id."""
        return self.session.get(Ecert, ecert_id)

    def by_identifier(self, identifier: str) -> Ecert | None:
        """An e-cert version by its GB/T 36904 identifier."""
        return self.session.scalars(select(Ecert).where(Ecert.identifier == identifier)).first()

    def current(self, current_key: str) -> Ecert | None:
        """The current version of one certificate."""
        return self.session.scalars(select(Ecert).where(Ecert.current_key == current_key)).first()

    def current_many(self, keys: list[str]) -> dict[str, Ecert]:
        """The current versions for many current keys."""
        found: dict[str, Ecert] = {}
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            for ecert in self.session.scalars(select(Ecert).where(Ecert.current_key.in_(chunk))):
                found[ecert.current_key or ""] = ecert
        return found

    def of_source(self, source_kind: str, source_id: int) -> Sequence[Ecert]:
        """Every version made from one ledger record, newest first."""
        return self.session.scalars(
            select(Ecert)
            .where(Ecert.source_kind == source_kind, Ecert.source_id == source_id)
            .order_by(Ecert.id.desc())
        ).all()

    def versions(self, serial: str) -> Sequence[Ecert]:
        """All versions of one certificate, oldest first."""
        return self.session.scalars(
            select(Ecert).where(Ecert.serial == serial).order_by(Ecert.version)
        ).all()

    def search(
        self,
        *,
        type_code: str | None = None,
        status: str | None = None,
        authority_id: int | None = None,
        holder_code: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Ecert]:
        """E-certs matching the filters, in issue order."""
        query = select(Ecert)
        if type_code:
            query = query.where(Ecert.type_code == type_code)
        if status:
            query = query.where(Ecert.status == status)
        if authority_id is not None:
            query = query.where(Ecert.authority_id == authority_id)
        if holder_code:
            query = query.where(Ecert.holder_code == holder_code)
        query = query.order_by(Ecert.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self.session.scalars(query).all()

    def expire_before(self, today: date, now: datetime) -> int:
        """Mark valid e-certs whose last valid day is before ``today`` as expired."""
        result = self.session.execute(
            update(Ecert)
            .where(Ecert.status == EcertStatus.VALID, Ecert.valid_until < today)
            .values(status=EcertStatus.EXPIRED, status_changed_at=now, status_reason="有效期届满")
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def count_by_status(self) -> dict[str, int]:
        """How many e-cert versions are in each state."""
        rows = self.session.execute(select(Ecert.status, func.count()).group_by(Ecert.status))
        return {status: count for status, count in rows}
