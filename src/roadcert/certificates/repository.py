"""All SQL of e-certs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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

    def busiest_holder(
        self, type_codes: Sequence[str], authority_id: int | None = None
    ) -> str | None:
        """The holder code with the most current e-certs of ``type_codes`` (demo accounts)."""
        query = select(Ecert.holder_code, func.count()).where(
            Ecert.type_code.in_(list(type_codes)), Ecert.current_key.is_not(None)
        )
        if authority_id is not None:
            query = query.where(Ecert.authority_id == authority_id)
        row = self.session.execute(
            query.group_by(Ecert.holder_code).order_by(func.count().desc(), Ecert.holder_code)
        ).first()
        return str(row[0]) if row else None

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

    # -- status list indices -------------------------------------------------------------------

    def status_index_count(self, authority_id: int) -> int:
        """How many indices of the authority's status list are used (one per e-cert version)."""
        count = self.session.scalar(
            select(func.count()).select_from(Ecert).where(Ecert.authority_id == authority_id)
        )
        return int(count or 0)

    def status_index_max(self, authority_id: int) -> int | None:
        """The highest used index of the authority's list (an index lookup, not a scan)."""
        return self.session.scalar(
            select(func.max(Ecert.status_index)).where(Ecert.authority_id == authority_id)
        )

    def status_index_extent(self, authority_id: int) -> tuple[int, int | None]:
        """The number of used indices of the authority's list and the highest one."""
        row = self.session.execute(
            select(func.count(), func.max(Ecert.status_index)).where(
                Ecert.authority_id == authority_id
            )
        ).one()
        return int(row[0] or 0), row[1]

    def status_indices_taken(self, authority_id: int, candidates: Collection[int]) -> set[int]:
        """Which of ``candidates`` are used in the authority's list.

        Pending e-certs are not flushed first: bulk issuance keeps its INSERTs batched, and the
        caller accounts for the indices it drew itself.
        """
        with self.session.no_autoflush:
            found = self.session.scalars(
                select(Ecert.status_index).where(
                    Ecert.authority_id == authority_id,
                    Ecert.status_index.in_(list(candidates)),
                )
            )
            return set(found)

    def status_indices(self, authority_id: int, status: str | None = None) -> list[int]:
        """The used indices of the authority's list, of e-certs in ``status`` if given."""
        query = select(Ecert.status_index).where(Ecert.authority_id == authority_id)
        if status is not None:
            query = query.where(Ecert.status == status)
        return list(self.session.scalars(query))
