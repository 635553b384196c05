"""The practitioner's pages with the TestClient on both databases: the owner sees them, nobody
else reaches the practitioner's certificates by URL or API, the anonymous go to /login."""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass
from datetime import date

import pytest
from PIL import Image

from roadcert.accounts.models import Role
from roadcert.certificates.models import Ecert
from roadcert.kit import ric, uscc
from roadcert.registry.models import Authority, PhotoReview
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.clients import PASSWORD, Client, add_user, api_client, new_client

_rng = random.Random(11)


@dataclass
class Driver:
    authority: Authority
    ecert: Ecert
    id_number: str
    client: Client


@pytest.fixture
def driver(runtime: Runtime, services: Services) -> Driver:
    """赵师傅, with 货运 and 巡游出租 qualifications (two e-certs), signed in by bearer token."""
    auth = f.authority(services)
    outcome = f.practitioner(services, auth, categories=("02001", "09002"), name="赵师傅")
    ecert = next(e for e in outcome.effect.issued if e.type_code.endswith("071"))
    services.session.commit()
    client = api_client(runtime, Role.PRACTITIONER, holder_code=outcome.record.id_number)
    return Driver(auth, ecert, outcome.record.id_number, client)


def _jpeg(size: tuple[int, int] = (60, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_owner_pages_answer(driver: Driver) -> None:
    page = driver.client.get("/me/qualifications")
    assert page.status_code == 200
    for text in (
        "我的资格证",
        "经营性道路货物运输驾驶员",
        driver.id_number,
        "归属地区",
        "初领证日期",
    ):
        assert text in page.text, text
    for link in (
        f"/ecerts/{driver.ecert.identifier}",
        f"/ecerts/{driver.ecert.identifier}/download.pdf",
        f"/me/show/{driver.ecert.identifier}",
    ):
        assert link in page.text, link
    assert page.text.count("亮证</a>") == 2  # one card a category, both with an e-cert
    for path in ("/me/photo", "/me/shares", "/me/access", f"/me/show/{driver.ecert.identifier}"):
        assert driver.client.get(path).status_code == 200, path
    assert driver.client.get("/me/photo/current").headers["content-type"] == "image/png"
    show = driver.client.get(f"/me/show/{driver.ecert.identifier}").text
    assert "赵师傅" in show and "/static/show.js" in show and 'data-text="HTTPS://' in show


def test_every_other_role_is_refused_the_practitioners_identifier(
    runtime: Runtime, driver: Driver
) -> None:
    ident = driver.ecert.identifier
    other_id = ric.generate(_rng, "220102", date(1985, 6, 1), False)
    others = {
        "another practitioner": api_client(runtime, Role.PRACTITIONER, holder_code=other_id),
        "enterprise": api_client(
            runtime, Role.ENTERPRISE, holder_code=uscc.generate(_rng, "220102")
        ),
        "officer": api_client(runtime, Role.OFFICER),
        "clerk": api_client(runtime, Role.CLERK, authority_id=driver.authority.id),
        "admin": api_client(runtime, Role.ADMIN),
    }
    for who, client in others.items():
        for method, url, body in (
            ("GET", f"/me/show/{ident}", None),
            ("GET", f"/me/shares?ecert={ident}", None),
            ("POST", "/api/show-codes", {"ecert": ident}),
            ("POST", "/api/shares", {"ecert": ident, "grantee": "某某公司", "hours": 24}),
        ):
            answer = client.request(method, url, json=body)
            assert answer.status_code == 403, (who, url, answer.status_code)
        if who != "another practitioner":
            assert client.get("/me/qualifications").status_code == 403, who
            assert client.get("/me/photo").status_code == 403, who
    # The other practitioner's own pages show nothing of the driver's.
    mine = others["another practitioner"].get("/me/qualifications")
    assert mine.status_code == 200 and driver.id_number not in mine.text
    assert ident not in others["enterprise"].get("/me/shares").text


def test_anonymous_is_sent_to_login(runtime: Runtime, driver: Driver) -> None:
    anonymous = new_client(runtime)
    for path in (
        "/me/qualifications",
        "/me/photo",
        "/me/shares",
        "/me/access",
        f"/me/show/{driver.ecert.identifier}",
    ):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path
    assert anonymous.post("/api/show-codes", json={"ecert": "x"}).status_code == 401


def test_photo_upload_waits_for_review_and_limits_are_clear(
    driver: Driver, services: Services
) -> None:
    ok = driver.client.post(
        "/me/photo", files={"photo": ("me.jpg", _jpeg(), "image/jpeg")}, follow_redirects=False
    )
    assert ok.status_code == 303
    page = driver.client.get("/me/photo")
    assert "待审核" in page.text
    (submission,) = services.photos.of_subject("practitioner", driver.ecert.source_id)
    assert submission.review == PhotoReview.PENDING
    assert driver.client.get(f"/me/photo/uploads/{submission.id}").status_code == 200

    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    for content, message in (
        (gif.getvalue(), "仅限 JPEG 或 PNG"),
        (b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "照片过大"),
        (b"not a picture", "照片不是可识别的图片"),
        (b"", "请选择照片文件"),
    ):
        answer = driver.client.post("/me/photo", files={"photo": ("x", content, "image/gif")})
        assert answer.status_code == 422, answer.status_code
        assert message in answer.text
    assert len(services.photos.of_subject("practitioner", driver.ecert.source_id)) == 1


def test_another_practitioners_upload_is_refused(runtime: Runtime, driver: Driver) -> None:
    driver.client.post("/me/photo", files={"photo": ("me.jpg", _jpeg(), "image/jpeg")})
    page = driver.client.get("/me/photo").text
    (upload,) = re.findall(r"/me/photo/uploads/(\d+)", page)
    other = api_client(
        runtime, Role.PRACTITIONER, holder_code=ric.generate(_rng, "220102", date(1979, 1, 2), True)
    )
    assert other.get(f"/me/photo/uploads/{upload}").status_code == 403
    assert other.get("/me/photo/current").status_code == 404


def test_missing_photo_is_the_reason_then_generation_works(
    runtime: Runtime, services: Services
) -> None:
    auth = f.authority(services)
    outcome = f.practitioner(services, auth, photo=None, name="钱师傅")
    assert outcome.effect.refused and not outcome.effect.issued
    services.session.commit()
    client = api_client(runtime, Role.PRACTITIONER, holder_code=outcome.record.id_number)
    page = client.get("/me/qualifications").text
    assert "暂无电子证照：请先在「我的电子照片」中设置照片" in page
    assert 'href="/me/photo"' in page

    # Once the authority has put a photo on the record, 证照下载 generates the e-cert.
    services.ledger.set_practitioner_photo(outcome.record.id, f.png(30, 40))
    services.session.commit()
    page = client.get("/me/qualifications").text
    assert "证照下载（生成电子证照）" in page
    (type_code,) = re.findall(r'name="type_code" value="([0-9A-Z]{21})"', page)
    made = client.post(
        "/me/qualifications/issue",
        data={"person_id": str(outcome.record.id), "type_code": type_code},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get("/me/qualifications").text
    assert "亮证</a>" in page and "电子证照有效" in page


def test_forms_need_the_csrf_token_of_the_session(runtime: Runtime, driver: Driver) -> None:
    username = add_user(runtime, Role.PRACTITIONER, holder_code=driver.id_number)
    browser = new_client(runtime)
    login = browser.get("/login")
    anon_token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert anon_token is not None
    signed_in = browser.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": anon_token.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    form = {"ecert": driver.ecert.identifier, "grantee": "某某公司", "purpose": "", "hours": "24"}
    assert browser.post("/me/shares", data=form).status_code == 403
    page = browser.get("/me/shares").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    created = browser.post("/me/shares", data=form | {"csrf_token": token.group(1)})
    assert created.status_code == 200
    assert "授权链接（仅显示这一次" in created.text and "/shared/" in created.text
    assert created.headers["cache-control"] == "no-store"
    link = re.search(r'id="share-link">[^<]*/shared/([^<\s]+)<', created.text)
    assert link is not None
    # The link is not on the page a second time.
    assert link.group(1) not in browser.get("/me/shares").text
    bad = browser.post(
        "/me/shares", data=form | {"csrf_token": token.group(1), "grantee": " ", "hours": "x"}
    )
    assert bad.status_code == 422 and "请选择授权期限" in bad.text
