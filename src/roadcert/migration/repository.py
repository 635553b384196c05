"""All SQL of ``roadcert import``: look-ups by export keys and bulk writes, one batch at a time.

Every look-up takes the keys of one batch as one bound parameter (one delimited text on
PostgreSQL, a JSON list on SQLite), so the importer holds nothing per record between batches;
every write goes to the driver in one binary COPY (PostgreSQL) or one executemany (SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from roadcert.bulkwrite import write_rows
from roadcert.certificates.models import Ecert, SourceKind
from roadcert.registry.models import (
    Authority,
    LedgerHistory,
    Licence,
    Operator,
    Photo,
    Practitioner,
    Qualification,
    QualityIssue,
    Vehicle,
)

OPERATOR: Table = Operator.__table__  # type: ignore[assignment]
LICENCE: Table = Licence.__table__  # type: ignore[assignment]
VEHICLE: Table = Vehicle.__table__  # type: ignore[assignment]
PRACTITIONER: Table = Practitioner.__table__  # type: ignore[assignment]
QUALIFICATION: Table = Qualification.__table__  # type: ignore[assignment]
PHOTO: Table = Photo.__table__  # type: ignore[assignment]
ISSUE: Table = QualityIssue.__table__  # type: ignore[assignment]
HISTORY: Table = LedgerHistory.__table__  # type: ignore[assignment]


# Joins the keys of a look-up on PostgreSQL (``_split``): the unit separator, which no key in an
# export holds (a key that does is sent as an array).
_SEPARATOR = "\x1f"


def _split(column: ColumnElement[Any], items: list[Any]) -> ColumnElement[Any]:
    """``items`` as a PostgreSQL array of ``column``'s type, sent as one delimited text.

    The planner folds ``string_to_array`` of a bound text into a constant array, so the look-up
    uses the column's index exactly as with an array parameter.
    """
    array = ARRAY(column.type)
    if all(item.__class__ is int for item in items):
        joined = ",".join(map(str, items))
        pieces = func.string_to_array(bindparam(None, joined, type_=Text), literal(","))
        return cast(pieces, array)
    if all(item.__class__ is str and item and _SEPARATOR not in item for item in items):
        joined = _SEPARATOR.join(items)
        return func.string_to_array(
            bindparam(None, joined, type_=Text), literal(_SEPARATOR), type_=array
        )
    return bindparam(None, items, type_=array)  # an empty key, say: no text can stand for it


class ImportRepository:
    """Queries and bulk writes of one import batch, in the batch's session."""

    def __init__(self, session: Session, waiting: Callable[[bool], None] | None = None) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        # Told when this process starts (True) and stops (False) waiting for the server where
        # SQLAlchemy's events do not see it: the end of a COPY, when the server checks the
        # rows' foreign keys (``Importer._threaded``).
        self.waiting = waiting

    def _among(self, column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
        """``column`` is one of ``values``, bound as one parameter whatever their number.

        An IN list of a batch's thousand keys is a thousand parameters for SQLAlchemy to
        render and for the driver to parse on every query, which costs more than the query.
        On PostgreSQL the values go as one text the server splits (``string_to_array``): an
        array parameter costs psycopg a Python loop over its items and the server its array
        parser (20,000 keys: 73 ms a look-up against 44 ms, 6.6 ms of this process's CPU
        against 1.6 ms), on every look-up of every batch.
        """
        items = list(dict.fromkeys(values))
        if self.dialect == "postgresql":
            return column == any_(_split(column, items))
        listed = func.json_each(bindparam(None, json.dumps(items), type_=String)).table_valued(
            "value"
        )
        return column.in_(select(listed.c.value))

    def serial_plans(self) -> None:
        """Plan this batch's queries without parallel workers (PostgreSQL; the transaction only).

        A look-up of a batch's 20,000 keys in a table of 600,000 rows is planned (until psycopg
        prepares the statement and the server settles on a generic plan) as a parallel
        sequential scan: two more server processes, three times the CPU of one for a longer
        wait (measured: 231 ms of CPU and 189 ms against 73 ms and 85 ms), taken from the cores
        the import itself is using. The look-ups' results are the same either way.
        """
        if self.dialect == "postgresql":
            self.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

    # -- look-ups ------------------------------------------------------------------------------

    def authorities(self) -> Sequence[Authority]:
        """Every issuing authority (a province has at most a few hundred)."""
        return self.session.scalars(select(Authority).order_by(Authority.id)).all()

    def by_key(
        self, table: Table, key: str, values: Iterable[str], *columns: str
    ) -> dict[str, tuple[Any, ...]]:
        """``key value → (id, *columns)`` of the rows of ``table`` whose ``key`` is among
        ``values``."""
        key_column = table.c[key]
        wanted = [table.c.id, *(table.c[c] for c in columns)]
        query = select(key_column, *wanted).where(self._among(key_column, values))
        return {row[0]: tuple(row[1:]) for row in self.session.execute(query)}

    def qualifications(
        self, pairs: Iterable[tuple[int, str]]
    ) -> dict[tuple[int, str], tuple[int, str | None]]:
        """``(practitioner id, category) → (id, import digest)`` of existing qualifications."""
        wanted = set(pairs)
        q = QUALIFICATION.c
        query = select(q.practitioner_id, q.category, q.id, q.import_digest).where(
            self._among(q.practitioner_id, (p for p, _c in wanted))
        )
        found: dict[tuple[int, str], tuple[int, str | None]] = {}
        for row in self.session.execute(query):
            pair = (row.practitioner_id, row.category)
            if pair in wanted:  # a practitioner holds a handful of categories
                found[pair] = (row.id, row.import_digest)
        return found

    def vehicles_with_plates(self, plates: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(plate, plate colour, 道路运输证号)`` of every vehicle holding one of ``plates``."""
        v = VEHICLE.c
        query = select(v.plate, v.plate_color, v.transport_number).where(
            self._among(v.plate, plates)
        )
        return [(r[0], r[1], r[2]) for r in self.session.execute(query)]

    def practitioners_with_id_numbers(self, numbers: Iterable[str]) -> list[tuple[str, str]]:
        """``(证件号码, 从业资格证号)`` of every practitioner holding one of ``numbers``."""
        p = PRACTITIONER.c
        query = select(p.id_number, p.certificate_number).where(self._among(p.id_number, numbers))
        return [(r[0], r[1]) for r in self.session.execute(query)]

    def photo_ids(self, digests: Iterable[str]) -> dict[str, int]:
        """``SM3 digest → photo id`` of the stored photos among ``digests``."""
        query = select(PHOTO.c.sm3, PHOTO.c.id).where(self._among(PHOTO.c.sm3, digests))
        return {row[0]: row[1] for row in self.session.execute(query)}

    def practitioners_with_ecerts(self, practitioner_ids: Iterable[int]) -> set[int]:
        """The practitioners among ``practitioner_ids`` that hold a current e-cert version."""
        e = Ecert.__table__.c
        query = select(e.source_id).where(
            e.source_kind == SourceKind.PRACTITIONER,
            self._among(e.source_id, practitioner_ids),
            e.current_key.is_not(None),
        )
        return set(self.session.scalars(query))

    def rows(self, table: Table, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Whole rows of ``table`` by id, as column → value."""
        query = select(table).where(self._among(table.c.id, ids))
        return {row.id: dict(row._mapping) for row in self.session.execute(query)}

    def qualifications_of(self, practitioner_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """Every qualification row of each practitioner, in category order."""
        q = QUALIFICATION.c
        query = (
            select(QUALIFICATION)
            .where(self._among(q.practitioner_id, practitioner_ids))
            .order_by(q.practitioner_id, q.category)
        )
        found: dict[int, list[dict[str, Any]]] = {}
        for row in self.session.execute(query):
            found.setdefault(row.practitioner_id, []).append(dict(row._mapping))
        return found

    def open_issues(self, entity: str, ids: Iterable[int]) -> list[Any]:
        """Unresolved findings ``(id, entity_id, field, rule, message, value)`` of records."""
        i = ISSUE.c
        query = select(i.id, i.entity_id, i.field, i.rule, i.message, i.value).where(
            i.entity == entity, self._among(i.entity_id, ids), i.resolved_at.is_(None)
        )
        return list(self.session.execute(query))

    # -- writes --------------------------------------------------------------------------------

    def allocate_ids(self, table: Table, count: int) -> list[int]:
        """``count`` new primary keys of ``table``, so bulk writes need no RETURNING.

        PostgreSQL draws them from the column's sequence. SQLite continues after the largest
        id: every roadcert transaction on SQLite starts with BEGIN IMMEDIATE, so no other writer
        can take the same ones before this batch commits.
        """
        if count <= 0:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            # The sequence is looked up once (MATERIALIZED: otherwise pg_get_serial_sequence runs
            # for every id, 110 ms for 20,000 ids against 12 ms) and the ids come back as one
            # text rather than 20,000 rows.
            query = text(
                "WITH s AS MATERIALIZED "
                "(SELECT pg_get_serial_sequence(:table, 'id')::regclass AS seq) "
                "SELECT string_agg(nextval(s.seq)::text, ',') FROM s, generate_series(1, :n)"
            )
            ids = self.session.scalar(query, {"table": table.name, "n": count})
            return list(map(int, ids.split(",")))
        first = (self.session.scalar(select(func.max(table.c.id))) or 0) + 1
        return list(range(first, first + count))

    def write(self, table: Table, rows: list[dict[str, Any]], *, with_id: bool = True) -> None:
        """Insert ``rows`` through the driver (``roadcert.bulkwrite``): binary COPY on
        PostgreSQL, executemany on SQLite. Every column is given explicitly (no Python-side
        defaults run)."""
        if not rows:
            return
        self.session.flush()  # ORM work of this batch goes first
        write_rows(self.session.connection(), table, rows, with_id=with_id, waiting=self.waiting)

    def resolve_issues(self, issue_ids: list[int], at: datetime) -> None:
        """Close findings whose record no longer breaks their rule."""
        if issue_ids:
            query = update(ISSUE).where(self._among(ISSUE.c.id, issue_ids))
            self.session.execute(query.values(resolved_at=at))

    def restate_issue(self, issue_id: int, message: str, value: str | None) -> None:
        """Show what is there now on a finding that still holds with another bad value."""
        self.session.execute(
            update(ISSUE).where(ISSUE.c.id == issue_id).values(message=message, value=value)
        )

    def set_digest(self, table: Table, record_id: int, digest: str) -> None:
        """Remember the export row a record now matches."""
        self.session.execute(
            update(table).where(table.c.id == record_id).values(import_digest=digest)
        )


__all__ = [
    "HISTORY",
    "ISSUE",
    "LICENCE",
    "OPERATOR",
    "PHOTO",
    "PRACTITIONER",
    "QUALIFICATION",
    "VEHICLE",
    "ImportRepository",
]
