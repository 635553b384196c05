"""The verify endpoint under concurrent load on a real server (the TestClient runs serially)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn

from roadcert.app import create_app
from roadcert.config import Environment, Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.migrate import upgrade
from roadcert.runtime import Runtime
from roadcert.verification.codes import text_for
from tests import factories as f

IN_FLIGHT = 24  # more than the engine's pool (5 + 10 overflow) can hold at once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served app on SQLite with one e-cert; yields (base URL, the e-cert's code text)."""
    url = f"sqlite:///{tmp_path / 'rc.db'}"
    upgrade(url)
    settings = Settings(env=Environment.TEST, data_dir=tmp_path, database_url=url)
    engine = make_engine(url)
    store = FileKeyStore(tmp_path / "keys", "test", kdf=ScryptParams(log2_n=10))
    runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
    with runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        (ecert,) = f.licence(svc, auth, f.operator(svc, auth)).effect.issued
        code = text_for(svc, ecert, "RC.TEST")
    port = _free_port()
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
        yield f"http://127.0.0.1:{port}", code
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def test_concurrent_verifications_all_answer(served: tuple[str, str]) -> None:
    base, code = served

    def one(_: int) -> tuple[int, bool]:
        response = httpx.post(f"{base}/api/verify", json={"text": code}, timeout=20)
        return response.status_code, bool(response.json().get("ok"))

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        results = list(pool.map(one, range(IN_FLIGHT * 3)))
    assert results == [(200, True)] * (IN_FLIGHT * 3)
