"""``roadcert synth``: a synthetic legacy export whose planted faults the manifest counts exactly.

The files are read back by a small reader of this module's own (not the importer's), identifiers
are checked with roadcert.kit and records with roadcert.registry.quality, and the e-certs that
issuing everything would give are worked out again from the rows: the manifest's counts are
re-derived from the files, not trusted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from openpyxl import load_workbook
from PIL import Image
from typer.testing import CliRunner

from roadcert.catalog import codes
from roadcert.catalog.types import CATALOGUE, MOT_USCC, type_for_category
from roadcert.kit import cert_numbers, plates, ric, uscc
from roadcert.migration import columns
from roadcert.migration import synth as synth_module
from roadcert.migration.synth import (
    MANIFEST_NAME,
    WORKBOOK_NAME,
    ExportFormat,
    SynthError,
    SynthOptions,
    open_writers,
    synthesise,
)
from roadcert.migration.synth_cli import synth
from roadcert.registry import quality

TODAY = date(2026, 11, 21)
# Shares well above the defaults, so that every planted kind occurs in a small export.
OPTIONS = SynthOptions(
    operators=160,
    vehicles=480,
    practitioners=420,
    today=TODAY,
    seed=7,
    non_standard_share=0.1,
    reject_share=0.05,
    photos=25,
    ecert_disabled=("220800",),
)
SMALL = SynthOptions(
    operators=30,
    vehicles=90,
    practitioners=80,
    today=TODAY,
    seed=11,
    non_standard_share=0.1,
    reject_share=0.1,
    photos=7,
)

CODE_TABLES: dict[tuple[str, str], type[codes.CodeEnum]] = {
    ("operators", "经济类型"): codes.EconomicType,
    ("operators", "经营状态"): codes.OperatorStatus,
    ("licences", "经营范围"): codes.BusinessScope,
    ("vehicles", "车牌颜色"): codes.PlateColor,
    ("vehicles", "车辆类型"): codes.VehicleType,
    ("vehicles", "经营范围"): codes.BusinessScope,
    ("vehicles", "技术等级"): codes.TechnicalGrade,
    ("vehicles", "车辆运行状态"): codes.VehicleStatus,
    ("practitioners", "证件类型"): codes.HolderCodeType,
    ("practitioners", "性别"): codes.Sex,
    ("qualifications", "从业资格类别"): codes.QualificationCategory,
}
TYPE_BY_NAME = {t.name: code for code, t in CATALOGUE.items()}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- reading an export back ---------------------------------------------------------------------


def read_csv(directory: Path, table: columns.Table) -> list[dict[str, str]]:
    """A CSV table as dicts by header; checks the BOM and the headers' order."""
    raw = (directory / f"{table.title}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 byte-order mark"
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    headers = next(reader)
    assert headers == table.headers
    return [dict(zip(headers, row, strict=True)) for row in reader]


def read_jsonl(directory: Path, table: columns.Table) -> list[dict[str, str]]:
    """A JSON Lines table, cells normalised as CSV writes them."""
    out = []
    with (directory / f"{table.title}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            assert list(record) == table.headers
            out.append({k: normalise(v) for k, v in record.items()})
    return out


def read_xlsx(directory: Path) -> dict[str, list[dict[str, str]]]:
    """Every sheet of the workbook, cells normalised as CSV writes them."""
    book = load_workbook(directory / WORKBOOK_NAME, read_only=True)
    try:
        assert book.sheetnames == [t.title for t in columns.TABLES]
        out = {}
        for table in columns.TABLES:
            rows = book[table.title].iter_rows(values_only=True)
            headers = list(next(rows))
            assert headers == table.headers
            # A read-only sheet may end a row at its last non-empty cell.
            out[table.name] = [
                {h: normalise(v) for h, v in zip(headers, padded(row, len(headers)), strict=True)}
                for row in rows
            ]
        return out
    finally:
        book.close()


def padded(row: tuple[Any, ...], width: int) -> tuple[Any, ...]:
    return row + (None,) * (width - len(row))


def normalise(value: Any) -> str:
    """A cell as text: empty for None, ISO for dates (a workbook gives datetimes)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        assert value.time() == datetime.min.time()
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def manifest_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))


# -- a minimal importer: structural rules first, then the quality rules --------------------------


@dataclass
class Split:
    """The rows an importer keeps, and the rejected ones counted by table and reason."""

    accepted: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    rejected: dict[str, Counter[str]] = field(default_factory=dict)
    faults_per_rejected_row: Counter[int] = field(default_factory=Counter)


def structural_faults(
    table: columns.Table, row: dict[str, str], known: dict[str, set[str]]
) -> list[str]:
    faults = []
    for column in table.columns:
        value = row[column.header]
        if column.required and not value:
            faults.append("required_empty")
        elif value and column.kind is columns.ValueKind.DATE:
            try:
                if not ISO_DATE.fullmatch(value):
                    raise ValueError(value)
                date.fromisoformat(value)
            except ValueError:
                faults.append("bad_date")
        elif value and column.kind is columns.ValueKind.INTEGER and not value.isdigit():
            faults.append("bad_integer")
    references = {
        "核发机关代码": "authorities",
        "业户编号": "operators" if table.name != "operators" else None,
        "许可证号": "licences" if table.name == "vehicles" else None,
        "从业资格证号": "practitioners" if table.name == "qualifications" else None,
    }
    for header, target in references.items():
        value = row.get(header)
        if target and value and value not in known[target]:
            faults.append("unknown_reference")
    return faults


def split_rows(rows_of: dict[str, list[dict[str, str]]]) -> Split:
    """Apply the structural rules table by table, in the order an importer reads them."""
    split = Split()
    known: dict[str, set[str]] = defaultdict(set)
    own_key = {
        "authorities": "统一社会信用代码",
        "operators": "业户编号",
        "licences": "许可证号",
        "practitioners": "从业资格证号",
    }
    for table in columns.TABLES:
        accepted: list[dict[str, str]] = []
        rejected: Counter[str] = Counter()
        keys: set[tuple[str, ...]] = set()
        for row in rows_of[table.name]:
            faults = structural_faults(table, row, known)
            key = tuple(row[h] for h in table.key)
            # The first row with a key counts; later ones are rejected, whether the first was
            # accepted or not.
            if key in keys:
                faults.append("duplicate_key")
            keys.add(key)
            if faults:
                rejected.update(faults)
                split.faults_per_rejected_row[len(faults)] += 1
                continue
            accepted.append(row)
            if table.name in own_key:
                known[table.name].add(row[own_key[table.name]])
        split.accepted[table.name] = accepted
        split.rejected[table.name] = rejected
    return split


def code_of(table: str, header: str, value: str) -> str:
    labels = {m.label: m.value for m in CODE_TABLES[table, header]}
    return labels.get(value, value)


def codes_of(table: str, header: str, value: str) -> list[str]:
    parts = re.split("[" + re.escape(columns.CODE_SEPARATORS) + "]", value)
    return [code_of(table, header, p) for p in parts if p]


def day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def operator_data(row: dict[str, str]) -> dict[str, Any]:
    return {
        "name": row["业户名称"],
        "uscc": row["统一社会信用代码"] or None,
        "region_code": row["行政区划代码"],
        "economic_type": code_of("operators", "经济类型", row["经济类型"]),
        "status": code_of("operators", "经营状态", row["经营状态"]),
    }


def licence_data(row: dict[str, str]) -> dict[str, Any]:
    return {
        "number": row["许可证号"],
        "type_code": TYPE_BY_NAME.get(row["证照类型"], row["证照类型"]),
        "business_scopes": codes_of("licences", "经营范围", row["经营范围"]),
        "valid_from": day(row["有效期起"]),
        "valid_until": day(row["有效期止"]),
    }


def vehicle_data(row: dict[str, str]) -> dict[str, Any]:
    return {
        "plate": row["车牌号码"],
        "plate_color": code_of("vehicles", "车牌颜色", row["车牌颜色"]),
        "vehicle_type": code_of("vehicles", "车辆类型", row["车辆类型"]),
        "technical_grade": code_of("vehicles", "技术等级", row["技术等级"] or "1"),
        "status": code_of("vehicles", "车辆运行状态", row["车辆运行状态"] or "10"),
        "transport_number": row["道路运输证号"],
        "business_scopes": codes_of("vehicles", "经营范围", row["经营范围"]),
        "length_mm": int(row["车长（毫米）"]),
        "width_mm": int(row["车宽（毫米）"]),
        "height_mm": int(row["车高（毫米）"]),
        "valid_from": day(row["有效期起"]),
        "valid_until": day(row["有效期止"]),
    }


def practitioner_data(row: dict[str, str], quals: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "name": row["姓名"],
        "id_type": code_of("practitioners", "证件类型", row["证件类型"] or "111"),
        "id_number": row["证件号码"],
        "birth_date": day(row["出生日期"]),
        "sex": code_of("practitioners", "性别", row["性别"]),
        "driving_class": row["准驾车型"],
        "qualifications": [
            {
                "category": code_of("qualifications", "从业资格类别", q["从业资格类别"]),
                "valid_from": day(q["有效期起"]),
                "valid_until": day(q["有效期止"]),
            }
            for q in quals
        ],
    }


@dataclass
class Ledger:
    """The accepted rows of an export, with their quality findings and expected e-certs."""

    split: Split
    findings: dict[str, Counter[str]] = field(default_factory=dict)  # table → rule → count
    missing_photo: Counter[str] = field(default_factory=Counter)
    ecerts: Counter[str] = field(default_factory=Counter)
    ecerts_by_type: Counter[str] = field(default_factory=Counter)
    expired: int = 0  # issuable but past their validity: bulk issuance refuses them
    targets: int = 0  # licences, vehicles and practitioner × certificate type
    by_authority: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


def ledger_of(rows_of: dict[str, list[dict[str, str]]]) -> Ledger:
    """What importing and then issuing everything would give, worked out from the rows."""
    ledger = Ledger(split_rows(rows_of))
    accepted = ledger.split.accepted
    enabled = {a["统一社会信用代码"]: a["启用电子证照"] == "是" for a in accepted["authorities"]}
    operators: dict[str, tuple[dict[str, Any], list[quality.Finding]]] = {}
    for table in ("operators", "licences", "vehicles", "practitioners"):
        ledger.findings[table] = Counter()

    def count(table: str, findings: list[quality.Finding]) -> None:
        ledger.findings[table].update(f.rule for f in findings)

    def issue(table: str, authority: str, type_code: str, valid_until: date) -> None:
        if valid_until < TODAY:
            ledger.expired += 1
            return
        ledger.ecerts[table] += 1
        ledger.ecerts_by_type[type_code] += 1
        ledger.by_authority[authority]["ecerts"] += 1

    for row in accepted["operators"]:
        data = operator_data(row)
        findings = quality.operator_findings(data)
        count("operators", findings)
        operators[row["业户编号"]] = (data, findings)

    def operator_issuable(legacy_id: str) -> tuple[bool, list[quality.Finding]]:
        data, findings = operators[legacy_id]
        code = data["uscc"]
        ok = data["status"] == "1" and bool(code) and uscc.check(code).ok
        return ok, findings

    for row in accepted["licences"]:
        data = licence_data(row)
        findings = quality.licence_findings(data)
        count("licences", findings)
        ledger.targets += 1
        authority = row["核发机关代码"]
        ledger.by_authority[authority]["records"] += 1
        valid = row["状态"] == "有效" and data["valid_until"] >= TODAY
        ledger.by_authority[authority]["certificates"] += valid
        ok, operator_findings = operator_issuable(row["业户编号"])
        if (
            row["状态"] == "有效"
            and enabled[authority]
            and ok
            and not quality.blocking([*operator_findings, *findings])
        ):
            issue("licences", authority, data["type_code"], data["valid_until"])

    for row in accepted["vehicles"]:
        data = vehicle_data(row)
        findings = quality.vehicle_findings(data)
        count("vehicles", findings)
        ledger.targets += 1
        if not row["照片"]:
            ledger.missing_photo["vehicles"] += 1
        authority = row["核发机关代码"]
        ledger.by_authority[authority]["records"] += 1
        valid = row["道路运输证状态"] == "有效" and data["valid_until"] >= TODAY
        ledger.by_authority[authority]["certificates"] += valid
        ok, operator_findings = operator_issuable(row["业户编号"])
        if (
            row["道路运输证状态"] == "有效"
            and enabled[authority]
            and ok
            and data["status"] in ("10", "21")
            and row["照片"]
            and not quality.blocking([*operator_findings, *findings])
        ):
            suffix = "073" if row["网约车"] == "是" else "013"
            issue("vehicles", authority, f"{MOT_USCC}{suffix}", data["valid_until"])

    quals: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in accepted["qualifications"]:
        quals[row["从业资格证号"]].append(row)
    for row in accepted["practitioners"]:
        own = quals[row["从业资格证号"]]
        data = practitioner_data(row, own)
        findings = quality.practitioner_findings(data)
        count("practitioners", findings)
        if not row["照片"]:
            ledger.missing_photo["practitioners"] += 1
        authority = row["核发机关代码"]
        ledger.by_authority[authority]["records"] += 1
        due: dict[str, date] = {}
        for q in data["qualifications"]:
            status = next(
                o["状态"]
                for o in own
                if code_of("qualifications", "从业资格类别", o["从业资格类别"]) == q["category"]
            )
            if status != "有效":
                continue
            code = type_for_category(codes.QualificationCategory(q["category"])).type_code
            due[code] = max(due.get(code, q["valid_until"]), q["valid_until"])
        ledger.targets += len(due)
        for code, valid_until in due.items():
            ledger.by_authority[authority]["certificates"] += valid_until >= TODAY
            if enabled[authority] and row["照片"] and not quality.blocking(findings):
                issue("practitioners", authority, code, valid_until)
    return ledger


def read_export(directory: Path) -> dict[str, list[dict[str, str]]]:
    return {t.name: read_csv(directory, t) for t in columns.TABLES}


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV export of OPTIONS."""
    directory = tmp_path_factory.mktemp("synth") / "export"
    synthesise(OPTIONS, directory)
    return directory


@pytest.fixture(scope="module")
def rows(export: Path) -> dict[str, list[dict[str, str]]]:
    return read_export(export)


@pytest.fixture(scope="module")
def ledger(rows: dict[str, list[dict[str, str]]]) -> Ledger:
    return ledger_of(rows)


@pytest.fixture(scope="module")
def manifest(export: Path) -> dict[str, Any]:
    return manifest_of(export)


# -- the files -----------------------------------------------------------------------------------


def test_one_file_per_table_and_the_manifest(export: Path, manifest: dict[str, Any]) -> None:
    names = sorted(p.name for p in export.iterdir())
    assert names == sorted([*(f"{t.title}.csv" for t in columns.TABLES), "manifest.json", "photos"])
    assert manifest["files"] == {t.name: f"{t.title}.csv" for t in columns.TABLES}
    assert manifest["seed"] == 7 and manifest["today"] == "2026-11-21"


def test_rows_match_the_requested_counts(
    rows: dict[str, list[dict[str, str]]], manifest: dict[str, Any]
) -> None:
    assert {name: len(r) for name, r in rows.items()} == manifest["rows"]
    assert manifest["accepted"]["authorities"] == 9
    assert manifest["accepted"]["operators"] == OPTIONS.operators
    assert manifest["accepted"]["licences"] == OPTIONS.operators
    assert manifest["accepted"]["vehicles"] == OPTIONS.vehicles
    assert manifest["accepted"]["practitioners"] == OPTIONS.practitioners
    for name, count in manifest["accepted"].items():
        assert count + sum(manifest["rejected"][name].values()) == manifest["rows"][name]


def test_rejected_rows_are_the_planted_ones(ledger: Ledger, manifest: dict[str, Any]) -> None:
    split = ledger.split
    assert {n: len(r) for n, r in split.accepted.items()} == manifest["accepted"]
    assert {n: dict(c) for n, c in split.rejected.items()} == manifest["rejected"]
    # Each rejected row breaks exactly one structural rule.
    assert set(split.faults_per_rejected_row) == {1}
    assert manifest["rejected_total"] == sum(sum(c.values()) for c in split.rejected.values())
    # Every table but authorities gets each of its reasons (the shares are high enough).
    assert set(manifest["rejected"]["vehicles"]) == {
        "required_empty",
        "bad_date",
        "unknown_reference",
        "duplicate_key",
        "bad_integer",
    }
    assert set(manifest["rejected"]["operators"]) == {"required_empty", "duplicate_key"}
    assert manifest["rejected"]["authorities"] == {}
    # reject_share of each table's accepted rows, rounded.
    for name in ("operators", "licences", "vehicles", "practitioners", "qualifications"):
        expected = round(manifest["accepted"][name] * OPTIONS.reject_share)
        assert sum(manifest["rejected"][name].values()) == expected


def test_quality_findings_are_exactly_the_planted_ones(
    ledger: Ledger, manifest: dict[str, Any]
) -> None:
    found: Counter[str] = Counter()
    for counts in ledger.findings.values():
        found.update(counts)
    assert dict(found) == manifest["non_standard"]
    assert {t: sum(c.values()) for t, c in ledger.findings.items()} == manifest[
        "non_standard_records"
    ]
    assert dict(ledger.missing_photo) == manifest["missing_photo"]
    assert {
        "uscc.check_char",
        "uscc.missing",
        "business_scopes.code_table",
        "vehicle_type.code_table",
        "ric.check_char",
        "birth_date.id_number",
    } <= set(manifest["non_standard"])
    assert any(rule.startswith("plate.") for rule in manifest["non_standard"])
    # non_standard_share of each table, planted kinds and missing photos together.
    for table in ("operators", "licences"):
        expected = round(OPTIONS.operators * OPTIONS.non_standard_share)
        assert manifest["non_standard_records"][table] == expected
    assert manifest["non_standard_records"]["vehicles"] + manifest["missing_photo"][
        "vehicles"
    ] == round(OPTIONS.vehicles * OPTIONS.non_standard_share)


def test_every_clean_identifier_passes_the_kit_checks(ledger: Ledger) -> None:
    accepted = ledger.split.accepted
    for row in accepted["authorities"]:
        assert uscc.check(row["统一社会信用代码"]).ok
    codes_seen = [r["统一社会信用代码"] for r in accepted["operators"] if r["统一社会信用代码"]]
    assert len(set(codes_seen)) == len(codes_seen)
    good = [c for c in codes_seen if uscc.check(c).ok]
    assert len(codes_seen) - len(good) == ledger.findings["operators"]["uscc.check_char"]
    for row in accepted["licences"]:
        assert cert_numbers.check(row["许可证号"]).ok
    plate_keys = [(r["车牌号码"], r["车牌颜色"]) for r in accepted["vehicles"]]
    assert len(set(plate_keys)) == len(plate_keys)
    bad_plates = sum(1 for r in accepted["vehicles"] if not plates.check(r["车牌号码"]).ok)
    assert bad_plates == sum(
        n for rule, n in ledger.findings["vehicles"].items() if rule.startswith("plate.")
    )
    for row in accepted["vehicles"]:
        assert cert_numbers.check(row["道路运输证号"]).ok
        if row["网约车"] == "是":
            assert plates.is_new_energy(row["车牌号码"]) or not plates.check(row["车牌号码"]).ok
    numbers = [r["证件号码"] for r in accepted["practitioners"]]
    assert len(set(numbers)) == len(numbers)
    clean_people = 0
    for row in accepted["practitioners"]:
        assert row["从业资格证号"] == row["证件号码"]
        number = row["证件号码"]
        if not ric.check(number).ok:
            continue
        assert ric.is_male(number) == (code_of("practitioners", "性别", row["性别"]) == "1")
        if ric.birth_date_of(number) == date.fromisoformat(row["出生日期"]):
            clean_people += 1
    assert (
        clean_people
        == len(numbers)
        - ledger.findings["practitioners"]["ric.check_char"]
        - (ledger.findings["practitioners"]["birth_date.id_number"])
    )


def test_the_ecert_counts_follow_from_the_rows(ledger: Ledger, manifest: dict[str, Any]) -> None:
    ecerts = manifest["ecerts"]
    assert ecerts["licences"] == ledger.ecerts["licences"]
    assert ecerts["vehicles"] == ledger.ecerts["vehicles"]
    assert ecerts["practitioners"] == ledger.ecerts["practitioners"]
    assert ecerts["total"] == sum(ledger.ecerts.values())
    assert ecerts["by_type"] == dict(sorted(ledger.ecerts_by_type.items()))
    for authority in manifest["authorities"]:
        counts = ledger.by_authority[authority["uscc"]]
        assert authority["ecerts"] == counts["ecerts"]
        assert authority["records"] == counts["records"]
        assert authority["certificates_valid"] == counts["certificates"]
    assert (
        sum(a["certificates_valid"] for a in manifest["authorities"])
        == manifest["certificates_valid"]["total"]
    )
    # Every issuance target gets its e-cert or one refusal.
    refused = manifest["refused"]
    assert sum(refused.values()) + ecerts["total"] == manifest["targets"] == ledger.targets
    assert refused["issuance.expired"] == ledger.expired > 0
    assert refused["issuance.authority_disabled"] > 0
    assert refused["issuance.photo_missing"] > 0


def test_the_disabled_city_issues_no_ecerts(
    rows: dict[str, list[dict[str, str]]], manifest: dict[str, Any]
) -> None:
    flags = {r["行政区划代码"]: r["启用电子证照"] for r in rows["authorities"]}
    assert flags.pop("220800") == "否"
    assert set(flags.values()) == {"是"}
    baicheng = next(a for a in manifest["authorities"] if a["region_code"] == "220800")
    assert baicheng["ecerts"] == 0 and baicheng["certificates_valid"] > 0
    assert manifest["options"]["ecert_disabled"] == ["220800"]


def test_realistic_spread(ledger: Ledger, manifest: dict[str, Any]) -> None:
    accepted = ledger.split.accepted
    licence_of = {r["业户编号"]: r for r in accepted["licences"]}
    assert len(licence_of) == OPTIONS.operators  # one licence per operator
    kinds = Counter(
        TYPE_BY_NAME.get(r["证照类型"], r["证照类型"])[-3:] for r in licence_of.values()
    )
    assert {"008", "016", "074"} <= set(kinds) <= {"008", "016", "074", "079"}
    assert kinds["008"] > kinds["016"] > kinds["074"]
    fleets = Counter(r["业户编号"] for r in accepted["vehicles"])
    assert max(fleets.values()) > 3 and min(fleets.values()) >= 1
    for row in accepted["vehicles"]:
        licence = licence_of[row["业户编号"]]
        ride = TYPE_BY_NAME.get(licence["证照类型"], licence["证照类型"]).endswith("074")
        assert (row["网约车"] == "是") == ride
        assert row["许可证号"] in ("", licence["许可证号"])
        assert row["核发机关代码"] == licence["核发机关代码"]
    statuses = manifest["statuses"]
    assert {"注销", "吊销"} <= set(statuses["licences"]) and {"注销"} <= set(
        statuses["qualifications"]
    )
    assert "2" in statuses["operators"]
    assert any(s.startswith("21/") for s in statuses["vehicles"])
    assert any(s.startswith("33/") for s in statuses["vehicles"])
    per_person = Counter(r["从业资格证号"] for r in accepted["qualifications"])
    assert set(per_person.values()) == {1, 2, 3}
    assert len(per_person) == OPTIONS.practitioners
    # A share of code cells is written as Chinese labels, most as codes.
    colours = Counter(r["车牌颜色"] for r in accepted["vehicles"])
    labelled = sum(n for v, n in colours.items() if not v.isdigit())
    assert 0 < labelled < len(accepted["vehicles"]) / 3
    scopes = [r["经营范围"] for r in accepted["licences"] if "；" in r["经营范围"]]
    assert scopes


def test_photos_exist_are_distinct_and_referenced_round_robin(export: Path, ledger: Ledger) -> None:
    files = sorted((export / "photos").iterdir())
    assert [p.name for p in files] == [f"{i:04d}.png" for i in range(1, OPTIONS.photos + 1)]
    contents = [p.read_bytes() for p in files]
    assert len({hashlib.sha256(c).hexdigest() for c in contents}) == OPTIONS.photos
    for content in contents:
        assert len(content) < 1000
        with Image.open(io.BytesIO(content)) as image:
            assert image.format == "PNG"
    cells = [
        r["照片"]
        for table in ("vehicles", "practitioners")
        for r in ledger.split.accepted[table]
        if r["照片"]
    ]
    assert all((export / cell).is_file() for cell in cells)
    assert set(cells) == {f"photos/{p.name}" for p in files}


# -- determinism and formats --------------------------------------------------------------------


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("export_format", [ExportFormat.CSV, ExportFormat.JSONL])
def test_the_same_seed_gives_the_same_files(tmp_path: Path, export_format: ExportFormat) -> None:
    options = SynthOptions(**{**SMALL.__dict__, "export_format": export_format})
    synthesise(options, tmp_path / "a")
    synthesise(options, tmp_path / "b")
    synthesise(SynthOptions(**{**options.__dict__, "seed": 12}), tmp_path / "c")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    first, other = tree(tmp_path / "a"), tree(tmp_path / "c")
    assert first.keys() == other.keys()
    changed = [name for name in first if first[name] != other[name]]
    assert f"业户.{export_format.value}" in changed


def test_the_three_formats_carry_the_same_data(tmp_path: Path) -> None:
    results = {}
    for export_format in ExportFormat:
        directory = tmp_path / export_format.value
        options = SynthOptions(**{**SMALL.__dict__, "export_format": export_format})
        results[export_format] = (directory, synthesise(options, directory).manifest)
    csv_dir, csv_manifest = results[ExportFormat.CSV]
    jsonl_dir, jsonl_manifest = results[ExportFormat.JSONL]
    xlsx_dir, xlsx_manifest = results[ExportFormat.XLSX]
    from_csv = read_export(csv_dir)
    from_jsonl = {t.name: read_jsonl(jsonl_dir, t) for t in columns.TABLES}
    from_xlsx = read_xlsx(xlsx_dir)
    assert from_csv == from_jsonl == from_xlsx
    assert sorted(p.name for p in xlsx_dir.iterdir()) == sorted(
        [WORKBOOK_NAME, MANIFEST_NAME, "photos"]
    )

    def same(manifest: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in manifest.items() if k not in ("format", "files")}

    assert same(csv_manifest) == same(jsonl_manifest) == same(xlsx_manifest)
    assert xlsx_manifest["files"]["vehicles"] == WORKBOOK_NAME
    # Dates are date cells in the workbook, integers numbers, and bad values stay text.
    book = load_workbook(xlsx_dir / WORKBOOK_NAME, read_only=True)
    try:
        first = next(book["车辆"].iter_rows(min_row=2, max_row=2, values_only=True))
        assert isinstance(first[17], datetime) and isinstance(first[10], int)
    finally:
        book.close()
    assert ledger_of(from_xlsx).split.rejected == ledger_of(from_csv).split.rejected


def test_no_counts_give_headers_and_authorities(tmp_path: Path) -> None:
    options = SynthOptions(operators=0, vehicles=0, practitioners=0, today=TODAY, photos=1)
    manifest = synthesise(options, tmp_path / "empty").manifest
    assert manifest["rows"] == {t.name: 9 if t.name == "authorities" else 0 for t in columns.TABLES}
    assert manifest["ecerts"]["total"] == 0
    assert read_csv(tmp_path / "empty", columns.VEHICLES) == []


def test_csv_cells_that_need_quotes_are_quoted(tmp_path: Path) -> None:
    awkward = ["a,b", 'say "hi"', "two\nlines", "", "plain"]
    with open_writers(tmp_path, ExportFormat.CSV) as (writers, _files):
        writers["authorities"].write(awkward)
        writers["authorities"].write(["x", "y", "z", "", "是"])
    rows = read_csv(tmp_path, columns.AUTHORITIES)
    assert [list(r.values()) for r in rows] == [awkward, ["x", "y", "z", "", "是"]]


def test_a_city_out_of_certificate_numbers_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synth_module, "_MAX_SERIAL", 20)
    with pytest.raises(SynthError, match="证号流水号超过 20") as refused:
        synthesise(SMALL, tmp_path / "out")
    assert refused.value.code == "synth.too_many"
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()


# -- bad options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"operators": -1}, "业户数量不能为负数"),
        ({"practitioners": -5}, "从业人员数量不能为负数"),
        ({"operators": 0, "vehicles": 3}, "有车辆就须有业户"),
        ({"non_standard_share": 0.6}, "不规范数据比例须在 0 到 0.5 之间"),
        ({"reject_share": -0.1}, "拒收行比例须在 0 到 0.5 之间"),
        ({"photos": 0}, "照片数量须至少为 1"),
        ({"ecert_disabled": ("北京",)}, "不是吉林省的地级行政区"),
        (
            {"practitioners": 400_000, "export_format": ExportFormat.XLSX},
            "XLSX 每个工作表最多",
        ),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    options = SynthOptions(**{**SMALL.__dict__, **change})
    with pytest.raises(SynthError, match=message):
        synthesise(options, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x", encoding="utf-8")
    with pytest.raises(SynthError, match="不是空的") as refused:
        synthesise(SMALL, tmp_path)
    assert refused.value.code == "synth.directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]


# -- the command ---------------------------------------------------------------------------------


def cli() -> typer.Typer:
    """A Typer app that registers the command as roadcert.cli does."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """roadcert（测试）"""

    app.command("synth")(synth)
    return app


def test_the_command_writes_an_export_and_a_summary(tmp_path: Path) -> None:
    target = tmp_path / "out"
    args = ["synth", "-o", str(target), "--operators", "20", "--vehicles", "50"]
    args += ["--practitioners", "30", "--seed", "3", "--today", "2026-11-21"]
    args += ["--format", "jsonl", "--photos", "5", "--ecert-disabled", "白城"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    manifest = manifest_of(target)
    assert manifest["format"] == "jsonl" and manifest["options"]["ecert_disabled"] == ["220800"]
    assert manifest["accepted"]["vehicles"] == 50
    shown = "".join(result.stdout.split())  # the console wraps long lines
    assert f"应制发电子证照{manifest['ecerts']['total']}张" in shown
    assert "埋设的不规范数据" in shown
    assert (target / "车辆.jsonl").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--operators", "-3"], "业户数量不能为负数"),
        (["--reject-share", "0.9"], "拒收行比例须在 0 到 0.5 之间"),
        (["--today", "2026-02-30"], "--today 应为 YYYY-MM-DD 格式的日期"),
        (["--format", "xls"], "--format 只能是 csv、jsonl、xlsx 之一"),
        (["--ecert-disabled", "沈阳"], "不是吉林省的地级行政区"),
    ],
)
def test_the_command_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli(), ["synth", "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # a clean exit, no traceback
    # The console wraps long lines: compare without whitespace.
    shown = "".join(result.stderr.split())
    assert "错误[synth.bad_option]" in shown
    assert "".join(message.split()) in shown


def test_the_command_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "业户.csv").write_text("旧文件", encoding="utf-8")
    result = CliRunner().invoke(cli(), ["synth", "-o", str(tmp_path)])
    assert result.exit_code == 2
    shown = "".join(result.stderr.split())
    assert "错误[synth.directory]" in shown and "不是空的" in shown
    assert (tmp_path / "业户.csv").read_text(encoding="utf-8") == "旧文件"
