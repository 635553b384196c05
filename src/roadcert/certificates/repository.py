"""All SQL of e-certs."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, select, union_all, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from roadcert.certificates.models import Ecert, EcertStatus, SourceKind
from roadcert.registry.models import (
    Authority,
    Licence,
    Practitioner,
    Qualification,
    QualityIssue,
    RecordStatus,
    Vehicle,
)


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


# == 制证率 and 激活率 (seed 002 App. A) ========================================================
# Read by certificates/collection.py. Every count is one aggregate query grouped by authority:
# no row is brought into Python, so the cost is a few scans whatever the size of the province.


def _current_key(kind: SourceKind, source_id: Any, type_code: Any) -> ColumnElement[str]:
    """The SQL of ``Target.current_key`` (``kind:id:type_code``) for a ledger row."""
    return literal(f"{kind.value}:", String) + cast(source_id, String) + ":" + type_code


class CollectionRepository:
    """Aggregates for the collection rate (制证率) and the activation rate (激活率)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def authorities(self, authority_id: int | None = None) -> Sequence[Authority]:
        """The authorities a report covers, in region-code order."""
        query = select(Authority).order_by(Authority.region_code, Authority.id)
        if authority_id is not None:
            query = query.where(Authority.id == authority_id)
        return self.session.scalars(query).all()

    def certificate_counts(
        self,
        today: date,
        authority_id: int | None = None,
        *,
        transport_type: str,
        ride_hailing_type: str,
        category_types: Mapping[str, str],
    ) -> dict[tuple[int, str], tuple[int, int]]:
        """Per (authority, source kind): (valid certificates, those whose current e-cert is valid).

        The valid certificates of the three kinds (certificates/collection.py) are gathered as
        ``current_key`` values in one UNION ALL and joined to ``ecert`` once, so PostgreSQL reads
        the large e-cert table a single time; SQLite looks each key up in its unique index.
        A ride-hailing vehicle's certificate is ``ride_hailing_type``, any other's
        ``transport_type`` (IssuanceService.targets_for_vehicle); a practitioner holds a type
        when an active qualification of a category printed on it (``category_types``) is valid.
        """
        licences = select(
            Licence.authority_id.label("authority_id"),
            literal(SourceKind.LICENCE.value, String).label("kind"),
            _current_key(SourceKind.LICENCE, Licence.id, Licence.type_code).label("key"),
        ).where(Licence.status == RecordStatus.ACTIVE, Licence.valid_until >= today)
        vehicle_type = case((Vehicle.ride_hailing, ride_hailing_type), else_=transport_type)
        vehicles = select(
            Vehicle.authority_id,
            literal(SourceKind.VEHICLE.value, String),
            _current_key(SourceKind.VEHICLE, Vehicle.id, vehicle_type),
        ).where(Vehicle.transport_status == RecordStatus.ACTIVE, Vehicle.valid_until >= today)
        # One row per practitioner × type, however many of its categories are on that type.
        held = (
            select(
                Practitioner.authority_id.label("authority_id"),
                Qualification.practitioner_id.label("practitioner_id"),
                case(dict(category_types), value=Qualification.category).label("type_code"),
            )
            .join(Practitioner, Practitioner.id == Qualification.practitioner_id)
            .where(
                Qualification.status == RecordStatus.ACTIVE,
                Qualification.valid_until >= today,
                Qualification.category.in_(list(category_types)),
            )
            .distinct()
        )
        if authority_id is not None:
            licences = licences.where(Licence.authority_id == authority_id)
            vehicles = vehicles.where(Vehicle.authority_id == authority_id)
            held = held.where(Practitioner.authority_id == authority_id)
        person_types = held.subquery()
        people = select(
            person_types.c.authority_id,
            literal(SourceKind.PRACTITIONER.value, String),
            _current_key(
                SourceKind.PRACTITIONER, person_types.c.practitioner_id, person_types.c.type_code
            ),
        )
        certificates = union_all(licences, vehicles, people).subquery()
        query = (
            select(
                certificates.c.authority_id, certificates.c.kind, func.count(), func.count(Ecert.id)
            )
            .select_from(certificates)
            .outerjoin(
                Ecert,
                and_(
                    Ecert.current_key == certificates.c.key,
                    Ecert.status == EcertStatus.VALID,
                    Ecert.valid_until >= today,
                ),
            )
            .group_by(certificates.c.authority_id, certificates.c.kind)
        )
        return {
            (auth, kind): (int(valid), int(covered))
            for auth, kind, valid, covered in self.session.execute(query)
        }

    def activation_counts(
        self, start: datetime, end: datetime, authority_id: int | None = None
    ) -> dict[int, tuple[int, int]]:
        """Per issuing authority: (versions issued in [start, end), those activated in it)."""
        activated = and_(Ecert.activated_at >= start, Ecert.activated_at < end)
        query = (
            select(Ecert.authority_id, func.count(), func.count(case((activated, Ecert.id))))
            .where(Ecert.issued_at >= start, Ecert.issued_at < end)
            .group_by(Ecert.authority_id)
        )
        if authority_id is not None:
            query = query.where(Ecert.authority_id == authority_id)
        return {a: (int(issued), int(used)) for a, issued, used in self.session.execute(query)}

    def open_issues_by_rule(self, authority_id: int | None = None) -> list[tuple[int, str, int]]:
        """(authority id, rule, open findings) of the unresolved 不规范数据 (seed 002 §7.5)."""
        query = (
            select(QualityIssue.authority_id, QualityIssue.rule, func.count())
            .where(QualityIssue.resolved_at.is_(None))
            .group_by(QualityIssue.authority_id, QualityIssue.rule)
            .order_by(QualityIssue.authority_id, func.count().desc(), QualityIssue.rule)
        )
        if authority_id is not None:
            query = query.where(QualityIssue.authority_id == authority_id)
        return [(a, rule, int(n)) for a, rule, n in self.session.execute(query)]

    def open_issues(self, authority_id: int | None, limit: int) -> Sequence[QualityIssue]:
        """The first ``limit`` unresolved findings, by authority then record."""
        query = select(QualityIssue).where(QualityIssue.resolved_at.is_(None))
        if authority_id is not None:
            query = query.where(QualityIssue.authority_id == authority_id)
        query = query.order_by(
            QualityIssue.authority_id, QualityIssue.entity, QualityIssue.entity_id, QualityIssue.id
        )
        return self.session.scalars(query.limit(limit)).all()
