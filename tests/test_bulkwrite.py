"""Rows written straight to the driver read back as SQLAlchemy's own INSERT stores them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from roadcert.bulkwrite import write_rows
from roadcert.certificates.bulk_repository import BulkRepository
from roadcert.certificates.models import Ecert
from roadcert.db import UTCDateTime
from roadcert.runtime import Services
from tests import factories

BEIJING = timezone(timedelta(hours=8))


def _ecert_rows(services: Services, count: int, tag: str) -> list[dict[str, Any]]:
    """New e-cert rows as bulk issuance makes them (every column but ``id``), with the awkward
    values each column can hold."""
    authority = factories.authority(services)
    key = services.keys.signing_key(authority)
    services.session.flush()
    at = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=BEIJING)  # the day before in UTC
    rows = []
    for n in range(count):
        rows.append(
            {
                "identifier": f"{tag}-identifier-{n}",
                "type_code": "1122220000000000000",
                "serial": f"{tag}{n:06d}",
                "version": 1,
                "authority_id": authority.id,
                "source_kind": "practitioner",
                "source_id": 10**6 + n,
                "current_key": f"{tag}-key-{n}" if n % 3 else None,
                "number": f"吉长字第{n:08d}号",
                "holder_name": "张三\t'引号\"\\反斜杠,逗号" if n % 2 else "",
                "holder_code": "220102199001011234",
                "holder_code_type": "111",
                "issue_date": date(2024, 2, 29),
                "valid_from": date(1970, 1, 1) + timedelta(days=n),
                "valid_until": date(9999, 12, 31),
                "status": "valid",
                "status_changed_at": at + timedelta(microseconds=n) if n % 2 else None,
                "status_reason": None if n % 2 else "换发：持证人姓名变更",
                "operation": "new",
                "signed_data": bytes(range(256)) * (n + 1),
                "signature": b"" if n == 0 else b"\x00\\\n" * n,
                "signing_key_id": key.id,
                "supersedes_id": None,
                "status_index": n,
                "issued_at": at.astimezone(UTC) if n % 2 else at,
                "activated_at": None if n % 2 else datetime(2000, 1, 1, tzinfo=UTC),
            }
        )
    return rows


def _columns(ecert: Ecert) -> dict[str, Any]:
    return {c.key: getattr(ecert, c.key) for c in Ecert.__table__.columns if c.key != "id"}


def test_ecerts_written_in_bulk_read_back_as_sqlalchemy_writes_them(
    services: Services, session: Session
) -> None:
    ours = _ecert_rows(services, 6, "bulk")
    theirs = _ecert_rows(services, 6, "core")
    session.execute(insert(Ecert), theirs)  # SQLAlchemy's own INSERT, as before
    BulkRepository(session).insert_ecerts(ours)
    session.commit()
    session.expire_all()
    stored = {e.identifier: e for e in session.scalars(select(Ecert))}
    unlike = {"identifier", "serial", "current_key", "authority_id", "signing_key_id"}
    for mine, reference in zip(ours, theirs, strict=True):
        written = _columns(stored[mine["identifier"]])
        expected = _columns(stored[reference["identifier"]])
        for name in unlike:
            del written[name], expected[name]
        assert written == expected
        assert written == {k: mine[k] for k in written}
        for name in ("issued_at", "status_changed_at", "activated_at"):
            value = written[name]
            assert value is None or value.utcoffset() == timedelta(0)  # aware, in UTC
        assert type(written["signed_data"]) is type(expected["signed_data"]) is bytes
    # As the database holds them (SQLite's date and timestamp texts, say), untyped.
    raw = {
        r.identifier: r._asdict()
        for r in session.execute(text("SELECT * FROM ecert WHERE identifier LIKE '%-identifier-%'"))
    }
    for mine, reference in zip(ours, theirs, strict=True):
        written, expected = raw[mine["identifier"]], raw[reference["identifier"]]
        for name in {*unlike, "id"}:
            del written[name], expected[name]
        assert written == expected
    mine_stored = stored[ours[0]["identifier"]]
    assert mine_stored.issued_at == datetime(2024, 2, 29, 15, 59, 59, 123456, tzinfo=UTC)
    assert (mine_stored.current_key, mine_stored.authority_id) == (None, ours[0]["authority_id"])


def test_unique_key_collision_raises_integrity_error_and_the_session_goes_on(
    services: Services, session: Session
) -> None:
    rows = _ecert_rows(services, 4, "clash")
    repo = BulkRepository(session)
    repo.insert_ecerts(rows[:2])
    session.commit()
    dialect = session.get_bind().dialect
    with pytest.raises(IntegrityError) as raised:
        repo.insert_ecerts(rows[1:])  # rows[1]'s identifier and serial are taken
    assert isinstance(raised.value.orig, dialect.loaded_dbapi.IntegrityError)
    assert raised.value.statement is not None
    expected = "COPY " if dialect.name == "postgresql" else "INSERT INTO "
    assert raised.value.statement.startswith(expected)
    session.rollback()
    repo.insert_ecerts(rows[2:])
    session.commit()
    written = session.scalars(select(Ecert.serial).where(Ecert.serial.like("clash%"))).all()
    assert sorted(written) == [r["serial"] for r in rows]


# -- any table, in transactions of its own -------------------------------------------------------


@pytest.fixture
def probe(engine: Engine) -> Iterator[Table]:
    """A scratch table of every kind of column the shared writer sends, dropped afterwards."""
    table = Table(
        f"bulkwrite_probe_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("code", String(8), unique=True),
        Column("flag", Boolean),
        Column("big", BigInteger),
        Column("small", SmallInteger),
        Column("doc", JSON),
        Column("at", UTCDateTime),
        Column("day", Date),
        Column("blob", LargeBinary),
        Column("note", Text),
    )
    table.create(engine)
    try:
        yield table
    finally:
        table.drop(engine)


def _probe_row(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "code": f"c{n}",
        "flag": n % 2 == 0,
        "big": 2**40 + n,
        "small": -n,
        "doc": {"名称": "中文", "list": [1, 2.5, None, True], "n": n},
        "at": datetime(2025, 1, 1, 8, tzinfo=BEIJING),
        "day": date(2025, 1, n + 1),
        "blob": bytes([n]) * 3,
        "note": None,
    }


def test_rows_of_any_table_round_trip_and_a_failed_write_rolls_back(
    engine: Engine, probe: Table
) -> None:
    told: list[bool] = []
    with Session(engine) as session:
        write_rows(session.connection(), probe, [_probe_row(0), _probe_row(1)], with_id=True)
        session.commit()
        with pytest.raises(IntegrityError):
            write_rows(
                session.connection(),
                probe,
                [_probe_row(2), _probe_row(1)],
                with_id=True,
                waiting=told.append,
            )
        session.rollback()
        write_rows(session.connection(), probe, [_probe_row(2)], with_id=True, waiting=told.append)
        session.commit()
        stored = [dict(r._mapping) for r in session.execute(select(probe).order_by(probe.c.id))]
    assert stored == [_probe_row(0), _probe_row(1), _probe_row(2)]
    assert stored[0]["at"].tzinfo is not None
    # The end of each COPY, failed or not, is waited for; SQLite's executemany is a statement.
    assert told == ([True, False, True, False] if engine.dialect.name == "postgresql" else [])


def test_rows_without_their_id_are_numbered_by_the_database(engine: Engine) -> None:
    table = Table(
        f"bulkwrite_one_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("code", String(8)),
    )
    table.create(engine)
    try:
        with Session(engine) as session:
            write_rows(session.connection(), table, [{"code": "a"}, {"code": "b"}], with_id=False)
            session.commit()
            stored = session.execute(select(table.c.code).order_by(table.c.id)).scalars().all()
        assert stored == ["a", "b"]
    finally:
        table.drop(engine)


def test_other_driver_errors_come_as_sqlalchemy_errors(engine: Engine) -> None:
    missing = Table(
        f"bulkwrite_missing_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("code", String(8)),
    )
    with Session(engine) as session:
        with pytest.raises(DBAPIError) as raised:
            write_rows(session.connection(), missing, [{"id": 1, "code": "a"}], with_id=True)
        assert isinstance(raised.value, ProgrammingError | OperationalError)
        assert isinstance(raised.value.orig, engine.dialect.loaded_dbapi.Error)
        session.rollback()
        assert session.scalar(select(1)) == 1
