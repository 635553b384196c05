"""Certificate numbers (证号): generated in provincial practice, accepted as free strings.

No national rule defines them. roadcert generates the forms seen in practice:

- operating licence (经营许可证号): ``吉交运管许可松字220702000123号``, that is province
  abbreviation + 交运管许可 + city short name + 字 + 6-digit region + 6-digit serial + 号;
- transport certificate (道路运输证号): ``吉交运管长字220102000013号``, the same without 许可.

The practitioner's qualification number (从业资格证号) is the holder's 公民身份号码 (see ``ric``).
On import any non-empty string of at most 50 characters without whitespace or control characters
is accepted, because older and local forms abound.
"""

from __future__ import annotations

import re
import unicodedata

from roadcert.kit import regions
from roadcert.kit.checks import Check

MAX_LENGTH = 50

_CITY_SHORT = re.compile(r"[\u4e00-\u9fff]{1,2}")
_REGION = re.compile(r"[0-9]{6}")
# Zero-width and other format characters (Cf) are invisible, so they count with control characters.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _number(
    province_abbr: str, authority_word: str, city_short: str, region_code: str, seq: int
) -> str:
    if province_abbr not in regions.PROVINCE_ABBREVIATIONS.values():
        raise ValueError(f"未知的省级简称：{province_abbr!r}")
    if not _CITY_SHORT.fullmatch(city_short):
        raise ValueError(f"市简称应为 1–2 个汉字：{city_short!r}")
    if not _REGION.fullmatch(region_code):
        raise ValueError(f"行政区划代码应为 6 位数字：{region_code!r}")
    if not 0 <= seq <= 999_999:
        raise ValueError(f"流水号应在 0–999999 之间，实为 {seq}")
    return f"{province_abbr}{authority_word}{city_short}字{region_code}{seq:06d}号"


def licence_number(province_abbr: str, city_short: str, region_code: str, seq: int) -> str:
    """An operating-licence number, e.g. ``吉交运管许可松字220702000123号``."""
    return _number(province_abbr, "交运管许可", city_short, region_code, seq)


def transport_number(province_abbr: str, city_short: str, region_code: str, seq: int) -> str:
    """A road transport certificate number, e.g. ``吉交运管长字220102000013号``."""
    return _number(province_abbr, "交运管", city_short, region_code, seq)


def check(number: str) -> Check:
    """Accept any non-empty number of at most 50 characters, without whitespace or controls.

    Nothing is stripped: a stray space is reported so the ledger can be fixed. Rules:
    ``cert_number.empty``, ``cert_number.whitespace`` (whitespace, control or invisible format
    characters), ``cert_number.length``.
    """
    if not number or number.isspace():
        return Check.invalid("cert_number.empty", "证号为空")
    bad = [ch for ch in number if ch.isspace() or unicodedata.category(ch) in _FORBIDDEN_CATEGORIES]
    if bad:
        shown = "、".join(sorted({f"U+{ord(ch):04X}" for ch in bad}))
        return Check.invalid("cert_number.whitespace", f"证号含空白或控制字符：{shown}")
    if len(number) > MAX_LENGTH:
        return Check.invalid(
            "cert_number.length", f"证号最长 {MAX_LENGTH} 个字符，实为 {len(number)} 个"
        )
    return Check.valid("cert_number", "证号格式可接受")
