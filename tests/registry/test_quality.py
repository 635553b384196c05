"""不规范数据 rules (registry/quality.py): each rule fires on its own field, and only there."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from roadcert.catalog.types import (
    DANGEROUS_GOODS_LICENCE,
    ROAD_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_LICENCE,
)
from roadcert.kit import cert_numbers, ric, uscc
from roadcert.registry.quality import (
    Finding,
    Severity,
    blocking,
    licence_findings,
    operator_findings,
    practitioner_findings,
    split_driving_classes,
    vehicle_findings,
)

_rng = random.Random(20)
BIRTH = date(1980, 5, 17)
GOOD_ID = ric.generate(_rng, "220102", BIRTH, True)


def _operator(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "长春市顺通物流有限公司",
        "uscc": uscc.generate(random.Random(1), "220102"),
        "region_code": "220102",
        "economic_type": "173",
        "status": "1",
    }
    return data | fields


def _licence(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": cert_numbers.licence_number("吉", "长", "220102", 17),
        "type_code": ROAD_TRANSPORT_LICENCE.type_code,
        "business_scopes": ["02101"],
        "valid_from": date(2024, 1, 1),
        "valid_until": date(2027, 12, 31),
    }
    return data | fields


def _vehicle(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "plate": "吉A12345",
        "plate_color": "2",
        "vehicle_type": "H11",
        "technical_grade": "1",
        "status": "10",
        "transport_number": cert_numbers.transport_number("吉", "长", "220100", 5),
        "business_scopes": ["02101"],
        "length_mm": 9600,
        "width_mm": 2500,
        "height_mm": 3600,
        "valid_from": date(2024, 1, 1),
        "valid_until": date(2026, 12, 31),
    }
    return data | fields


def _practitioner(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "张三",
        "id_type": "111",
        "id_number": GOOD_ID,
        "birth_date": BIRTH,
        "sex": "1",
        "driving_class": "A2",
        "qualifications": [
            {
                "category": "02001",
                "valid_from": date(2024, 1, 1),
                "valid_until": date(2029, 12, 31),
            }
        ],
    }
    return data | fields


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# -- clean records ------------------------------------------------------------------------------


def test_clean_records_have_no_findings() -> None:
    assert operator_findings(_operator()) == []
    assert licence_findings(_licence()) == []
    assert vehicle_findings(_vehicle()) == []
    assert practitioner_findings(_practitioner()) == []


# -- operators (经营业户) ------------------------------------------------------------------------


def test_operator_missing_uscc_is_an_error() -> None:
    for empty in (None, ""):
        finding = _only(operator_findings(_operator(uscc=empty)))
        assert (finding.field, finding.rule, finding.severity) == (
            "uscc",
            "uscc.missing",
            Severity.ERROR,
        )


def test_operator_uscc_check_char_is_an_error() -> None:
    good = _operator()["uscc"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    finding = _only(operator_findings(_operator(uscc=wrong)))
    assert (finding.field, finding.rule, finding.value) == ("uscc", "uscc.check_char", wrong)
    assert finding.severity is Severity.ERROR
    assert "校验位" in finding.message


def test_operator_early_pilot_uscc_is_only_a_warning() -> None:
    finding = _only(operator_findings(_operator(uscc="91350100M0001TGQXM")))
    assert (finding.field, finding.rule) == ("uscc", "uscc.early_pilot")
    assert finding.severity is Severity.WARNING
    assert blocking([finding]) == []


@pytest.mark.parametrize(
    ("code", "rule", "severity"),
    [
        ("22010", "region.format", Severity.ERROR),
        ("990101", "region.province", Severity.ERROR),
        # Well formed and in a real province, but not in the shipped table: listed, not blocking.
        ("220199", "region.unknown", Severity.WARNING),
    ],
)
def test_operator_region_code(code: str, rule: str, severity: Severity) -> None:
    finding = _only(operator_findings(_operator(region_code=code)))
    assert (finding.field, finding.rule, finding.severity) == ("region_code", rule, severity)


def test_operator_economic_type_outside_the_table() -> None:
    finding = _only(operator_findings(_operator(economic_type="999")))
    assert (finding.field, finding.rule, finding.value) == (
        "economic_type",
        "economic_type.code_table",
        "999",
    )
    # The economic type is optional: absent is fine.
    assert operator_findings(_operator(economic_type=None)) == []


@pytest.mark.parametrize(("value", "rule"), [("7", "status.code_table"), ("", "status.missing")])
def test_operator_status(value: str, rule: str) -> None:
    finding = _only(operator_findings(_operator(status=value)))
    assert (finding.field, finding.rule) == ("status", rule)


def test_operator_not_operating_is_no_quality_finding() -> None:
    # 停业 is a valid code: issuance refuses it, but the record itself is standard.
    assert operator_findings(_operator(status="2")) == []


def test_operator_blank_name() -> None:
    finding = _only(operator_findings(_operator(name="  ")))
    assert (finding.field, finding.rule) == ("name", "name.missing")


# -- licences (经营许可证) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("", "cert_number.empty"),
        ("吉交运管许可长字 220102000017号", "cert_number.whitespace"),
        ("吉" * 51, "cert_number.length"),
    ],
)
def test_licence_number(number: str, rule: str) -> None:
    finding = _only(licence_findings(_licence(number=number)))
    assert (finding.field, finding.rule) == ("number", rule)


@pytest.mark.parametrize(
    "type_code",
    [ROAD_TRANSPORT_CERTIFICATE.type_code, "11100000000019713D999", ""],
)
def test_licence_type_code_must_be_a_licence_type(type_code: str) -> None:
    finding = _only(licence_findings(_licence(type_code=type_code)))
    assert (finding.field, finding.rule) == ("type_code", "type_code.licence")


def test_licence_of_each_licence_type_passes() -> None:
    assert licence_findings(_licence(type_code=DANGEROUS_GOODS_LICENCE.type_code)) == []


def test_licence_empty_scopes() -> None:
    finding = _only(licence_findings(_licence(business_scopes=[])))
    assert (finding.field, finding.rule) == ("business_scopes", "business_scopes.missing")


def test_licence_bad_scope_names_the_bad_code_only() -> None:
    finding = _only(licence_findings(_licence(business_scopes=["02101", "99999"])))
    assert (finding.field, finding.rule, finding.value) == (
        "business_scopes",
        "business_scopes.code_table",
        "99999",
    )


def test_licence_dates_out_of_order() -> None:
    finding = _only(
        licence_findings(_licence(valid_from=date(2025, 1, 2), valid_until=date(2025, 1, 1)))
    )
    assert (finding.field, finding.rule) == ("valid_until", "validity.order")
    # The same day for both ends is a one-day licence, not an error.
    assert (
        licence_findings(_licence(valid_from=date(2025, 1, 1), valid_until=date(2025, 1, 1))) == []
    )


# -- vehicles (营运车辆) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("plate", "吉AO1234", "plate.serial"),
        ("plate", "", "plate.format"),
        ("plate_color", "7", "plate_color.code_table"),
        ("plate_color", None, "plate_color.missing"),
        ("vehicle_type", "X00", "vehicle_type.code_table"),
        ("technical_grade", "5", "technical_grade.code_table"),
        ("status", "99", "status.code_table"),
        ("transport_number", "", "cert_number.empty"),
        ("transport_number", "吉交运管长字\t1号", "cert_number.whitespace"),
        ("business_scopes", ["01000", "00000"], "business_scopes.code_table"),
    ],
)
def test_vehicle_rule_fires_on_its_field(field: str, value: Any, rule: str) -> None:
    finding = _only(vehicle_findings(_vehicle(**{field: value})))
    assert (finding.field, finding.rule) == (field, rule)
    assert finding.severity is Severity.ERROR


@pytest.mark.parametrize("dimension", ["length_mm", "width_mm", "height_mm"])
@pytest.mark.parametrize("value", [0, -1, None, "9600"])
def test_vehicle_dimensions_must_be_positive_integers(dimension: str, value: Any) -> None:
    finding = _only(vehicle_findings(_vehicle(**{dimension: value})))
    assert (finding.field, finding.rule, finding.value) == (
        dimension,
        "dimensions.positive",
        str(value),
    )


def test_vehicle_dates_out_of_order() -> None:
    finding = _only(
        vehicle_findings(_vehicle(valid_from=date(2026, 1, 1), valid_until=date(2025, 1, 1)))
    )
    assert (finding.field, finding.rule) == ("valid_until", "validity.order")


def test_vehicle_new_energy_plate_is_standard() -> None:
    assert vehicle_findings(_vehicle(plate="吉AD12345", plate_color="5")) == []


# -- practitioners (从业人员) --------------------------------------------------------------------


def test_practitioner_id_check_char() -> None:
    wrong = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
    finding = _only(practitioner_findings(_practitioner(id_number=wrong)))
    assert (finding.field, finding.rule, finding.value) == ("id_number", "ric.check_char", wrong)


def test_practitioner_birth_date_must_match_the_id_number() -> None:
    finding = _only(practitioner_findings(_practitioner(birth_date=date(1980, 5, 18))))
    assert (finding.field, finding.rule) == ("birth_date", "birth_date.id_number")
    assert finding.value == "1980-05-18"


def test_practitioner_birth_date_is_not_compared_with_a_broken_id() -> None:
    # One finding for one fault: a wrong check char is reported, not also a date mismatch.
    wrong = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
    findings = practitioner_findings(_practitioner(id_number=wrong, birth_date=date(1999, 1, 1)))
    assert [f.rule for f in findings] == ["ric.check_char"]


def test_practitioner_fifteen_digit_id_is_flagged() -> None:
    finding = _only(practitioner_findings(_practitioner(id_number="220102800517123")))
    assert (finding.field, finding.rule) == ("id_number", "ric.first_generation")
    assert finding.severity is Severity.ERROR


def test_practitioner_other_document_needs_only_a_number() -> None:
    assert practitioner_findings(_practitioner(id_type="414", id_number="E12345678")) == []
    finding = _only(practitioner_findings(_practitioner(id_type="414", id_number="")))
    assert (finding.field, finding.rule) == ("id_number", "id_number.missing")
    finding = _only(practitioner_findings(_practitioner(id_type="777")))
    assert (finding.field, finding.rule) == ("id_type", "id_type.code_table")


@pytest.mark.parametrize(("sex", "rule"), [("3", "sex.code_table"), ("", "sex.missing")])
def test_practitioner_sex(sex: str, rule: str) -> None:
    finding = _only(practitioner_findings(_practitioner(sex=sex)))
    assert (finding.field, finding.rule) == ("sex", rule)


@pytest.mark.parametrize("classes", ["A2D", "B2 C1", "a1a2", "A1A2D", "C1", "", None])
def test_practitioner_driving_class_tokens_are_accepted(classes: str | None) -> None:
    assert practitioner_findings(_practitioner(driving_class=classes)) == []


@pytest.mark.parametrize(("classes", "bad"), [("A2X", "X"), ("B2 C9", "C9"), ("A4", "A4")])
def test_practitioner_bad_driving_class_token(classes: str, bad: str) -> None:
    finding = _only(practitioner_findings(_practitioner(driving_class=classes)))
    assert (finding.field, finding.rule, finding.value) == (
        "driving_class",
        "driving_class.code_table",
        bad,
    )


def test_practitioner_unknown_category() -> None:
    qualification = {
        "category": "99999",
        "valid_from": date(2024, 1, 1),
        "valid_until": date(2029, 1, 1),
    }
    finding = _only(practitioner_findings(_practitioner(qualifications=[qualification])))
    assert (finding.field, finding.rule, finding.value) == (
        "qualifications.category",
        "qualifications.category.code_table",
        "99999",
    )


def test_practitioner_qualification_dates_out_of_order() -> None:
    qualification = {
        "category": "02001",
        "valid_from": date(2029, 1, 1),
        "valid_until": date(2024, 1, 1),
    }
    finding = _only(practitioner_findings(_practitioner(qualifications=[qualification])))
    assert (finding.field, finding.rule) == ("valid_until", "validity.order")


# -- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "classes"),
    [
        ("A2D", ["A2", "D"]),
        ("B2 C1", ["B2", "C1"]),
        ("A1A2", ["A1", "A2"]),
        (" a2  d ", ["A2", "D"]),
        ("C1E", ["C1", "E"]),
        ("DEF", ["D", "E", "F"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_driving_classes(text: str, classes: list[str]) -> None:
    assert split_driving_classes(text) == classes


def test_blocking_keeps_errors_only_in_order() -> None:
    warning = Finding("uscc", "uscc.early_pilot", "试点代码", "x", Severity.WARNING)
    first = Finding("plate", "plate.serial", "号牌", "吉AO1234")
    second = Finding("vehicle_type", "vehicle_type.code_table", "类型", "X00")
    assert blocking([warning, first, warning, second]) == [first, second]
    assert blocking([warning]) == []
    assert blocking([]) == []
    assert blocking(iter([first])) == [first]


def test_every_rule_of_a_messy_record_is_reported() -> None:
    findings = vehicle_findings(
        _vehicle(plate="吉AO1234", vehicle_type="X00", plate_color="7", width_mm=0)
    )
    assert {(f.field, f.rule) for f in findings} == {
        ("plate", "plate.serial"),
        ("vehicle_type", "vehicle_type.code_table"),
        ("plate_color", "plate_color.code_table"),
        ("width_mm", "dimensions.positive"),
    }
    assert all(f.message for f in findings)
