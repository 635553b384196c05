"""Data-quality rules (不规范数据, seed 002 §3.3): what a ledger record must satisfy to be issued.

Pure functions over plain values, so they run the same on a clerk's form, an import row and a
stored record. A finding with severity ``error`` blocks issuance; ``warning`` is listed for
correction but does not (e.g. a real early-pilot USCC on the allow-list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, CertGroup
from roadcert.kit import cert_numbers, plates, regions, ric, uscc
from roadcert.kit.checks import Check, Verdict


class Severity(StrEnum):
    """Whether a finding blocks issuance."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One rule one field breaks."""

    field: str
    rule: str
    message: str
    value: str | None = None
    severity: Severity = Severity.ERROR


# A well-formed code of a known province that is missing from the shipped GB/T 2260 excerpt is
# reported for checking but does not stop issuance: the table is complete only for Jilin.
_WARNING_RULES = frozenset({"region.unknown"})


def _from_check(field: str, value: str | None, check: Check) -> list[Finding]:
    if check.ok:
        return []
    warn = check.verdict is Verdict.WARN or check.rule in _WARNING_RULES
    severity = Severity.WARNING if warn else Severity.ERROR
    return [Finding(field, check.rule, check.message, value, severity)]


def _code(field: str, value: str | None, table: type[codes.CodeEnum], title: str) -> list[Finding]:
    if value.__class__ is str:
        # A bulk import checks the same few codes millions of times.
        return list(_code_of_text(field, value, table, title))
    return list(_code_checked(field, value, table, title))


def _code_checked(
    field: str, value: str | None, table: type[codes.CodeEnum], title: str
) -> tuple[Finding, ...]:
    if value is None or value == "":
        return (Finding(field, f"{field}.missing", f"{title}缺失", value),)
    try:
        table.from_code(value)
    except ValueError:
        return (Finding(field, f"{field}.code_table", f"{title}“{value}”不在代码表中", value),)
    return ()


# Findings are frozen, so one tuple serves every record with that value.
_code_of_text = lru_cache(maxsize=4096)(_code_checked)


def _required(field: str, value: str | None, title: str) -> list[Finding]:
    if value is None or not str(value).strip():
        return [Finding(field, f"{field}.missing", f"{title}缺失", value)]
    return []


_CITIZEN_ID = codes.HolderCodeType.from_code("111").value

# Region codes repeat across records; a Check is frozen, so cached results can be shared.
_region_check = lru_cache(maxsize=4096)(regions.check)


def _cert_number(field: str, number: str | None) -> list[Finding]:
    """``cert_numbers.check`` of a 证号, with a shortcut for the usual well-formed one.

    ``str.isprintable`` is false for every character of the categories ``cert_numbers`` refuses
    (Cc, Cf, Zs, Zl, Zp) and for every whitespace character but the ASCII space, so a printable
    number without a space and within the length passes that check: its result is then known.
    """
    if (
        number
        and len(number) <= cert_numbers.MAX_LENGTH
        and number.isprintable()
        and " " not in number
    ):
        return []
    return _from_check(field, number, cert_numbers.check(number or ""))


def _dates(valid_from: date | None, valid_until: date | None) -> list[Finding]:
    if valid_from and valid_until and valid_until < valid_from:
        return [
            Finding(
                "valid_until",
                "validity.order",
                f"有效期止 {valid_until} 早于有效期起 {valid_from}",
                str(valid_until),
            )
        ]
    return []


def _scopes(values: Iterable[str]) -> list[Finding]:
    found: list[Finding] = []
    for value in values:
        found += _code("business_scopes", value, codes.BusinessScope, "经营范围")
    return found


def operator_findings(data: Mapping[str, Any]) -> list[Finding]:
    """Rules for an operator (经营业户)."""
    found = _required("name", data.get("name"), "业户名称")
    code = data.get("uscc")
    if not code:
        found.append(Finding("uscc", "uscc.missing", "统一社会信用代码缺失", code))
    else:
        found += _from_check("uscc", code, uscc.check(code))
    found += _from_check(
        "region_code", data.get("region_code"), _region_check(data.get("region_code") or "")
    )
    if data.get("economic_type"):
        found += _code("economic_type", data["economic_type"], codes.EconomicType, "经济类型")
    found += _code("status", data.get("status"), codes.OperatorStatus, "业户经营状态")
    return found


def licence_findings(data: Mapping[str, Any]) -> list[Finding]:
    """Rules for an operating licence (经营许可证)."""
    found = _cert_number("number", data.get("number"))
    cert_type = CATALOGUE.get(data.get("type_code") or "")
    if cert_type is None or cert_type.group is not CertGroup.LICENCE:
        found.append(
            Finding(
                "type_code", "type_code.licence", "证照类型不是经营许可证类", data.get("type_code")
            )
        )
    scopes = data.get("business_scopes") or []
    if not scopes:
        found.append(Finding("business_scopes", "business_scopes.missing", "经营范围缺失", None))
    found += _scopes(scopes)
    found += _dates(data.get("valid_from"), data.get("valid_until"))
    return found


def vehicle_findings(data: Mapping[str, Any]) -> list[Finding]:
    """Rules for a vehicle (营运车辆) and its 道路运输证 data."""
    found = _from_check("plate", data.get("plate"), plates.check(data.get("plate") or ""))
    found += _code("plate_color", data.get("plate_color"), codes.PlateColor, "车牌颜色")
    found += _code("vehicle_type", data.get("vehicle_type"), codes.VehicleType, "车辆类型")
    found += _code("technical_grade", data.get("technical_grade"), codes.TechnicalGrade, "技术等级")
    found += _code("status", data.get("status"), codes.VehicleStatus, "车辆运行状态")
    found += _cert_number("transport_number", data.get("transport_number"))
    found += _scopes(data.get("business_scopes") or [])
    for dim in ("length_mm", "width_mm", "height_mm"):
        value = data.get(dim)
        if not isinstance(value, int) or value <= 0:
            found.append(
                Finding(dim, "dimensions.positive", "车辆尺寸须为正整数（毫米）", str(value))
            )
    found += _dates(data.get("valid_from"), data.get("valid_until"))
    return found


def practitioner_findings(data: Mapping[str, Any]) -> list[Finding]:
    """Rules for a practitioner (从业人员) and their qualification categories."""
    found = _required("name", data.get("name"), "姓名")
    id_type = data.get("id_type") or "111"
    found += _code("id_type", id_type, codes.HolderCodeType, "证件类型")
    number = data.get("id_number") or ""
    if id_type == _CITIZEN_ID:
        id_check = ric.check(number)
        found += _from_check("id_number", number, id_check)
        birth = data.get("birth_date")
        if id_check.ok and birth and ric.birth_date_of(number) != birth:
            found.append(
                Finding(
                    "birth_date", "birth_date.id_number", "出生日期与身份证号码不一致", str(birth)
                )
            )
    else:
        found += _required("id_number", number, "证件号码")
    found += _code("sex", data.get("sex"), codes.Sex, "性别")
    found += _driving_classes(data.get("driving_class") or "")
    for qualification in data.get("qualifications") or []:
        found += _code(
            "qualifications.category",
            qualification.get("category"),
            codes.QualificationCategory,
            "从业资格类别",
        )
        found += _dates(qualification.get("valid_from"), qualification.get("valid_until"))
    return found


@lru_cache(maxsize=1024)
def _driving_classes(text: str) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for driving_class in split_driving_classes(text):
        found += _code("driving_class", driving_class, codes.DrivingClass, "准驾车型")
    return tuple(found)


def split_driving_classes(text: str) -> list[str]:
    """Split a 准驾车型 string such as ``A1A2`` or ``B2 C1`` into class codes."""
    compact = "".join(text.split()).upper()
    out: list[str] = []
    i = 0
    while i < len(compact):
        j = i + 1
        while j < len(compact) and compact[j].isdigit():
            j += 1
        out.append(compact[i:j])
        i = j
    return out


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop issuance."""
    return [f for f in findings if f.severity is Severity.ERROR]
