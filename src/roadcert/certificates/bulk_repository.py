"""The SQL of bulk issuance: slices of the ledger read as plain rows, e-certs written in batches.

Kept apart from repository.py because nothing here builds ORM objects: at a million records
the ORM's per-object cost (about 85 µs a record to load) would be a quarter of the time.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Index, Table, func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from roadcert.bulkwrite import write_rows
from roadcert.certificates.models import Ecert, SourceKind
from roadcert.registry.models import (
    Authority,
    Licence,
    Operator,
    Photo,
    Practitioner,
    PractitionerEntry,
    Qualification,
    Vehicle,
)

_ECERT_TABLE = cast(Table, Ecert.__table__)

#: The ledger table each source kind is read from.
SOURCE_MODELS: dict[SourceKind, Any] = {
    SourceKind.LICENCE: Licence,
    SourceKind.VEHICLE: Vehicle,
    SourceKind.PRACTITIONER: Practitioner,
}

#: Indexes of ``ecert`` that a large bulk run may build once at its end instead of entry by
#: entry. Their keys (holders' codes, expiry dates) come in random order, so every new e-cert
#: dirties a page of each somewhere in the tree, and every COMMIT writes those pages again
#: (measured at 0.9 million e-certs on SQLite: a third of the write step). Building one over a
#: million rows takes about a second. Nothing depends on them but the speed of finding a
#: holder's e-certs and of the expiry sweep.
DEFERRABLE_INDEXES = ("ix_ecert_holder_code", "ix_ecert_valid_until")

#: How long dropping them may wait for PostgreSQL's lock on the table (seconds).
DROP_LOCK_TIMEOUT = 5.0
#: PostgreSQL's SQLSTATE for a lock not obtained within lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"

# Operator columns come with licence and vehicle rows under these names, as their last columns
# in this order (bulk issuance takes them as one slice of the row).
OPERATOR_COLUMNS = ("name", "uscc", "address", "region_code", "economic_type", "status")


def _operator_columns() -> list[Any]:
    return [getattr(Operator, c).label(f"op_{c}") for c in OPERATOR_COLUMNS]


@cache
def _record_maker(fields: tuple[str, ...]) -> Callable[[Iterable[Any]], Any]:
    """What makes a named tuple of a row with ``fields`` (a type per query shape, made once)."""
    record: Any = namedtuple("Record", fields)  # type: ignore[misc]  # fields known at run time
    maker: Callable[[Iterable[Any]], Any] = record._make
    return maker


def _ecert_index(name: str) -> Index:
    """The model's definition of one of the e-cert table's indexes."""
    return next(index for index in _ECERT_TABLE.indexes if index.name == name)


class BulkRepository:
    """Set queries over one slice of ledger records, and the batched INSERT of e-certs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rows(self, query: Executable) -> Sequence[Any]:
        """Rows of a Core query on the session's connection (no ORM result processing, which
        cost as much as the SQL itself on a slice's reads)."""
        return self.session.connection().execute(query).all()

    def _records(self, query: Executable) -> list[Any]:
        """Rows of a Core query as named tuples, for rows whose columns are read by name many
        times over.

        SQLAlchemy's ``Row`` finds a column by name only after Python's own attribute lookup
        has failed, and that failure builds an ``AttributeError`` message each time: issuance
        reads about 30 columns an e-cert, and the failures were a tenth of the instructions of
        everything it does besides signing. A named tuple reads a column by position.
        """
        result = self.session.connection().execute(query)
        make = _record_maker(tuple(result.keys()))
        return [make(row) for row in result.all()]  # all(): one fetchall, not a fetch per row

    # -- planning ----------------------------------------------------------------------------

    def slice_bounds(
        self,
        kind: SourceKind,
        authority_ids: Collection[int],
        size: int,
        condition: ColumnElement[bool] | None = None,
    ) -> list[tuple[int, int, int]]:
        """(first id, last id, records) of consecutive runs of ``size`` records of ``kind``.

        One query with a window function: the ids themselves never reach Python.
        """
        model = SOURCE_MODELS[kind]
        numbered = select(
            model.id.label("id"),
            ((func.row_number().over(order_by=model.id) - 1) // size).label("part"),
        ).where(model.authority_id.in_(list(authority_ids)))
        if condition is not None:
            numbered = numbered.where(condition)
        sub = numbered.subquery()
        rows = self.session.execute(
            select(func.min(sub.c.id), func.max(sub.c.id), func.count())
            .group_by(sub.c.part)
            .order_by(sub.c.part)
        )
        return [(int(first), int(last), int(count)) for first, last, count in rows]

    def authorities(self) -> Sequence[Authority]:
        """Every issuing authority."""
        return self.session.scalars(select(Authority).order_by(Authority.id)).all()

    # -- one slice ---------------------------------------------------------------------------

    def prefer_index_lookups(self) -> None:
        """Plan the rest of this transaction's queries for a ledger held in memory or on SSD
        (PostgreSQL ``SET LOCAL random_page_cost = 1.1``; nothing on SQLite).

        A slice is a few thousand records, each joined to its operator (licence, photo) by
        primary key. At the server's default cost of a random page (4, a spinning disk)
        PostgreSQL read all 100,000 operators and hashed them for every slice instead of
        looking up the slice's few thousand: 82 ms against 19-30 ms a slice, and parallel
        workers started for each. 1.1 is the value PostgreSQL's documentation suggests when
        random reads cost little more than sequential ones.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SET LOCAL random_page_cost = 1.1"))

    def licences(
        self, first: int, last: int, authority_ids: Collection[int], type_code: str | None
    ) -> Sequence[Any]:
        """Licences with ids in [first, last] and their operators' columns (``op_*``)."""
        query = (
            select(
                Licence.id,
                Licence.authority_id,
                Licence.operator_id,
                Licence.type_code,
                Licence.number,
                Licence.business_scopes,
                Licence.valid_from,
                Licence.valid_until,
                Licence.issue_date,
                Licence.status,
                *_operator_columns(),
            )
            .join(Operator, Operator.id == Licence.operator_id)
            .where(Licence.id.between(first, last))
            .where(Licence.authority_id.in_(list(authority_ids)))
            .order_by(Licence.id)
        )
        if type_code is not None:
            query = query.where(Licence.type_code == type_code)
        return self._records(query)

    def vehicles(
        self, first: int, last: int, authority_ids: Collection[int], ride_hailing: bool | None
    ) -> Sequence[Any]:
        """Vehicles with ids in [first, last], their operators' columns, licence number, photo."""
        licence = aliased(Licence)
        query = (
            select(
                Vehicle.id,
                Vehicle.authority_id,
                Vehicle.operator_id,
                Vehicle.plate,
                Vehicle.plate_color,
                Vehicle.vehicle_type,
                Vehicle.brand_model,
                Vehicle.seats,
                Vehicle.tonnage_kg,
                Vehicle.length_mm,
                Vehicle.width_mm,
                Vehicle.height_mm,
                Vehicle.business_scopes,
                Vehicle.technical_grade,
                Vehicle.status,
                Vehicle.ride_hailing,
                Vehicle.transport_number,
                Vehicle.issue_date,
                Vehicle.valid_from,
                Vehicle.valid_until,
                Vehicle.review_valid_until,
                Vehicle.transport_status,
                licence.number.label("licence_number"),
                Photo.sm3.label("photo_sm3"),
                *_operator_columns(),
            )
            .join(Operator, Operator.id == Vehicle.operator_id)
            .outerjoin(licence, licence.id == Vehicle.licence_id)
            .outerjoin(Photo, Photo.id == Vehicle.photo_id)
            .where(Vehicle.id.between(first, last))
            .where(Vehicle.authority_id.in_(list(authority_ids)))
            .order_by(Vehicle.id)
        )
        if ride_hailing is not None:
            query = query.where(Vehicle.ride_hailing.is_(ride_hailing))
        return self._records(query)

    def practitioners(
        self, first: int, last: int, authority_ids: Collection[int]
    ) -> tuple[Sequence[Any], dict[int, list[Any]], dict[int, list[Any]]]:
        """Practitioners with ids in [first, last], with their qualifications and entries.

        Returns (people, qualifications by practitioner id, entries by practitioner id, in
        date order).

        The joined practitioners' id range is stated again although the join implies it:
        PostgreSQL carries equalities across a join, not ranges, and without it hashed every
        practitioner of the authority for each slice (358 ms a slice instead of 7 ms at 53,000
        practitioners; most of the server's share of a million-certificate run).
        """
        people = self._records(
            select(
                Practitioner.id,
                Practitioner.authority_id,
                Practitioner.name,
                Practitioner.id_number,
                Practitioner.id_type,
                Practitioner.sex,
                Practitioner.birth_date,
                Practitioner.nationality,
                Practitioner.address,
                Practitioner.driving_class,
                Practitioner.certificate_number,
                Photo.sm3.label("photo_sm3"),
            )
            .outerjoin(Photo, Photo.id == Practitioner.photo_id)
            .where(Practitioner.id.between(first, last))
            .where(Practitioner.authority_id.in_(list(authority_ids)))
            .order_by(Practitioner.id)
        )
        qualifications: dict[int, list[Any]] = {}
        for row in self._records(
            select(
                Qualification.practitioner_id,
                Qualification.category,
                Qualification.valid_from,
                Qualification.valid_until,
                Qualification.status,
            )
            .join(Practitioner, Practitioner.id == Qualification.practitioner_id)
            .where(Qualification.practitioner_id.between(first, last))
            .where(Practitioner.id.between(first, last))  # see the docstring
            .where(Practitioner.authority_id.in_(list(authority_ids)))
            .order_by(Qualification.practitioner_id, Qualification.category)
        ):
            qualifications.setdefault(row.practitioner_id, []).append(row)
        entries: dict[int, list[Any]] = {}
        for entry in self._records(
            select(
                PractitionerEntry.practitioner_id,
                PractitionerEntry.kind,
                PractitionerEntry.entry_date,
                PractitionerEntry.text,
            )
            .join(Practitioner, Practitioner.id == PractitionerEntry.practitioner_id)
            .where(PractitionerEntry.practitioner_id.between(first, last))
            .where(Practitioner.id.between(first, last))
            .where(Practitioner.authority_id.in_(list(authority_ids)))
            .order_by(PractitionerEntry.practitioner_id, PractitionerEntry.entry_date)
        ):
            entries.setdefault(entry.practitioner_id, []).append(entry)
        return people, qualifications, entries

    def current_keys(
        self, kind: SourceKind, first: int, last: int, authority_ids: Collection[int]
    ) -> set[str]:
        """Current keys of the authorities' e-certs made from records of ``kind`` with ids in
        [first, last].

        (An e-cert of a record that has since moved to another authority is not among them; its
        key is then found by the unique constraint when the batch is written.)
        """
        rows = self._rows(
            select(Ecert.current_key).where(
                Ecert.source_kind == kind,
                Ecert.source_id.between(first, last),
                Ecert.authority_id.in_(list(authority_ids)),
                Ecert.current_key.is_not(None),
            )
        )
        return {key for (key,) in rows}

    def status_indices_since(
        self, authority_id: int, after_id: int | None
    ) -> list[tuple[int, int]]:
        """(id, status index) of the authority's e-cert versions with ids above ``after_id``
        (all of them for ``None``).

        A range of the primary key, so bringing a writer's bitmap up to date reads only what
        was written since.
        """
        query = select(Ecert.id, Ecert.status_index).where(Ecert.authority_id == authority_id)
        if after_id is not None:
            query = query.where(Ecert.id > after_id)
        return [(int(i), int(x)) for i, x in self._rows(query)]

    def existing_current_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have a current version now."""
        wanted = list(keys)
        found: set[str] = set()
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            found.update(
                k
                for k in self.session.scalars(
                    select(Ecert.current_key).where(Ecert.current_key.in_(chunk))
                )
                if k is not None
            )
        return found

    # -- deferred indexes --------------------------------------------------------------------

    def ecert_count(self) -> int:
        """E-cert versions stored."""
        return int(self.session.scalar(select(func.count()).select_from(_ECERT_TABLE)) or 0)

    def missing_deferrable_indexes(self) -> list[str]:
        """Which of ``DEFERRABLE_INDEXES`` the database lacks (a large run dropped them)."""
        inspector = inspect(self.session.connection())
        if not inspector.has_table("ecert"):  # a database not set up yet
            return []
        present = {i["name"] for i in inspector.get_indexes("ecert")}
        return [name for name in DEFERRABLE_INDEXES if name not in present]

    def drop_deferrable_indexes(self, lock_timeout: float = DROP_LOCK_TIMEOUT) -> list[str] | None:
        """Drop ``DEFERRABLE_INDEXES``; returns those that were there, or None when PostgreSQL
        could not lock the table within ``lock_timeout`` seconds (then nothing is dropped).

        Dropping an index locks the whole table on PostgreSQL: behind a long transaction that
        reads e-certs (a report, an export), the DROP would wait, and every query of the portal
        would queue behind it. So it waits a few seconds at most, in a savepoint that a timeout
        rolls back, leaving the caller's transaction as it was. (On SQLite the caller's write
        transaction already holds the only lock the DROP needs; readers are not blocked.)
        """
        missing = self.missing_deferrable_indexes()
        dropped = [name for name in DEFERRABLE_INDEXES if name not in missing]
        if not dropped:
            return []
        try:
            with self.session.begin_nested():
                if self.session.get_bind().dialect.name == "postgresql":
                    self.session.execute(
                        select(func.set_config("lock_timeout", f"{lock_timeout * 1000:.0f}", True))
                    )
                for name in dropped:
                    self.session.execute(DropIndex(_ecert_index(name), if_exists=True))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            return None
        return dropped

    def create_missing_indexes(self) -> list[str]:
        """Build whichever of ``DEFERRABLE_INDEXES`` is missing; returns those built.

        ``IF NOT EXISTS``: two commands finishing at once both get past the check.
        """
        missing = self.missing_deferrable_indexes()
        for name in missing:
            self.session.execute(CreateIndex(_ecert_index(name), if_not_exists=True))
        return missing

    # -- writing -----------------------------------------------------------------------------

    def lock_authorities(self, authority_ids: Collection[int]) -> None:
        """Hold the authorities' rows until commit (PostgreSQL ``FOR UPDATE``; SQLite's writer
        already holds the whole database).

        Status-list indices are drawn among those not yet taken; two transactions drawing for
        the same authority at once could both draw one, and the unique key would then fail a
        whole batch. In ascending id order, so two writers cannot deadlock.
        """
        self.session.execute(
            select(Authority.id)
            .where(Authority.id.in_(sorted(authority_ids)))
            .order_by(Authority.id)
            .with_for_update()
        ).all()

    def insert_ecerts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write new e-cert versions: one binary COPY on PostgreSQL, one executemany on SQLite
        (``roadcert.bulkwrite``).

        Each row gives every column but ``id``. A unique key already taken raises
        ``IntegrityError`` and leaves the transaction to be rolled back. On PostgreSQL a COPY
        spares the server parsing each row's INSERT and its values, CPU taken from the signing
        workers on the same cores.
        """
        write_rows(self.session.connection(), _ECERT_TABLE, rows, with_id=False)
