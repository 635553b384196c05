"""HTTP clients for tests: fail on any 5xx, and sign in as a user of a given role."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from roadcert.accounts.models import Role
from roadcert.accounts.service import NewUser
from roadcert.app import create_app
from roadcert.runtime import Runtime

PASSWORD = "test-pass-2026"
_names = itertools.count(1)


class Client(TestClient):
    """A test client that fails the test on any 5xx answer."""

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        assert response.status_code < 500, (
            f"{method} {url} → {response.status_code}: {response.text}"
        )
        return response


def new_client(runtime: Runtime) -> Client:
    # Not entered as a context manager: the lifespan's expiry sweep would run in another thread
    # on the test's single connection.
    return Client(create_app(runtime), raise_server_exceptions=False)


def add_user(
    runtime: Runtime,
    role: Role,
    *,
    authority_id: int | None = None,
    holder_code: str | None = None,
    username: str | None = None,
    display_name: str = "",
) -> str:
    """A user of ``role`` (committed in the runtime's database); returns the username."""
    username = username or f"{role.value}{next(_names)}"
    with runtime.unit_of_work() as svc:
        svc.accounts.create_user(
            NewUser(
                username,
                PASSWORD,
                display_name or username,
                role,
                authority_id=authority_id,
                holder_code=holder_code,
            )
        )
    return username


def api_client(runtime: Runtime, role: Role = Role.ADMIN, **binding: Any) -> Client:
    """A client carrying a bearer token of a new user of ``role``."""
    username = add_user(runtime, role, **binding)
    with runtime.unit_of_work() as svc:
        token = svc.accounts.issue_api_token(username, "test")
    client = new_client(runtime)
    client.headers["Authorization"] = f"Bearer {token}"
    return client
