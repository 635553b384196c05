"""A served app and a real browser (Debian's Chromium driven by Playwright) for page tests.

The browser is the system's /usr/bin/chromium: Playwright's own browser download cannot run
here. Without Chromium the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from roadcert.accounts.models import Role
from tests.clients import PASSWORD, add_user
from tests.conftest import Served, serve_sqlite_app

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


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The app served on loopback over a fresh SQLite database."""
    with serve_sqlite_app(tmp_path) as app:
        yield app


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


def sign_in(page: Page, served: Served, role: Role, **binding: Any) -> str:
    """Create a user of ``role`` and sign in through the login form; returns the username."""
    username = add_user(served.runtime, role, **binding)
    page.goto(served.base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("body")
    return username
