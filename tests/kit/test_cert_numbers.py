"""Tests for certificate numbers (证号)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadcert.kit import cert_numbers, regions
from roadcert.kit.checks import Verdict


def test_licence_number() -> None:
    assert (
        cert_numbers.licence_number("吉", "松", "220702", 123) == "吉交运管许可松字220702000123号"
    )


def test_transport_number() -> None:
    assert cert_numbers.transport_number("吉", "长", "220102", 13) == "吉交运管长字220102000013号"


@pytest.mark.parametrize(
    ("province", "city", "region", "seq"),
    [
        ("X", "长", "220102", 1),
        ("吉", "", "220102", 1),
        ("吉", "长春市", "220102", 1),
        ("吉", "C", "220102", 1),
        ("吉", "长", "2201", 1),
        ("吉", "长", "220102", -1),
        ("吉", "长", "220102", 1_000_000),
    ],
)
def test_generators_reject_bad_arguments(province: str, city: str, region: str, seq: int) -> None:
    with pytest.raises(ValueError):
        cert_numbers.licence_number(province, city, region, seq)
    with pytest.raises(ValueError):
        cert_numbers.transport_number(province, city, region, seq)


@given(
    st.sampled_from(sorted(regions.CITY_SHORT_NAMES.items())),
    st.integers(min_value=0, max_value=999_999),
)
def test_generated_numbers_pass_check(city: tuple[str, str], seq: int) -> None:
    prefecture, short = city
    for number in [
        cert_numbers.licence_number("吉", short, prefecture, seq),
        cert_numbers.transport_number("吉", short, prefecture, seq),
    ]:
        assert cert_numbers.check(number).ok
        assert number.endswith(f"{prefecture}{seq:06d}号")


@pytest.mark.parametrize(
    "number",
    [
        "冀交运管许可石字130101306556号",
        "津交运管许可德字120128300595",
        "桂交运管许可南字12345号",
        "11010519491231002X",
        "x" * 50,
    ],
)
def test_real_and_free_forms_are_accepted(number: str) -> None:
    assert cert_numbers.check(number).ok


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("", "cert_number.empty"),
        ("   ", "cert_number.empty"),
        (" 吉交运管长字220102000013号", "cert_number.whitespace"),
        ("吉交运管长字220102 000013号", "cert_number.whitespace"),
        ("吉交运管长字220102\u3000000013号", "cert_number.whitespace"),
        ("吉交运管长字220102000013号\n", "cert_number.whitespace"),
        ("吉交运管长字220102\x00000013号", "cert_number.whitespace"),
        ("吉交运管长字220102\u200b000013号", "cert_number.whitespace"),
        ("x" * 51, "cert_number.length"),
    ],
)
def test_each_rule(number: str, rule: str) -> None:
    result = cert_numbers.check(number)
    assert (result.verdict, result.rule) == (Verdict.INVALID, rule)
    assert result.message
