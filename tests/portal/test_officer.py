"""The officer's verification pages on both databases: upload, the frame API, the /R/ page views.

Codes are real: signed by the authority's SM2 key (``verification/codes.py``), drawn as QR PNGs
by zxing-cpp, photographed (``photo_of``) or embedded in a rendered PDF face, and read back by
the server. The officer signs in through the login form, so CSRF is checked as in a browser.
"""

from __future__ import annotations

import io
import random
import re
from datetime import date
from typing import Any

import pytest
from PIL import Image

from roadcert.accounts.models import Role
from roadcert.audit.service import ecert_subject
from roadcert.certificates.models import Ecert
from roadcert.kit import ric, uscc
from roadcert.kit.masking import mask_name
from roadcert.portal.officer import MAX_FRAME_BYTES, MAX_UPLOAD_BYTES, NOT_OURS, code_path
from roadcert.render import qr
from roadcert.render.service import render as render_face
from roadcert.runtime import Runtime, Services
from roadcert.verification.masking import public_code
from tests import factories as f
from tests.clients import PASSWORD, Client, add_user, api_client, new_client
from tests.verification.conftest import Issued, issue, pdf_without_ecert, photo_of, text

HOST = "127.0.0.1:8000"  # the test settings' verify host
_rng = random.Random(23)


def _sign_in(runtime: Runtime, role: Role, **binding: Any) -> tuple[Client, str]:
    """A client signed in through the login form, and the session's CSRF token."""
    client = new_client(runtime)
    username = add_user(runtime, role, display_name="李警官", **binding)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get("/query")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    return client, csrf.group(1)


@pytest.fixture
def officer(runtime: Runtime) -> tuple[Client, str]:
    return _sign_in(runtime, Role.OFFICER)


def _issued(svc: Services, kind: str = "071") -> Issued:
    issued = issue(svc, kind)
    svc.session.commit()  # releases the savepoint; the test transaction still rolls back
    return issued


def _upload(client: Client, csrf: str, data: bytes, name: str, media: str) -> Any:
    return client.post(
        "/officer/upload",
        data={"csrf_token": csrf},
        files={"file": (name, data, media)},
        follow_redirects=False,
    )


def _result_path(response: Any) -> str:
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/R/")
    return location


# -- upload ----------------------------------------------------------------------------------------


def test_an_uploaded_code_picture_verifies_with_the_full_data(
    officer: tuple[Client, str], services: Services
) -> None:
    client, csrf = officer
    issued = _issued(services)
    ecert = issued.ecert
    scanned = text(services, ecert)
    png = qr.encode_png(scanned)
    for data, name, media in (
        (png, "code.png", "image/png"),
        (photo_of(png), "photo.jpg", "image/jpeg"),
    ):
        location = _result_path(_upload(client, csrf, data, name, media))
        assert location == "/R/" + scanned.split("/R/", 1)[1]
        page = client.get(location)
        assert page.status_code == 200
        assert "电子证照真实有效" in page.text
        # The officer sees the record in full: the ID number (= 证号), the name, the address.
        assert ecert.holder_code in page.text
        assert ecert.holder_name in page.text and ecert.face["address"] in page.text
        assert "完整信息" in page.text and "继续扫码核验" in page.text
        assert 'src="data:image/png;base64,' in page.text  # the photo to compare with

    services.session.refresh(ecert)
    assert ecert.activated_at is not None
    events = services.audit.about([ecert_subject(ecert.serial)], ["verification:ecert:verified"])
    assert len(events) == 2
    assert all(e.actor == "李警官（执法人员）" and e.details["via"] == "page" for e in events)
    assert all(e.details["ok"] is True and e.details["status"] == "VALID" for e in events)


def test_an_uploaded_pdf_face_verifies(officer: tuple[Client, str], services: Services) -> None:
    client, csrf = officer
    issued = _issued(services, "013")
    pdf = render_face(services, issued.ecert, "pdf")
    location = _result_path(_upload(client, csrf, pdf, "face.pdf", "application/pdf"))
    page = client.get(location)
    assert "电子证照真实有效" in page.text
    assert issued.ecert.face["plate"] in page.text  # the full plate, for the officer


def _frame(picture: bytes) -> bytes:
    """A camera frame as the page sends it: the picture on a 640×480 JPEG."""
    frame = Image.new("RGB", (640, 480), (180, 180, 175))
    code = Image.open(io.BytesIO(picture)).convert("RGB")
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.text
    assert "上传图片核验" in response.text  # the form again, to try another file


def test_uploads_that_cannot_be_verified_are_told_why(officer: tuple[Client, str]) -> None:
    client, csrf = officer
    _refused(_upload(client, csrf, f.png(300, 200), "p.png", "image/png"), 422, "没有识别出二维码")
    foreign = qr.encode_png("HTTPS://EXAMPLE.COM/R/ABCDEFGH")
    _refused(_upload(client, csrf, foreign, "f.png", "image/png"), 422, NOT_OURS)
    elsewhere = qr.encode_png("https://weixin.qq.com/x/abc")
    _refused(_upload(client, csrf, elsewhere, "w.png", "image/png"), 422, NOT_OURS)
    _refused(_upload(client, csrf, b"hello", "a.txt", "text/plain"), 422, "仅支持 JPEG、PNG")
    _refused(
        _upload(client, csrf, pdf_without_ecert(), "x.pdf", "application/pdf"),
        422,
        "PDF 中没有 roadcert 电子证照",
    )
    _refused(
        _upload(client, csrf, b"\x89PNG\r\n\x1a\n" + bytes(64), "bad.png", "image/png"),
        422,
        "不是可读取的 PNG 或 JPEG 图片",
    )
    big = b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES)
    response = _upload(client, csrf, big, "big.jpg", "image/jpeg")
    assert response.status_code == 413 and "文件过大：上限 5 MB" in response.text
    empty = client.post("/officer/upload", data={"csrf_token": csrf}, follow_redirects=False)
    _refused(empty, 422, "请选择要上传的图片或 PDF 文件")
    # Without the session's CSRF token the upload is refused.
    forged = _upload(client, "wrong", f.png(), "p.png", "image/png")
    assert forged.status_code == 403 and "CSRF" in forged.text


def test_an_uploaded_show_code_opens_the_showing_page(officer: tuple[Client, str]) -> None:
    client, csrf = officer
    shown = qr.encode_png(f"HTTPS://{HOST}/S/MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPJ2Q")
    response = _upload(client, csrf, shown, "s.png", "image/png")
    assert response.status_code == 303
    assert response.headers["location"] == "/S/MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPJ2Q"


# -- the frame API ---------------------------------------------------------------------------------


def test_scan_finds_this_systems_codes_in_camera_frames(
    officer: tuple[Client, str], services: Services
) -> None:
    client, csrf = officer
    issued = _issued(services, "008")
    scanned = text(services, issued.ecert)
    headers = {"content-type": "image/jpeg", "x-csrf-token": csrf}

    found = client.post("/api/scan", content=_frame(qr.encode_png(scanned)), headers=headers)
    assert found.status_code == 200, found.text
    assert found.json() == {"found": True, "path": "/R/" + scanned.split("/R/", 1)[1]}
    blurred = client.post(
        "/api/scan", content=_frame(photo_of(qr.encode_png(scanned), scale=0.9)), headers=headers
    )
    assert blurred.json()["found"] is True

    nothing = client.post("/api/scan", content=_frame(f.png(200, 200)), headers=headers)
    assert nothing.json() == {"found": False}
    foreign = client.post(
        "/api/scan", content=_frame(qr.encode_png("https://example.com/")), headers=headers
    )
    assert foreign.json() == {"found": False, "code": "scan.not_ours", "message": NOT_OURS}

    too_big = client.post("/api/scan", content=bytes(MAX_FRAME_BYTES + 1), headers=headers)
    assert too_big.status_code == 413
    assert too_big.json() == {"code": "scan.too_large", "message": "画面过大：上限 2 MB"}
    not_image = client.post("/api/scan", content=b"not a picture", headers=headers)
    assert not_image.status_code == 422 and not_image.json()["code"] == "qr.image"
    empty = client.post("/api/scan", content=b"", headers=headers)
    assert empty.status_code == 422 and empty.json()["code"] == "scan.empty"
    no_csrf = client.post(
        "/api/scan", content=_frame(f.png()), headers={"content-type": "image/jpeg"}
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "auth.csrf"


def test_code_paths_are_only_this_systems() -> None:
    assert code_path(f"https://{HOST.lower()}/r/abcd234", HOST) == "/R/ABCD234"
    assert code_path(f"HTTPS://{HOST}/S/ABCD", HOST) == "/S/ABCD"
    assert code_path(f" HTTPS://{HOST}/R/ABCD\n", HOST) == "/R/ABCD"
    for other in (
        "HTTPS://EVIL.EXAMPLE/R/ABCD",
        f"HTTPS://{HOST}/R/../../officer",
        f"HTTPS://{HOST}/R/ABCD?next=//evil",
        f"HTTPS://{HOST}/X/ABCD",
        f"HTTPS://{HOST}/R/",
        f"HTTPS://{HOST}/R/ABC018",  # 0, 1, 8 are not base32
        "ABCDEFGH",
        "",
    ):
        assert code_path(other, HOST) is None, other


# -- who may use the pages -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CLERK, Role.ENTERPRISE, Role.PRACTITIONER])
def test_other_roles_are_refused(runtime: Runtime, services: Services, role: Role) -> None:
    auth = f.authority(services)
    services.session.commit()
    binding: dict[str, Any] = {"authority_id": auth.id}
    if role is Role.ENTERPRISE:
        binding = {"holder_code": uscc.generate(_rng, "220102")}
    elif role is Role.PRACTITIONER:
        binding = {"holder_code": ric.generate(_rng, "220102", date(1990, 5, 6), False)}
    client, csrf = _sign_in(runtime, role, **binding)
    for path in ("/officer/scan", "/officer/upload"):
        page = client.get(path)
        assert page.status_code == 403 and "此功能仅限执法人员、省级管理员使用" in page.text
    upload = _upload(client, csrf, f.png(), "p.png", "image/png")
    assert upload.status_code == 403
    scan = client.post("/api/scan", content=_frame(f.png()), headers={"x-csrf-token": csrf})
    assert scan.status_code == 403 and scan.json()["code"] == "auth.role"


def test_the_admin_may_verify(runtime: Runtime) -> None:
    admin = api_client(runtime, Role.ADMIN)
    assert admin.get("/officer/scan").status_code == 200
    assert "改用上传图片核验" in admin.get("/officer/scan").text
    found = admin.post("/api/scan", content=_frame(f.png()))
    assert found.json() == {"found": False}


def test_anonymous_visitors_are_sent_to_login(runtime: Runtime) -> None:
    client = new_client(runtime)
    for path in ("/officer/scan", "/officer/upload"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    scan = client.post("/api/scan", content=_frame(f.png()))
    assert scan.status_code == 401


def test_the_scan_page_loads_its_script(officer: tuple[Client, str]) -> None:
    client, _ = officer
    page = client.get("/officer/scan")
    assert page.status_code == 200
    assert '<script src="/static/scan.js" defer></script>' in page.text
    assert 'id="scan-video"' in page.text and "/officer/upload" in page.text
    script = client.get("/static/scan.js")
    assert script.status_code == 200 and "getUserMedia" in script.text
    assert "facingMode" in script.text and "/api/scan" in script.text


# -- the /R/ page: who sees what -------------------------------------------------------------------


def _ecert_page(client: Client, services: Services, ecert: Ecert) -> str:
    response = client.get("/R/" + text(services, ecert).split("/R/", 1)[1])
    assert response.status_code == 200, response.text
    return str(response.text)


def test_the_verify_page_is_full_for_officers_and_masked_for_others(
    runtime: Runtime, officer: tuple[Client, str], services: Services
) -> None:
    client, _ = officer
    ecert = _issued(services).ecert
    id_number = ecert.holder_code
    assert ecert.number == id_number

    full = _ecert_page(client, services, ecert)
    assert id_number in full and ecert.holder_name in full
    assert public_code(id_number) not in full

    enterprise, _ = _sign_in(runtime, Role.ENTERPRISE, holder_code=uscc.generate(_rng, "220104"))
    for viewer in (new_client(runtime), enterprise):
        masked = _ecert_page(viewer, services, ecert)
        assert "电子证照真实有效" in masked
        assert id_number not in masked and ecert.holder_name not in masked
        assert ecert.face["address"] not in masked
        assert public_code(id_number) in masked and mask_name(ecert.holder_name) in masked
        assert "部分隐去" in masked and "继续扫码核验" not in masked

    events = services.audit.about([ecert_subject(ecert.serial)], ["verification:ecert:verified"])
    assert sorted(e.actor for e in events) == sorted(
        ["李警官（执法人员）", "公众", "李警官（经营业户）"]
    )


def test_a_cookie_session_posting_without_its_token_is_answered_as_the_public(
    officer: tuple[Client, str], services: Services
) -> None:
    client, csrf = officer
    ecert = _issued(services).ecert
    scanned = text(services, ecert)
    without = client.post("/api/verify", json={"text": scanned})
    assert without.status_code == 200 and without.json()["face"]["masked"] is True
    assert ecert.holder_code not in without.text
    with_token = client.post("/api/verify", json={"text": scanned}, headers={"x-csrf-token": csrf})
    assert with_token.json()["face"]["masked"] is False
    assert with_token.json()["face"]["holder_code"] == ecert.holder_code
    assert with_token.json()["record"]["holder_code"] == ecert.holder_code
