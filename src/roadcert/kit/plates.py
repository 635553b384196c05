"""Motor-vehicle plate numbers (号牌号码, GA 36-2018): check and generate.

Forms accepted (written without the separator dot, as ledgers store them):

- ordinary (普通): province + authority letter + 5 of ``[A-HJ-NP-Z0-9]``, e.g. ``吉A12345``;
- trailer (挂车), coach (教练 学) and police (警用): province + letter + 4 + ``挂``/``学``/``警``;
- Hong Kong / Macao cross-border (粤港澳): ``粤Z`` + 4 + ``港``/``澳``;
- new-energy (新能源), 8 characters: small vehicles put the energy letter third (D, A, B, C, E
  pure electric; F, G, H, J, K other) then 1 letter-or-digit and 4 digits, e.g. ``吉AD12345``;
  large vehicles put 5 digits first and D or F last, e.g. ``吉A12345D``.

The authority letter (发牌机关代号) is A–Z except I and O.
"""

from __future__ import annotations

import random
import re
from enum import StrEnum

from roadcert.kit import regions
from roadcert.kit.checks import Check

MAINLAND_ABBREVIATIONS = frozenset(
    abbr
    for code, abbr in regions.PROVINCE_ABBREVIATIONS.items()
    if code[:2] not in {"71", "81", "82"}
)
"""The 31 province abbreviations that issue plates (台, 港, 澳 issue none under GA 36)."""

AUTHORITY_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
SMALL_NEV_ENERGY_LETTERS = "DABCEFGHJK"
LARGE_NEV_ENERGY_LETTERS = "DF"

_SEPARATORS = frozenset("·•.-_ \u3000")
_SERIAL = f"[{SERIAL_CHARS}]"
_ORDINARY = re.compile(f"{_SERIAL}{{5}}")
_SUFFIXED = re.compile(f"{_SERIAL}{{4}}[挂学警港澳]")
_SMALL_NEV = re.compile(f"[{SMALL_NEV_ENERGY_LETTERS}]{_SERIAL}[0-9]{{4}}")
_LARGE_NEV = re.compile(f"[0-9]{{5}}[{LARGE_NEV_ENERGY_LETTERS}]")


class PlateKind(StrEnum):
    """Which plate form a valid plate number has."""

    ORDINARY = "ordinary"
    TRAILER = "trailer"
    COACH = "coach"
    POLICE = "police"
    HONG_KONG = "hong_kong"
    MACAO = "macao"
    NEW_ENERGY_SMALL = "new_energy_small"
    NEW_ENERGY_LARGE = "new_energy_large"


_SUFFIX_KINDS = {
    "挂": PlateKind.TRAILER,
    "学": PlateKind.COACH,
    "警": PlateKind.POLICE,
    "港": PlateKind.HONG_KONG,
    "澳": PlateKind.MACAO,
}


def _classify(plate: str) -> PlateKind | Check:
    """The kind of a normalised plate, or the failing :class:`Check`."""
    if not plate:
        return Check.invalid("plate.format", "号牌号码为空")
    if any(ch in _SEPARATORS for ch in plate):
        return Check.invalid("plate.separator", f"号牌号码 {plate} 不应含分隔符或空格")
    if plate[0] not in MAINLAND_ABBREVIATIONS:
        return Check.invalid(
            "plate.province", f"号牌号码首字 {plate[0]} 不是省、自治区、直辖市简称"
        )
    if len(plate) < 2 or plate[1] not in AUTHORITY_LETTERS:
        letter = plate[1] if len(plate) > 1 else ""
        return Check.invalid(
            "plate.authority", f"号牌号码第 2 位发牌机关代号 {letter!r} 应为 A–Z 中除 I、O 外的字母"
        )
    rest = plate[2:]
    if len(rest) == 5 and rest[-1] in _SUFFIX_KINDS:
        if not _SUFFIXED.fullmatch(rest):
            return Check.invalid(
                "plate.serial", f"号牌号码序号 {rest[:-1]} 应为 4 位数字或除 I、O 外的字母"
            )
        kind = _SUFFIX_KINDS[rest[-1]]
        if kind in {PlateKind.HONG_KONG, PlateKind.MACAO} and plate[:2] != "粤Z":
            return Check.invalid("plate.format", f"{rest[-1]}字号牌只能以粤Z开头，实为 {plate}")
        return kind
    if len(rest) == 5:
        if _ORDINARY.fullmatch(rest):
            return PlateKind.ORDINARY
        return Check.invalid("plate.serial", f"号牌号码序号 {rest} 只能用数字和除 I、O 外的字母")
    if len(rest) == 6 and rest[-1] not in _SUFFIX_KINDS:
        if _SMALL_NEV.fullmatch(rest):
            return PlateKind.NEW_ENERGY_SMALL
        if _LARGE_NEV.fullmatch(rest):
            return PlateKind.NEW_ENERGY_LARGE
        return Check.invalid(
            "plate.new_energy",
            f"新能源号牌序号 {rest} 不符合规则：小型车第 1 位为能源字母（D、A–K），末 4 位为数字；"
            "大型车前 5 位为数字、末位为 D 或 F",
        )
    return Check.invalid("plate.format", f"号牌号码 {plate} 长度或结构不符合 GA 36")


def _normalise(plate: str) -> str:
    return plate.strip().upper()


def check(plate: str) -> Check:
    """Check a plate number.

    Surrounding whitespace is ignored and letters are upper-cased; a separator dot inside is
    reported, not removed. Rules: ``plate.format``, ``plate.separator``, ``plate.province``,
    ``plate.authority``, ``plate.serial``, ``plate.new_energy``.
    """
    result = _classify(_normalise(plate))
    if isinstance(result, Check):
        return result
    return Check.valid("plate", "号牌号码有效")


def kind_of(plate: str) -> PlateKind | None:
    """The form of a valid plate number, or None if :func:`check` rejects it."""
    result = _classify(_normalise(plate))
    return None if isinstance(result, Check) else result


def is_new_energy(plate: str) -> bool:
    """Whether the plate is a valid new-energy (新能源) plate, small or large."""
    return kind_of(plate) in {PlateKind.NEW_ENERGY_SMALL, PlateKind.NEW_ENERGY_LARGE}


def generate(rng: random.Random, province_abbr: str, letter: str, new_energy: bool = False) -> str:
    """Generate a valid plate: ordinary (at most two letters in the serial) or new-energy."""
    if province_abbr not in MAINLAND_ABBREVIATIONS:
        raise ValueError(f"不是发牌省份简称：{province_abbr!r}")
    if len(letter) != 1 or letter not in AUTHORITY_LETTERS:
        raise ValueError(f"发牌机关代号应为 A–Z 中除 I、O 外的字母：{letter!r}")
    digits = "0123456789"
    serial_letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if new_energy:
        # Most new-energy vehicles in a transport ledger are small cars and taxis.
        if rng.random() < 0.8:
            tail = rng.choice(SMALL_NEV_ENERGY_LETTERS) + rng.choice(SERIAL_CHARS)
            tail += "".join(rng.choice(digits) for _ in range(4))
        else:
            tail = "".join(rng.choice(digits) for _ in range(5)) + rng.choice(
                LARGE_NEV_ENERGY_LETTERS
            )
        return province_abbr + letter + tail
    serial = [rng.choice(digits) for _ in range(5)]
    for position in rng.sample(range(5), rng.randrange(3)):
        serial[position] = rng.choice(serial_letters)
    return province_abbr + letter + "".join(serial)
