"""The verify endpoint under concurrent load on a real server (the TestClient runs serially)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from roadcert.verification.codes import text_for
from tests import factories as f
from tests.conftest import serve_sqlite_app

IN_FLIGHT = 24  # more than the engine's pool (5 + 10 overflow) can hold at once


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served app on SQLite with one e-cert; yields (base URL, the e-cert's code text)."""
    with serve_sqlite_app(tmp_path) as app:
        with app.runtime.unit_of_work() as svc:
            auth = f.authority(svc)
            (ecert,) = f.licence(svc, auth, f.operator(svc, auth)).effect.issued
            code = text_for(svc, ecert, "RC.TEST")
        yield app.base, code


def test_concurrent_verifications_all_answer(served: tuple[str, str]) -> None:
    base, code = served

    def one(_: int) -> tuple[int, bool]:
        response = httpx.post(f"{base}/api/verify", json={"text": code}, timeout=20)
        return response.status_code, bool(response.json().get("ok"))

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        results = list(pool.map(one, range(IN_FLIGHT * 3)))
    assert results == [(200, True)] * (IN_FLIGHT * 3)
