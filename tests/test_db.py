"""roadcert.db transactions on a real SQLite file: a read-only unit of work takes no write lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from roadcert.db import make_engine, make_sessionmaker, read_transaction, transaction


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite"


@pytest.fixture
def sessions(path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    yield make_sessionmaker(engine)
    engine.dispose()


def _write_now(path: Path, value: int) -> None:
    """Insert a row as another process would, giving up after 0.2 s of waiting for the lock."""
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (?)", (value,))
        other.execute("COMMIT")
    finally:
        other.close()


def _count(sessions: sessionmaker[Session]) -> int:
    with read_transaction(sessions) as session:
        return int(session.scalar(text("SELECT count(*) FROM t")) or 0)


def test_a_read_transaction_leaves_the_database_to_writers(
    sessions: sessionmaker[Session], path: Path
) -> None:
    with read_transaction(sessions) as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == 1
        _write_now(path, 2)  # behind a BEGIN IMMEDIATE it would time out
        # The reader goes on with the snapshot it started with.
        assert reader.scalar(text("SELECT count(*) FROM t")) == 1
    assert _count(sessions) == 2


def test_a_write_transaction_holds_the_lock_a_read_one_does_not(
    sessions: sessionmaker[Session], path: Path
) -> None:
    with transaction(sessions) as writer:
        writer.execute(text("SELECT count(*) FROM t"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _write_now(path, 3)
    assert _count(sessions) == 1


def test_what_a_read_transaction_writes_is_not_kept(sessions: sessionmaker[Session]) -> None:
    with read_transaction(sessions) as session:
        session.execute(text("INSERT INTO t VALUES (4)"))
    assert _count(sessions) == 1


def test_bytes_and_none_are_stored_as_blob_and_null(path: Path) -> None:
    # make_engine registers sqlite3 adapters that hand bytes, memoryview and None over
    # unchanged (roadcert.db._bind_without_adaptation): what is stored must not change.
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE b (x, y, z)"))
            conn.exec_driver_sql(
                "INSERT INTO b VALUES (?, ?, ?)", (b"\x00\xffsigned", memoryview(b"sig"), None)
            )
            row = conn.exec_driver_sql(
                "SELECT typeof(x), typeof(y), typeof(z), x, y, z FROM b"
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("blob", "blob", "null", b"\x00\xffsigned", b"sig", None)
