"""The public query (证照信息查询) on both databases: masked answers, the rate limit, bad input.

Records are made through the services a clerk uses (``tests/factories.py``) and queried by a
visitor without an account, through the page (``POST /query``) and the JSON API
(``GET /api/public/query``). Every answer is searched for the unmasked values, which must not be
anywhere in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from roadcert.app import create_app
from roadcert.audit.models import AuditEvent
from roadcert.catalog.codes import PlateColor
from roadcert.kit.masking import mask_name
from roadcert.portal.public import QUERY_TAG
from roadcert.portal.ratelimit import RateLimiter, Window
from roadcert.registry.models import Authority, Operator, Practitioner, Vehicle
from roadcert.registry.public import MAX_QUERY_CHARS, NO_ECERT_AUTHORITY, NOT_FOUND
from roadcert.runtime import Runtime, Services
from roadcert.verification.masking import public_number, public_plate
from tests import factories as f
from tests.clients import Client, new_client

LIMITED = "查询过于频繁，请"


@pytest.fixture
def visitor(runtime: Runtime) -> Client:
    """A client with no account."""
    return new_client(runtime)


def _api(client: Client, **params: str) -> dict[str, Any]:
    response = client.get("/api/public/query", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def _page(client: Client, **form: str) -> str:
    response = client.post("/query", data=form)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def _absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} appears unmasked"


def _committed(services: Services) -> None:
    services.session.commit()  # releases the savepoint; the test transaction still rolls back


# -- each kind -------------------------------------------------------------------------------------


def test_an_operator_by_uscc_or_full_name_is_masked(visitor: Client, services: Services) -> None:
    auth = f.authority(services)
    operator = f.operator(services, auth)
    licence = f.licence(services, auth, operator, business_scopes=["02101", "02201"]).record
    _committed(services)
    assert operator.uscc is not None
    secrets = (operator.name, operator.uscc, licence.number, operator.address)

    for text in (operator.uscc, operator.uscc.lower(), operator.name):
        body = _api(visitor, kind="operator", q=text)
        assert body["count"] == 1 and body["message"] is None
        (found,) = body["results"]
        assert found["name"] == mask_name(operator.name)
        assert found["uscc"] == operator.uscc[:2] + "■" * 16
        assert found["authority"] == auth.name
        assert found["business_scope"] == "道路普通货物运输，货物专用运输（集装箱）"
        (lic,) = found["licences"]
        assert lic["number"] == public_number(licence.number) and "■" in lic["number"]
        assert lic["valid_until"] == licence.valid_until.isoformat()
        assert lic["ecert_status"] == "有效" and lic["status"] == "有效"
        _absent(str(body), *secrets)

    html = _page(visitor, kind="operator", q=operator.uscc)
    assert mask_name(operator.name) in html and auth.name in html
    assert "道路运输经营许可证" in html and "有效" in html
    _absent(html, *secrets)


def test_a_cancelled_licence_reads_cancelled(visitor: Client, services: Services) -> None:
    auth = f.authority(services)
    operator = f.operator(services, auth)
    licence = f.licence(services, auth, operator).record
    services.business.cancel_licence(licence.id)
    _committed(services)
    (found,) = _api(visitor, kind="operator", q=operator.name)["results"]
    (lic,) = found["licences"]
    assert lic["status"] == "已注销"
    assert lic["ecert_status"] == "无效（已注销）"
    assert found["business_scope"] == ""  # only valid licences give the operator its scope


def test_a_vehicle_by_plate_and_colour_is_masked(visitor: Client, services: Services) -> None:
    auth = f.authority(services)
    operator = f.operator(services, auth)
    licence = f.licence(services, auth, operator).record
    vehicle: Vehicle = f.vehicle(services, auth, operator, licence).record
    _committed(services)
    secrets = (vehicle.plate, operator.name, vehicle.transport_number)
    spaced = f"{vehicle.plate[:2]}·{vehicle.plate[2:].lower()}"  # as people type it

    for params in (
        {"q": vehicle.plate},
        {"q": spaced},
        {"q": vehicle.plate, "plate_color": PlateColor.YELLOW.value},
    ):
        body = _api(visitor, kind="vehicle", **params)
        (found,) = body["results"]
        assert found["plate"] == public_plate(f"{vehicle.plate}（黄色）")
        assert found["plate"].startswith(vehicle.plate[:3] + "■")
        assert found["plate_color"] == "黄色"
        assert found["operator_name"] == mask_name(operator.name)
        assert found["transport_number"] == public_number(vehicle.transport_number)
        assert found["authority"] == auth.name
        assert found["ecert_type"] == "道路运输证" and found["ecert_status"] == "有效"
        assert found["valid_until"] == vehicle.valid_until.isoformat()
        _absent(str(body), *secrets)

    other_colour = _api(visitor, kind="vehicle", q=vehicle.plate, plate_color="1")
    assert other_colour["count"] == 0 and other_colour["message"] == NOT_FOUND

    html = _page(visitor, kind="vehicle", q=vehicle.plate, plate_color="")
    assert public_plate(f"{vehicle.plate}（黄色）") in html and "道路运输证" in html
    _absent(html, *secrets)


def test_a_practitioner_by_certificate_number_is_masked(
    visitor: Client, services: Services
) -> None:
    auth = f.authority(services)
    person: Practitioner = f.practitioner(services, auth, categories=("02001", "03001")).record
    _committed(services)
    assert person.certificate_number == person.id_number  # 从业资格证号 = ID number
    secrets = (person.name, person.id_number, person.address)

    body = _api(visitor, kind="practitioner", q=person.id_number.lower())
    (found,) = body["results"]
    assert found["name"] == "张■"
    assert found["number"] == person.id_number[:2] + "■" * 16
    assert found["authority"] == auth.name
    assert [q["category"] for q in found["qualifications"]] == [
        "经营性道路货物运输驾驶员",
        "道路危险货物运输驾驶员",
    ]
    (ecert,) = found["ecerts"]
    assert ecert["type_name"] == "道路运输从业人员从业资格证"
    assert ecert["ecert_status"] == "有效"
    _absent(str(body), *secrets)
    _absent(response_text(visitor, kind="practitioner", q=person.id_number), *secrets)

    html = _page(visitor, kind="practitioner", q=person.id_number)
    assert "张■" in html and "道路危险货物运输驾驶员" in html and "有效" in html
    _absent(html, *secrets)


def response_text(client: Client, **params: str) -> str:
    """The raw JSON text, as a program would read it (escapes included)."""
    return str(client.get("/api/public/query", params=params).text)


def test_a_record_of_an_authority_without_ecerts_says_so(
    visitor: Client, services: Services
) -> None:
    auth: Authority = f.authority(services, enabled=False)
    operator: Operator = f.operator(services, auth)
    f.licence(services, auth, operator)
    _committed(services)
    (found,) = _api(visitor, kind="operator", q=operator.name)["results"]
    assert found["licences"][0]["ecert_status"] == NO_ECERT_AUTHORITY


def test_nothing_found(visitor: Client) -> None:
    for kind, text in (
        ("operator", "91220000MA00000000"),
        ("operator", "没有这家公司"),
        ("vehicle", "吉A00000"),
        ("practitioner", "220102198001010000"),
    ):
        body = _api(visitor, kind=kind, q=text)
        assert body == {
            "kind": kind,
            "kind_label": body["kind_label"],
            "count": 0,
            "results": [],
            "message": NOT_FOUND,
        }
        assert NOT_FOUND in _page(visitor, kind=kind, q=text)


# -- bad input -------------------------------------------------------------------------------------

BAD: dict[str, tuple[dict[str, str], str, str]] = {
    "unknown kind": ({"kind": "person", "q": "x"}, "query.kind", "查询类别应为"),
    "no kind": ({"q": "x"}, "query.kind", "查询类别应为"),
    "empty": ({"kind": "operator", "q": "  "}, "query.empty", "请输入查询内容"),
    "no text": ({"kind": "vehicle"}, "query.empty", "请输入查询内容"),
    "too long": (
        {"kind": "operator", "q": "长" * (MAX_QUERY_CHARS + 1)},
        "query.too_long",
        "查询内容过长",
    ),
    "control character": ({"kind": "operator", "q": "a\x00b"}, "query.invalid", "不可见字符"),
    "plate colour": (
        {"kind": "vehicle", "q": "吉A12345", "plate_color": "7"},
        "query.plate_color",
        "车牌颜色无效",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_a_clear_422(visitor: Client, case: str) -> None:
    params, code, words = BAD[case]
    response = visitor.get("/api/public/query", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code and words in response.json()["message"]
    page = visitor.post("/query", data=params)
    assert page.status_code == 422 and words in page.text
    assert "证照信息查询" in page.text  # the form again, not an error page


def test_an_oversized_form_is_no_500(visitor: Client) -> None:
    response = visitor.post("/query", data={"kind": "operator", "q": "长" * 20_000})
    assert response.status_code == 422 and "查询内容过长" in response.text


def test_the_form_page(visitor: Client) -> None:
    page = visitor.get("/query")
    assert page.status_code == 200
    for words in ("证照信息查询", "经营业户", "营运车辆", "从业人员", "车牌颜色"):
        assert words in page.text
    assert visitor.get("/query", params={"kind": "nonsense"}).status_code == 200


# -- the rate limit --------------------------------------------------------------------------------


def test_the_eleventh_query_in_a_minute_is_refused(runtime: Runtime, services: Services) -> None:
    client = new_client(runtime)
    start = runtime.clock()
    runtime.clock = lambda: start
    for _ in range(5):
        _api(client, kind="vehicle", q="吉A00000")
        # A mistyped query is not counted.
        assert client.get("/api/public/query", params={"kind": "x", "q": "y"}).status_code == 422
        _page(client, kind="operator", q="没有这家公司")

    refused = client.get("/api/public/query", params={"kind": "vehicle", "q": "吉A00000"})
    assert refused.status_code == 429
    assert refused.json() == {"code": "rate_limited", "message": "查询过于频繁，请 60 秒后再试"}
    assert refused.headers["retry-after"] == "60"
    page = client.post("/query", data={"kind": "operator", "q": "没有这家公司"})
    assert page.status_code == 429 and "查询过于频繁，请 60 秒后再试" in page.text
    assert page.headers["retry-after"] == "60"
    assert "证照信息查询" in page.text

    # Another address is not limited by this one's queries.
    other = Client(create_app(runtime), raise_server_exceptions=False, client=("198.51.100.7", 1))
    assert _api(other, kind="vehicle", q="吉A00000")["count"] == 0

    runtime.clock = lambda: start + timedelta(seconds=45)
    later = client.get("/api/public/query", params={"kind": "vehicle", "q": "吉A00000"})
    assert later.status_code == 429 and later.headers["retry-after"] == "15"
    runtime.clock = lambda: start + timedelta(seconds=61)
    assert _api(client, kind="vehicle", q="吉A00000")["count"] == 0

    counted = services.audit.repo.latest("public:", limit=50)
    assert len([e for e in counted if e.client_ip == "testclient"]) == 11
    assert all(e.tag == QUERY_TAG and e.actor == "公众" for e in counted)
    assert {e.details["kind"] for e in counted} == {"vehicle", "operator"}


def _event(services: Services, at: datetime, ip: str) -> None:
    services.audit.repo.add(
        AuditEvent(at=at, tag=QUERY_TAG, actor="公众", subject="query:vehicle", client_ip=ip)
    )


def test_the_daily_limit_counts_a_sliding_day(services: Services) -> None:
    now = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
    limiter = RateLimiter(services.session, QUERY_TAG, lambda: now)
    assert limiter.windows == (Window(60, 10), Window(86_400, 200))
    # 200 queries, one every 7 minutes, the first 23 h 20 min ago: never 10 in a minute.
    first = now - timedelta(minutes=7 * 200)
    for i in range(200):
        _event(services, first + timedelta(minutes=7 * (i + 1)), "192.0.2.1")
    _event(services, now - timedelta(seconds=10), "192.0.2.2")  # someone else
    _event(services, now - timedelta(days=2), "192.0.2.3")
    services.session.flush()

    # The next is allowed when the oldest of the 200 is a day old.
    oldest = first + timedelta(minutes=7)
    expected = (oldest + timedelta(days=1) - now).total_seconds()
    assert limiter.retry_after("192.0.2.1") == int(expected)
    assert limiter.retry_after("192.0.2.2") == 0
    assert limiter.retry_after("192.0.2.3") == 0
    later = RateLimiter(services.session, QUERY_TAG, lambda: oldest + timedelta(days=1, seconds=1))
    assert later.retry_after("192.0.2.1") == 0

    small = RateLimiter(services.session, QUERY_TAG, lambda: now, windows=[Window(60, 1)])
    assert small.retry_after("192.0.2.2") == 50
