"""A served app and a real browser (Debian's Chromium driven by Playwright) for page tests.

The browser is the system's /usr/bin/chromium: Playwright's own browser download cannot run
here. Without Chromium the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from roadcert.app import create_app
from roadcert.config import Environment, Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.migrate import upgrade
from roadcert.runtime import Runtime

CHROMIUM = os.environ.get("ROADCERT_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: no background fetches, no component updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@dataclass
class Served:
    """A running app: its base URL and its runtime (for setting up data)."""

    base: str
    runtime: Runtime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The app served by uvicorn on loopback over a fresh SQLite database."""
    url = f"sqlite:///{tmp_path / 'rc.db'}"
    upgrade(url)
    port = _free_port()
    settings = Settings(
        env=Environment.TEST, data_dir=tmp_path, database_url=url, verify_host=f"127.0.0.1:{port}"
    )
    engine = make_engine(url)
    store = FileKeyStore(tmp_path / "keys", "test", kdf=ScryptParams(log2_n=10))
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the session."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required under CI=true and is missing: {CHROMIUM}")
        pytest.skip(f"Chromium not installed: {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def screenshot_path(name: str) -> Path:
    """Where a test keeps a screenshot for people to look at (var/screenshots/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
