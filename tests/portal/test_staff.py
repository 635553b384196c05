"""The clerk's pages on both databases: the own authority only, search, business operations from
forms with their e-cert effect, refusals that undo nothing else, and 不规范数据 fixed on the page.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import pytest

from roadcert.accounts.models import Role
from roadcert.audit.models import AuditEvent
from roadcert.certificates.models import EcertStatus
from roadcert.kit import uscc
from roadcert.registry.models import Authority, Licence, Operator, Practitioner, Vehicle
from roadcert.runtime import Runtime
from tests import factories as f
from tests.clients import Client, api_client
from tests.portal.pages import browser_client, text_of


@dataclass
class Ledger:
    """One authority's records, and another authority's beside them."""

    mine: Authority
    theirs: Authority
    operator: Operator
    licence: Licence
    vehicle: Vehicle
    person: Practitioner
    their_operator: Operator
    their_vehicle: Vehicle
    their_person: Practitioner


def _ledger(runtime: Runtime) -> Ledger:
    with runtime.unit_of_work() as svc:
        mine, theirs = f.authority(svc), f.authority(svc)
        operator = f.operator(svc, mine, name="长春市本局货运有限公司")
        licence = f.licence(svc, mine, operator).record
        vehicle = f.vehicle(svc, mine, operator, licence).record
        person = f.practitioner(svc, mine, ("02001", "01001"), name="王本局").record
        their_operator = f.operator(svc, theirs, name="长春市外局货运有限公司")
        their_licence = f.licence(svc, theirs, their_operator).record
        their_vehicle = f.vehicle(svc, theirs, their_operator, their_licence).record
        their_person = f.practitioner(svc, theirs, name="李外局").record
        return Ledger(
            mine,
            theirs,
            operator,
            licence,
            vehicle,
            person,
            their_operator,
            their_vehicle,
            their_person,
        )


def _clerk(runtime: Runtime, ledger: Ledger) -> Client:
    return api_client(runtime, Role.CLERK, authority_id=ledger.mine.id)


def test_a_clerk_sees_only_the_own_authority(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    clerk = _clerk(runtime, ledger)
    lists = {
        "/staff/operators": ("长春市本局货运有限公司", "长春市外局货运有限公司"),
        "/staff/vehicles": (ledger.vehicle.plate, ledger.their_vehicle.plate),
        "/staff/practitioners": ("王本局", "李外局"),
        "/staff/ecerts": ("长春市本局货运有限公司", "长春市外局货运有限公司"),
    }
    for path, (own, other) in lists.items():
        body = text_of(clerk.get(path).text)
        assert own in body, path
        assert other not in body, path
    # An authority_id asking for another authority is ignored: the list stays the clerk's own.
    narrowed = clerk.get("/staff/operators", params={"authority_id": ledger.theirs.id}).text
    assert "长春市外局货运有限公司" not in narrowed
    for path in (
        f"/staff/operators/{ledger.their_operator.id}",
        f"/staff/vehicles/{ledger.their_vehicle.id}",
        f"/staff/vehicles/{ledger.their_vehicle.id}/photo",
        f"/staff/practitioners/{ledger.their_person.id}",
    ):
        answer = clerk.get(path)
        assert answer.status_code == 403, path
        assert "其他核发机关" in answer.text
    refused = clerk.post(f"/staff/vehicles/{ledger.their_vehicle.id}/reissue")
    assert refused.status_code == 403
    # A licence the other authority issued to the clerk's operator is shown, not operated on.
    with runtime.unit_of_work() as svc:
        foreign = f.licence(svc, ledger.theirs, svc.ledger.get(Operator, ledger.operator.id)).record
    page = text_of(clerk.get(f"/staff/operators/{ledger.operator.id}").text)
    assert foreign.number in page and f"由{ledger.theirs.name}办理" in page
    assert clerk.post(f"/staff/licences/{foreign.id}/reissue").status_code == 403
    # Counts on the e-cert list are the authority's too: 1 licence, 1 vehicle, 1 person.
    assert "全部版本 3" in text_of(clerk.get("/staff/ecerts").text)


def test_the_admin_sees_the_province_and_narrows_it(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    admin = api_client(runtime, Role.ADMIN)
    body = text_of(admin.get("/staff/operators").text)
    assert "长春市本局货运有限公司" in body and "长春市外局货运有限公司" in body
    narrowed = text_of(
        admin.get("/staff/operators", params={"authority_id": ledger.theirs.id}).text
    )
    assert "长春市外局货运有限公司" in narrowed and "长春市本局货运有限公司" not in narrowed
    assert admin.get(f"/staff/vehicles/{ledger.their_vehicle.id}").status_code == 200
    for role in (Role.ENTERPRISE, Role.OFFICER):
        other = api_client(
            runtime, role, holder_code=ledger.operator.uscc if role is Role.ENTERPRISE else None
        )
        assert other.get("/staff/operators").status_code == 403


def test_search_and_paging(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    with runtime.unit_of_work() as svc:
        for _ in range(22):
            f.operator(svc, ledger.mine, name=f"吉林市翻页测试{_:02d}运输有限公司")
    clerk = _clerk(runtime, ledger)
    first = text_of(clerk.get("/staff/operators", params={"q": "翻页测试"}).text)
    assert "共 22 条" in first and "第 1 页/2 页" in first
    second = clerk.get("/staff/operators", params={"q": "翻页测试", "page": 2})
    assert "第 2 页/2 页" in text_of(second.text)
    assert "21 吉林市翻页测试20运输有限公司" in text_of(second.text)
    assert "q=%E7%BF%BB%E9%A1%B5%E6%B5%8B%E8%AF%95&amp;page=1" in second.text  # filter kept
    by_code = text_of(clerk.get("/staff/operators", params={"q": ledger.operator.uscc}).text)
    assert "长春市本局货运有限公司" in by_code and "共 1 条" in by_code
    assert "共 0 条" in text_of(clerk.get("/staff/operators", params={"q": "_"}).text)
    plate = text_of(clerk.get("/staff/vehicles", params={"q": ledger.vehicle.plate}).text)
    assert "共 1 条" in plate
    mine_only = clerk.get("/staff/vehicles", params={"operator_id": ledger.operator.id})
    assert ledger.vehicle.plate in mine_only.text
    person = text_of(clerk.get("/staff/practitioners", params={"q": ledger.person.id_number}).text)
    assert "王本局" in person
    for bad in ({"page": "x"}, {"authority_id": "0"}, {"status": "9" * 40}):
        assert clerk.get("/staff/operators", params=bad).status_code == 422
    assert clerk.get("/staff/vehicles/0").status_code == 422
    assert clerk.get("/staff/vehicles/99999999999").status_code == 422
    assert clerk.get("/staff/vehicles/999999").status_code == 404
    huge = clerk.get("/staff/ecerts", params={"page": 10**15})
    assert huge.status_code == 200 and "暂无电子证照" in huge.text


def _versions(runtime: Runtime, vehicle: Vehicle) -> list[tuple[int, str]]:
    with runtime.unit_of_work() as svc:
        return [(e.version, e.status) for e in svc.issuance.repo.of_source("vehicle", vehicle.id)]


def test_vehicle_operations_from_the_page(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    clerk, csrf = browser_client(runtime, Role.CLERK, authority_id=ledger.mine.id)
    page = f"/staff/vehicles/{ledger.vehicle.id}"
    detail = text_of(clerk.get(page).text)
    assert "业务办理" in detail
    assert "有效" in detail and "新增" in detail

    # The form without its CSRF token is refused and does nothing.
    review = f"{page}/review"
    new_date = (f.TODAY + timedelta(days=400)).isoformat()
    assert clerk.post(review, data={"review_valid_until": new_date}).status_code == 403
    assert _versions(runtime, ledger.vehicle) == [(1, EcertStatus.VALID)]

    done = clerk.post(review, data={"csrf_token": csrf, "review_valid_until": new_date})
    assert done.status_code == 200  # followed the redirect back to the page
    assert "车辆年审已办理。已制发道路运输证第002版。" in done.text
    assert _versions(runtime, ledger.vehicle) == [
        (2, EcertStatus.VALID),
        (1, EcertStatus.SUPERSEDED),
    ]
    assert new_date in text_of(done.text)

    # A refusal is a message on the page; the ledger and the e-certs are unchanged.
    backwards = clerk.post(
        f"{page}/renew",
        data={
            "csrf_token": csrf,
            "valid_from": f.TODAY.isoformat(),
            "valid_until": (f.TODAY - timedelta(days=1)).isoformat(),
        },
    )
    assert "道路运输证换证未办理：有效期止" in backwards.text
    missing = clerk.post(f"{page}/renew", data={"csrf_token": csrf, "valid_from": "2026-01-01"})
    assert "换证须给出新的有效期起止" in missing.text
    garbage = clerk.post(
        f"{page}/renew", data={"csrf_token": csrf, "valid_from": "x", "valid_until": "y"}
    )
    assert "有效期起：应为日期" in garbage.text
    assert _versions(runtime, ledger.vehicle) == [
        (2, EcertStatus.VALID),
        (1, EcertStatus.SUPERSEDED),
    ]

    # 变更 to 停运 keeps it valid; 报废 revokes it; then no operation is possible.
    same = clerk.post(f"{page}/change", data={"csrf_token": csrf, "status": "10"})
    assert "变更内容与现有记录相同" in same.text
    scrapped = clerk.post(f"{page}/change", data={"csrf_token": csrf, "status": "33"})
    assert "车辆变更已办理。已注销道路运输证第002版。" in scrapped.text
    assert "无效（已注销）" in scrapped.text
    with runtime.unit_of_work() as svc:
        tags = [
            e.details.get("operation")
            for e in svc.session.query(AuditEvent).filter(
                AuditEvent.tag == "registry:record:changed",
                AuditEvent.subject == f"vehicle:{ledger.vehicle.id}",
            )
        ]
    assert tags == ["车辆年审", "车辆变更"]  # refusals are not audited as changes


def test_licence_operations_and_cancellation(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    clerk = _clerk(runtime, ledger)
    base = f"/staff/licences/{ledger.licence.id}"
    reissued = clerk.post(f"{base}/reissue")
    assert "经营许可证补证已办理。已制发道路运输经营许可证第002版。" in reissued.text
    start, end = f.TODAY, f.TODAY + timedelta(days=1460)
    reviewed = clerk.post(
        f"{base}/renew",
        data={"valid_from": start.isoformat(), "valid_until": end.isoformat(), "review": "1"},
    )
    assert "经营许可证审验已办理。已制发道路运输经营许可证第003版。" in reviewed.text
    assert f"{start.isoformat()} 至 {end.isoformat()}" in text_of(reviewed.text)
    cancelled = clerk.post(f"{base}/cancel")
    assert "经营许可证注销已办理。已注销道路运输经营许可证第003版。" in cancelled.text
    page = text_of(cancelled.text)
    assert "无效（已注销）" in page and "已注销" in page
    again = clerk.post(f"{base}/reissue")
    assert "已注销，不能再办理业务" in again.text


def test_practitioner_operations(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    clerk = _clerk(runtime, ledger)
    base = f"/staff/practitioners/{ledger.person.id}"
    page = text_of(clerk.get(base).text)
    assert "经营性道路货物运输驾驶员" in page and "经营性道路旅客运输驾驶员" in page
    signed = clerk.post(
        f"{base}/integrity", data={"entry_date": f.TODAY.isoformat(), "text": "2026年度考核 AAA"}
    )
    assert "诚信考核签注已办理。已制发道路运输从业人员从业资格证第002版。" in signed.text
    assert "2026年度考核 AAA" in signed.text
    blank = clerk.post(f"{base}/integrity", data={"entry_date": f.TODAY.isoformat()})
    assert "签注内容" in blank.text
    one = clerk.post(f"{base}/qualifications/01001/cancel")
    assert "从业资格注销已办理。已制发道路运输从业人员从业资格证第003版。" in one.text
    last = clerk.post(f"{base}/qualifications/02001/cancel")
    assert "已注销道路运输从业人员从业资格证第003版" in last.text
    gone = clerk.post(f"{base}/qualifications/02001/reissue")
    assert "无有效的从业资格类别 02001" in gone.text


def test_quality_is_listed_and_fixed_on_the_page(runtime: Runtime) -> None:
    ledger = _ledger(runtime)
    with runtime.unit_of_work() as svc:
        broken = f.operator(
            svc, ledger.mine, name="长春市错码运输有限公司", uscc="91220101MA0Y1234X0"
        )
        refused = f.licence(svc, ledger.mine, broken)
        assert refused.effect.issued == [] and refused.effect.refused
    clerk = _clerk(runtime, ledger)
    listing = text_of(clerk.get("/staff/quality").text)
    assert "长春市错码运输有限公司" in listing and "统一社会信用代码" in listing
    assert "校验位错误" in listing
    other = api_client(runtime, Role.CLERK, authority_id=ledger.theirs.id)
    assert "长春市错码运输有限公司" not in other.get("/staff/quality").text

    page = text_of(clerk.get(f"/staff/operators/{broken.id}").text)
    assert "不规范数据" in page and "未制发" in page
    fixed = uscc.generate(random.Random(11), "220102")
    done = clerk.post(f"/staff/operators/{broken.id}/change", data={"uscc": fixed})
    assert "业户变更已办理" in done.text
    # The operator 变更 re-issues its certificates: the refused licence now gets its e-cert.
    assert "已制发道路运输经营许可证第001版" in done.text
    assert "长春市错码运输有限公司" not in clerk.get("/staff/quality").text


@pytest.mark.parametrize("path", ["/staff/photos", "/staff/quality", "/staff/ecerts"])
def test_empty_pages_say_so(runtime: Runtime, path: str) -> None:
    with runtime.unit_of_work() as svc:
        empty = f.authority(svc)
    clerk = api_client(runtime, Role.CLERK, authority_id=empty.id)
    body = text_of(clerk.get(path).text)
    assert any(words in body for words in ("没有待审核的照片", "没有不规范数据", "暂无电子证照"))
