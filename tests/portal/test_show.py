"""亮证 and 授权共享 in a real browser, as the people involved would use them.

The practitioner shows the code on a phone-sized screen; the QR is decoded from the screenshot's
own pixels and opened by an officer on another device; the same picture again is refused. Then
a grant is made, opened by the grantee, withdrawn, and the access log shows it all.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from roadcert.accounts.models import Role
from roadcert.render import qr
from tests import factories as f
from tests.portal.conftest import Served, screenshot_path, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _driver(served: Served) -> tuple[str, str]:
    """A practitioner 孙立新 with 货运 and 网约车 qualifications; returns (ID number, name)."""
    with served.runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        outcome = f.practitioner(svc, auth, categories=("02001", "09003"), name="孙立新")
        assert len(outcome.effect.issued) == 2
        return outcome.record.id_number, outcome.record.name


def _decoded_show_code(page: Page, name: str) -> str:
    """Screenshot the showing page and read its QR from those pixels, as a camera would."""
    path = screenshot_path(name)
    page.screenshot(path=str(path))
    codes = qr.decode_image(path.read_bytes())
    assert len(codes) == 1, f"{len(codes)} codes in {path}"
    (code,) = codes
    assert code.version is not None and code.version <= 15 and code.ec_level == "M"
    assert "/S/" in code.text
    return code.text


def _local(served: Served, text: str) -> str:
    # The test server speaks plain HTTP on loopback; the host and path are the code's own.
    url = "http://" + text.split("://", 1)[1]
    assert url.lower().startswith(served.base.lower())
    return url


def test_show_verify_once_and_share(served: Served, browser: Browser) -> None:
    id_number, name = _driver(served)
    holder = browser.new_page(viewport=DESKTOP)
    holder.on("dialog", lambda dialog: dialog.accept())
    sign_in(holder, served, Role.PRACTITIONER, holder_code=id_number, display_name=name)

    # 我的资格证: one card for each category, with its actions.
    holder.goto(served.base + "/me/qualifications")
    assert holder.inner_text("h1") == "我的资格证"
    body = holder.inner_text("main")
    for text in ("经营性道路货物运输驾驶员", "网络预约出租汽车驾驶员", id_number, "证照下载"):
        assert text in body, text
    holder.screenshot(path=str(screenshot_path("practitioner-qualifications")), full_page=True)

    # 亮证 on the phone.
    holder.set_viewport_size(PHONE)
    holder.locator(".qual", has_text="经营性道路货物运输驾驶员").get_by_role(
        "link", name="亮证"
    ).click()
    holder.wait_for_selector("#qr")
    assert "孙立新" in holder.inner_text(".show-card")
    assert "道路运输从业人员从业资格证" in holder.inner_text(".show-card")
    clock_before = holder.inner_text("#clock")
    holder.wait_for_timeout(1100)
    assert holder.inner_text("#clock") != clock_before  # the moving element moves
    text = _decoded_show_code(holder, "show-code")
    assert text == holder.get_attribute("#qr", "data-text")

    # The officer opens the decoded code on another device: full data.
    officer = browser.new_page(viewport=PHONE)
    sign_in(officer, served, Role.OFFICER, display_name="执法检查员周")
    officer.goto(_local(served, text))
    verdict = officer.inner_text(".verdict")
    assert "亮证核验通过" in verdict
    assert id_number in officer.inner_text("main")  # an officer sees the ID number
    officer.screenshot(path=str(screenshot_path("show-code-verified")), full_page=True)
    # The same picture again (a screenshot passed on): refused.
    officer.goto(_local(served, text))
    assert "该亮证码已被核验过，不能重复使用（可能是截图或翻拍）" in officer.inner_text(".verdict")
    officer.screenshot(path=str(screenshot_path("show-code-reused")), full_page=True)

    # The showing page renews its code by itself (every 20 s) and the new one is another code.
    holder.wait_for_function(
        "old => document.getElementById('qr').dataset.text !== old", arg=text, timeout=30_000
    )
    renewed = _decoded_show_code(holder, "show-code-renewed")
    assert renewed != text
    public = browser.new_page(viewport=PHONE)
    public.goto(_local(served, renewed))
    assert "亮证核验通过" in public.inner_text(".verdict")
    assert id_number not in public.inner_text("main")  # the public sees masked data
    assert "孙■■" in public.inner_text("main")
    public.close()

    # 授权共享: a grant, the grantee's view, withdrawal.
    holder.set_viewport_size(DESKTOP)
    holder.goto(served.base + "/me/qualifications")
    holder.locator(".qual", has_text="经营性道路货物运输驾驶员").get_by_role(
        "link", name="授权共享"
    ).click()
    holder.fill("#grantee", "长春市顺达物流有限公司")
    holder.fill("#purpose", "聘用驾驶员资格核实")
    holder.select_option("#hours", "72")
    holder.click("text=授权并生成链接")
    link = holder.inner_text("#share-link").strip()
    assert "/shared/" in link

    grantee = browser.new_page(viewport=DESKTOP)  # a fresh context: no account at all
    grantee.goto(link)
    banner = grantee.inner_text(".grant-banner")
    assert "孙立新 授权 长春市顺达物流有限公司 查看，有效至" in banner
    assert id_number in grantee.inner_text("main")
    grantee.wait_for_function("document.querySelector('img.face').naturalWidth > 0")
    grantee.screenshot(path=str(screenshot_path("shared-view")), full_page=True)

    holder.goto(served.base + "/me/shares")
    row = holder.locator("tr", has_text="长春市顺达物流有限公司")
    assert "有效" in row.inner_text() and "\t1\t" in row.inner_text()
    row.get_by_role("button", name="撤回").click()
    holder.wait_for_load_state()
    assert "已撤回对 长春市顺达物流有限公司 的授权" in holder.inner_text(".flash")
    assert "已撤回" in holder.locator("tr", has_text="长春市顺达物流有限公司").inner_text()

    grantee.goto(link)
    assert "该授权已被持证人撤回，不能查看证照" in grantee.inner_text("main")
    assert id_number not in grantee.inner_text("main")
    grantee.screenshot(path=str(screenshot_path("shared-withdrawn")), full_page=True)

    # 访问记录: every one of those acts, with who and from where.
    holder.goto(served.base + "/me/access")
    log = holder.inner_text("table")
    for text in (
        "执法检查员周（执法人员）",
        "公众",
        "长春市顺达物流有限公司",
        "亮证核验",
        "亮证核验被拒",
        "授权查看",
        "授权查看被拒",
        "撤回授权",
        "127.0.0.■",
    ):
        assert text in log, text
    holder.screenshot(path=str(screenshot_path("access-log")), full_page=True)
    for page in (holder, officer, grantee):
        page.close()
