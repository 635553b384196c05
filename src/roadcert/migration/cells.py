"""Reading one cell of an export into a ledger value (pure functions, no database).

Each :class:`~roadcert.migration.columns.ValueKind` has one parser. A parser returns the value or
raises :class:`CellError` with the rule and the Chinese reason that go into rejects.csv. Code
cells accept the official code or its Chinese label; a code outside its table is *not* an error
here: the record is kept and listed as 不规范数据 by the quality rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache, partial
from typing import Any

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE
from roadcert.migration.columns import (
    CODE_SEPARATORS,
    FLAG_WORDS,
    STATUS_WORDS,
    Column,
    Table,
    ValueKind,
)
from roadcert.registry.models import RecordStatus


class CellError(ValueError):
    """A cell that cannot be read as its column's kind of value."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


#: The code table behind each coded column, by (table name, field).
CODE_TABLES: dict[tuple[str, str], type[codes.CodeEnum]] = {
    ("operators", "economic_type"): codes.EconomicType,
    ("operators", "status"): codes.OperatorStatus,
    ("licences", "business_scopes"): codes.BusinessScope,
    ("vehicles", "plate_color"): codes.PlateColor,
    ("vehicles", "vehicle_type"): codes.VehicleType,
    ("vehicles", "business_scopes"): codes.BusinessScope,
    ("vehicles", "technical_grade"): codes.TechnicalGrade,
    ("vehicles", "status"): codes.VehicleStatus,
    ("practitioners", "id_type"): codes.HolderCodeType,
    ("practitioners", "sex"): codes.Sex,
    ("qualifications", "category"): codes.QualificationCategory,
}

# Certificate-type cell (证照类型): the 21-character code or the certificate's name.
_TYPE_BY_NAME = {cert_type.name: code for code, cert_type in CATALOGUE.items()}

_SEPARATORS = re.compile("[" + re.escape(CODE_SEPARATORS) + "]")
_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
# A workbook may type a date cell as a timestamp written as text: "2024-05-01 00:00:00".
_MIDNIGHT = re.compile(r"(.+?)[ T]00:00(:00(\.0+)?)?")
_STATUS_VALUES = {s.value: s.value for s in RecordStatus}


@cache
def _labels(table: type[codes.CodeEnum]) -> dict[str, str]:
    return {member.label: member.value for member in table}


@cache
def _widths(table: type[codes.CodeEnum]) -> tuple[int, ...]:
    return tuple(sorted({len(member.value) for member in table}))


def text(raw: Any) -> str | None:
    """A text cell, stripped (empty is None); numbers typed by a workbook lose a trailing ``.0``."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.strip() or None
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, list | dict):
        raise CellError("text.format", "应为文本，不是列表或对象")
    return str(raw)


def code(raw: Any, table: type[codes.CodeEnum] | None) -> str | None:
    """A code cell: the code, or its Chinese label turned into the code.

    A workbook that typed ``02101`` as the number 2101 lost its leading zero; the zero is put
    back when that gives a code of the table and the number alone does not.
    """
    value = text(raw)
    if value is None or table is None:
        return value
    if value in table._value2member_map_:
        return value
    label = _labels(table).get(value)
    if label is not None:
        return label
    if isinstance(raw, int | float) and value.isdigit():
        for width in _widths(table):
            padded = value.zfill(width)
            if padded in table._value2member_map_:
                return padded
    return value


def code_list(raw: Any, table: type[codes.CodeEnum] | None) -> list[str]:
    """Several codes or labels separated by ``; ； , ， 、`` (or a JSON list)."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else _SEPARATORS.split(text(raw) or "")
    out: list[str] = []
    for item in items:
        value = code(item.strip() if isinstance(item, str) else item, table)
        if value:
            out.append(value)
    return out


def cert_type(raw: Any) -> str | None:
    """A 证照类型 cell: the certificate's name or its 21-character type code."""
    value = text(raw)
    if value is None:
        return None
    return _TYPE_BY_NAME.get(value, value)


def day(raw: Any) -> date | None:
    """A date: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYYMMDD`` or a workbook's date cell."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    value = text(raw) or ""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)  # the usual form, in C
        except ValueError:
            pass  # 2024-02-30, or digits where letters are: the patterns below say which
    midnight = _MIDNIGHT.fullmatch(value)
    if midnight:
        value = midnight.group(1)
    for form in _DATE_FORMS:
        match = form.fullmatch(value)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                raise CellError("date.invalid", f"不存在的日期“{value}”") from None
    raise CellError(
        "date.format", f"日期“{value}”无法识别：应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD"
    )


def integer(raw: Any) -> int | None:
    """A whole number (a workbook's 12.0 is 12)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError("integer.format", "应为整数")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    value = (text(raw) or "").replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0*)?", value):
        return int(value.split(".")[0])
    raise CellError("integer.format", f"“{text(raw)}”不是整数")


def flag(raw: Any) -> bool | None:
    """是/否 (also 1/0, true/false, Y/N)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    value = (text(raw) or "").lower()
    if value in FLAG_WORDS:
        return FLAG_WORDS[value]
    raise CellError("flag.format", f"“{text(raw)}”应为 是 或 否")


def status(raw: Any) -> str | None:
    """有效/注销/吊销, as the ledger's RecordStatus value."""
    if raw is None:
        return None
    value = text(raw) or ""
    found = STATUS_WORDS.get(value) or _STATUS_VALUES.get(value.lower())
    if found is None:
        raise CellError("status.format", f"“{value}”应为 有效、注销 或 吊销")
    return found


def parser_for(table: Table, column: Column) -> Callable[[Any], Any]:
    """The function that reads cells of ``column`` (chosen once per column, used per cell)."""
    kind = column.kind
    if kind is ValueKind.TEXT or kind is ValueKind.FILE:
        if table.name == "licences" and column.field == "type_code":
            return cert_type
        return text
    if kind is ValueKind.CODE:
        return partial(code, table=CODE_TABLES.get((table.name, column.field)))
    if kind is ValueKind.CODES:
        codes_of = partial(code_list, table=CODE_TABLES.get((table.name, column.field)))
        return lambda raw: codes_of(raw) or None
    if kind is ValueKind.DATE:
        return day
    if kind is ValueKind.INTEGER:
        return integer
    if kind is ValueKind.FLAG:
        return flag
    return status


def parse(table: Table, column: Column, raw: Any) -> Any:
    """The ledger value of one cell of ``column``; ``None`` for an empty cell."""
    return parser_for(table, column)(raw)


__all__ = [
    "CODE_TABLES",
    "CellError",
    "cert_type",
    "code",
    "code_list",
    "day",
    "flag",
    "integer",
    "parse",
    "parser_for",
    "status",
    "text",
]
