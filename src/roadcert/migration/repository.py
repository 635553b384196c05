"""All SQL of ``roadcert import``: look-ups by export keys and bulk writes, one batch at a time.

Every look-up takes the keys of one batch as one bound parameter (one delimited text on
PostgreSQL, a JSON list on SQLite), so the importer holds nothing per record between batches;
every write goes to the driver in one binary COPY (PostgreSQL) or one executemany (SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

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


@dataclass(frozen=True)
class _Conversion:
    """How a table's rows become the driver's tuples on one dialect, worked out once."""

    names: list[str]
    # SQLite DATE columns: SQLAlchemy writes YYYY-MM-DD, which date.isoformat() gives in C.
    dates: list[int]
    date_processor: Callable[[Any], Any] | None
    # Every other column with a bind processor.
    processors: list[tuple[int, Callable[[Any], Any]]]
    # PostgreSQL: the type each column is sent as in a binary COPY (``_copy_type``).
    copy_types: list[str]


_CONVERSIONS: dict[tuple[str, str, bool], _Conversion] = {}

# How SQLAlchemy's SQLite DATE writes a date.
_SQLITE_DATE_FORMAT = "%(year)04d-%(month)02d-%(day)02d"


def _processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    if dialect.name == "postgresql" and isinstance(column.type, JSON):
        # COPY takes JSON as text; SQLAlchemy's processor would wrap each value for psycopg's
        # JSON adapter, which costs more than writing the row.
        return _compact_json
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _conversion(table: Table, dialect: Dialect, with_id: bool) -> _Conversion:
    key = (table.name, dialect.name, with_id)
    if key not in _CONVERSIONS:
        columns = [c for c in table.columns if with_id or c.name != "id"]
        dates: list[int] = []
        date_processor = None
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, column in enumerate(columns):
            processor = _processor(column, dialect)
            if processor is None:
                continue
            impl = column.type.dialect_impl(dialect)
            if isinstance(impl, sqlite.DATE) and impl._storage_format == _SQLITE_DATE_FORMAT:
                dates.append(index)
                date_processor = processor
            else:
                processors.append((index, processor))
        copy_types = [_copy_type(c) for c in columns] if dialect.name == "postgresql" else []
        _CONVERSIONS[key] = _Conversion(
            [c.name for c in columns], dates, date_processor, processors, copy_types
        )
    return _CONVERSIONS[key]


def _copy_type(column: Any) -> str:
    """The PostgreSQL type a column's values are sent as in a binary COPY.

    Binary COPY carries no types: the server reads each field with its column's own receive
    function, which checks it as an INSERT would (lengths, JSON syntax). Text, VARCHAR and JSON
    all receive UTF-8 text, so they are sent as ``text`` (JSON already serialised by
    ``_processor``); numbers, dates and timestamps go as their binary forms, which spares the
    server parsing them and this process formatting them.
    """
    kind = column.type
    while isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, SmallInteger):
        return "int2"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, String | JSON):  # Text and Enum are Strings
        return "text"
    if isinstance(kind, LargeBinary):
        return "bytea"
    raise TypeError(f"{column.table.name}.{column.name}: 导入无法以 COPY 写入 {kind!r}")


def _compact_json(value: Any) -> str:
    # As roadcert.db's engines serialise JSON columns: compact, Chinese unescaped.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tuples(conversion: _Conversion, rows: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """The driver's tuples of ``rows``, one by one: the database takes each while the next is
    converted (a COPY streams them), rather than waiting for the whole batch."""
    dates, date_processor = conversion.dates, conversion.date_processor
    processors = conversion.processors
    # Timestamps, flags and code lists repeat from row to row: each distinct value is converted
    # once per batch.
    converted: list[dict[Any, Any]] = [{} for _ in processors]
    pick = itemgetter(*conversion.names)
    for row in rows:
        values = list(pick(row))
        for index in dates:
            value = values[index]
            if value.__class__ is date:
                values[index] = value.isoformat()
            elif value is not None:
                assert date_processor is not None
                values[index] = date_processor(value)  # a datetime, say: SQLAlchemy's way
        for (index, processor), seen in zip(processors, converted, strict=True):
            value = values[index]
            if value is None:
                continue
            kind = value.__class__
            # As ``_memo_key``, written out: this runs for every timestamp of every row.
            if kind in _MEMO_TYPES:
                memo_key: Any = (kind, value)
            else:
                memo_key = _memo_key(value)
                if memo_key is None:
                    values[index] = processor(value)
                    continue
            converted_value = seen.get(memo_key, _UNSEEN)
            if converted_value is _UNSEEN:
                converted_value = seen[memo_key] = processor(value)
            values[index] = converted_value
        yield tuple(values)


_UNSEEN = object()

# Values whose conversion depends on nothing but their equality (1 == True == 1.0 is why
# numbers are not among them).
_MEMO_TYPES = frozenset({str, date, datetime, bool})


def _memo_key(value: Any) -> Any:
    """The key a value's conversion is remembered by, None if it is not remembered."""
    kind = value.__class__
    if kind in _MEMO_TYPES:
        return (kind, value)
    if kind is list and all(item.__class__ is str for item in value):
        return tuple(value)  # a list of codes
    return None


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
        """Insert ``rows`` through the driver: binary COPY on PostgreSQL, executemany on SQLite.

        SQLAlchemy's executemany spends more time per row than the database does; here each
        value goes through its column type's own bind processor once (the same conversion
        SQLAlchemy applies, so what is stored reads back identically) and the driver gets plain
        tuples. Every column is given explicitly (no Python-side defaults run).
        """
        if not rows:
            return
        self.session.flush()  # ORM work of this batch goes first
        connection = self.session.connection()
        dialect = connection.dialect
        conversion = _conversion(table, dialect, with_id)
        names, tuples = conversion.names, _tuples(conversion, rows)
        preparer = dialect.identifier_preparer
        target = preparer.format_table(table)
        listed = ", ".join(preparer.quote(n) for n in names)
        driver = connection.connection.driver_connection
        if dialect.name == "postgresql":
            # Binary: psycopg formats a row in half the time of text and the server parses
            # none of its numbers, dates and timestamps (``_copy_type``).
            statement = f"COPY {target} ({listed}) FROM STDIN (FORMAT BINARY)"
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(statement) as copy:
                    copy.set_types(conversion.copy_types)
                    for values in tuples:
                        copy.write_row(values)
                    if self.waiting is not None:
                        self.waiting(True)  # leaving the block ends the COPY
                if self.waiting is not None:
                    self.waiting(False)
        else:
            marks = ", ".join("?" for _ in names)
            driver.executemany(  # type: ignore[union-attr]
                f"INSERT INTO {target} ({listed}) VALUES ({marks})", tuples
            )

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
