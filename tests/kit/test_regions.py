"""Tests for the GB/T 2260 region table."""

from __future__ import annotations

from importlib.resources import files

import pytest

from roadcert.kit import regions
from roadcert.kit.checks import Verdict

JILIN_PREFECTURES = {
    "220100": "长春市",
    "220200": "吉林市",
    "220300": "四平市",
    "220400": "辽源市",
    "220500": "通化市",
    "220600": "白山市",
    "220700": "松原市",
    "220800": "白城市",
    "222400": "延边朝鲜族自治州",
}


def test_all_34_provincial_units() -> None:
    assert len(regions.provinces()) == 34
    assert {"710000", "810000", "820000"} <= set(regions.provinces())
    assert regions.name_of("220000") == "吉林省"
    assert regions.name_of("810000") == "香港特别行政区"


def test_province_abbreviations_cover_all_34_and_are_unique() -> None:
    assert set(regions.PROVINCE_ABBREVIATIONS) == set(regions.provinces())
    assert len(set(regions.PROVINCE_ABBREVIATIONS.values())) == 34
    assert all(len(abbr) == 1 for abbr in regions.PROVINCE_ABBREVIATIONS.values())
    assert regions.PROVINCE_ABBREVIATIONS["220000"] == "吉"
    assert regions.PROVINCE_ABBREVIATIONS["140000"] == "晋"
    assert regions.PROVINCE_ABBREVIATIONS["210000"] == "辽"
    assert regions.PROVINCE_ABBREVIATIONS["110000"] == "京"


@pytest.mark.parametrize("code", regions.provinces())
def test_province_of_abbreviation_round_trips(code: str) -> None:
    assert regions.province_of_abbreviation(regions.PROVINCE_ABBREVIATIONS[code]) == code


def test_province_of_unknown_abbreviation_raises() -> None:
    with pytest.raises(ValueError, match="未知的省级简称"):
        regions.province_of_abbreviation("X")


def test_prefectures_of_jilin_shanxi_liaoning() -> None:
    assert {c: regions.name_of(c) for c in regions.prefectures("220000")} == JILIN_PREFECTURES
    assert len(regions.prefectures("140000")) == 11
    assert len(regions.prefectures("210000")) == 14
    assert regions.name_of("211400") == "葫芦岛市"
    assert regions.name_of("141100") == "吕梁市"


def test_counties_of_jilin() -> None:
    counts = {p: len(regions.counties(p)) for p in JILIN_PREFECTURES}
    assert counts == {
        "220100": 11,
        "220200": 9,
        "220300": 5,
        "220400": 4,
        "220500": 7,
        "220600": 6,
        "220700": 5,
        "220800": 5,
        "222400": 8,
    }
    assert regions.name_of("220184") == "公主岭市"
    assert "220381" not in regions.counties("220300")  # moved to 长春 in 2020


def _stdnum_current_jilin() -> dict[str, str]:
    """Jilin codes in use today according to python-stdnum's independent table (from Wikipedia)."""
    text = files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    current: dict[str, str] = {}
    in_jilin = False
    for line in text.splitlines():
        if not line.startswith(" "):
            in_jilin = line.startswith("22 ")
            continue
        if not in_jilin:
            continue
        suffix, _, value = line.strip().partition(" county=")
        latest = value.strip('"').split(",")[-1]
        if latest.startswith("["):
            span, _, name = latest[1:].partition("]")
            if not span.endswith("-"):
                continue  # abolished
            latest = name
        current["22" + suffix] = latest
    return current


def test_jilin_table_agrees_with_independent_source() -> None:
    theirs = {
        code: name
        for code, name in _stdnum_current_jilin().items()
        if not code.endswith("0000") and name != "市辖区"
    }
    ours = {
        code: regions.name_of(code)
        for prefecture in regions.prefectures("220000")
        for code in [prefecture, *regions.counties(prefecture)]
    }
    assert ours == theirs


@pytest.mark.parametrize("code", ["430000", "330105", "370000", "350100", "110105"])
def test_conformance_codes_are_known(code: str) -> None:
    assert regions.is_known(code)
    assert regions.check(code).ok


def test_municipality_and_conformance_parents() -> None:
    assert regions.prefectures("110000") == ["110100"]
    assert regions.counties("110100") == ["110105"]
    assert regions.counties("330100") == ["330105"]


def test_province_of() -> None:
    assert regions.province_of("220702") == "220000"
    assert regions.province_of("999999") == "990000"
    with pytest.raises(ValueError):
        regions.province_of("2207")


def test_prefectures_and_counties_reject_wrong_level() -> None:
    with pytest.raises(ValueError):
        regions.prefectures("220100")
    with pytest.raises(ValueError):
        regions.counties("220000")
    with pytest.raises(ValueError):
        regions.counties("220702")


def test_name_of_unknown_is_none() -> None:
    assert regions.name_of("229999") is None
    assert not regions.is_known("229999")


def test_city_short_names_for_jilin() -> None:
    assert regions.CITY_SHORT_NAMES == {
        "220100": "长",
        "220200": "吉",
        "220300": "四",
        "220400": "辽",
        "220500": "通",
        "220600": "白",
        "220700": "松",
        "220800": "城",
        "222400": "延",
    }
    by_province: dict[str, set[str]] = {}
    for code, short in regions.CITY_SHORT_NAMES.items():
        names = by_province.setdefault(code[:2], set())
        assert short not in names
        names.add(short)


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("22070", "region.format"),
        ("22070A", "region.format"),
        ("990000", "region.province"),
        ("229999", "region.unknown"),
    ],
)
def test_check_rules(code: str, rule: str) -> None:
    result = regions.check(code)
    assert (result.verdict, result.rule) == (Verdict.INVALID, rule)
    assert result.message


def test_check_valid_names_the_place() -> None:
    result = regions.check("220702")
    assert (result.verdict, result.rule, result.message) == (Verdict.VALID, "region", "宁江区")
