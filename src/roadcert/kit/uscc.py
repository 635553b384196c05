"""Unified social credit codes (统一社会信用代码, GB 32100-2015): check and generate.

Layout: 1 registration authority (登记管理部门) + 1 category (机构类别) + 6 region (GB/T 2260)
+ 9 entity code (主体标识码, the GB 11714 organisation code 组织机构代码 with its own check
character) + 1 check character (mod 31, computed by ``stdnum.cn.uscc``).
"""

from __future__ import annotations

import random
import re

from stdnum.cn import uscc as _stdnum_uscc

from roadcert.kit import regions
from roadcert.kit.checks import Check

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters GB 32100 allows (no I, O, S, V, Z)."""

REGISTRATION_AUTHORITIES = frozenset("123456789ANY")
"""First character, the registration authority: e.g. 1 机构编制, 5 民政, 9 市场监管, Y 其他."""

CENTRAL_REGION_CODE = "100000"
"""Region part used by central-government bodies (中央), e.g. the Ministry of Transport.

It is not a GB/T 2260 code, but GB 32100 codes of national bodies carry it.
"""

EARLY_PILOT_ALLOW_LIST: frozenset[str] = frozenset(
    {
        # Fujian early-pilot code in real use whose check character does not conform.
        "91350100M0001TGQXM",
    }
)
"""Real codes whose check character does not conform: reported as WARN, never as valid."""

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_REGION = re.compile(r"[0-9]{6}")


def org_code_check_char(body: str) -> str:
    """The GB 11714 organisation-code (组织机构代码) check character for an 8-character body.

    Weights 3, 7, 9, 10, 5, 8, 4, 2; digits count as themselves and letters A–Z as 10–35;
    check = 11 − (sum mod 11), written ``X`` for 10 and ``0`` for 11.
    """
    if len(body) != 8 or any(ch not in _ORG_CODE_VALUES for ch in body):
        raise ValueError(f"组织机构代码本体应为 8 位数字或大写字母：{body!r}")
    total = sum(
        _ORG_CODE_VALUES.index(ch) * w for ch, w in zip(body, _ORG_CODE_WEIGHTS, strict=True)
    )
    value = 11 - total % 11
    if value == 10:
        return "X"
    if value == 11:
        return "0"
    return str(value)


def _region_is_plausible(region: str) -> bool:
    return (
        region == CENTRAL_REGION_CODE
        or regions.province_of(region) in regions.PROVINCE_ABBREVIATIONS
    )


def check(code: str) -> Check:
    """Check a unified social credit code.

    Surrounding whitespace is ignored and letters are upper-cased; nothing else is fixed.
    Rules: ``uscc.length``, ``uscc.charset``, ``uscc.format`` (authority character or region part),
    ``uscc.region`` (first two region digits not a provincial-level unit), ``uscc.check_char``;
    a code on :data:`EARLY_PILOT_ALLOW_LIST` with a wrong check character gives WARN with rule
    ``uscc.early_pilot``.
    """
    code = code.strip().upper()
    if len(code) != 18:
        return Check.invalid("uscc.length", f"统一社会信用代码应为 18 位，实为 {len(code)} 位")
    bad = "、".join(repr(ch) for ch in sorted(set(code)) if ch not in ALPHABET)
    if bad:
        return Check.invalid(
            "uscc.charset", f"统一社会信用代码含不允许的字符：{bad}（不得使用 I、O、S、V、Z）"
        )
    if code[0] not in REGISTRATION_AUTHORITIES:
        return Check.invalid(
            "uscc.format", f"统一社会信用代码第 1 位登记管理部门代码 {code[0]} 无效"
        )
    region = code[2:8]
    if not _REGION.fullmatch(region):
        return Check.invalid(
            "uscc.format", f"统一社会信用代码第 3–8 位行政区划码应为数字，实为 {region}"
        )
    if not _region_is_plausible(region):
        return Check.invalid(
            "uscc.region", f"统一社会信用代码第 3–8 位行政区划码 {region} 不属于任何省级行政区"
        )
    expected = _stdnum_uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        if code in EARLY_PILOT_ALLOW_LIST:
            return Check.warn(
                "uscc.early_pilot",
                f"统一社会信用代码校验位不符合 GB 32100（应为 {expected}，实为 {code[17]}），"
                "但属于已知的早期试点代码，请人工核实",
            )
        return Check.invalid(
            "uscc.check_char", f"统一社会信用代码校验位错误：应为 {expected}，实为 {code[17]}"
        )
    return Check.valid("uscc", "统一社会信用代码有效")


def generate(
    rng: random.Random, region_code: str, registration: str = "9", category: str = "1"
) -> str:
    """Generate a valid code for ``region_code`` (a GB/T 2260 code or ``100000``).

    The organisation-code part is random, with its own GB 11714 check character; the last
    character is the GB 32100 check. ``registration`` and ``category`` default to 9/1 (企业,
    registered by 市场监管); government bodies (机关) use 1/1, e.g. the Ministry of Transport
    ``11100000000019713D``.
    """
    if not _REGION.fullmatch(region_code) or not _region_is_plausible(region_code):
        raise ValueError(f"行政区划代码无效：{region_code!r}")
    if registration not in REGISTRATION_AUTHORITIES:
        raise ValueError(f"登记管理部门代码无效：{registration!r}")
    if len(category) != 1 or category not in ALPHABET:
        raise ValueError(f"机构类别代码无效：{category!r}")
    digits = "0123456789"
    # Since 2015 market regulators hand out bodies starting with "MA"; older ones are digits.
    if rng.random() < 0.3:
        body = "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice(digits) for _ in range(8))
    stem = registration + category + region_code + body + org_code_check_char(body)
    return stem + _stdnum_uscc.calc_check_digit(stem)
