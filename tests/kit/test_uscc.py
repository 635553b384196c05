"""Tests for unified social credit codes (GB 32100)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from roadcert.kit import regions, uscc
from roadcert.kit.checks import Verdict
from tests.kit._vectors import section

seeds = st.integers(min_value=0, max_value=2**64)
region_codes = st.sampled_from(
    [*sorted(regions.PROVINCE_ABBREVIATIONS), "220702", "222401", "100000"]
)


@pytest.mark.parametrize("vector", section("uscc_gb32100"), ids=lambda v: v["code"])
def test_conformance_vectors(vector: dict[str, object]) -> None:
    result = uscc.check(str(vector["code"]))
    assert result.ok is vector["valid"]
    if vector["code"] == "91350100M0001TGQXM":
        # Real early-pilot code: reported, neither silently accepted nor rejected.
        assert result.verdict is Verdict.WARN
        assert result.rule == "uscc.early_pilot"
        assert "应为 1" in result.message


def test_allow_list_holds_the_known_pilot_code() -> None:
    assert "91350100M0001TGQXM" in uscc.EARLY_PILOT_ALLOW_LIST


def test_real_authority_codes_are_valid() -> None:
    # Issuers and type-code owners from the conformance identifiers.
    for code in [
        "11100000000019713D",
        "11100000000013338W",
        "11430000006122244L",
        "11330105002500287C",
    ]:
        assert uscc.check(code).ok, code


def test_normalises_but_never_fixes() -> None:
    assert uscc.check("  11100000000019713d ").ok
    assert uscc.check("11100000000019713E").rule == "uscc.check_char"


def test_valid_rule_is_the_kind() -> None:
    assert uscc.check("11100000000019713D").rule == "uscc"


@pytest.mark.parametrize(
    ("code", "rule", "verdict"),
    [
        ("", "uscc.length", Verdict.INVALID),
        ("11100000000019713", "uscc.length", Verdict.INVALID),
        ("11100000000019713DD", "uscc.length", Verdict.INVALID),
        ("1110000000001971OD", "uscc.charset", Verdict.INVALID),
        ("1110000000001971-D", "uscc.charset", Verdict.INVALID),
        ("01100000000019713D", "uscc.format", Verdict.INVALID),
        ("911A0000000019713D", "uscc.format", Verdict.INVALID),
        ("91990000000019713D", "uscc.region", Verdict.INVALID),
        ("11100000000019713E", "uscc.check_char", Verdict.INVALID),
        ("91350100M0001TGQXM", "uscc.early_pilot", Verdict.WARN),
    ],
)
def test_each_rule(code: str, rule: str, verdict: Verdict) -> None:
    result = uscc.check(code)
    assert (result.verdict, result.rule) == (verdict, rule)
    assert result.message


def test_check_char_message_names_expected_and_actual() -> None:
    assert uscc.check("11100000000019713E").message == "统一社会信用代码校验位错误：应为 D，实为 E"


def test_letter_registration_authorities_are_accepted() -> None:
    # 农业 (N) and 其他 (Y) codes exist in real use though stdnum's format check rejects them.
    for stem in ["N2220702", "Y1220702"]:
        body = stem + "MA0000010"
        assert uscc.check(body + stdnum_uscc.calc_check_digit(body)).ok


@pytest.mark.parametrize(
    ("body", "check"),
    [("00001971", "3"), ("00001333", "8"), ("00001366", "1"), ("00450464", "4")],
)
def test_org_code_check_char_on_real_codes(body: str, check: str) -> None:
    # From 11100000000019713D, 11100000000013338W, 11100000000013661B, 113700000045046442.
    assert uscc.org_code_check_char(body) == check


def test_org_code_check_char_special_values() -> None:
    # 11 − (sum mod 11) is written 0 for 11 and X for 10.
    assert uscc.org_code_check_char("00000000") == "0"
    assert uscc.org_code_check_char("00000006") == "X"
    assert uscc.org_code_check_char("MA000000") == str(11 - (22 * 3 + 10 * 7) % 11)


@pytest.mark.parametrize("body", ["0000197", "000019713", "0000197-", "0000197a"])
def test_org_code_check_char_rejects_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        uscc.org_code_check_char(body)


@given(seeds, region_codes, st.sampled_from([("9", "1"), ("9", "2"), ("1", "1"), ("5", "1")]))
def test_generated_codes_are_valid(seed: int, region: str, kind: tuple[str, str]) -> None:
    registration, category = kind
    code = uscc.generate(random.Random(seed), region, registration, category)
    assert uscc.check(code).ok
    assert stdnum_uscc.is_valid(code)
    assert code[:2] == registration + category
    assert code[2:8] == region
    assert uscc.org_code_check_char(code[8:16]) == code[16]


def test_generate_government_body() -> None:
    code = uscc.generate(random.Random(7), "100000", registration="1", category="1")
    assert code.startswith("11100000")
    assert uscc.check(code).ok


def test_generate_is_deterministic_for_a_seed() -> None:
    assert uscc.generate(random.Random(3), "220702") == uscc.generate(random.Random(3), "220702")


@pytest.mark.parametrize(
    ("region", "registration", "category"),
    [("990000", "9", "1"), ("2207", "9", "1"), ("220702", "0", "1"), ("220702", "9", "O")],
)
def test_generate_rejects_bad_arguments(region: str, registration: str, category: str) -> None:
    with pytest.raises(ValueError):
        uscc.generate(random.Random(0), region, registration, category)


@given(seeds, st.integers(min_value=0, max_value=17), st.sampled_from(uscc.ALPHABET))
def test_a_single_changed_character_is_detected(seed: int, position: int, replacement: str) -> None:
    code = uscc.generate(random.Random(seed), "220702")
    if code[position] == replacement:
        replacement = uscc.ALPHABET[(uscc.ALPHABET.index(replacement) + 1) % len(uscc.ALPHABET)]
    changed = code[:position] + replacement + code[position + 1 :]
    assert not uscc.check(changed).ok
