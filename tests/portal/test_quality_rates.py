"""/staff/quality: the 制证率 and 激活率 table above the 不规范数据 list (seed 002 App. A).

The clerk sees the own authority's line only, the admin every authority and the province total;
the figures are the ones ``collection_rates`` gives for the ledger built here.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser

from roadcert.accounts.models import Role
from roadcert.registry.models import Authority
from roadcert.runtime import Runtime
from tests import factories as f
from tests.clients import api_client
from tests.portal.conftest import Served, screenshot_path, sign_in
from tests.portal.pages import text_of


def _ledger(runtime: Runtime) -> tuple[Authority, Authority]:
    """Mine: 2 valid licences, 1 with e-cert (activated); theirs: not on e-certs, 1 licence."""
    with runtime.unit_of_work() as svc:
        mine, theirs = f.authority(svc), f.authority(svc, enabled=False)
        operator = f.operator(svc, mine)
        (ecert,) = f.licence(svc, mine, operator).effect.issued
        svc.issuance.mark_activated(ecert)
        broken = f.operator(svc, mine, uscc="91220101MA0Y1234X0")
        f.licence(svc, mine, broken)  # refused: non-standard operator
        f.licence(svc, theirs, f.operator(svc, theirs))
        return mine, theirs


def _rate_rows(html: str) -> list[str]:
    """The text of each body line of the rates table."""
    table = re.search(r'<table class="grid" id="rates">(.*?)</table>', html, re.S)
    assert table, html
    body = table.group(1).split("<tbody>")[1]
    return [text_of(row).strip() for row in body.split("</tr>") if text_of(row).strip()]


def test_clerk_sees_the_own_rates_and_admin_the_province(runtime: Runtime) -> None:
    mine, theirs = _ledger(runtime)
    clerk = api_client(runtime, Role.CLERK, authority_id=mine.id)
    page = clerk.get("/staff/quality").text
    assert "制证率与年度激活率" in page
    # 核发机关 有效证照 已制电子证照 制证率 得分 本年制发 已激活 激活率 得分
    assert _rate_rows(page) == [f"{mine.name} 2 1 50.0% 20 1 1 100.0% 40"]
    assert "全省合计" not in page and theirs.name not in page
    assert "不规范数据" in page and "校验位错误" in text_of(page)  # the list is still there

    admin = api_client(runtime, Role.ADMIN)
    rows = _rate_rows(admin.get("/staff/quality").text)
    assert f"{mine.name} 2 1 50.0% 20 1 1 100.0% 40" in rows
    assert f"{theirs.name} （未启用电子证照） 1 0 0.0% 0 0 0 — —" in rows
    assert rows[-1].startswith("全省合计")
    # Narrowed to one authority, the admin sees its line and no total.
    narrowed = _rate_rows(admin.get(f"/staff/quality?authority_id={theirs.id}").text)
    assert narrowed == [f"{theirs.name} （未启用电子证照） 1 0 0.0% 0 0 0 — —"]


def test_rates_in_a_browser(served: Served, browser: Browser) -> None:
    mine, _theirs = _ledger(served.runtime)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, served, Role.ADMIN)
    page.goto(served.base + "/staff/quality")
    table = page.inner_text("#rates")
    assert mine.name in table and "50.0%" in table and "全省合计" in table
    page.screenshot(path=str(screenshot_path("staff-quality-rates")), full_page=True)
    page.close()
