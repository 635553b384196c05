"""The officer and public pages in a real browser, the camera scan with a real (fake) camera.

Chromium can take a video file as its camera (``--use-file-for-fake-video-capture``): the test
writes a YUV4MPEG2 file showing a real e-cert QR code, so the page's script really captures
camera frames, the server really decodes them with zxing-cpp, and the page lands on the
verification result. That Chromium is launched apart from the shared ``browser`` (through the
same Playwright), since its camera is fixed at launch.

Screenshots (``var/screenshots/``): ``officer-scan``, ``officer-scan-result``,
``officer-upload-result``, ``verify-page-public-masked``, ``public-query``,
``public-query-limited``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from roadcert.accounts.models import Role
from roadcert.certificates.models import Ecert
from roadcert.kit.masking import mask_name
from roadcert.render import qr
from roadcert.verification.codes import text_for
from roadcert.verification.masking import public_code
from tests import factories as f
from tests.portal.conftest import CHROMIUM, CHROMIUM_ARGS, Served, screenshot_path, sign_in
from tests.verification.conftest import photo_of

PHONE = {"width": 390, "height": 844}
WIDTH, HEIGHT = 640, 480
FPS = 5
# Frames with the code half out of view (not readable), then frames with all of it: the
# scanning page can be seen scanning before it finds the code.
PARTIAL_FRAMES = 4 * FPS
WHOLE_FRAMES = 2 * FPS


def _issue_qualification(served: Served) -> tuple[Ecert, str]:
    """A valid 从业资格证 (its number is the holder's ID number) and its code text."""
    with served.runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        (ecert,) = f.practitioner(svc, auth).effect.issued
        return ecert, text_for(svc, ecert, svc.keys.settings.verify_host)


def _scene(code: Image.Image, left: int) -> Image.Image:
    """A camera picture: a grey desk, a white card, the code on it with ``left`` offset."""
    scene = Image.new("RGB", (WIDTH, HEIGHT), (120, 118, 110))
    card = ImageDraw.Draw(scene)
    top = (HEIGHT - code.height) // 2
    card.rectangle((left - 12, top - 12, left + code.width + 12, top + code.height + 12), "white")
    scene.paste(code.convert("RGB"), (left, top))
    return scene


def write_y4m(path: Path, frames: list[Image.Image]) -> None:
    """A YUV4MPEG2 video (4:2:0, JPEG chroma siting) of ``frames``, as Chromium's fake camera
    reads it: a header, then per frame ``FRAME\\n`` and the Y, U and V planes."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, u, v = frame.convert("YCbCr").split()
            out.write(b"FRAME\n")
            out.write(y.tobytes())
            half = (WIDTH // 2, HEIGHT // 2)
            out.write(u.resize(half, Image.Resampling.BILINEAR).tobytes())
            out.write(v.resize(half, Image.Resampling.BILINEAR).tobytes())


def camera_video(path: Path, code_text: str) -> Path:
    """The camera's video: the code (large, with its quiet zone) first half seen, then whole."""
    size = qr.version_of(code_text) * 4 + 17 + 8  # modules, quiet zone included
    scale = (HEIGHT - 40) // size
    code = Image.open(io.BytesIO(qr.encode_png(code_text, scale=scale)))
    whole = _scene(code, (WIDTH - code.width) // 2)
    partial = _scene(code, WIDTH - code.width // 2)
    # The half-seen code must really be unreadable, or the page would not wait for the whole.
    buffer = io.BytesIO()
    partial.save(buffer, format="PNG")
    assert qr.decode_image(buffer.getvalue()) == []
    write_y4m(path, [partial] * PARTIAL_FRAMES + [whole] * WHOLE_FRAMES)
    return path


@dataclass
class Camera:
    """A Chromium whose camera shows the code of ``ecert``."""

    browser: Browser
    ecert: Ecert


@pytest.fixture
def camera(browser: Browser, tmp_path: Path, served: Served) -> Iterator[Camera]:
    """A Chromium whose camera shows the code of a freshly issued e-cert."""
    ecert, code_text = _issue_qualification(served)
    video = camera_video(tmp_path / "camera.y4m", code_text)
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        yield Camera(launched, ecert)
    finally:
        launched.close()


def test_scanning_with_the_camera_opens_the_full_result(served: Served, camera: Camera) -> None:
    context = camera.browser.new_context(viewport={"width": 900, "height": 900})
    context.grant_permissions(["camera"], origin=served.base)
    page = context.new_page()
    frames: list[str] = []
    page.on("request", lambda r: frames.append(r.url) if r.url.endswith("/api/scan") else None)
    sign_in(page, served, Role.OFFICER)  # an officer lands on 扫码核验
    assert page.url.endswith("/officer/scan")
    expect(page.locator("#scan")).to_have_attribute("data-scanning", "1", timeout=10_000)
    expect(page.locator("#scan-status")).to_contain_text("正在扫描")
    page.wait_for_function("document.getElementById('scan-video').videoWidth > 0")
    page.screenshot(path=str(screenshot_path("officer-scan")))

    page.wait_for_url("**/R/**", timeout=20_000)
    assert len(frames) >= 2  # frames went to the server until one held the whole code
    header = page.inner_text("header")
    assert "电子证照真实有效" in header and camera.ecert.holder_name in header
    body = page.inner_text("body")
    assert camera.ecert.holder_code in body  # the officer sees the ID number in full
    assert "签名有效" in body and "继续扫码核验" in body
    page.screenshot(path=str(screenshot_path("officer-scan-result")), full_page=True)
    context.close()


def test_without_a_camera_the_page_says_so(served: Served, browser: Browser) -> None:
    # The shared browser has no camera device at all.
    page = browser.new_page()
    sign_in(page, served, Role.OFFICER)
    error = page.locator("#scan-error")
    expect(error).to_be_visible(timeout=10_000)
    assert "上传图片核验" in error.inner_text()
    assert "摄像头" in page.inner_text("#scan-error-text")
    page.click("#scan-error a")
    page.wait_for_url("**/officer/upload")
    page.close()


def test_uploading_a_photo_of_a_code(served: Served, browser: Browser, tmp_path: Path) -> None:
    ecert, code_text = _issue_qualification(served)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_of(qr.encode_png(code_text)))
    page = browser.new_page(viewport={"width": 900, "height": 900})
    sign_in(page, served, Role.OFFICER)
    page.click("nav >> text=上传图片核验")
    page.set_input_files("#file", str(photo))
    page.click("main button[type=submit]")
    page.wait_for_url("**/R/**")
    assert "电子证照真实有效" in page.inner_text("header")
    assert ecert.holder_code in page.inner_text("body")
    page.screenshot(path=str(screenshot_path("officer-upload-result")), full_page=True)

    # A picture with no code: the form again, with the reason.
    page.goto(served.base + "/officer/upload")
    blank = tmp_path / "blank.png"
    blank.write_bytes(f.png(300, 200))
    page.set_input_files("#file", str(blank))
    page.click("main button[type=submit]")
    assert "没有识别出二维码" in page.inner_text(".error-box")
    page.close()


def test_the_public_verify_page_is_masked(served: Served, browser: Browser) -> None:
    ecert, code_text = _issue_qualification(served)
    page = browser.new_page(viewport=PHONE)
    page.goto("http://" + code_text.split("://", 1)[1])
    assert "电子证照真实有效" in page.inner_text("header")
    body = page.inner_text("body")
    assert ecert.holder_code not in page.content() and ecert.holder_name not in page.content()
    assert public_code(ecert.holder_code) in body and mask_name(ecert.holder_name) in body
    assert "部分隐去" in body
    page.screenshot(path=str(screenshot_path("verify-page-public-masked")), full_page=True)
    page.close()


def _query(page: Page, kind: str, text: str) -> None:
    page.select_option("#kind", kind)
    page.fill("#q", text)
    page.click("#query-form button[type=submit]")
    page.wait_for_load_state()


def test_the_public_query_and_its_limit(served: Served, browser: Browser) -> None:
    with served.runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        operator = f.operator(svc, auth)
        licence = f.licence(svc, auth, operator).record
        vehicle = f.vehicle(svc, auth, operator, licence).record
        plate, name = vehicle.plate, operator.name
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(served.base + "/")  # the home page of a visitor is the query
    assert page.url.endswith("/query")
    _query(page, "vehicle", plate)
    result = page.inner_text(".result")
    assert "有效" in result and "道路运输证" in result and auth.name in result
    assert plate not in page.content() and name not in page.content()
    assert mask_name(name) in result
    page.screenshot(path=str(screenshot_path("public-query")), full_page=True)

    for _ in range(9):  # ten queries in this minute, with the one above
        answer = page.request.get(
            served.base + "/api/public/query", params={"kind": "operator", "q": name}
        )
        assert answer.status == 200
    _query(page, "operator", name)
    refusal = page.inner_text(".error-box")
    assert "查询过于频繁，请" in refusal and "秒后再试" in refusal
    page.screenshot(path=str(screenshot_path("public-query-limited")), full_page=True)
    page.close()
