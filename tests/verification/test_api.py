"""Verification over HTTP on both databases: POST /api/verify, the /R/ page, faces and lists.

The app runs on the test's ``runtime`` (see tests/test_api.py): every request's session joins the
test transaction. ``Client`` fails the test on any 5xx answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from roadcert.accounts.models import Role
from roadcert.audit.service import ecert_subject
from roadcert.certificates.status import ListStatus, parse_status_list
from roadcert.crypto import x509
from roadcert.crypto.trustlist import verify_trust_list
from roadcert.kit.masking import mask_name
from roadcert.registry.schemas import LicenceChange
from roadcert.render import qr
from roadcert.render.faces import extract_attachment
from roadcert.runtime import Runtime, Services
from roadcert.verification import inputs, payload
from roadcert.verification.masking import public_plate
from roadcert.verification.service import verify_cose
from roadcert.verification.sources import load_offline
from tests import factories as f
from tests.clients import Client, api_client, new_client
from tests.verification.conftest import (
    PARTS,
    Issued,
    code,
    issue,
    no_database,
    now,
    online,
    pdf_without_ecert,
    photo_of,
    text,
)


@pytest.fixture
def client(runtime: Runtime) -> Client:
    """Verification needs no account; the face downloads the tests compare need the admin's."""
    return api_client(runtime, Role.ADMIN)


def _issued(svc: Services, kind: str = "013") -> Issued:
    issued = issue(svc, kind)
    svc.session.commit()  # releases the savepoint; the test transaction still rolls back
    return issued


def _all_ok(body: dict[str, Any], issued: Issued) -> None:
    assert body["ok"] is True, body
    assert body["mode"] == "online"
    for name in PARTS:
        assert body[name]["ok"] is True, (name, body[name])
        assert body[name]["result"] in {"VALID", "TRUSTED"}
        assert body[name]["message"]
    face = body["face"]
    assert face["identifier"] == issued.ecert.identifier
    assert face["holder_name"] == issued.ecert.holder_name
    assert face["number"] == issued.ecert.number


def _verified(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- POST /api/verify -----------------------------------------------------------------------------


def test_verify_qr_text(client: Client, services: Services) -> None:
    issued = _issued(services, "071")
    scanned = text(services, issued.ecert)
    _all_ok(_verified(client.post("/api/verify", json={"text": scanned})), issued)
    bare = scanned.split("/R/", 1)[1].lower()
    _all_ok(_verified(client.post("/api/verify", json={"text": bare})), issued)
    # The text as a plain body (no JSON) reads the same way.
    plain = client.post("/api/verify", content=scanned, headers={"content-type": "text/plain"})
    _all_ok(_verified(plain), issued)


def test_verify_png_and_photo_bodies(client: Client, services: Services) -> None:
    issued = _issued(services)
    png = qr.encode_png(text(services, issued.ecert))
    response = client.post("/api/verify", content=png, headers={"content-type": "image/png"})
    _all_ok(_verified(response), issued)
    photo = photo_of(png)
    response = client.post("/api/verify", content=photo, headers={"content-type": "image/jpeg"})
    _all_ok(_verified(response), issued)


def test_verify_pdf_body_and_face_downloads(client: Client, services: Services) -> None:
    issued = _issued(services)
    pdf = client.get(f"/api/ecerts/{issued.ecert.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    embedded = extract_attachment(pdf.content)
    assert embedded is not None
    assert online(services, embedded).ok
    response = client.post(
        "/api/verify", content=pdf.content, headers={"content-type": "application/pdf"}
    )
    _all_ok(_verified(response), issued)

    png = client.get(f"/api/ecerts/{issued.ecert.identifier}/png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    (found,) = qr.decode_image(png.content)
    assert found.text.startswith("HTTPS://127.0.0.1:8000/R/")
    assert online(services, inputs.cose_from_text(found.text)).ok
    response = client.post(
        "/api/verify", content=png.content, headers={"content-type": "image/png"}
    )
    _all_ok(_verified(response), issued)


def test_verify_reports_each_failed_part(
    client: Client, services: Services, runtime: Runtime
) -> None:
    issued = _issued(services, "008")
    old = text(services, issued.ecert)
    (new,) = services.business.change_licence(
        issued.record_id, LicenceChange(business_scopes=["02101", "02201"])
    ).effect.issued
    services.session.commit()
    body = _verified(client.post("/api/verify", json={"text": old}))
    assert body["ok"] is False
    assert body["status"]["result"] == "SUPERSEDED" and body["status"]["ok"] is False
    assert body["signature"]["result"] == "VALID"

    fresh = text(services, new)
    later = now() + timedelta(days=1200)  # past the licence's valid_until
    runtime.clock = lambda: later
    # The admin's token has expired by then; verification needs no account.
    body = _verified(new_client(runtime).post("/api/verify", json={"text": fresh}))
    assert body["validity"]["result"] == "EXPIRED"
    assert body["validity"]["code"] == "validity.expired"
    assert body["status"]["result"] == "EXPIRED"
    assert body["ok"] is False


def test_the_public_answer_is_masked_and_the_officers_is_full(
    runtime: Runtime, services: Services
) -> None:
    issued = _issued(services, "071")
    ecert = issued.ecert
    scanned = text(services, ecert)
    public = new_client(runtime).post("/api/verify", json={"text": scanned})
    body = _verified(public)
    assert body["ok"] is True and body["face"]["masked"] is True
    face = body["face"]
    assert face["holder_name"] == mask_name(ecert.holder_name)
    assert face["holder_code"] == ecert.holder_code[:2] + "■" * 16
    assert face["number"] == ecert.number[:2] + "■" * 16
    assert face["items"]["categories"] == ["02001"]
    assert "record" not in body
    # Seed 002 §7.3: the ID number (= 证号 of a 从业资格证) nowhere in the answer, nor the name.
    assert ecert.holder_code not in public.text and ecert.holder_name not in public.text

    officer = api_client(runtime, Role.OFFICER)
    full = _verified(officer.post("/api/verify", json={"text": scanned}))
    assert full["face"]["masked"] is False
    assert full["face"]["holder_code"] == ecert.holder_code
    record = full["record"]
    assert record["identifier"] == ecert.identifier and record["status"] == "valid"
    faces = {item["key"]: item["value"] for item in record["face"]}
    assert faces["address"] == ecert.face["address"] and faces["name"] == ecert.holder_name
    assert record["activated_at"] is not None


def test_a_verification_is_audited_and_activates_the_ecert(
    runtime: Runtime, services: Services
) -> None:
    issued = _issued(services, "013")
    ecert = issued.ecert
    assert ecert.activated_at is None
    scanned = text(services, ecert)
    _verified(new_client(runtime).post("/api/verify", json={"text": scanned}))
    services.session.refresh(ecert)
    first = ecert.activated_at
    assert first is not None

    _page(new_client(runtime).get("/R/" + scanned.split("/R/", 1)[1]))
    services.session.refresh(ecert)
    assert ecert.activated_at == first  # the first use stays the activation

    subject = ecert_subject(ecert.serial)
    verified = services.audit.about([subject], ["verification:ecert:verified"])
    assert [(e.actor, e.details["via"]) for e in verified] == [("公众", "page"), ("公众", "api")]
    assert all(e.details["identifier"] == ecert.identifier for e in verified)
    (activated,) = services.audit.about([subject], ["certificates:ecert:activated"])
    assert activated.details["via"] == "verification:ecert:verified"


def test_an_unreadable_or_forged_code_is_not_recorded(client: Client, services: Services) -> None:
    issued = _issued(services, "008")
    cose = bytearray(code(services, issued.ecert))
    cose[-1] ^= 0x01  # the signature no longer holds
    forged = payload.to_text(bytes(cose), "127.0.0.1:8000")
    body = _verified(client.post("/api/verify", json={"text": forged}))
    assert body["signature"]["result"] == "INVALID" and "face" not in body
    services.session.refresh(issued.ecert)
    assert issued.ecert.activated_at is None
    assert services.audit.about([ecert_subject(issued.ecert.serial)]) == []


def _raw(data: bytes, media: str) -> dict[str, Any]:
    return {"content": data, "headers": {"content-type": media}}


# Request arguments, built when the test runs (one is 8 MiB), and the code of the refusal.
BAD_BODIES: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "no_text": (lambda: {"json": {"texte": "x"}}, "bad_input"),
    "text_not_a_string": (lambda: {"json": {"text": 42}}, "bad_input"),
    "json_list": (lambda: {"json": ["HTTPS://H/R/AAAA"]}, "bad_input"),
    "not_json": (lambda: _raw(b"{text:", "application/json"), "bad_input"),
    "not_utf8_json": (lambda: _raw(b"\xff\xfe{}", "application/json"), "bad_input"),
    "truncated": (
        lambda: {"json": {"text": "HTTPS://127.0.0.1:8000/R/2KCEPI"}},
        "payload.truncated",
    ),
    "oversized": (lambda: {"json": {"text": "A" * 2001}}, "payload.too_large"),
    "non_base32": (lambda: {"json": {"text": "HTTPS://H/R/2KCE0189"}}, "payload.base32"),
    "wrong_prefix": (lambda: {"json": {"text": "HTTPS://X/Q/2KCEPIIB"}}, "payload.prefix"),
    "empty_body": (lambda: _raw(b"", "application/octet-stream"), "payload.truncated"),
    "random_bytes": (
        lambda: _raw(b"\xff\x00garbage\x81" * 20, "application/octet-stream"),
        "verify.input",
    ),
    "corrupt_png": (lambda: _raw(inputs.PNG_MAGIC + bytes(64), "image/png"), "qr.image"),
    "png_without_code": (lambda: _raw(f.png(200, 150), "image/png"), "verify.no_code"),
    "pdf_without_ecert": (
        lambda: _raw(pdf_without_ecert(), "application/pdf"),
        "verify.pdf_no_ecert",
    ),
    "too_large": (
        lambda: _raw(b"%PDF-" + bytes(inputs.MAX_UPLOAD_BYTES), "application/pdf"),
        "verify.too_large",
    ),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_bad_input_is_422_json_never_500(client: Client, case: str) -> None:
    make, expected = BAD_BODIES[case]
    _refused(client.post("/api/verify", **make()), expected)


def test_deeply_nested_json_is_422(client: Client) -> None:
    response = client.post(
        "/api/verify", content=b"[" * 100_000, headers={"content-type": "application/json"}
    )
    _refused(response, "bad_input")


def _cut_at_a_group(scanned: str) -> str:
    """The code text cut after a whole number of base32 groups: valid base32, truncated CBOR."""
    data = scanned.split("/R/", 1)[1]
    keep = (len(data) // 2) // 8 * 8
    return scanned[: len(scanned) - len(data) + keep]


def test_a_code_cut_at_a_group_boundary_is_refused_like_any_truncation(
    client: Client, services: Services
) -> None:
    issued = _issued(services)
    cut = _cut_at_a_group(text(services, issued.ecert))
    _refused(client.post("/api/verify", json={"text": cut}), "payload.truncated")
    page = client.get("/R/" + cut.split("/R/", 1)[1])
    assert page.status_code == 422 and "无法识别" in page.text


# -- the /R/ page ----------------------------------------------------------------------------------


def _page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    body: str = response.text
    return body


def test_page_of_a_valid_code(client: Client, services: Services) -> None:
    issued = _issued(services)
    scanned = text(services, issued.ecert)
    # The phone opens the URL in the code as it is: /R/ and the upper-case base32.
    html = _page(client.get(scanned.replace("HTTPS://127.0.0.1:8000", "")))
    assert "电子证照真实有效" in html
    assert issued.ecert.holder_name in html
    assert issued.ecert.number in html
    assert issued.ecert.identifier in html
    assert issued.ecert.face["plate"] in html
    assert "查验未通过" not in html


def test_page_for_the_public_is_masked(runtime: Runtime, services: Services) -> None:
    issued = _issued(services)
    scanned = text(services, issued.ecert)
    html = _page(new_client(runtime).get("/R/" + scanned.split("/R/", 1)[1]))
    assert "电子证照真实有效" in html
    plate = issued.ecert.face["plate"]
    assert plate not in html and public_plate(plate) in html
    assert issued.ecert.holder_name not in html and mask_name(issued.ecert.holder_name) in html
    assert issued.ecert.number not in html
    assert issued.ecert.identifier in html  # names the issuer only
    assert "部分隐去" in html and "/login?next=" in html


def test_page_of_a_superseded_version(client: Client, services: Services) -> None:
    issued = _issued(services, "008")
    old = text(services, issued.ecert)
    services.business.reissue_licence(issued.record_id)
    services.session.commit()
    html = _page(client.get("/R/" + old.split("/R/", 1)[1]))
    assert "查验未通过" in html
    assert "已换发" in html
    assert "电子证照真实有效" not in html
    assert issued.ecert.holder_name in html


def test_page_of_a_revoked_ecert(client: Client, services: Services) -> None:
    issued = _issued(services, "008")
    old = text(services, issued.ecert)
    services.business.cancel_licence(issued.record_id)
    services.session.commit()
    html = _page(client.get("/R/" + old.split("/R/", 1)[1]))
    assert "查验未通过" in html and "已注销" in html


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "GARBAGE", "2KCE0189", "%E4%B8%AD%E6%96%87", "A" * 2001, "A" * 1930],
)
def test_page_of_garbage(client: Client, garbage: str) -> None:
    response = client.get(f"/R/{garbage}")
    assert 400 <= response.status_code < 500
    html = _page(response, response.status_code)
    assert "无法识别" in html
    assert "payload." in html  # the error code is shown


# -- trust list and status lists ------------------------------------------------------------------


def test_lists_from_the_api_verify_offline(client: Client, services: Services) -> None:
    issued = _issued(services)
    revoked = issue(services, "008", authority=issued.authority)
    revoked_code = code(services, revoked.ecert)
    services.business.cancel_licence(revoked.record_id)
    services.session.commit()

    trust = client.get("/api/trust-list")
    assert trust.status_code == 200
    pem = client.get("/api/keys/trusted.pem")
    assert pem.status_code == 200
    status = client.get(f"/api/status-lists/{issued.authority.uscc}")
    assert status.status_code == 200
    assert status.headers["content-type"] == "application/statuslist+cwt"

    root = x509.from_pem(pem.text)[0]
    moment = now()
    parsed_trust = verify_trust_list(trust.content, root, moment)
    key = services.keys.signing_key(issued.authority)
    assert parsed_trust.by_kid(bytes.fromhex(key.key_id)) is not None
    parsed_status = parse_status_list(status.content)
    assert parsed_status.authority_uscc == issued.authority.uscc
    assert parsed_status.status_at(issued.ecert.status_index) == ListStatus.VALID
    assert parsed_status.status_at(revoked.ecert.status_index) == ListStatus.INVALID

    pdf = client.get(f"/api/ecerts/{issued.ecert.id}/pdf").content
    with no_database(services) as statements:
        source = load_offline(trust.content, pem.content, [status.content], moment)
        good = verify_cose(inputs.cose_from_bytes(pdf), source, moment)
        bad = verify_cose(revoked_code, source, moment)
    assert statements == []
    assert good.ok and good.mode == "offline"
    assert bad.status.result == "REVOKED" and not bad.ok
    assert payload.open_envelope(revoked_code).kid == bytes.fromhex(key.key_id)
