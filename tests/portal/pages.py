"""Signing in to the pages with a TestClient as a browser does: login form, cookie, CSRF token."""

from __future__ import annotations

import re
from typing import Any

from roadcert.accounts.models import Role
from roadcert.runtime import Runtime
from tests.clients import PASSWORD, Client, add_user, new_client

_HIDDEN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def browser_client(runtime: Runtime, role: Role, **binding: Any) -> tuple[Client, str]:
    """A client signed in through /login with a session cookie, and the session's CSRF token."""
    username = add_user(runtime, role, **binding)
    client = new_client(runtime)
    form = client.get("/login")
    token = _HIDDEN_TOKEN.search(form.text)
    assert token, form.text
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get(answer.headers["location"])
    csrf = _META_TOKEN.search(home.text)
    assert csrf, home.text
    return client, csrf.group(1)


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and spaces folded (for assertions)."""
    without_tags = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", without_tags)
