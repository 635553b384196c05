"""The ledger service on a real database: history, 不规范数据 bookkeeping, photos and refusals."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from roadcert.errors import BadInput, Conflict, NotFound, RoadcertError
from roadcert.kit import uscc
from roadcert.registry.models import (
    Authority,
    EntryKind,
    Licence,
    Operator,
    Photo,
    Practitioner,
    QualityIssue,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.schemas import (
    AuthorityIn,
    EntryIn,
    LicenceChange,
    OperatorChange,
    PractitionerChange,
    QualificationIn,
    Renewal,
    VehicleChange,
)
from roadcert.registry.service import MAX_PHOTO_BYTES
from roadcert.runtime import Services
from tests import factories as f

_rng = random.Random(31)


def _bad_check_char(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def _open(svc: Services, entity: str, record_id: int) -> list[tuple[str, str]]:
    return sorted((i.field, i.rule) for i in svc.ledger.repo.open_issues(entity, record_id))


def _all_issues(svc: Services, entity: str, record_id: int) -> list[QualityIssue]:
    return list(
        svc.session.query(QualityIssue)
        .filter_by(entity=entity, entity_id=record_id)
        .order_by(QualityIssue.id)
    )


def _refused(excinfo: pytest.ExceptionInfo[RoadcertError]) -> tuple[str, int]:
    return excinfo.value.code, excinfo.value.status


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (16, 16), 3).save(buffer, format="GIF")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


# -- history (变更历史) ---------------------------------------------------------------------------


def test_operator_history_keeps_every_snapshot_in_order(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth, address="长春市南关区人民大街1号")
    services.business.change_operator(op.id, OperatorChange(address="长春市朝阳区解放大路2号"))
    services.business.change_operator(op.id, OperatorChange(name="长春市更名物流有限公司"))

    history = services.ledger.history(Operator, op.id)
    assert [h.operation for h in history] == ["create", "change", "change"]
    assert [h.snapshot["address"] for h in history] == [
        "长春市南关区人民大街1号",
        "长春市朝阳区解放大路2号",
        "长春市朝阳区解放大路2号",
    ]
    assert history[0].snapshot["name"] != "长春市更名物流有限公司"
    assert history[-1].snapshot["name"] == "长春市更名物流有限公司"
    assert {h.actor for h in history} == {"test"}
    assert all(h.entity == "operator" and h.entity_id == op.id for h in history)
    assert history[0].changed_at <= history[1].changed_at <= history[2].changed_at
    # The snapshot is JSON-ready and holds the record's own columns.
    assert history[0].snapshot["id"] == op.id
    assert history[0].snapshot["authority_id"] == auth.id


def test_authority_history_records_enable_and_disable(services: Services) -> None:
    auth = f.authority(services, enabled=False)
    services.ledger.set_ecert_enabled(auth.id, True)
    services.ledger.set_ecert_enabled(auth.id, False)
    history = services.ledger.history(Authority, auth.id)
    assert [h.operation for h in history] == ["create", "enable", "disable"]
    assert [h.snapshot["ecert_enabled"] for h in history] == [False, True, False]


def test_licence_history_names_each_operation(services: Services) -> None:
    auth = f.authority(services)
    licence = f.licence(services, auth, f.operator(services, auth)).record
    today = services.issuance.today()
    services.business.change_licence(licence.id, LicenceChange(business_scopes=["02101", "02201"]))
    services.business.renew_licence(
        licence.id, Renewal(valid_from=today, valid_until=today + timedelta(days=1460))
    )
    services.business.cancel_licence(licence.id)

    history = services.ledger.history(Licence, licence.id)
    assert [h.operation for h in history] == ["create", "change", "renew", "cancel"]
    assert history[0].snapshot["business_scopes"] == ["02101"]
    assert history[1].snapshot["business_scopes"] == ["02101", "02201"]
    assert history[2].snapshot["valid_from"] == today.isoformat()
    assert history[3].snapshot["status"] == RecordStatus.CANCELLED


def test_vehicle_history_names_each_operation(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    vehicle = f.vehicle(services, auth, op, f.licence(services, auth, op).record).record
    today = services.issuance.today()
    services.business.change_vehicle(vehicle.id, VehicleChange(brand_model="东风牌DFH1180"))
    services.business.review_vehicle(
        vehicle.id, Renewal(review_valid_until=today + timedelta(days=365), technical_grade="2")
    )
    services.business.renew_vehicle(
        vehicle.id, Renewal(valid_from=today, valid_until=today + timedelta(days=1000))
    )
    services.business.vehicle_photo(vehicle.id, f.png(20, 20, (1, 2, 3)))
    services.business.cancel_vehicle(vehicle.id)

    history = services.ledger.history(Vehicle, vehicle.id)
    assert [h.operation for h in history] == [
        "create",
        "change",
        "review",
        "renew",
        "photo",
        "cancel",
    ]
    assert history[2].snapshot["technical_grade"] == "2"
    assert history[3].snapshot["issue_date"] == today.isoformat()
    assert history[4].snapshot["photo_id"] != history[3].snapshot["photo_id"]
    assert history[5].snapshot["transport_status"] == RecordStatus.CANCELLED


def test_practitioner_history_carries_the_qualifications(services: Services) -> None:
    auth = f.authority(services)
    person = f.practitioner(services, auth, ("02001",)).record
    today = services.issuance.today()
    services.business.add_qualification(
        person.id,
        QualificationIn(category="01001", valid_from=today, valid_until=today + timedelta(days=9)),
    )
    services.business.add_entry(
        person.id,
        EntryKind.CONTINUING_EDUCATION,
        EntryIn(entry_date=today, text="继续教育 24 学时"),
    )
    services.business.add_entry(
        person.id, EntryKind.INTEGRITY_ASSESSMENT, EntryIn(entry_date=today, text="AAA")
    )
    services.business.change_practitioner(person.id, PractitionerChange(address="长春市新址"))
    services.business.cancel_qualification(person.id, "01001")

    history = services.ledger.history(Practitioner, person.id)
    assert [h.operation for h in history] == [
        "create",
        "add_qualification",
        "continuing_education",
        "integrity_assessment",
        "change",
        "cancel",
    ]
    categories = [[q["category"] for q in h.snapshot["qualifications"]] for h in history]
    assert categories[0] == ["02001"]
    assert categories[1] == ["01001", "02001"]
    statuses = {q["category"]: q["status"] for q in history[-1].snapshot["qualifications"]}
    assert statuses == {"01001": RecordStatus.CANCELLED, "02001": RecordStatus.ACTIVE}


def test_a_refused_change_leaves_no_history(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    with pytest.raises(BadInput):
        services.business.change_operator(op.id, OperatorChange(name=op.name))
    assert [h.operation for h in services.ledger.history(Operator, op.id)] == ["create"]


# -- 不规范数据 ----------------------------------------------------------------------------------


def test_findings_open_on_create_and_close_when_fixed(services: Services) -> None:
    auth = f.authority(services)
    good = uscc.generate(_rng, "220102")
    op = f.operator(services, auth, uscc=_bad_check_char(good), economic_type="999")
    # The record is kept, not refused, and each finding is listed for its authority.
    assert services.ledger.get(Operator, op.id).uscc == _bad_check_char(good)
    assert _open(services, "operator", op.id) == [
        ("economic_type", "economic_type.code_table"),
        ("uscc", "uscc.check_char"),
    ]
    issues = services.ledger.repo.all_open_issues(auth.id)
    assert {i.entity_id for i in issues} == {op.id}
    assert {i.authority_id for i in issues} == {auth.id}
    uscc_issue = next(i for i in issues if i.field == "uscc")
    assert uscc_issue.value == _bad_check_char(good)
    assert "校验位" in uscc_issue.message

    services.business.change_operator(op.id, OperatorChange(uscc=good))
    assert _open(services, "operator", op.id) == [("economic_type", "economic_type.code_table")]
    fixed = [i for i in _all_issues(services, "operator", op.id) if i.field == "uscc"]
    assert len(fixed) == 1 and fixed[0].resolved_at is not None

    services.business.change_operator(op.id, OperatorChange(economic_type="173"))
    assert _open(services, "operator", op.id) == []
    assert services.ledger.repo.all_open_issues(auth.id) == []
    assert len(_all_issues(services, "operator", op.id)) == 2


def test_a_finding_is_not_duplicated_by_later_changes(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth, uscc=None)
    services.business.change_operator(op.id, OperatorChange(address="长春市宽城区1号"))
    services.business.change_operator(op.id, OperatorChange(address="长春市宽城区2号"))
    issues = _all_issues(services, "operator", op.id)
    assert [(i.field, i.rule, i.resolved_at) for i in issues] == [("uscc", "uscc.missing", None)]


def test_a_finding_that_comes_back_is_opened_again(services: Services) -> None:
    auth = f.authority(services)
    good = uscc.generate(_rng, "220102")
    op = f.operator(services, auth, uscc=_bad_check_char(good))
    services.business.change_operator(op.id, OperatorChange(uscc=good))
    services.business.change_operator(op.id, OperatorChange(uscc=_bad_check_char(good)))
    issues = _all_issues(services, "operator", op.id)
    assert [i.resolved_at is None for i in issues] == [False, True]


def test_an_open_finding_shows_the_current_value(services: Services) -> None:
    auth = f.authority(services)
    first_bad = _bad_check_char(uscc.generate(_rng, "220102"))
    second_bad = _bad_check_char(uscc.generate(_rng, "220102"))
    op = f.operator(services, auth, uscc=first_bad)
    services.business.change_operator(op.id, OperatorChange(uscc=second_bad))
    (issue,) = services.ledger.repo.open_issues("operator", op.id)
    assert issue.value == second_bad


def test_every_record_kind_gets_its_findings(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    licence = f.licence(services, auth, op, business_scopes=["02101", "99999"]).record
    vehicle = f.vehicle(services, auth, op, licence, plate="吉AO1234", vehicle_type="X00").record
    person = f.practitioner(services, auth, driving_class="A2X").record
    assert _open(services, "operator", op.id) == []
    assert _open(services, "licence", licence.id) == [
        ("business_scopes", "business_scopes.code_table")
    ]
    assert _open(services, "vehicle", vehicle.id) == [
        ("plate", "plate.serial"),
        ("vehicle_type", "vehicle_type.code_table"),
    ]
    assert _open(services, "practitioner", person.id) == [
        ("driving_class", "driving_class.code_table")
    ]
    services.business.change_practitioner(person.id, PractitionerChange(driving_class="A2D"))
    assert _open(services, "practitioner", person.id) == []


def test_a_warning_is_listed_but_does_not_block(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth, uscc="91350100M0001TGQXM")
    assert _open(services, "operator", op.id) == [("uscc", "uscc.early_pilot")]
    outcome = f.licence(services, auth, op)
    assert not outcome.effect.refused
    assert len(outcome.effect.issued) == 1


@pytest.mark.parametrize(
    ("kind", "fields", "rule"),
    [
        ("operator", {"region_code": "2201021"}, "region.format"),
        ("operator", {"economic_type": "1730"}, "economic_type.code_table"),
        ("vehicle", {"vehicle_type": "H111"}, "vehicle_type.code_table"),
        ("vehicle", {"plate_color": "123"}, "plate_color.code_table"),
        ("practitioner", {"sex": "男性"}, "sex.code_table"),
    ],
)
def test_an_over_long_code_is_kept_and_listed(
    services: Services, request: pytest.FixtureRequest, kind: str, fields: dict[str, str], rule: str
) -> None:
    auth = f.authority(services)
    if kind == "operator":
        record: Any = f.operator(services, auth, **fields)
    elif kind == "vehicle":
        record = f.vehicle(services, auth, f.operator(services, auth), None, **fields).record
    else:
        record = f.practitioner(services, auth, **fields).record
    assert rule in {r for _, r in _open(services, kind, record.id)}


# -- photos --------------------------------------------------------------------------------------


def test_photo_too_large(services: Services) -> None:
    content = f.png() + b"\0" * MAX_PHOTO_BYTES
    with pytest.raises(BadInput) as refused:
        services.ledger.store_photo(content)
    assert _refused(refused) == ("photo.too_large", 422)
    assert refused.value.field == "photo"


def test_photo_unreadable(services: Services) -> None:
    with pytest.raises(BadInput) as refused:
        services.ledger.store_photo(random.Random(5).randbytes(4000))
    assert _refused(refused) == ("photo.unreadable", 422)
    with pytest.raises(BadInput) as empty:
        services.ledger.store_photo(b"")
    assert empty.value.code == "photo.unreadable"


def test_photo_format_gif_is_refused(services: Services) -> None:
    gif = _gif()
    assert gif.startswith(b"GIF8")
    with pytest.raises(BadInput) as refused:
        services.ledger.store_photo(gif)
    assert _refused(refused) == ("photo.format", 422)
    assert "GIF" in refused.value.message


def test_the_same_picture_is_stored_once(services: Services) -> None:
    picture = f.png(33, 44, (5, 6, 7))
    first = services.ledger.store_photo(picture)
    second = services.ledger.store_photo(picture)
    assert first.id == second.id
    assert first.media_type == "image/png"
    assert len(first.sm3) == 64
    assert services.session.query(Photo).filter_by(sm3=first.sm3).count() == 1
    # The same bytes on two vehicles point at one stored picture.
    auth = f.authority(services)
    op = f.operator(services, auth)
    one = f.vehicle(services, auth, op, None, photo=picture).record
    two = f.vehicle(services, auth, op, None, photo=picture).record
    assert one.photo_id == two.photo_id == first.id


def test_jpeg_is_accepted(services: Services) -> None:
    photo = services.ledger.store_photo(_jpeg())
    assert photo.media_type == "image/jpeg"


def test_a_refused_photo_refuses_the_new_record(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    before = services.session.query(Vehicle).count()
    with pytest.raises(BadInput) as refused:
        f.vehicle(services, auth, op, None, photo=_gif())
    assert refused.value.code == "photo.format"
    assert services.session.query(Vehicle).count() == before


# -- refusals --------------------------------------------------------------------------------------


def test_duplicate_authority(services: Services) -> None:
    auth = f.authority(services)
    with pytest.raises(Conflict) as refused:
        services.ledger.create_authority(
            AuthorityIn(name="另一个局", uscc=auth.uscc, region_code="220100", number_prefix="长")
        )
    assert _refused(refused) == ("authority.exists", 409)


def test_duplicate_licence_number(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    licence = f.licence(services, auth, op).record
    with pytest.raises(Conflict) as refused:
        f.licence(services, auth, op, number=licence.number)
    assert _refused(refused) == ("licence.number_exists", 409)
    assert refused.value.field == "number"


def test_duplicate_transport_number(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    vehicle = f.vehicle(services, auth, op, None).record
    with pytest.raises(Conflict) as refused:
        f.vehicle(services, auth, op, None, transport_number=vehicle.transport_number)
    assert _refused(refused) == ("vehicle.number_exists", 409)


def test_duplicate_practitioner(services: Services) -> None:
    auth = f.authority(services)
    person = f.practitioner(services, auth).record
    with pytest.raises(Conflict) as refused:
        f.practitioner(services, auth, id_number=person.id_number)
    assert _refused(refused) == ("practitioner.exists", 409)
    assert refused.value.field == "id_number"


def test_duplicate_certificate_number(services: Services) -> None:
    auth = f.authority(services)
    person = f.practitioner(services, auth).record
    with pytest.raises(Conflict) as refused:
        f.practitioner(services, auth, certificate_number=person.certificate_number)
    assert _refused(refused) == ("practitioner.number_exists", 409)


def test_duplicate_categories(services: Services) -> None:
    auth = f.authority(services)
    with pytest.raises(BadInput) as refused:
        f.practitioner(services, auth, ("02001", "02001"))
    assert _refused(refused) == ("qualification.duplicate", 422)
    person = f.practitioner(services, auth, ("02001",)).record
    today = services.issuance.today()
    with pytest.raises(Conflict) as again:
        services.business.add_qualification(
            person.id,
            QualificationIn(category="02001", valid_from=today, valid_until=today),
        )
    assert _refused(again) == ("qualification.exists", 409)


def test_dates_out_of_order(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    today = services.issuance.today()
    backwards = {"valid_from": today, "valid_until": today - timedelta(days=1)}
    attempts = [
        lambda: f.licence(services, auth, op, **backwards),
        lambda: f.vehicle(services, auth, op, None, **backwards),
        lambda: services.business.renew_licence(
            f.licence(services, auth, op).record.id, Renewal(**backwards)
        ),
        lambda: services.business.add_qualification(
            f.practitioner(services, auth).record.id,
            QualificationIn(category="01001", **backwards),
        ),
    ]
    for attempt in attempts:
        with pytest.raises(BadInput) as refused:
            attempt()
        assert _refused(refused) == ("validity.order", 422)
        assert refused.value.field == "valid_until"


def test_a_change_with_nothing_new(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    licence = f.licence(services, auth, op).record
    vehicle = f.vehicle(services, auth, op, licence).record
    person = f.practitioner(services, auth).record
    attempts = [
        lambda: services.business.change_operator(op.id, OperatorChange()),
        lambda: services.business.change_operator(op.id, OperatorChange(name=op.name)),
        lambda: services.business.change_licence(
            licence.id, LicenceChange(business_scopes=licence.business_scopes)
        ),
        lambda: services.business.change_vehicle(vehicle.id, VehicleChange(plate=vehicle.plate)),
        lambda: services.business.change_practitioner(
            person.id, PractitionerChange(name=person.name)
        ),
    ]
    for attempt in attempts:
        with pytest.raises(BadInput) as refused:
            attempt()
        assert _refused(refused) == ("change.empty", 422)


def test_operations_on_a_cancelled_licence(services: Services) -> None:
    auth = f.authority(services)
    licence = f.licence(services, auth, f.operator(services, auth)).record
    services.business.cancel_licence(licence.id)
    today = services.issuance.today()
    attempts = [
        lambda: services.business.change_licence(licence.id, LicenceChange(business_scopes=["1"])),
        lambda: services.business.renew_licence(
            licence.id, Renewal(valid_from=today, valid_until=today)
        ),
        lambda: services.business.reissue_licence(licence.id),
        lambda: services.business.cancel_licence(licence.id),
        lambda: services.business.cancel_licence(licence.id, revoked=True),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert _refused(refused) == ("record.cancelled", 409)
    assert services.ledger.get(Licence, licence.id).status == RecordStatus.CANCELLED


def test_operations_on_a_cancelled_vehicle(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    vehicle = f.vehicle(services, auth, op, None).record
    services.business.cancel_vehicle(vehicle.id)
    today = services.issuance.today()
    attempts = [
        lambda: services.business.review_vehicle(vehicle.id, Renewal(review_valid_until=today)),
        lambda: services.business.renew_vehicle(
            vehicle.id, Renewal(valid_from=today, valid_until=today)
        ),
        lambda: services.business.reissue_vehicle(vehicle.id),
        lambda: services.business.cancel_vehicle(vehicle.id),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "record.cancelled"


def test_a_revoked_licence_is_also_closed(services: Services) -> None:
    auth = f.authority(services)
    licence = f.licence(services, auth, f.operator(services, auth)).record
    outcome = services.business.cancel_licence(licence.id, revoked=True)
    assert outcome.record.status == RecordStatus.REVOKED
    assert services.ledger.history(Licence, licence.id)[-1].operation == "revoke"
    with pytest.raises(Conflict) as refused:
        services.business.reissue_licence(licence.id)
    assert refused.value.code == "record.cancelled"


MISSING = 2_000_000_000


def test_missing_records(services: Services) -> None:
    for model, code in [
        (Authority, "authority.not_found"),
        (Operator, "operator.not_found"),
        (Licence, "licence.not_found"),
        (Vehicle, "vehicle.not_found"),
        (Practitioner, "practitioner.not_found"),
    ]:
        with pytest.raises(NotFound) as refused:
            services.ledger.get(model, MISSING)
        assert _refused(refused) == (code, 404)
        assert str(MISSING) in refused.value.message
        with pytest.raises(NotFound) as history:
            services.ledger.history(model, MISSING)
        assert history.value.code == code


def test_missing_authority_message_is_chinese(services: Services) -> None:
    with pytest.raises(NotFound) as refused:
        services.ledger.get(Authority, MISSING)
    assert refused.value.message == f"核发机关 {MISSING} 不存在"


def test_missing_references(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    with pytest.raises(NotFound) as no_authority:
        f.operator(services, auth, authority_id=MISSING)
    assert no_authority.value.code == "authority.not_found"
    with pytest.raises(NotFound) as no_operator:
        f.licence(services, auth, op, operator_id=MISSING)
    assert no_operator.value.code == "operator.not_found"
    with pytest.raises(NotFound) as no_licence:
        f.vehicle(services, auth, op, None, licence_id=MISSING)
    assert no_licence.value.code == "licence.not_found"
    with pytest.raises(NotFound) as no_vehicle:
        services.business.vehicle_photo(MISSING, f.png())
    assert no_vehicle.value.code == "vehicle.not_found"
    person = f.practitioner(services, auth, ("02001",)).record
    with pytest.raises(NotFound) as no_category:
        services.business.reissue_qualification(person.id, "01001")
    assert (no_category.value.code, no_category.value.field) == (
        "qualification.not_found",
        "category",
    )


def test_duplicate_plate_is_a_conflict(services: Services) -> None:
    auth = f.authority(services)
    op = f.operator(services, auth)
    vehicle = f.vehicle(services, auth, op, None).record
    with pytest.raises(Conflict):
        f.vehicle(services, auth, op, None, plate=vehicle.plate, plate_color=vehicle.plate_color)
