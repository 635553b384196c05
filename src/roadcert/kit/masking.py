"""Masking personal and business data for the public (seed 000 samples: 张■, 吉A0■■■■).

Pure functions. Each keeps enough to recognise a record one already knows and no more: the
surname, the plate's province, city letter and first character, an ID number's region.
"""

from __future__ import annotations

MASK = "■"


def mask_name(name: str) -> str:
    """张三 → 张■, 欧阳小明 → 欧■■■; an organisation keeps its first 2 and last 2 characters."""
    name = name.strip()
    if not name:
        return ""
    if len(name) >= 8:  # an organisation: 长春■■■■■■公司
        return name[:2] + MASK * (len(name) - 4) + name[-2:]
    return name[0] + MASK * (len(name) - 1)


def mask_plate(plate: str) -> str:
    """吉A01234 → 吉A0■■■■ (province, city letter and first character kept)."""
    plate = plate.strip()
    return plate[:3] + MASK * max(len(plate) - 3, 0)


def mask_code(code: str, keep_start: int = 2, keep_end: int = 0) -> str:
    """An identifier with only ``keep_start`` leading and ``keep_end`` trailing characters shown.

    220122198302284055 → 22■■■■■■■■■■■■■■■■ (seed 000's 证号 sample keeps two).
    """
    code = code.strip()
    if len(code) <= keep_start + keep_end:
        return MASK * len(code)
    tail = code[len(code) - keep_end :] if keep_end else ""
    return code[:keep_start] + MASK * (len(code) - keep_start - keep_end) + tail


def mask_address(address: str, keep: int = 6) -> str:
    """吉林省长春市朝阳区人民大街100号 → 吉林省长春市■■■■…: the region part only."""
    address = address.strip()
    if len(address) <= keep:
        return address
    return address[:keep] + MASK * 4


def mask_date(text: str) -> str:
    """2020-04-26 → 2020-■■-■■ (the year only)."""
    text = text.strip()
    return text[:4] + "".join(MASK if ch.isdigit() else ch for ch in text[4:])
