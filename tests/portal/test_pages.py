"""The pages in a real browser: the e-cert list and the verify page a phone camera opens."""

from __future__ import annotations

from playwright.sync_api import Browser

from roadcert.accounts.models import Role
from roadcert.render import qr
from roadcert.verification.codes import text_for
from tests import factories as f
from tests.portal.conftest import Served, screenshot_path, sign_in

PHONE = {"width": 390, "height": 844}


def _issue(served: Served) -> str:
    """One valid 经营许可证 e-cert; returns its code text."""
    with served.runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        (ecert,) = f.licence(svc, auth, f.operator(svc, auth)).effect.issued
        return text_for(svc, ecert, svc.keys.settings.verify_host)


def test_list_page_shows_the_ecerts(served: Served, browser: Browser) -> None:
    _issue(served)
    page = browser.new_page()
    sign_in(page, served, Role.ADMIN)
    page.goto(served.base + "/staff/ecerts")
    assert page.inner_text("h1") == "电子证照"
    assert "道路运输经营许可证" in page.inner_text("table")
    page.screenshot(path=str(screenshot_path("ecert-list")), full_page=True)
    page.close()


def test_scanning_a_code_opens_the_verify_page(served: Served, browser: Browser) -> None:
    code = _issue(served)
    # What a phone camera does: decode the QR from a picture, then open its URL.
    (decoded,) = qr.decode_image(qr.encode_png(code))
    # The test server speaks plain HTTP on loopback; the host and path are the code's own.
    url = "http://" + decoded.text.split("://", 1)[1]
    page = browser.new_page(viewport=PHONE)
    page.goto(url)
    assert "电子证照真实有效" in page.inner_text("header")
    assert "签名有效" in page.inner_text("body")
    page.screenshot(path=str(screenshot_path("verify-page-phone")), full_page=True)
    page.close()
