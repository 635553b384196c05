"""Rows straight to the database driver: one binary COPY on PostgreSQL, one executemany on SQLite.

Shared by the bulk writers (``roadcert import``, bulk issuance). SQLAlchemy's executemany spends
more time per row than the database does; here each value goes through its column type's own
bind processor once (the same conversion SQLAlchemy applies, so what is stored reads back
identically) and the driver gets plain tuples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

from roadcert.kit.chinatime import iso_date


@dataclass(frozen=True)
class _Conversion:
    """How a table's rows become the driver's tuples on one dialect, worked out once."""

    names: list[str]
    # SQLite DATE columns: SQLAlchemy writes YYYY-MM-DD, which date.isoformat() gives (iso_date).
    dates: list[int]
    date_processor: Callable[[Any], Any] | None
    # Every other column with a bind processor.
    processors: list[tuple[int, Callable[[Any], Any]]]
    # PostgreSQL: the type each column is sent as in a binary COPY (``_copy_type``).
    copy_types: list[str]


_CONVERSIONS: dict[tuple[str, str, bool], _Conversion] = {}

# How SQLAlchemy's SQLite DATE writes a date.
_SQLITE_DATE_FORMAT = "%(year)04d-%(month)02d-%(day)02d"


def write_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    with_id: bool,
    waiting: Callable[[bool], None] | None = None,
) -> None:
    """Insert ``rows`` through the driver: binary COPY on PostgreSQL (psycopg), executemany on
    SQLite.

    Each row maps every column of ``table`` to its value (``id`` too when ``with_id``; without
    it the database numbers the rows): every column is given explicitly, so no Python-side
    default runs. ``waiting`` is told when this process starts (True) and stops (False) waiting
    for the server at the end of a COPY, where SQLAlchemy's events do not see it.

    A driver error is raised as SQLAlchemy's (``IntegrityError`` for a unique key, as an
    ``execute`` would), and leaves the transaction to be rolled back.
    """
    if not rows:
        return
    dialect = connection.dialect
    conversion = _conversion(table, dialect, with_id)
    names, tuples = conversion.names, _tuples(conversion, rows)
    preparer = dialect.identifier_preparer
    target = preparer.format_table(table)
    listed = ", ".join(preparer.quote(n) for n in names)
    driver = connection.connection.driver_connection
    if dialect.name == "postgresql":
        # Binary: psycopg formats a row in half the time of text and the server parses none of
        # its numbers, dates and timestamps (``_copy_type``).
        statement = f"COPY {target} ({listed}) FROM STDIN (FORMAT BINARY)"
    else:
        marks = ", ".join("?" for _ in names)
        statement = f"INSERT INTO {target} ({listed}) VALUES ({marks})"
    try:
        if dialect.name == "postgresql":
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                try:
                    with cursor.copy(statement) as copy:
                        copy.set_types(conversion.copy_types)
                        for values in tuples:
                            copy.write_row(values)
                        if waiting is not None:
                            waiting(True)  # leaving the block ends the COPY
                finally:
                    if waiting is not None:
                        waiting(False)
        else:
            driver.executemany(statement, tuples)  # type: ignore[union-attr]
    except dialect.loaded_dbapi.Error as exc:
        raise _translated(connection, statement, exc) from exc


def _translated(connection: Connection, statement: str, exc: Any) -> StatementError:
    """The driver's ``exc`` as SQLAlchemy would raise it from ``execute``.

    bulk issuance retries a batch on ``IntegrityError`` and the commands report any
    ``SQLAlchemyError``; a lost connection is invalidated, as SQLAlchemy does, so the pool
    does not hand it out again.
    """
    dialect = connection.dialect
    driver = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(exc, driver, None)
    if lost and not connection.invalidated:
        connection.invalidate(exc)
    return DBAPIError.instance(
        statement,
        None,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )


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
    raise TypeError(f"{column.table.name}.{column.name}: 无法以 COPY 写入 {kind!r}")


def _compact_json(value: Any) -> str:
    # As roadcert.db's engines serialise JSON columns: compact, Chinese unescaped.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tuples(
    conversion: _Conversion, rows: Sequence[Mapping[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """The driver's tuples of ``rows``, one by one: the database takes each while the next is
    converted (a COPY streams them), rather than waiting for the whole batch."""
    dates, date_processor = conversion.dates, conversion.date_processor
    processors = conversion.processors
    # Timestamps, flags and code lists repeat from row to row: each distinct value is converted
    # once per batch.
    converted: list[dict[Any, Any]] = [{} for _ in processors]
    names = conversion.names
    # itemgetter of one name gives the value itself, not a tuple of one.
    pick = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    for row in rows:
        values = list(pick(row))
        for index in dates:
            value = values[index]
            if value.__class__ is date:
                values[index] = iso_date(value)
            elif value is not None:
                assert date_processor is not None
                values[index] = date_processor(value)  # a datetime, say: SQLAlchemy's way
        for (index, processor), seen in zip(processors, converted, strict=True):
            value = values[index]
            if value is None:
                continue
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


__all__ = ["write_rows"]
