"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# A fixed naming convention keeps constraint names identical on SQLite and PostgreSQL, which
# ``alembic check`` and batch migrations on SQLite both rely on.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type, so aware datetimes are normalised to UTC on the way in and
    tagged UTC on the way out; naive values are a programming error.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


#: Execution option of a connection whose transaction only reads (``read_transaction``).
READ_ONLY = "roadcert_read_only"

#: Page cache of each SQLite connection, KiB.
SQLITE_CACHE_KIB = 64 * 1024


def _unchanged(value: Any) -> Any:
    return value


def _bind_without_adaptation() -> None:
    """Let sqlite3 bind bytes, memoryview and None as they are, without its adaptation search.

    sqlite3 binds str, int, float and bytearray directly; any other value, even bytes and
    None, first goes through its adaptation protocol, whose fallback looks up ``__adapt__``
    on a class and formats the AttributeError that lookup raises, about a microsecond per
    value. A registered adapter is found first, by one dictionary lookup. Each e-cert row
    binds two bytes values and three NULLs. Process-wide, and a no-op for what is stored:
    sqlite3 binds the unchanged value exactly as before (bytes and memoryview as BLOB, None
    as NULL).
    """
    for kind in (bytes, memoryview, type(None)):
        sqlite3.register_adapter(kind, _unchanged)


def _configure_sqlite(engine: Engine) -> None:
    _bind_without_adaptation()

    # pysqlite opens transactions lazily and breaks SAVEPOINT handling; take control of BEGIN
    # ourselves (SQLAlchemy's documented recipe) and switch on WAL and foreign keys.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Up to 64 MiB of pages per connection (SQLite's default is 2 MiB): a provincial ledger's
        # e-cert table has several indexes on random keys (holder, status-list index, validity),
        # and at a million e-certs each insert otherwise reads most of their pages back from
        # the OS.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    # IMMEDIATE: a transaction takes the write lock when it starts. A deferred one that has read
    # cannot upgrade once another connection has committed in WAL mode: SQLite answers "database
    # is locked" at once instead of waiting out busy_timeout. Writers now queue; readers outside
    # a write wait at most as long as one request's transaction.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # deferred: reads a snapshot, holds no write lock
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and proper transactions."""
    # JSON columns as compact UTF-8 text: faces are Chinese, and escaping every character as
    # \uXXXX doubled their size and the time to write them.
    kwargs.setdefault("json_serializer", _compact_json)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Run work that only reads, and roll it back at the end.

    On SQLite the transaction starts deferred instead of ``BEGIN IMMEDIATE``: it reads a WAL
    snapshot and holds no write lock, so a long report (the 制证率 over a million certificates
    takes seconds) does not hold up the writers of a running server or import. On PostgreSQL
    it is an ordinary transaction.
    """
    session = factory()
    try:
        session.connection(execution_options={READ_ONLY: True})
        yield session
    finally:
        session.rollback()
        session.close()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Run a unit of work: commit on success, roll back on any error.

    This is the only place outside request handling that commits; services never do.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
