"""Tests for plate numbers (GA 36)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadcert.kit import plates
from roadcert.kit.checks import Verdict
from roadcert.kit.plates import PlateKind

seeds = st.integers(min_value=0, max_value=2**64)
provinces = st.sampled_from(sorted(plates.MAINLAND_ABBREVIATIONS))
letters = st.sampled_from(plates.AUTHORITY_LETTERS)


@pytest.mark.parametrize(
    ("plate", "kind"),
    [
        ("吉A12345", PlateKind.ORDINARY),
        ("吉AB1234", PlateKind.ORDINARY),
        ("京NZ7X88", PlateKind.ORDINARY),
        ("吉A1234挂", PlateKind.TRAILER),
        ("吉A1234学", PlateKind.COACH),
        ("吉A1234警", PlateKind.POLICE),
        ("粤Z1234港", PlateKind.HONG_KONG),
        ("粤Z1234澳", PlateKind.MACAO),
        ("吉AD12345", PlateKind.NEW_ENERGY_SMALL),
        ("吉AFB1345", PlateKind.NEW_ENERGY_SMALL),
        ("沪AA12345", PlateKind.NEW_ENERGY_SMALL),
        ("吉A12345D", PlateKind.NEW_ENERGY_LARGE),
        ("吉A12345F", PlateKind.NEW_ENERGY_LARGE),
    ],
)
def test_accepted_forms(plate: str, kind: PlateKind) -> None:
    assert plates.check(plate).ok
    assert plates.check(plate).rule == "plate"
    assert plates.kind_of(plate) is kind


def test_normalises_case_and_surrounding_space() -> None:
    assert plates.check(" 吉a12345 ").ok


def test_is_new_energy() -> None:
    assert plates.is_new_energy("吉AD12345")
    assert plates.is_new_energy("吉A12345F")
    assert not plates.is_new_energy("吉A12345")
    assert not plates.is_new_energy("吉A1234挂")
    assert not plates.is_new_energy("吉AD1234")
    assert not plates.is_new_energy("吉AD1234X")


def test_mainland_abbreviations() -> None:
    assert len(plates.MAINLAND_ABBREVIATIONS) == 31
    assert not {"台", "港", "澳"} & plates.MAINLAND_ABBREVIATIONS


@pytest.mark.parametrize(
    ("plate", "rule"),
    [
        ("", "plate.format"),
        ("吉A1234", "plate.format"),
        ("吉A1234567", "plate.format"),
        ("吉A12345挂", "plate.format"),
        ("吉A1234港", "plate.format"),
        ("吉A·12345", "plate.separator"),
        ("吉A 12345", "plate.separator"),
        ("台A12345", "plate.province"),
        ("AA12345", "plate.province"),
        ("吉", "plate.authority"),
        ("吉I12345", "plate.authority"),
        ("吉O12345", "plate.authority"),
        ("吉112345", "plate.authority"),
        ("吉A1234I", "plate.serial"),
        ("吉AO234挂", "plate.serial"),
        ("吉AZ12345", "plate.new_energy"),
        ("吉AD1234A", "plate.new_energy"),
        ("吉AF1B345", "plate.new_energy"),
        ("吉A1234AD", "plate.new_energy"),
        ("吉A12345A", "plate.new_energy"),
    ],
)
def test_each_rule(plate: str, rule: str) -> None:
    result = plates.check(plate)
    assert (result.verdict, result.rule) == (Verdict.INVALID, rule)
    assert result.message
    assert plates.kind_of(plate) is None


@given(seeds, provinces, letters, st.booleans())
def test_generated_plates_are_valid(
    seed: int, province: str, letter: str, new_energy: bool
) -> None:
    plate = plates.generate(random.Random(seed), province, letter, new_energy)
    assert plates.check(plate).ok
    assert plate[:2] == province + letter
    assert plates.is_new_energy(plate) is new_energy


@pytest.mark.parametrize(
    ("province", "letter"), [("港", "A"), ("吉", "I"), ("吉", "AB"), ("X", "A")]
)
def test_generate_rejects_bad_arguments(province: str, letter: str) -> None:
    with pytest.raises(ValueError):
        plates.generate(random.Random(0), province, letter)
