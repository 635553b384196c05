"""Citizen identity numbers (公民身份号码, GB 11643-1999): check, generate, read birth date and sex.

Layout: 6 address (GB/T 2260) + 8 birth date ``YYYYMMDD`` + 3 sequence (odd = male) + 1 check
character (ISO 7064 MOD 11-2, computed by ``stdnum.cn.ric``). First-generation 15-digit numbers
(6 address + ``YYMMDD`` + 3 sequence, no check) still turn up in old ledgers: they are reported as
LEGACY, never as valid.
"""

from __future__ import annotations

import datetime
import random
import re

from stdnum.cn import ric as _stdnum_ric

from roadcert.kit import regions
from roadcert.kit.checks import Check

RESIDENCE_PERMIT_PREFIXES = frozenset({"81", "82", "83"})
"""Address prefixes of residence permits (居住证) for 香港, 澳门 and 台湾 residents.

83 is not a GB/T 2260 province; it is the prefix given to Taiwan residents' permit numbers.
"""

_EARLIEST_BIRTH_YEAR = 1900
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_FIFTEEN = re.compile(r"[0-9]{15}")


def _normalise(code: str) -> str:
    return code.strip().upper()


def _birth_date(code: str) -> datetime.date:
    """Birth date of a well-formed 18- or 15-digit number; ``ValueError`` if not a real date."""
    text = code[6:14] if len(code) == 18 else "19" + code[6:12]
    return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _prefix_known(code: str) -> bool:
    prefix = code[:2]
    return prefix + "0000" in regions.PROVINCE_ABBREVIATIONS or prefix in RESIDENCE_PERMIT_PREFIXES


def _check_digit(body17: str) -> str:
    # stdnum expects the number with a check position and ignores its value.
    return str(_stdnum_ric.calc_check_digit(body17 + "0"))


def check(code: str) -> Check:
    """Check a citizen identity number.

    Surrounding whitespace is ignored and ``x`` is read as ``X``; nothing else is fixed.
    Rules: ``ric.format`` (length or characters), ``ric.region`` (unknown province prefix),
    ``ric.birth_date`` (not a real date, or before 1900), ``ric.check_char``; a well-formed
    15-digit number gives LEGACY with rule ``ric.first_generation``.
    """
    code = _normalise(code)
    if _FIFTEEN.fullmatch(code):
        if not _prefix_known(code):
            return Check.invalid("ric.region", f"公民身份号码前两位 {code[:2]} 不是已知的省级代码")
        try:
            _birth_date(code)
        except ValueError:
            return Check.invalid(
                "ric.birth_date", f"公民身份号码出生日期 19{code[6:12]} 不是有效日期"
            )
        return Check.legacy(
            "ric.first_generation", "15 位第一代公民身份号码，应换为 18 位号码（GB 11643-1999）"
        )
    if not _EIGHTEEN.fullmatch(code):
        return Check.invalid(
            "ric.format", "公民身份号码应为 17 位数字加 1 位数字或 X 的校验码，共 18 位"
        )
    if not _prefix_known(code):
        return Check.invalid("ric.region", f"公民身份号码前两位 {code[:2]} 不是已知的省级代码")
    try:
        birth = _birth_date(code)
    except ValueError:
        return Check.invalid("ric.birth_date", f"公民身份号码出生日期 {code[6:14]} 不是有效日期")
    if birth.year < _EARLIEST_BIRTH_YEAR:
        return Check.invalid("ric.birth_date", f"公民身份号码出生日期 {code[6:14]} 早于 1900 年")
    expected = _check_digit(code[:17])
    if code[17] != expected:
        return Check.invalid(
            "ric.check_char", f"公民身份号码校验码错误：应为 {expected}，实为 {code[17]}"
        )
    return Check.valid("ric", "公民身份号码有效")


def generate(rng: random.Random, region_code: str, birth: datetime.date, male: bool) -> str:
    """Generate a valid 18-digit number for a person born in ``region_code`` on ``birth``."""
    if not re.fullmatch(r"[0-9]{6}", region_code) or not _prefix_known(region_code):
        raise ValueError(f"行政区划代码无效：{region_code!r}")
    if birth.year < _EARLIEST_BIRTH_YEAR:
        raise ValueError(f"出生日期早于 1900 年：{birth.isoformat()}")
    # Sequence 000 is not handed out; the parity of the sequence carries the sex.
    sequence = rng.randrange(1, 1000, 2) if male else rng.randrange(2, 1000, 2)
    body = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return body + _check_digit(body)


def _well_formed(code: str) -> str:
    code = _normalise(code)
    if not (_EIGHTEEN.fullmatch(code) or _FIFTEEN.fullmatch(code)):
        raise ValueError(f"公民身份号码格式错误：{code!r}")
    return code


def birth_date_of(code: str) -> datetime.date:
    """The birth date a number carries (15-digit numbers are read as 19YY).

    Raises ``ValueError`` if the number is malformed or its date does not exist; the check
    character is not verified, use :func:`check` for that.
    """
    code = _well_formed(code)
    try:
        return _birth_date(code)
    except ValueError:
        raise ValueError(f"公民身份号码出生日期无效：{code}") from None


def is_male(code: str) -> bool:
    """Whether the sequence number is odd (male); raises ``ValueError`` if malformed."""
    code = _well_formed(code)
    sequence = code[14:17] if len(code) == 18 else code[12:15]
    return int(sequence) % 2 == 1
