"""Tests for citizen identity numbers (GB 11643)."""

from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric

from roadcert.kit import ric
from roadcert.kit.checks import Verdict
from tests.kit._vectors import section

seeds = st.integers(min_value=0, max_value=2**64)
births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2030, 12, 31))
region_codes = st.sampled_from(["110105", "220702", "222401", "330105", "650102", "810000"])


@pytest.mark.parametrize("vector", section("ric_gb11643"), ids=lambda v: v["code"])
def test_conformance_vectors(vector: dict[str, object]) -> None:
    result = ric.check(str(vector["code"]))
    assert result.ok is vector["valid"]
    assert result.verdict is (Verdict.VALID if vector["valid"] else Verdict.INVALID)


def test_conformance_invalid_is_a_check_char_error() -> None:
    result = ric.check("110105194912310021")
    assert result.rule == "ric.check_char"
    assert result.message == "公民身份号码校验码错误：应为 X，实为 1"


def test_lower_case_x_is_read_as_x() -> None:
    assert ric.check(" 11010519491231002x ").ok


@pytest.mark.parametrize(
    ("code", "rule", "verdict"),
    [
        ("", "ric.format", Verdict.INVALID),
        ("11010519491231002", "ric.format", Verdict.INVALID),
        ("1101051949123100X2", "ric.format", Verdict.INVALID),
        ("11010519491231002XX", "ric.format", Verdict.INVALID),
        ("99010519491231002X", "ric.region", Verdict.INVALID),
        ("110105194902300023", "ric.birth_date", Verdict.INVALID),
        ("110105189912310024", "ric.birth_date", Verdict.INVALID),
        ("110105194912310021", "ric.check_char", Verdict.INVALID),
        ("110105491231002", "ric.first_generation", Verdict.LEGACY),
        ("990105491231002", "ric.region", Verdict.INVALID),
        ("110105490231002", "ric.birth_date", Verdict.INVALID),
    ],
)
def test_each_rule(code: str, rule: str, verdict: Verdict) -> None:
    result = ric.check(code)
    assert (result.verdict, result.rule) == (verdict, rule)
    assert result.message


def test_residence_permit_prefixes_are_known() -> None:
    body = "83000019800101003"
    assert ric.check(body + stdnum_ric.calc_check_digit(body + "0")).ok


def test_birth_date_and_sex() -> None:
    assert ric.birth_date_of("11010519491231002X") == datetime.date(1949, 12, 31)
    assert ric.is_male("11010519491231002X") is False
    assert ric.birth_date_of("110105491231003") == datetime.date(1949, 12, 31)
    assert ric.is_male("110105491231003") is True


@pytest.mark.parametrize("code", ["1101051949123100", "11010519491331002X", "ABCDEFGHIJKLMNOPQR"])
def test_birth_date_of_rejects_malformed(code: str) -> None:
    with pytest.raises(ValueError):
        ric.birth_date_of(code)


def test_is_male_rejects_malformed() -> None:
    with pytest.raises(ValueError):
        ric.is_male("1101051949")


@given(seeds, region_codes, births, st.booleans())
def test_generated_numbers_are_valid(
    seed: int, region: str, birth: datetime.date, male: bool
) -> None:
    code = ric.generate(random.Random(seed), region, birth, male)
    assert ric.check(code).ok
    assert code[:6] == region
    assert ric.birth_date_of(code) == birth
    assert ric.is_male(code) is male
    assert code[14:17] != "000"
    assert stdnum_ric.calc_check_digit(code) == code[-1]


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("990000", datetime.date(1980, 1, 1)),
        ("2207", datetime.date(1980, 1, 1)),
        ("220702", datetime.date(1899, 12, 31)),
    ],
)
def test_generate_rejects_bad_arguments(region: str, birth: datetime.date) -> None:
    with pytest.raises(ValueError):
        ric.generate(random.Random(0), region, birth, True)


@given(seeds, births, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_a_single_changed_character_is_detected(
    seed: int, birth: datetime.date, position: int, replacement: str
) -> None:
    code = ric.generate(random.Random(seed), "220702", birth, True)
    if code[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = code[:position] + replacement + code[position + 1 :]
    assert not ric.check(changed).ok
