"""Tests for e-cert identifiers (GB/T 36904)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_37_36

from roadcert.kit import ecert_id
from roadcert.kit.checks import Verdict
from roadcert.kit.ecert_id import EcertId
from tests.kit._vectors import section

HUNAN = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
ZHEJIANG = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
SHANDONG = (
    "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M"
)
TRANSPORT_CERT = "11100000000019713D013"
ISSUER = "11220000013544357H"

seeds = st.integers(min_value=0, max_value=2**64)
versions = st.integers(min_value=1, max_value=999)
type_codes = st.sampled_from(
    [
        "11100000000019713D" + s
        for s in ["008", "016", "074", "079", "013", "073", "071", "075", "072"]
    ]
)


@pytest.mark.parametrize("vector", section("ecert_identifier_gbt36904"), ids=lambda v: v["note"])
def test_conformance_vectors(vector: dict[str, object]) -> None:
    result = ecert_id.check(str(vector["id"]))
    assert result.ok is vector["valid"]


def test_shandong_identifier_is_the_legacy_variant() -> None:
    result = ecert_id.check(SHANDONG)
    assert result.verdict is Verdict.LEGACY
    assert result.rule == "ecert_id.legacy_check_char"
    assert "应为 D" in result.message


def test_legacy_variant_reproduces_shandong_and_differs_from_iso() -> None:
    parsed = ecert_id.parse(SHANDONG)
    assert ecert_id._legacy_check_char(parsed.body) == "M"
    assert mod_37_36.calc_check_digit(parsed.body) == "D"
    # On the standard identifiers the variant gives other characters, so they cannot be confused.
    assert ecert_id._legacy_check_char(ecert_id.parse(HUNAN).body) != "U"
    assert ecert_id._legacy_check_char(ecert_id.parse(ZHEJIANG).body) != "0"


def test_legacy_check_char_is_not_accepted_for_standard_identifiers() -> None:
    parsed = ecert_id.parse(HUNAN)
    legacy = ecert_id._legacy_check_char(parsed.body)
    result = ecert_id.check(HUNAN[:-1] + legacy)
    assert result.verdict is Verdict.LEGACY
    assert not result.ok


def test_parse_round_trips_real_identifiers() -> None:
    for text in [HUNAN, ZHEJIANG, SHANDONG]:
        assert str(ecert_id.parse(text)) == text
    parsed = ecert_id.parse(ZHEJIANG)
    assert parsed == EcertId("11100000000013338W009", "11330105002500287C", "2025052201", 2, "0")
    assert parsed.version_text == "002"


def test_parse_keeps_a_wrong_check_char() -> None:
    assert ecert_id.parse(HUNAN[:-1] + "A").check_char == "A"


def test_build_matches_real_identifier() -> None:
    built = ecert_id.build("11100000000013338W011", "11430000006122244L", "20230000403", 1)
    assert str(built) == HUNAN


def test_with_version_keeps_serial_and_recomputes_check() -> None:
    first = ecert_id.parse(ZHEJIANG).with_version(1)
    assert first.serial == "2025052201"
    assert str(first.with_version(2)) == ZHEJIANG
    assert ecert_id.check(str(first)).ok


HUNAN_HEAD = "1.2.156.3005.2.11100000000013338W011.11430000006122244L"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "ecert_id.root"),
        (HUNAN.replace("3005.2.", "3005.1.", 1), "ecert_id.root"),
        (HUNAN.replace("3005.2.", "3005.2", 1), "ecert_id.root"),
        (f"{HUNAN_HEAD}.20230000403.001", "ecert_id.structure"),
        (f"{HUNAN_HEAD}.2023.0000403.001.U", "ecert_id.structure"),
        (f"{HUNAN_HEAD}..001.U", "ecert_id.structure"),
        (f"{HUNAN_HEAD}.20230000403.001.UU", "ecert_id.structure"),
        (f"{HUNAN_HEAD}.2023000040a.001.U", "ecert_id.charset"),
        (f"{HUNAN_HEAD}.2023-000403.001.U", "ecert_id.charset"),
        (HUNAN.replace("W011.", "W01.", 1), "ecert_id.type_code_length"),
        # Test data quoted in standards.md whose issuer is not an 18-character USCC.
        ("1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9", "ecert_id.issuer_length"),
        (f"{HUNAN_HEAD}.20230000403.01.U", "ecert_id.version"),
        (f"{HUNAN_HEAD}.20230000403.000.U", "ecert_id.version"),
        (f"{HUNAN_HEAD}.20230000403.00A.U", "ecert_id.version"),
        (f"{HUNAN_HEAD}.20230000403.001.A", "ecert_id.check_char"),
    ],
)
def test_each_rule(text: str, rule: str) -> None:
    result = ecert_id.check(text)
    assert (result.verdict, result.rule) == (Verdict.INVALID, rule)
    assert result.message
    if rule != "ecert_id.check_char":
        with pytest.raises(ValueError):
            ecert_id.parse(text)


def test_check_char_message_names_expected_and_actual() -> None:
    assert ecert_id.check(HUNAN[:-1] + "A").message == "电子证照标识校验位错误：应为 U，实为 A"


def test_parse_error_is_chinese() -> None:
    with pytest.raises(ValueError, match="根代码"):
        ecert_id.parse("2.5.4.3")


@pytest.mark.parametrize(
    ("type_code", "issuer", "serial", "version"),
    [
        ("11100000000019713D01", ISSUER, "ABC", 1),
        (TRANSPORT_CERT, ISSUER[:-1], "ABC", 1),
        (TRANSPORT_CERT, ISSUER, "", 1),
        (TRANSPORT_CERT, ISSUER, "A.B", 1),
        (TRANSPORT_CERT, ISSUER, "abc", 1),
        (TRANSPORT_CERT, ISSUER, "ABC", 0),
        (TRANSPORT_CERT, ISSUER, "ABC", 1000),
    ],
)
def test_build_rejects_bad_segments(type_code: str, issuer: str, serial: str, version: int) -> None:
    with pytest.raises(ValueError):
        ecert_id.build(type_code, issuer, serial, version)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError):
        EcertId(TRANSPORT_CERT, ISSUER, "ABC", 1, "")
    with pytest.raises(ValueError):
        EcertId(TRANSPORT_CERT, ISSUER, "ABC", 0, "A")


def test_new_serial() -> None:
    serial = ecert_id.new_serial(random.Random(1))
    assert len(serial) == 20
    assert set(serial) <= set(ecert_id.ALPHABET)
    millis = 1_795_000_000_000
    assert ecert_id.new_serial(random.Random(1), millis) == ecert_id.new_serial(
        random.Random(1), millis
    )


def test_new_serials_carry_the_time_and_sort_in_order_of_issue() -> None:
    rng = random.Random(7)
    millis = 1_795_000_000_000  # 2026-11-19
    stamp = ecert_id.new_serial(rng, millis)[: ecert_id.SERIAL_TIME_LENGTH]
    assert int(stamp, 36) == millis
    later = [ecert_id.new_serial(rng, millis + step) for step in (1, 999, 86_400_000)]
    earlier = ecert_id.new_serial(rng, millis)
    assert sorted([*later, earlier]) == [earlier, *later]
    # The random part differs within one millisecond, each character one of 32, all of them
    # about equally often.
    serials = {ecert_id.new_serial(rng, millis) for _ in range(1000)}
    assert len(serials) == 1000
    seen = Counter("".join(s[ecert_id.SERIAL_TIME_LENGTH :] for s in serials))
    assert set(seen) == set(ecert_id.ALPHABET[4:])
    assert max(seen.values()) < 1.4 * min(seen.values())  # 344 expected of each
    with pytest.raises(ValueError):
        ecert_id.new_serial(rng, 36**9)


@given(seeds, type_codes, versions)
def test_built_identifiers_check_and_round_trip(seed: int, type_code: str, version: int) -> None:
    rng = random.Random(seed)
    built = ecert_id.build(type_code, ISSUER, ecert_id.new_serial(rng), version)
    text = str(built)
    assert ecert_id.check(text).ok
    assert mod_37_36.is_valid(built.body + built.check_char)
    assert ecert_id.parse(text) == built


@given(seeds, st.integers(min_value=0, max_value=10_000), st.sampled_from(ecert_id.ALPHABET + "."))
def test_a_single_changed_character_is_detected(seed: int, position: int, replacement: str) -> None:
    rng = random.Random(seed)
    text = str(
        ecert_id.build(TRANSPORT_CERT, ISSUER, ecert_id.new_serial(rng), rng.randrange(1, 1000))
    )
    position %= len(text)
    if text[position] == replacement:
        replacement = "X" if replacement != "X" else "Y"
    changed = text[:position] + replacement + text[position + 1 :]
    assert not ecert_id.check(changed).ok


@given(
    serial=st.text(alphabet=ecert_id.ALPHABET, min_size=1, max_size=40),
    version=st.integers(min_value=1, max_value=999),
)
def test_builder_gives_the_identifier_build_gives(serial: str, version: int) -> None:
    type_code, issuer = "11100000000013" + "0" * 4 + "013", "11220100MB0123456X"
    builder = ecert_id.Builder(type_code, issuer)
    expected = ecert_id.build(type_code, issuer, serial, version)
    assert builder.identifier(serial, version) == str(expected)
    assert ecert_id.check(builder.identifier(serial, version)).verdict is Verdict.VALID


def test_builder_refuses_bad_segments() -> None:
    with pytest.raises(ValueError):
        ecert_id.Builder("short", "11220100MB0123456X")
    builder = ecert_id.Builder("1" * 21, "11220100MB0123456X")
    with pytest.raises(ValueError):
        builder.identifier("", 1)
    with pytest.raises(ValueError):
        builder.identifier("ABC", 1000)
