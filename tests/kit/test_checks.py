"""Tests for the shared check result type."""

from __future__ import annotations

import dataclasses

import pytest

from roadcert.kit.checks import Check, Verdict


def test_only_valid_is_ok() -> None:
    assert Check.valid("uscc").ok
    assert not Check.invalid("uscc.length", "长度错误").ok
    assert not Check.legacy("ecert_id.legacy_check_char", "旧算法").ok
    assert not Check.warn("uscc.early_pilot", "试点代码").ok


def test_helpers_set_verdict_rule_and_message() -> None:
    assert Check.valid("ric") == Check(Verdict.VALID, "ric", "")
    assert Check.invalid("ric.format", "格式错误") == Check(
        Verdict.INVALID, "ric.format", "格式错误"
    )
    assert Check.legacy("r", "m").verdict is Verdict.LEGACY
    assert Check.warn("r", "m").verdict is Verdict.WARN


def test_verdict_values_are_stable_strings() -> None:
    assert [v.value for v in Verdict] == ["valid", "invalid", "legacy", "warn"]
    assert Verdict("warn") is Verdict.WARN


def test_check_is_frozen() -> None:
    result = Check.valid("uscc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rule = "other"  # type: ignore[misc]
