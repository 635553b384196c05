"""Signing in, cookies, CSRF and the ownership rules on every kind of route, on both databases.

The matrix at the end tries each e-cert by id through the JSON API, its face download, its page
and its PDF download, as every role, and checks who gets it and who gets a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from roadcert.accounts.models import Role
from roadcert.app import SECURITY_HEADERS
from roadcert.certificates.models import Ecert
from roadcert.registry.models import Operator
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import PASSWORD, Client, add_user, api_client, new_client


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> object:
    form = client.get("/login")
    assert form.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None, page.text[:500]
    return match.group(1)


def test_sign_in_sets_a_guarded_cookie_and_lands_on_the_role_home(runtime: Runtime) -> None:
    client = new_client(runtime)
    username = add_user(runtime, Role.OFFICER)
    response = _sign_in(client, username)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/officer/scan"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "roadcert_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # Plain-HTTP test server: not Secure; over HTTPS it is (next test).
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/officer/scan"


def test_over_https_the_session_cookie_is_secure(runtime: Runtime) -> None:
    client = Client(new_client(runtime).app, base_url="https://testserver")
    username = add_user(runtime, Role.OFFICER)
    response = _sign_in(client, username)
    assert "Secure" in response.headers["set-cookie"]  # type: ignore[attr-defined]


def test_a_wrong_password_shows_the_form_again(runtime: Runtime) -> None:
    client = new_client(runtime)
    username = add_user(runtime, Role.OFFICER)
    response = _sign_in(client, username, "wrong-password-1")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "用户名或密码错误" in response.text  # type: ignore[attr-defined]
    assert "roadcert_session" not in client.cookies


def test_login_without_its_csrf_token_is_refused(runtime: Runtime) -> None:
    client = new_client(runtime)
    username = add_user(runtime, Role.OFFICER)
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "<html" in response.text  # a page, not JSON, for a page route


def test_login_redirects_only_to_local_paths(runtime: Runtime) -> None:
    client = new_client(runtime)
    username = add_user(runtime, Role.OFFICER)
    form = client.get("/login", params={"next": "//evil.example/x"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/officer/scan"


def test_a_changing_request_needs_the_session_csrf_token(runtime: Runtime) -> None:
    client = new_client(runtime)
    _sign_in(client, add_user(runtime, Role.ADMIN))
    refused = client.post("/logout")
    assert refused.status_code == 403
    assert client.get("/login", follow_redirects=False).status_code == 303  # still signed in
    token = _csrf(client, "/staff/ecerts")
    done = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/logout").status_code == 405
    assert client.get("/ecerts/1", follow_redirects=False).status_code == 303  # signed out


def test_pages_redirect_anonymous_visitors_to_login(runtime: Runtime) -> None:
    client = new_client(runtime)
    response = client.get("/staff/ecerts?page=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/staff/ecerts%3Fpage%3D2"
    api = client.get("/api/ecerts")
    assert api.status_code == 401 and api.json()["code"] == "auth.required"


def test_a_dead_bearer_token_is_an_error_not_anonymity(runtime: Runtime) -> None:
    client = new_client(runtime)
    client.headers["Authorization"] = "Bearer rc_not-a-real-token"
    response = client.get("/api/ecerts")
    assert response.status_code == 401
    assert response.json()["message"] == "访问令牌无效或已过期"


def test_every_answer_carries_the_security_headers(runtime: Runtime) -> None:
    client = new_client(runtime)
    for path in ("/login", "/api/status-lists/none", "/no-such-page"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)


# -- who sees what ---------------------------------------------------------------------------


@dataclass
class World:
    """Two authorities, an operator and a practitioner at the first, an operator at the second."""

    licence_a: Ecert
    licence_b: Ecert
    qualification_a: Ecert
    operator_b: Operator
    authority_a: int
    authority_b: int
    clients: dict[str, Client]


@pytest.fixture
def world(runtime: Runtime, services: Services) -> World:
    auth_a, auth_b = f.authority(services), f.authority(services, region="220200")
    op_a, op_b = f.operator(services, auth_a), f.operator(services, auth_b)
    (licence_a,) = f.licence(services, auth_a, op_a).effect.issued
    (licence_b,) = f.licence(services, auth_b, op_b).effect.issued
    person = f.practitioner(services, auth_a)
    (qualification_a,) = person.effect.issued
    services.session.commit()
    clients = {
        "admin": api_client(runtime, Role.ADMIN),
        "clerk_a": api_client(runtime, Role.CLERK, authority_id=auth_a.id),
        "clerk_b": api_client(runtime, Role.CLERK, authority_id=auth_b.id),
        "officer": api_client(runtime, Role.OFFICER),
        "enterprise_a": api_client(runtime, Role.ENTERPRISE, holder_code=op_a.uscc),
        "enterprise_b": api_client(runtime, Role.ENTERPRISE, holder_code=op_b.uscc),
        "driver_a": api_client(runtime, Role.PRACTITIONER, holder_code=person.record.id_number),
        "anonymous": new_client(runtime),
    }
    return World(licence_a, licence_b, qualification_a, op_b, auth_a.id, auth_b.id, clients)


ALLOWED = {
    "licence_a": {"admin", "clerk_a", "enterprise_a"},
    "licence_b": {"admin", "clerk_b", "enterprise_b"},
    "qualification_a": {"admin", "clerk_a", "driver_a"},
}


@pytest.mark.parametrize("which", sorted(ALLOWED))
def test_each_ecert_only_for_its_holder_and_authority(world: World, which: str) -> None:
    ecert: Ecert = getattr(world, which)
    for ref in (str(ecert.id), ecert.identifier):
        for who, client in world.clients.items():
            for path in (
                f"/api/ecerts/{ref}",
                f"/api/ecerts/{ref}/pdf",
                f"/ecerts/{ref}",
                f"/ecerts/{ref}/download.pdf",
            ):
                response = client.get(path, follow_redirects=False)
                if who in ALLOWED[which]:
                    assert response.status_code == 200, (who, path, response.text[:200])
                elif who == "anonymous":
                    assert response.status_code in (303, 401), (who, path)
                else:
                    assert response.status_code == 403, (who, path, response.status_code)
                    if path.startswith("/api/"):
                        assert response.json()["code"] in {"auth.not_yours", "auth.role"}


def test_holders_list_only_their_own_ecerts(world: World) -> None:
    enterprise = world.clients["enterprise_a"]
    own = enterprise.get("/api/ecerts").json()
    assert [e["identifier"] for e in own] == [world.licence_a.identifier]
    other = enterprise.get("/api/ecerts", params={"holder_code": world.licence_b.holder_code})
    assert other.status_code == 403
    assert world.clients["officer"].get("/api/ecerts").status_code == 403
    clerk = world.clients["clerk_b"].get("/api/ecerts").json()
    assert {e["identifier"] for e in clerk} == {world.licence_b.identifier}


def test_the_ledger_api_is_for_staff_of_the_records_authority(world: World) -> None:
    path = f"/api/operators/{world.operator_b.id}"
    assert world.clients["clerk_b"].get(path).status_code == 200
    assert world.clients["admin"].get(path).status_code == 200
    for who in ("clerk_a", "officer", "enterprise_b", "driver_a"):
        response = world.clients[who].get(path)
        assert response.status_code == 403, who
    assert world.clients["anonymous"].get(path).status_code == 401
    listed = world.clients["clerk_a"].get("/api/operators").json()
    assert listed["items"] and {o["authority_id"] for o in listed["items"]} == {world.authority_a}
    other = world.clients["clerk_a"].get(
        "/api/operators", params={"authority_id": world.authority_b}
    )
    assert other.status_code == 403
    change = world.clients["clerk_a"].patch(path, json={"name": "越权更名物流有限公司"})
    assert change.status_code == 403
    issue = world.clients["clerk_a"].post(
        "/api/ecerts/issue", json={"source_kind": "licence", "source_id": world.licence_b.source_id}
    )
    assert issue.status_code == 403
    # Only the provincial admin creates authorities or switches e-certs on.
    enable = world.clients["clerk_a"].put(
        f"/api/authorities/{world.authority_a}/ecert-enabled", json={"enabled": False}
    )
    assert enable.status_code == 403


def test_downloads_and_views_are_audited_and_a_holder_download_activates(
    world: World, services: Services
) -> None:
    ecert = world.licence_a
    world.clients["clerk_a"].get(f"/api/ecerts/{ecert.id}/pdf")
    services.session.refresh(ecert)
    assert ecert.activated_at is None  # staff reading is not the holder using it
    world.clients["enterprise_a"].get(f"/ecerts/{ecert.identifier}/download.pdf")
    services.session.refresh(ecert)
    assert ecert.activated_at is not None
    events = services.audit.about([f"ecert:{ecert.serial}"])
    tags = [e.tag for e in events]
    assert tags.count("certificates:ecert:downloaded") == 2
    assert "certificates:ecert:activated" in tags
    assert any("省级管理员" not in e.actor and "经营业户" in e.actor for e in events)


def test_ledger_changes_through_the_api_are_audited_and_refusals_are_not(
    world: World, services: Services
) -> None:
    path = f"/api/operators/{world.operator_b.id}"
    refused = world.clients["clerk_a"].patch(path, json={"name": "越权更名物流有限公司"})
    assert refused.status_code == 403
    bad = world.clients["clerk_b"].patch(path, json={"name": ""})
    assert bad.status_code == 422
    done = world.clients["clerk_b"].patch(path, json={"name": "长春市更名运输有限公司"})
    assert done.status_code == 200, done.text
    world.clients["clerk_b"].get(path)  # reading is not a change
    subject = f"operators/{world.operator_b.id}"
    events = [e for e in services.audit.repo.latest("registry:") if e.subject == subject]
    assert len(events) == 1
    assert events[0].tag == "registry:record:changed"
    assert events[0].actor.endswith("（发证机关工作人员）")
    assert events[0].details == {"method": "PATCH", "via": "api"}
