"""Tests for the code tables in roadcert.catalog.codes."""

from __future__ import annotations

import pickle
import re

import pytest

from roadcert.catalog import codes
from roadcert.catalog.codes import BusinessScope, CodeEnum

TABLES: list[type[CodeEnum]] = [
    codes.BusinessScope,
    codes.QualificationCategory,
    codes.VehicleType,
    codes.PlateColor,
    codes.EconomicType,
    codes.OperatorStatus,
    codes.VehicleStatus,
    codes.TechnicalGrade,
    codes.ReviewStatus,
    codes.HolderCodeType,
    codes.Sex,
    codes.DrivingClass,
    codes.EcertStatusCode,
]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__)
def test_codes_unique_and_labels_present(table: type[CodeEnum]) -> None:
    # __members__ includes aliases, so a duplicated code would show up as a length mismatch.
    assert len(table.__members__) == len(list(table))
    values = [member.value for member in table]
    assert len(set(values)) == len(values)
    labels = [member.label for member in table]
    assert all(label.strip() for label in labels)
    assert len(set(labels)) == len(labels), "labels should tell members apart"
    assert table.table_name


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__)
def test_from_code_round_trip(table: type[CodeEnum]) -> None:
    for member in table:
        assert table.from_code(member.value) is member
        assert table.from_code(str(member)) is member
    assert table.choices() == [(member.value, member.label) for member in table]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.__name__)
def test_from_code_error_names_table_and_code(table: type[CodeEnum]) -> None:
    with pytest.raises(ValueError) as excinfo:
        table.from_code("ZZZZZ")
    message = str(excinfo.value)
    assert table.table_name in message
    assert "ZZZZZ" in message


def test_member_is_its_code() -> None:
    assert codes.PlateColor.YELLOW == "2"
    assert f"{codes.PlateColor.YELLOW}" == "2"
    assert codes.PlateColor("2") is codes.PlateColor.YELLOW
    assert {"2": "ok"}[codes.PlateColor.YELLOW] == "ok"
    assert pickle.loads(pickle.dumps(codes.VehicleType.B1A)) is codes.VehicleType.B1A


def test_member_without_label_is_refused() -> None:
    with pytest.raises(TypeError):

        class Broken(CodeEnum, table="测试"):
            ONLY_CODE = "1"


@pytest.mark.parametrize(
    ("table", "code", "label"),
    [
        (codes.BusinessScope, "01000", "道路旅客运输"),
        (codes.BusinessScope, "01204", "省际包车客运"),
        (codes.BusinessScope, "02203", "货物专用运输（罐式容器）"),
        (codes.BusinessScope, "03131", "经营性危险货物运输（3类）"),
        (codes.BusinessScope, "03121", "经营性危险货物运输（2类1项）"),
        (codes.QualificationCategory, "01001", "经营性道路旅客运输驾驶员"),
        (codes.QualificationCategory, "02001", "经营性道路货物运输驾驶员"),
        (codes.VehicleType, "K11", "大型普通客车"),
        (codes.VehicleType, "H11", "重型普通货车"),
        (codes.VehicleType, "H12", "重型厢式货车"),
        (codes.VehicleType, "Q11", "重型半挂牵引车"),
        (codes.VehicleType, "B11", "重型普通半挂车"),
        (codes.PlateColor, "1", "蓝色"),
        (codes.PlateColor, "94", "渐变绿"),
        (codes.EconomicType, "175", "个体经营"),
        (codes.OperatorStatus, "6", "注销"),
        (codes.VehicleStatus, "80", "注销"),
        (codes.TechnicalGrade, "1", "一级"),
        (codes.HolderCodeType, "001", "统一社会信用代码"),
        (codes.HolderCodeType, "111", "公民身份号码"),
        (codes.Sex, "1", "男"),
        (codes.DrivingClass, "A1", "大型客车"),
        (codes.EcertStatusCode, "01", "无效（已换发）"),
    ],
)
def test_known_codes(table: type[CodeEnum], code: str, label: str) -> None:
    assert table.from_code(code).label == label


def test_member_names_follow_brief() -> None:
    assert codes.PlateColor.BLUE == "1"
    assert codes.OperatorStatus.OPERATING == "1"
    assert codes.VehicleStatus.OPERATING == "10"
    assert codes.VehicleStatus.SUSPENDED == "21"
    assert codes.EcertStatusCode.VALID == "10"


def test_code_formats() -> None:
    assert all(re.fullmatch(r"0[1-4]\d{3}", scope.value) for scope in BusinessScope)
    assert all(re.fullmatch(r"\d{5}", c.value) for c in codes.QualificationCategory)
    assert all(re.fullmatch(r"[A-Z][0-9][0-9A-Z]", t.value) for t in codes.VehicleType)
    assert all(t.name == t.value for t in codes.VehicleType)
    assert all(re.fullmatch(r"\d{3}", t.value) for t in codes.HolderCodeType)
    assert all(re.fullmatch(r"\d{3}", t.value) for t in codes.EconomicType)


def test_qualification_category_list_is_complete() -> None:
    expected = {
        "01001",
        "02001",
        *(f"030{n:02d}" for n in range(1, 17)),
        *(f"0400{n}" for n in range(1, 8)),
        "05001",
        "05002",
        "05003",
        "05005",
        "05006",
        "05007",
        "09001",
        "09002",
        "09003",
        "11001",
        "11002",
        "11003",
        "11004",
        "12001",
        "12002",
        "12008",
        "12009",
        "12010",
        "12011",
        "13001",
        "14001",
        "14002",
        "14003",
    }
    assert {c.value for c in codes.QualificationCategory} == expected


def test_every_un_class_and_division_has_both_dangerous_codes() -> None:
    divisions = {"1": 6, "2": 3, "3": 0, "4": 3, "5": 2, "6": 2, "7": 0, "8": 0, "9": 0}
    expected: set[str] = set()
    for un_class, count in divisions.items():
        names = [f"{un_class}类{d}项" for d in range(1, count + 1)] or [f"{un_class}类"]
        expected.update(names)
    for prefix in ("经营性", "非经营性"):
        found = {
            scope.dangerous_goods_class()
            for scope in BusinessScope
            if scope.dangerous_goods_class() and scope.label.startswith(prefix)
        }
        assert found == expected, prefix


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("03131", "3类"),
        ("03121", "2类1项"),
        ("03116", "1类6项"),
        ("03170", "7类"),
        ("03181", "8类"),
        ("03191", "9类"),
        ("03262", "6类2项"),
        ("03270", "7类"),
        ("03000", None),
        ("03100", None),
        ("03200", None),
        ("01204", None),
        ("02101", None),
    ],
)
def test_dangerous_goods_class(code: str, expected: str | None) -> None:
    assert BusinessScope.from_code(code).dangerous_goods_class() == expected


def test_dangerous_goods_class_matches_label() -> None:
    for scope in BusinessScope:
        goods_class = scope.dangerous_goods_class()
        if goods_class is not None:
            assert scope.label.endswith(f"（{goods_class}）"), scope


def test_scope_kind_properties() -> None:
    charter = BusinessScope.CHARTER_INTER_PROVINCE
    assert charter.is_passenger
    assert not (charter.is_freight or charter.is_dangerous or charter.is_radioactive)

    cargo = BusinessScope.GENERAL_CARGO
    assert cargo.is_freight
    assert not (cargo.is_passenger or cargo.is_dangerous or cargo.is_radioactive)

    fuel = BusinessScope.DANGEROUS_OPERATING_3
    assert fuel.is_dangerous and fuel.is_freight
    assert not (fuel.is_passenger or fuel.is_radioactive)

    assert BusinessScope.DANGEROUS_OPERATING_7.is_radioactive
    assert BusinessScope.DANGEROUS_NON_OPERATING_7.is_radioactive
    assert {s for s in BusinessScope if s.is_radioactive} == {
        BusinessScope.DANGEROUS_OPERATING_7,
        BusinessScope.DANGEROUS_NON_OPERATING_7,
    }
    assert not BusinessScope.DANGEROUS.is_radioactive

    repair = BusinessScope.REPAIR_CLASS_1
    assert not (repair.is_passenger or repair.is_freight or repair.is_dangerous)


def test_from_code_finds_members_and_refuses_the_rest() -> None:
    from roadcert.catalog.codes import PlateColor

    assert PlateColor.from_code("2") is PlateColor.YELLOW
    for bad in ("99", "", None, 2):
        with pytest.raises(ValueError, match="车牌颜色"):
            PlateColor.from_code(bad)  # type: ignore[arg-type]
