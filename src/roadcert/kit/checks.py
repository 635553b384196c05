"""The result type every identifier check in ``roadcert.kit`` returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """How an identifier stands against its rule."""

    VALID = "valid"
    INVALID = "invalid"
    # A known non-standard variant seen in real use: flagged, never treated as valid.
    LEGACY = "legacy"
    # Breaks the rule but is on an allow-list of real codes: reported, never passed silently.
    WARN = "warn"


@dataclass(frozen=True)
class Check:
    """The outcome of checking one identifier.

    ``rule`` is a stable machine code (``"uscc.check_char"``); for a valid identifier it is the
    identifier kind (``"uscc"``). ``message`` is Chinese and names what is wrong.
    """

    verdict: Verdict
    rule: str
    message: str

    @property
    def ok(self) -> bool:
        """True only for :attr:`Verdict.VALID`; warnings and legacy variants are not ok."""
        return self.verdict is Verdict.VALID

    @classmethod
    def valid(cls, rule: str, message: str = "") -> Check:
        """A valid result; ``rule`` is the identifier kind, e.g. ``"uscc"``."""
        return cls(Verdict.VALID, rule, message)

    @classmethod
    def invalid(cls, rule: str, message: str) -> Check:
        """An invalid result for the broken ``rule``."""
        return cls(Verdict.INVALID, rule, message)

    @classmethod
    def legacy(cls, rule: str, message: str) -> Check:
        """A known non-standard variant: to be flagged, never accepted as valid."""
        return cls(Verdict.LEGACY, rule, message)

    @classmethod
    def warn(cls, rule: str, message: str) -> Check:
        """A rule break on an allow-list of real codes: to be reported."""
        return cls(Verdict.WARN, rule, message)
