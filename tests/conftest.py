"""Test fixtures: a real database (SQLite and PostgreSQL) built by the migrations.

Every database test runs once per backend, inside a transaction rolled back at its end.
PostgreSQL is optional on a developer machine (skipped when absent) and required under CI=true.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from roadcert.app import create_app
from roadcert.config import Environment, Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.migrate import upgrade
from roadcert.runtime import Runtime, Services

POSTGRES_URL = os.environ.get(
    "ROADCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED = Path(__file__).resolve().parents[2] / "shared"
CONFORMANCE = SHARED / "conformance"


def postgres_schema(prefix: str) -> Iterator[str]:
    """A throwaway PostgreSQL schema, dropped afterwards; skipped when PostgreSQL is absent.

    Under CI=true an unreachable PostgreSQL fails the test instead.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to reach PostgreSQL means "absent"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_url_for(schema: str) -> str:
    """The PostgreSQL URL whose connections work in ``schema``."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def _postgres_engine() -> Iterator[Engine]:
    for schema in postgres_schema("rc_test"):
        engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        try:
            with engine.connect() as conn:
                upgrade(connection=conn)
            yield engine
        finally:
            engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running app: its base URL and its runtime (for setting up data)."""

    base: str
    runtime: Runtime


@contextmanager
def serve_sqlite_app(directory: Path) -> Iterator[Served]:
    """The app served by uvicorn on loopback over a fresh SQLite database in ``directory``.

    The TestClient runs requests one at a time; this is for what needs a real server:
    concurrency, and a browser.
    """
    url = f"sqlite:///{directory / 'rc.db'}"
    upgrade(url)
    port = _free_port()
    settings = Settings(
        env=Environment.TEST,
        data_dir=directory,
        database_url=url,
        verify_host=f"127.0.0.1:{port}",
    )
    engine = make_engine(url)
    store = FileKeyStore(directory / "keys", "test", kdf=ScryptParams(log2_n=10))
    runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield Served(f"http://127.0.0.1:{port}", runtime)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each backend, shared by the session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "roadcert.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
    else:
        yield from _postgres_engine()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key store directory shared by the session (labels never collide)."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def settings(key_dir: Path, tmp_path: Path) -> Settings:
    """Test settings: Jilin, keys in the shared key directory."""
    return Settings(env=Environment.TEST, data_dir=tmp_path, province_code="220000")


@pytest.fixture(scope="session")
def store(key_dir: Path) -> FileKeyStore:
    """One file key store for the whole run."""
    # A cheap KDF: the cost of sealing is not what these tests are about.
    return FileKeyStore(key_dir, "test-passphrase", kdf=ScryptParams(log2_n=10))


@pytest.fixture
def runtime(engine: Engine, settings: Settings, store: FileKeyStore, session: Session) -> Runtime:
    """A runtime whose sessions all join the test's rolled-back transaction."""
    factory = make_sessionmaker(engine)
    factory.configure(bind=session.connection(), join_transaction_mode="create_savepoint")
    return Runtime(settings, engine, factory, store)


@pytest.fixture
def services(runtime: Runtime, session: Session) -> Services:
    """Domain services in the test session."""
    return runtime.services(session, actor="test")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each backend (PostgreSQL: a throw-away schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    schema = f"rc_mig_{uuid.uuid4().hex[:12]}"
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
