"""The enterprise and the clerk in a real browser, as people use the pages.

An enterprise finds its licence and opens the e-cert, uploads a vehicle photo; the clerk of its
authority approves the photo (a new e-cert version), runs a 年审, cancels a licence through the
confirmation dialog and looks at the 不规范数据 list. Screenshots land in var/screenshots/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from playwright.sync_api import Browser, Page

from roadcert.accounts.models import Role
from roadcert.registry.models import Authority, Licence, Operator, Vehicle
from tests import factories as f
from tests.portal.conftest import Served, screenshot_path, sign_in


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(screenshot_path(name)), full_page=True)


def _shows(page: Page, selector: str, text: str) -> str:
    """The text of ``selector``, which must show ``text``: the operation committed before its
    response (deps.Svc), so the page the redirect leads to has it."""
    content = page.inner_text(selector)
    assert text in content, content
    return content


@dataclass
class Records:
    auth: Authority
    operator: Operator
    licence: Licence
    truck: Vehicle


def _records(served: Served) -> Records:
    """The ledger of the walk."""
    with served.runtime.unit_of_work() as svc:
        auth = f.authority(svc)
        operator = f.operator(svc, auth, name="长春市浏览器测试运输有限公司")
        licence = f.licence(svc, auth, operator).record
        truck = f.vehicle(svc, auth, operator, licence).record
        f.operator(svc, auth, name="长春市校验位错误运输有限公司", uscc="91220101MA0Y1234X0")
        disabled = f.authority(svc, enabled=False)
        f.licence(svc, disabled, operator)
        return Records(auth, operator, licence, truck)


def test_enterprise_and_clerk_walk(served: Served, browser: Browser) -> None:
    records = _records(served)
    auth, operator, licence, truck = (
        records.auth,
        records.operator,
        records.licence,
        records.truck,
    )
    plate = truck.plate

    # -- the enterprise --------------------------------------------------------------------
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, served, Role.ENTERPRISE, holder_code=operator.uscc)
    assert page.url.endswith("/enterprise/licences")
    assert page.inner_text("h1") == "业户电子证照"
    table = page.inner_text("table")
    assert licence.number in table and "有效" in table and "未制发" in table
    _shot(page, "enterprise-licences")

    page.click("text=查看原因")
    assert "暂不支持电子证照" in page.inner_text("main")
    _shot(page, "enterprise-no-ecert")
    page.click("text=返回")
    page.click("text=查看电子证照")
    page.wait_for_load_state()
    assert "/ecerts/" in page.url
    assert "保存文件（PDF）" in page.inner_text("main")

    page.click("nav >> text=车辆电子证照")
    page.fill("input[name=q]", plate[:4])
    page.click("button:has-text('查询')")
    assert plate in page.inner_text("table")
    _shot(page, "enterprise-vehicles")
    page.click("text=车辆详细信息")
    assert page.inner_text("h1") == "车辆详细信息"
    assert "汽车应当从车前方左侧 45 度角拍摄" in page.inner_text("main")
    picture = f.png(400, 300, (30, 120, 200))
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "truck.png", "mimeType": "image/png", "buffer": picture}],
    )
    page.click("button:has-text('上传并送审')")
    page.wait_for_load_state()
    assert "照片已上传，等待交通运输管理部门审核" in page.inner_text("main")
    assert "待审核" in _shows(page, "main", "待审核")
    _shot(page, "enterprise-vehicle-photo")
    page.close()

    # -- the clerk -------------------------------------------------------------------------
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, served, Role.CLERK, authority_id=auth.id, display_name="长春窗口")
    assert page.url.endswith("/staff/operators")
    assert "长春市浏览器测试运输有限公司" in page.inner_text("table")
    _shot(page, "staff-operators")

    page.click("nav >> text=照片审核")
    assert plate in page.inner_text("main")
    _shot(page, "staff-photos")
    page.click("button:has-text('审核通过')")
    page.wait_for_load_state()
    assert "照片审核通过。已制发道路运输证第002版" in page.inner_text("main")

    page.click("nav >> text=车辆台账")
    page.fill("input[name=q]", plate)
    page.click("button:has-text('查询')")
    page.click("text=详情与业务")
    review_date = (f.TODAY + timedelta(days=365)).isoformat()
    page.fill("input[name=review_valid_until]", review_date)
    page.click("button:has-text('办理年审')")
    page.wait_for_load_state()
    assert "车辆年审已办理。已制发道路运输证第003版。" in page.inner_text("main")
    assert review_date in _shows(page, "main", review_date)
    _shot(page, "staff-vehicle")

    page.click("text=长春市浏览器测试运输有限公司")
    page.click("#licence-" + str(licence.id) + " button:has-text('注销')")
    page.wait_for_load_state()
    assert "经营许可证注销已办理" in page.inner_text("main")
    assert "无效（已注销）" in _shows(page, f"#licence-{licence.id}", "无效（已注销）")
    _shot(page, "staff-operator")

    page.click("nav >> text=不规范数据")
    assert "长春市校验位错误运输有限公司" in page.inner_text("main")
    _shot(page, "staff-quality")
    page.click("nav >> text=电子证照")
    assert "道路运输证" in page.inner_text("table")
    _shot(page, "staff-ecerts")
    page.close()
