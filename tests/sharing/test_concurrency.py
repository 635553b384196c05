"""A show code checked by several verifiers at the same moment is accepted exactly once.

Each check runs in its own transaction on its own connection, as concurrent requests do; the
unique nonce in ``show_code_use`` decides the race on both databases.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from roadcert.config import Environment, Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.migrate import upgrade
from roadcert.runtime import Runtime
from roadcert.sharing.service import SharingService
from tests.conftest import postgres_schema, postgres_url_for, serve_sqlite_app
from tests.sharing.conftest import held

RACERS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def committed_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime over a database of its own, where every unit of work really commits."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
        yield from _runtime(url, tmp_path)
    else:
        for schema in postgres_schema("rc_share"):
            yield from _runtime(postgres_url_for(schema), tmp_path)


def _runtime(url: str, directory: Path) -> Iterator[Runtime]:
    upgrade(url)
    engine = make_engine(url, pool_size=RACERS, max_overflow=0)
    settings = Settings(env=Environment.TEST, data_dir=directory, database_url=url)
    store = FileKeyStore(directory / "keys", "test", kdf=ScryptParams(log2_n=10))
    try:
        yield Runtime(settings, engine, make_sessionmaker(engine), store)
    finally:
        engine.dispose()


def test_racing_checks_accept_a_code_once(committed_runtime: Runtime) -> None:
    runtime = committed_runtime
    with runtime.unit_of_work() as svc:
        h = held(svc)
        text = SharingService(svc).make_show_code(h.principal, h.ecert.identifier).text
    start = threading.Barrier(RACERS)

    def check(n: int) -> str:
        start.wait()
        with runtime.unit_of_work() as svc:
            result = SharingService(svc).check_show_code(text, f"执法人员{n}")
            return "ok" if result.ok else (result.refusal.code if result.refusal else "?")

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = sorted(pool.map(check, range(RACERS)))
    assert outcomes == ["ok"] + ["show_code.reused"] * (RACERS - 1)


def test_racing_requests_on_a_served_app_accept_a_code_once(tmp_path: Path) -> None:
    """The same race through HTTP on a real server (SQLite, the harder case): no 5xx."""
    with serve_sqlite_app(tmp_path) as app:
        with app.runtime.unit_of_work() as svc:
            h = held(svc)
            text = SharingService(svc).make_show_code(h.principal, h.ecert.identifier).text
        start = threading.Barrier(RACERS)

        def post(_: int) -> tuple[int, bool, str | None]:
            start.wait()
            response = httpx.post(
                f"{app.base}/api/show-codes/verify", json={"text": text}, timeout=60
            )
            body = response.json()
            return response.status_code, body["ok"], body["code"]

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            answers = sorted(pool.map(post, range(RACERS)), key=lambda a: not a[1])
    assert answers == [(200, True, None)] + [(200, False, "show_code.reused")] * (RACERS - 1)
