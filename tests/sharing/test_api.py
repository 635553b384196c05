"""Sharing over HTTP on both databases: show codes, their check, grants, and the access log.

The app runs on the test's ``runtime``: every request joins the test transaction. ``Client``
fails the test on any 5xx answer.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import date

import pytest

from roadcert.accounts.models import Role
from roadcert.audit.service import ecert_subject
from roadcert.certificates.models import Ecert
from roadcert.kit import ric
from roadcert.render import qr
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import Client, api_client, new_client

# Another person's (valid) ID number.
OTHER_ID = ric.generate(random.Random(3), "110101", date(1990, 3, 7), True)


@dataclass
class Holding:
    ecert: Ecert
    id_number: str
    holder: Client


@pytest.fixture
def holding(runtime: Runtime, services: Services) -> Holding:
    """A practitioner 王小明 with a 从业资格证 e-cert, and a client signed in as them."""
    auth = f.authority(services)
    outcome = f.practitioner(services, auth, name="王小明")
    (ecert,) = outcome.effect.issued
    services.session.commit()  # releases the savepoint; the test transaction still rolls back
    holder = api_client(
        runtime, Role.PRACTITIONER, holder_code=outcome.record.id_number, display_name="王小明"
    )
    return Holding(ecert, outcome.record.id_number, holder)


def _show_code(h: Holding, refresh: bool = False) -> dict[str, object]:
    response = h.holder.post(
        "/api/show-codes", json={"ecert": h.ecert.identifier, "refresh": refresh}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_show_code_answer_carries_a_qr_of_its_text(holding: Holding, services: Services) -> None:
    body = _show_code(holding)
    png = base64.b64decode(str(body["png"]).removeprefix("data:image/png;base64,"))
    (decoded,) = qr.decode_image(png)
    assert decoded.text == body["text"]
    assert decoded.version == body["qr_version"] and int(str(body["qr_version"])) <= 15
    assert body["ttl_seconds"] == 45 and body["refresh_seconds"] == 20
    # Asking for a code is showing the e-cert: recorded, and the first showing activates it.
    services.session.expire_all()
    assert services.issuance.get(holding.ecert.id).activated_at is not None
    subject = [ecert_subject(holding.ecert.serial)]
    assert len(services.audit.about(subject, ["sharing:ecert:shown"])) == 1
    _show_code(holding, refresh=True)  # the page's renewals are not new showings
    assert len(services.audit.about(subject, ["sharing:ecert:shown"])) == 1


def test_officer_sees_full_data_and_the_public_masked(runtime: Runtime, holding: Holding) -> None:
    officer = api_client(runtime, Role.OFFICER, display_name="执法检查员甲")
    checked = officer.post("/api/show-codes/verify", json={"text": _show_code(holding)["text"]})
    body = checked.json()
    assert checked.status_code == 200 and body["ok"] is True, body
    assert body["ecert"]["full"] is True
    assert holding.id_number in checked.text and "王小明" in checked.text

    public = new_client(runtime).post(
        "/api/show-codes/verify", json={"text": _show_code(holding)["text"]}
    )
    body = public.json()
    assert body["ok"] is True and body["ecert"]["full"] is False
    assert holding.id_number not in public.text
    assert "王小明" not in public.text and "王■■" in public.text


def test_reuse_and_not_ours_answers(runtime: Runtime, holding: Holding) -> None:
    client = new_client(runtime)
    text = _show_code(holding)["text"]
    assert client.post("/api/show-codes/verify", json={"text": text}).json()["ok"] is True
    again = client.post("/api/show-codes/verify", json={"text": text})
    assert again.status_code == 200
    assert again.json()["code"] == "show_code.reused"
    assert again.json()["single_use"]["ok"] is False
    for bad in ("HTTPS://RC.TEST/R/AAAA", "garbage", "x" * 1999):
        answer = client.post("/api/show-codes/verify", json={"text": bad})
        assert answer.status_code == 422
        assert answer.json()["message"].startswith("不是本系统的亮证码")
    assert client.post("/api/show-codes/verify", json={"text": "x" * 2001}).status_code == 422
    assert client.post("/api/show-codes/verify", json={}).status_code == 422


def test_only_the_holder_makes_codes_and_grants(runtime: Runtime, holding: Holding) -> None:
    other = api_client(runtime, Role.PRACTITIONER, holder_code=OTHER_ID)
    officer = api_client(runtime, Role.OFFICER)
    body = {"ecert": holding.ecert.identifier}
    assert other.post("/api/show-codes", json=body).status_code == 403
    assert officer.post("/api/show-codes", json=body).status_code == 403
    grant_body = body | {"grantee": "某某公司", "hours": 24}
    assert other.post("/api/shares", json=grant_body).status_code == 403
    assert new_client(runtime).post("/api/show-codes", json=body).status_code == 401

    created = holding.holder.post("/api/shares", json=grant_body)
    assert created.status_code == 201, created.text
    grant_id = created.json()["id"]
    assert other.delete(f"/api/shares/{grant_id}").status_code == 403
    assert other.get("/api/shares").json() == []
    assert officer.get("/api/shares").status_code == 403
    assert holding.holder.delete("/api/shares/999999").status_code == 403
    assert holding.holder.delete("/api/shares/0").status_code == 422


def test_grant_lifecycle_over_http(runtime: Runtime, holding: Holding) -> None:
    created = holding.holder.post(
        "/api/shares",
        json={
            "ecert": holding.ecert.identifier,
            "grantee": "长春市某某物流有限公司",
            "purpose": "聘用驾驶员核实",
            "hours": 72,
        },
    )
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["state"] == "live" and grant["url"].endswith(f"/shared/{grant['token']}")

    grantee = new_client(runtime)
    seen = grantee.get(f"/api/shared/{grant['token']}")
    assert seen.status_code == 200
    assert seen.json()["ecert"]["holder_code"] == holding.id_number  # the full data
    assert seen.headers["cache-control"] == "no-store"
    (listed,) = holding.holder.get("/api/shares").json()
    assert listed["accesses"] == 1 and "token" not in listed

    assert holding.holder.delete(f"/api/shares/{grant['id']}").json()["state"] == "withdrawn"
    refused = grantee.get(f"/api/shared/{grant['token']}")
    assert refused.status_code == 403 and refused.json()["code"] == "share.withdrawn"
    assert holding.id_number not in refused.text
    assert refused.json()["summary"]["holder_name"] == "王■■"
    assert grantee.get("/api/shared/not-a-token").status_code == 404
    assert holding.holder.delete(f"/api/shares/{grant['id']}").status_code == 409

    bad = holding.holder.post(
        "/api/shares", json={"ecert": holding.ecert.identifier, "grantee": "甲", "hours": 721}
    )
    assert bad.status_code == 422


def test_access_log_lists_verifications_and_grant_access(
    runtime: Runtime, holding: Holding
) -> None:
    officer = api_client(runtime, Role.OFFICER, display_name="执法检查员乙")
    officer.post("/api/show-codes/verify", json={"text": _show_code(holding, True)["text"]})
    new_client(runtime).post(
        "/api/show-codes/verify", json={"text": _show_code(holding, True)["text"]}
    )
    token = holding.holder.post(
        "/api/shares",
        json={"ecert": holding.ecert.identifier, "grantee": "某某驾校", "hours": 1},
    ).json()["token"]
    new_client(runtime).get(f"/api/shared/{token}")

    page = holding.holder.get("/me/access")
    assert page.status_code == 200
    html = page.text
    for expected in (
        "执法检查员乙（执法人员）",
        "公众",
        "某某驾校",
        "核验",
        "亮证核验",
        "授权查看",
    ):
        assert expected in html, expected
    # Another holder's log does not show these.
    other = api_client(runtime, Role.PRACTITIONER, holder_code=OTHER_ID)
    assert "执法检查员乙" not in other.get("/me/access").text
    assert new_client(runtime).get("/me/access", follow_redirects=False).status_code == 303


def test_an_enterprise_shares_and_shows_its_licence(runtime: Runtime, services: Services) -> None:
    auth = f.authority(services)
    operator = f.operator(services, auth)
    (licence,) = f.licence(services, auth, operator).effect.issued
    services.session.commit()
    assert operator.uscc is not None
    enterprise = api_client(runtime, Role.ENTERPRISE, holder_code=operator.uscc)
    page = enterprise.get("/me/shares")
    assert page.status_code == 200 and licence.identifier in page.text
    created = enterprise.post(
        "/api/shares", json={"ecert": licence.identifier, "grantee": "某银行", "hours": 1}
    )
    assert created.status_code == 201
    assert new_client(runtime).get(f"/api/shared/{created.json()['token']}").status_code == 200
    shown = enterprise.post("/api/show-codes", json={"ecert": licence.identifier})
    assert shown.status_code == 200
    checked = new_client(runtime).post(
        "/api/show-codes/verify", json={"text": shown.json()["text"]}
    )
    assert checked.json()["ok"] is True
    log = enterprise.get("/me/access").text
    assert "某银行" in log and "亮证核验" in log
    assert enterprise.get("/me/qualifications").status_code == 403  # a practitioner's page
