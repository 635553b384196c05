"""``roadcert import`` on SQLite and PostgreSQL: what enters the ledger, what is rejected and why,
re-imports, newer exports and their e-cert effects, interruptions, the report and the command."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from roadcert.audit.models import AuditEvent
from roadcert.certificates.models import Ecert, EcertStatus, Operation, SourceKind
from roadcert.config import get_settings
from roadcert.db import utcnow
from roadcert.migrate import upgrade
from roadcert.migration.import_cli import import_
from roadcert.migration.importer import REJECT_HEADERS, Importer, ImportResult
from roadcert.migration.reader import ExportUnreadable, discover
from roadcert.migration.repository import LICENCE, OPERATOR, ImportRepository
from roadcert.migration.rows import messages
from roadcert.registry.models import (
    Authority,
    LedgerHistory,
    Licence,
    Operator,
    Photo,
    Practitioner,
    Qualification,
    QualityIssue,
    Vehicle,
)
from roadcert.registry.service import findings_of
from roadcert.runtime import Runtime, Services
from tests import factories as f
from tests.conftest import postgres_schema, postgres_url_for
from tests.factories import png
from tests.migration.exports import TODAY, province

# -- helpers -------------------------------------------------------------------------------------


def run(
    runtime: Runtime, folder: Path, report: Path, **options: Any
) -> tuple[ImportResult, list[dict[str, str]]]:
    """Import ``folder`` in this process; the result and the lines of rejects.csv."""
    options.setdefault("parallel", False)
    result = Importer(runtime, actor="导入测试", **options).run(folder, report)
    with (report / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    return result, lines


def counts(result: ImportResult) -> dict[str, tuple[int, int, int, int, int]]:
    """rows, new, updated, unchanged, rejected of each table."""
    return {
        name: (t.rows, t.new, t.updated, t.unchanged, t.rejected)
        for name, t in result.tables.items()
    }


def ledger(session: Session) -> dict[str, Any]:
    """The ledger's content by export keys (no ids, no timestamps), to compare two imports."""
    session.expire_all()
    operators = {o.id: o.legacy_id for o in session.scalars(select(Operator))}
    people = {p.id: p.certificate_number for p in session.scalars(select(Practitioner))}
    photos = {p.id: p.sm3 for p in session.execute(select(Photo.id, Photo.sm3))}
    licences = {lic.id: lic.number for lic in session.scalars(select(Licence))}
    vehicles = {v.id: v.transport_number for v in session.scalars(select(Vehicle))}
    keys = {"operator": operators, "practitioner": people, "licence": licences, "vehicle": vehicles}

    def columns(record: Any, *skip: str) -> tuple[Any, ...]:
        leave = {"id", "created_at", "updated_at", *skip}
        return tuple(
            (c.key, getattr(record, c.key))
            for c in record.__mapper__.column_attrs
            if c.key not in leave
        )

    return {
        "authorities": sorted(columns(a) for a in session.scalars(select(Authority))),
        "operators": sorted(columns(o, "authority_id") for o in session.scalars(select(Operator))),
        "licences": sorted(
            (operators[lic.operator_id], columns(lic, "operator_id", "authority_id"))
            for lic in session.scalars(select(Licence))
        ),
        "vehicles": sorted(
            (
                operators[v.operator_id],
                photos.get(v.photo_id or 0),
                columns(v, "operator_id", "authority_id", "licence_id", "photo_id"),
            )
            for v in session.scalars(select(Vehicle))
        ),
        "practitioners": sorted(
            (photos.get(p.photo_id or 0), columns(p, "authority_id", "photo_id"))
            for p in session.scalars(select(Practitioner))
        ),
        "qualifications": sorted(
            (people[q.practitioner_id], columns(q, "practitioner_id", "authority_id"))
            for q in session.scalars(select(Qualification))
        ),
        "issues": sorted(
            (i.entity, keys[i.entity][i.entity_id], i.field, i.rule, i.value, i.resolved_at is None)
            for i in session.scalars(select(QualityIssue))
        ),
        "photos": sorted(photos.values()),
    }


@contextmanager
def rolled_back(session: Session) -> Iterator[None]:
    """Work that is undone afterwards (the importer's sessions share the test's connection)."""
    nested = session.begin_nested()
    session.connection()  # emit the SAVEPOINT now, before the importer's own
    try:
        yield
    finally:
        nested.rollback()


def total(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def issue_everything(services: Services, refused: int = 0) -> list[Ecert]:
    """Switch every authority on and issue every e-cert the ledger gives (``refused`` are not:
    不规范数据)."""
    session = services.session
    for authority in session.scalars(select(Authority)):
        services.ledger.set_ecert_enabled(authority.id, True)
    records: list[Any] = [
        *session.scalars(select(Licence)),
        *session.scalars(select(Vehicle)),
        *session.scalars(select(Practitioner)),
    ]
    effect = services.business.issue_all(records)
    assert len(effect.refused) == refused, [r.message for r in effect.refused]
    session.flush()
    return effect.issued


def current(session: Session, kind: SourceKind, source_id: int) -> list[Ecert]:
    return list(
        session.scalars(
            select(Ecert)
            .where(Ecert.source_kind == kind, Ecert.source_id == source_id)
            .order_by(Ecert.id)
        )
    )


# -- formats -------------------------------------------------------------------------------------


def test_csv_json_lines_and_xlsx_give_the_same_ledger(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=3, operators=2, practitioners=3)
    dumps = {}
    for fmt in ("csv", "jsonl", "xlsx"):
        folder = export.write(tmp_path / fmt, fmt)
        with rolled_back(session):
            result, rejects = run(runtime, folder, tmp_path / f"report-{fmt}")
            assert rejects == []
            assert counts(result) == {
                "authorities": (1, 1, 0, 0, 0),
                "operators": (2, 2, 0, 0, 0),
                "licences": (2, 2, 0, 0, 0),
                "vehicles": (4, 4, 0, 0, 0),
                "practitioners": (3, 3, 0, 0, 0),
                "qualifications": (3, 3, 0, 0, 0),
            }
            dumps[fmt] = ledger(session)
    assert dumps["csv"] == dumps["jsonl"] == dumps["xlsx"]
    vehicles = dumps["csv"]["vehicles"]
    assert len(vehicles) == 4 and all(photo for _op, photo, _cols in vehicles)
    assert len(dumps["csv"]["photos"]) == 4 + 3
    assert dumps["csv"]["issues"] == []  # every generated record is standard data


def test_chinese_labels_give_the_same_records_as_codes(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=4, operators=1, practitioners=1)
    with rolled_back(session):
        run(runtime, export.write(tmp_path / "codes"), tmp_path / "r1")
        with_codes = ledger(session)
    labelled = province(seed=4, operators=1, practitioners=1)
    labelled.rows("operators")[0].update(
        {"经济类型": "私营有限责任（公司）", "经营状态": "营业（营运）"}
    )
    labelled.rows("licences")[0].update(
        {"证照类型": "道路运输经营许可证", "经营范围": "道路普通货物运输"}
    )
    for vehicle in labelled.rows("vehicles"):
        vehicle.update(
            {
                "车牌颜色": "黄色",
                "车辆类型": "重型普通货车",
                "经营范围": "道路普通货物运输",
                "技术等级": "一级",
                "车辆运行状态": "营运",
            }
        )
    labelled.rows("practitioners")[0].update({"证件类型": "公民身份号码", "性别": "男"})
    labelled.rows("qualifications")[0]["从业资格类别"] = "经营性道路货物运输驾驶员"
    run(runtime, labelled.write(tmp_path / "labels"), tmp_path / "r2")
    # Labels are read as their codes, so even the digests agree: switching an export from
    # labels to codes is no change.
    assert ledger(session) == with_codes


# -- rejections ----------------------------------------------------------------------------------


def test_every_structural_rule_rejects_its_row_with_one_line_per_problem(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=5, operators=3, practitioners=4)
    operators, licences, vehicles = (export.rows(t) for t in ("operators", "licences", "vehicles"))
    people, qualifications = export.rows("practitioners"), export.rows("qualifications")
    first, second = vehicles[0], vehicles[1]

    def vehicle(n: int, **cells: Any) -> None:
        vehicles.append(
            {
                **first,
                "道路运输证号": f"吉交运管长字220100{900000 + n}号",
                "车牌号码": f"吉A9{n:04d}",
                **cells,
            }
        )

    operators.append({**operators[0], "业户名称": "同一业户编号"})  # line 5
    operators.append({**operators[0], "业户编号": "YH-NONAME", "业户名称": ""})  # line 6
    licences.append(
        {
            **licences[0],
            "许可证号": "吉交运管许可长字220102999991号",
            "有效期止": "2024-13-01",
            "状态": "作废",
        }
    )  # line 5
    licences.append(
        {**licences[0], "许可证号": "吉交运管许可长字220102999992号", "业户编号": "YH-NONAME"}
    )
    vehicle(8, 核定座位="五座")
    vehicle(9, 车牌号码=second["车牌号码"])  # the plate of the vehicle on line 3
    vehicle(10, 业户编号="YH-NOT-THERE", 许可证号="吉交运管许可无此证")
    vehicle(11, 网约车="也许")
    vehicle(12, 照片="photos/missing.png")
    vehicle(13, 核定座位="300")
    vehicle(14, 核发机关代码="11220100MB0000000X")
    vehicles.append({**first, "车牌号码": "吉A90015"})  # line 15: 道路运输证号 again
    people.append({**people[0], "从业资格证号": "220000000000000001"})  # line 6: same 证件号码
    qualifications.append(
        {
            **qualifications[0],
            "从业资格类别": "01001",
            "有效期起": "2030-01-01",
            "有效期止": "2029-12-31",
        }
    )  # line 6
    qualifications.append({**qualifications[0], "从业资格证号": "220000000000000000"})  # line 7
    qualifications.append(dict(qualifications[0]))  # line 8
    qualifications.append({**qualifications[1], "从业资格类别": " "})  # line 9
    result, rejects = run(runtime, export.write(tmp_path / "export"), tmp_path / "report")

    assert list(rejects[0]) == list(REJECT_HEADERS)
    assert [(r["文件"], r["行号"], r["字段"], r["规则"]) for r in rejects] == [
        ("业户.csv", "5", "业户编号", "key.duplicate"),
        ("业户.csv", "6", "业户名称", "required"),
        ("经营许可证.csv", "5", "有效期止", "date.invalid"),
        ("经营许可证.csv", "5", "状态", "status.format"),
        ("经营许可证.csv", "6", "业户编号", "reference.operator"),
        ("车辆.csv", "8", "核定座位", "integer.format"),
        ("车辆.csv", "9", "车牌号码", "unique.plate"),
        ("车辆.csv", "10", "业户编号", "reference.operator"),
        ("车辆.csv", "10", "许可证号", "reference.licence"),
        ("车辆.csv", "11", "网约车", "flag.format"),
        ("车辆.csv", "12", "照片", "photo.missing"),
        ("车辆.csv", "13", "核定座位", "schema.less_than_equal"),
        ("车辆.csv", "14", "核发机关代码", "reference.authority"),
        ("车辆.csv", "15", "道路运输证号", "key.duplicate"),
        ("从业人员.csv", "6", "证件号码", "unique.id_number"),
        ("从业资格.csv", "6", "有效期止", "validity.order"),
        ("从业资格.csv", "7", "从业资格证号", "reference.practitioner"),
        ("从业资格.csv", "8", "从业资格证号", "key.duplicate"),
        ("从业资格.csv", "9", "从业资格类别", "required"),
    ]
    line = {(r["表"], r["行号"], r["规则"]): r for r in rejects}
    duplicate = line[("业户", "5", "key.duplicate")]
    assert duplicate["记录键"] == duplicate["值"] == operators[0]["业户编号"]
    plate = line[("车辆", "9", "unique.plate")]
    assert plate["值"] == second["车牌号码"] and second["道路运输证号"] in plate["原因"]
    assert line[("车辆", "8", "integer.format")]["值"] == "五座"
    assert line[("车辆", "13", "schema.less_than_equal")]["原因"] == "数值过大：不得大于 200"
    assert line[("经营许可证", "6", "reference.operator")]["值"] == "YH-NONAME"
    assert line[("从业资格", "6", "validity.order")]["原因"].startswith("有效期止 2029-12-31")
    assert (
        line[("从业资格", "8", "key.duplicate")]["记录键"] == f"{people[0]['从业资格证号']}/02001"
    )
    assert counts(result) == {
        "authorities": (1, 1, 0, 0, 0),
        "operators": (5, 3, 0, 0, 2),
        "licences": (5, 3, 0, 0, 2),
        "vehicles": (14, 6, 0, 0, 8),
        "practitioners": (5, 4, 0, 0, 1),
        "qualifications": (8, 4, 0, 0, 4),
    }
    # Nothing rejected entered the ledger.
    assert total(session, Operator) == 3 and total(session, Vehicle) == 6
    assert session.scalar(select(func.count()).where(Operator.name == "同一业户编号")) == 0
    assert total(session, Qualification) == 4


# -- 不规范数据 ------------------------------------------------------------------------------------


def test_non_standard_rows_are_kept_with_the_findings_the_ledger_keeps(
    runtime: Runtime, services: Services, session: Session, tmp_path: Path
) -> None:
    export = province(seed=7, operators=2, practitioners=2)
    operator = export.rows("operators")[0]
    operator["统一社会信用代码"] = operator["统一社会信用代码"][:-1] + (
        "0" if operator["统一社会信用代码"][-1] != "0" else "1"
    )
    export.rows("vehicles")[0].update({"车辆类型": "Z99", "经营范围": "02101；99999"})
    export.rows("qualifications")[1]["从业资格类别"] = "88888"
    result, rejects = run(runtime, export.write(tmp_path / "export"), tmp_path / "report")
    assert rejects == []
    assert result.tables["operators"].non_standard == Counter({"uscc.check_char": 1})
    assert result.tables["vehicles"].non_standard == Counter(
        {"vehicle_type.code_table": 1, "business_scopes.code_table": 1}
    )
    assert result.tables["qualifications"].non_standard == Counter(
        {"qualifications.category.code_table": 1}
    )
    records: list[Any] = [
        *session.scalars(select(Operator)),
        *session.scalars(select(Licence)),
        *session.scalars(select(Vehicle)),
        *session.scalars(select(Practitioner)),
    ]
    flagged = 0
    for record in records:
        open_ = services.ledger.repo.open_issues(type(record).__name__.lower(), record.id)
        expected = {(f.field, f.rule, f.message, f.value) for f in findings_of(record)}
        assert {(i.field, i.rule, i.message, i.value) for i in open_} == expected
        flagged += bool(expected)
        # The ledger's own bookkeeping agrees: refreshing changes nothing.
        services.ledger.refresh_quality(record)
        session.flush()
        assert {
            (i.field, i.rule)
            for i in services.ledger.repo.open_issues(type(record).__name__.lower(), record.id)
        } == {(f, r) for f, r, _m, _v in expected}
    assert flagged == 3
    assert total(session, QualityIssue) == 4
    assert session.scalar(select(func.count()).where(QualityIssue.resolved_at.is_not(None))) == 0


# -- report --------------------------------------------------------------------------------------


def test_report_json_counts_add_up_and_the_import_is_audited(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=8, operators=2, practitioners=2)
    export.rows("practitioners")[0]["出生日期"] = "1980年"
    result, _rejects = run(runtime, export.write(tmp_path / "export"), tmp_path / "report")
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert report["completed"] and report["balanced"] and result.balanced
    for name, table in report["tables"].items():
        assert table["rows"] == sum(table[k] for k in ("new", "updated", "unchanged", "rejected"))
        assert table["files"] == [f"{table['title']}.csv"], name
    assert report["totals"] == {"rows": 13, "new": 11, "updated": 0, "unchanged": 0, "rejected": 2}
    assert report["rejects"] == {"file": "rejects.csv", "lines": 2}
    assert report["rows_per_second"] > 0 and report["elapsed_seconds"] > 0
    assert report["actor"] == "导入测试" and report["error"] is None
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "registry:import:completed")
    ).one()
    assert event.actor == "导入测试" and event.details["rejected"] == 2
    # A record the import creates has the run as its provenance, not a history entry of its
    # own: the audit event above, the report, and the digest of the row it came from.
    # (The authority is entered through LedgerService, which records it as a clerk's entry.)
    assert session.scalars(select(LedgerHistory.entity)).all() == ["authority"]
    vehicles = session.scalars(select(Vehicle)).all()
    assert len(vehicles) == 4 and all(len(v.import_digest or "") == 32 for v in vehicles)


def test_a_default_report_folder_sits_next_to_the_input(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    folder = province(seed=9, operators=1, practitioners=1).write(tmp_path / "export")
    result = Importer(runtime, parallel=False).run(folder)
    assert result.report_dir.parent == tmp_path
    assert result.report_dir.name.startswith("export.import-")
    assert (result.report_dir / "report.json").is_file()


# -- re-import and newer exports -----------------------------------------------------------------


def test_reimporting_the_same_export_changes_nothing(
    runtime: Runtime, services: Services, session: Session, tmp_path: Path
) -> None:
    export = province(seed=10, operators=2, practitioners=2)
    export.rows("vehicles")[0]["车辆类型"] = "Z99"  # one finding, to see it is not opened twice
    folder = export.write(tmp_path / "export")
    run(runtime, folder, tmp_path / "r1")
    issue_everything(services, refused=1)
    before = ledger(session)
    sizes = {m.__name__: total(session, m) for m in (Ecert, LedgerHistory, QualityIssue, Photo)}
    assert sizes["Ecert"] == 2 + 3 + 2  # licences, vehicles (one is non-standard), practitioners
    result, rejects = run(runtime, folder, tmp_path / "r2")
    assert rejects == []
    assert all(t.unchanged == t.rows for t in result.tables.values())
    assert ledger(session) == before
    assert {m.__name__: total(session, m) for m in (Ecert, LedgerHistory, QualityIssue, Photo)} == (
        sizes
    )


def test_a_newer_export_goes_through_the_business_operations(
    runtime: Runtime, services: Services, session: Session, tmp_path: Path
) -> None:
    old = province(seed=11, operators=2, practitioners=2)
    run(runtime, old.write(tmp_path / "v1"), tmp_path / "r1")
    issue_everything(services)
    ecerts_before = total(session, Ecert)

    new = province(seed=11, operators=2, practitioners=2)
    changed_vehicle = new.rows("vehicles")[0]
    changed_vehicle["厂牌型号"] = "东风牌DFH1250"
    renewed = new.rows("licences")[1]
    renewed.update(
        {
            "有效期起": TODAY,
            "有效期止": TODAY + timedelta(days=2000),
            "发证日期": TODAY,
        }
    )
    person, other = new.rows("practitioners")
    new.rows("qualifications")[0]["状态"] = "注销"
    new.rows("qualifications").append(
        {
            "从业资格证号": other["从业资格证号"],
            "从业资格类别": "01001",
            "有效期起": TODAY,
            "有效期止": TODAY + timedelta(days=1500),
        }
    )
    photo_vehicle = new.rows("vehicles")[2]
    new.photos[photo_vehicle["照片"]] = png(colour=(1, 2, 3))
    moved = new.rows("vehicles")[3]
    moved["业户编号"] = new.rows("operators")[0]["业户编号"]  # 过户 is no import business
    del new.rows("vehicles")[1]  # absent from the newer export: kept, not deleted
    result, rejects = run(runtime, new.write(tmp_path / "v2"), tmp_path / "r2")

    assert [(r["表"], r["规则"], r["字段"]) for r in rejects] == [
        ("车辆", "change.unsupported", "业户编号")
    ]
    assert counts(result) == {
        "authorities": (1, 0, 0, 1, 0),
        "operators": (2, 0, 0, 2, 0),
        "licences": (2, 0, 1, 1, 0),
        "vehicles": (3, 0, 2, 0, 1),
        "practitioners": (2, 0, 0, 2, 0),
        "qualifications": (3, 1, 1, 1, 0),
    }
    assert total(session, Vehicle) == 4

    vehicle = session.scalars(
        select(Vehicle).where(Vehicle.transport_number == changed_vehicle["道路运输证号"])
    ).one()
    versions = current(session, SourceKind.VEHICLE, vehicle.id)
    assert [(e.version, e.status, e.operation) for e in versions] == [
        (1, EcertStatus.SUPERSEDED, Operation.NEW),
        (2, EcertStatus.VALID, Operation.CHANGE),
    ]
    assert vehicle.brand_model == "东风牌DFH1250"
    history = services.ledger.repo.history("vehicle", vehicle.id)
    assert [h.operation for h in history] == ["change"]  # an imported record starts without
    assert (
        history[-1].actor == "导入测试" and history[-1].snapshot["brand_model"] == "东风牌DFH1250"
    )

    licence = session.scalars(select(Licence).where(Licence.number == renewed["许可证号"])).one()
    assert (licence.valid_until, licence.issue_date) == (TODAY + timedelta(days=2000), TODAY)
    versions = current(session, SourceKind.LICENCE, licence.id)
    assert [(e.version, e.operation) for e in versions] == [
        (1, Operation.NEW),
        (2, Operation.RENEW),
    ]

    photographed = session.scalars(
        select(Vehicle).where(Vehicle.transport_number == photo_vehicle["道路运输证号"])
    ).one()
    assert [e.version for e in current(session, SourceKind.VEHICLE, photographed.id)] == [1, 2]

    cancelled = session.scalars(
        select(Practitioner).where(Practitioner.certificate_number == person["从业资格证号"])
    ).one()
    assert [e.status for e in current(session, SourceKind.PRACTITIONER, cancelled.id)] == [
        EcertStatus.REVOKED
    ]
    added = session.scalars(
        select(Practitioner).where(Practitioner.certificate_number == other["从业资格证号"])
    ).one()
    assert sorted(q.category for q in added.qualifications) == ["01001", "02001"]
    versions = current(session, SourceKind.PRACTITIONER, added.id)
    assert [(e.version, e.status) for e in versions] == [
        (1, EcertStatus.SUPERSEDED),
        (2, EcertStatus.VALID),
    ]
    operations = [h.operation for h in services.ledger.repo.history("practitioner", added.id)]
    assert operations[-1] == "add_qualification"
    assert total(session, Ecert) == ecerts_before + 4  # vehicle ×2, licence, practitioner

    # The same newer export again: nothing more happens.
    again, rejects = run(runtime, new.write(tmp_path / "v2-again"), tmp_path / "r3")
    assert [r["规则"] for r in rejects] == ["change.unsupported"]
    assert sum(t.updated + t.new for t in again.tables.values()) == 0
    assert total(session, Ecert) == ecerts_before + 4


# -- interruption --------------------------------------------------------------------------------


def test_a_bad_byte_anywhere_refuses_the_export_before_anything_is_written(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=12, operators=1, practitioners=3)
    folder = export.write(tmp_path / "export")
    people = folder / "从业人员.csv"
    lines = people.read_bytes().split(b"\n")
    lines[3] = lines[3].replace("张".encode(), b"\xff\xfe", 1)
    people.write_bytes(b"\n".join(lines))
    with pytest.raises(ExportUnreadable) as refused:
        run(runtime, folder, tmp_path / "report")
    assert refused.value.code == "import.encoding"
    assert refused.value.message.startswith("从业人员.csv 第 4 行不是有效的 UTF-8 编码")
    assert total(session, Authority) == 0 and not (tmp_path / "report").exists()


@pytest.mark.parametrize("parallel", [True, False], ids=["checking-process", "one-process"])
def test_an_import_stopped_by_a_bad_file_keeps_its_batches_and_a_rerun_completes_it(
    runtime: Runtime, session: Session, tmp_path: Path, parallel: bool
) -> None:
    export = province(seed=12, operators=2, practitioners=7)
    folder = export.write(tmp_path / "export")
    with rolled_back(session):
        run(runtime, folder, tmp_path / "clean", batch=2)
        expected = ledger(session)

    people = folder / "从业人员.csv"
    good = people.read_text(encoding="utf-8-sig")
    lines = good.split("\n")
    # Line 7, in the third batch: a cell run on past what any CSV reader accepts.
    lines[6] = lines[6].replace("张", '"' + "张" * 140_000 + '"', 1)
    people.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ExportUnreadable) as stopped:
        # The checking process (or thread, on PostgreSQL) reads ahead and stops at line 7; the
        # writer still commits the two batches before it.
        run(runtime, folder, tmp_path / "stopped", batch=2, parallel=parallel)
    assert stopped.value.code == "import.unreadable" and "第 7 行无法解析" in stopped.value.message
    report = json.loads((tmp_path / "stopped" / "report.json").read_text(encoding="utf-8"))
    assert not report["completed"] and report["error"]["code"] == "import.unreadable"
    assert report["tables"]["practitioners"]["new"] == 4  # lines 2–5: two batches committed
    assert "qualifications" not in report["tables"]
    assert total(session, Practitioner) == 4 and total(session, Qualification) == 0

    people.write_text(good, encoding="utf-8")
    result, rejects = run(runtime, folder, tmp_path / "rerun", batch=2)
    assert rejects == []
    assert counts(result)["practitioners"] == (7, 3, 0, 4, 0)
    assert counts(result)["vehicles"] == (4, 0, 0, 4, 0)
    assert ledger(session) == expected


# -- photos --------------------------------------------------------------------------------------


def test_a_photo_is_stored_once_whatever_the_files_that_hold_it(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    export = province(seed=13, operators=2, practitioners=1)
    picture = png(colour=(9, 9, 9))
    vehicles = export.rows("vehicles")
    for index, vehicle in enumerate(vehicles):
        vehicle["照片"] = "photos/shared.png" if index < 2 else f"photos/copy{index}.png"
        export.photos[vehicle["照片"]] = picture
    vehicles[3]["照片"] = "../outside.png"
    export.rows("practitioners")[0]["照片"] = "photos\\shared.png"  # Windows separators
    result, rejects = run(runtime, export.write(tmp_path / "export"), tmp_path / "report")
    assert [(r["行号"], r["规则"]) for r in rejects] == [("5", "photo.path")]
    assert total(session, Photo) == 1
    assert {v.photo_id for v in session.scalars(select(Vehicle))} == set(
        session.scalars(select(Photo.id))
    )
    assert counts(result)["practitioners"] == (1, 1, 0, 0, 0)


# -- bulk writes and look-ups (repository.py) -----------------------------------------------------

# Keys and texts that COPY, a delimited parameter or a JSON list could get wrong: separators of
# every kind, COPY's escapes, quotes, blanks, Chinese.
AWKWARD = [
    "逗号,分号;",
    "制表\t符",
    "换\n行\r",
    "反斜杠\\N",
    "单元\x1f分隔",
    "  前后空格  ",
    "引号\"'{}",
    "",
    "NULL",
    "中文名称",
]


def test_bulk_writes_read_back_as_written_and_look_ups_find_every_key(
    services: Services, session: Session
) -> None:
    authority = f.authority(services)
    repo = ImportRepository(session)
    now = utcnow()
    ids = repo.allocate_ids(OPERATOR, len(AWKWARD))
    rows: list[dict[str, Any]] = [
        {
            "id": record_id,
            "authority_id": authority.id,
            "name": text,
            "uscc": None,
            "address": text,
            "region_code": "220102",
            "economic_type": None,
            "status": "1",
            "legacy_id": text,
            "import_digest": f"digest-{record_id}",
            "created_at": now,
            "updated_at": now,
        }
        for record_id, text in zip(ids, AWKWARD, strict=True)
    ]
    repo.write(OPERATOR, rows)
    # Ids are never given twice, nor the ids of rows already written.
    assert len(set(ids)) == len(AWKWARD) and not set(repo.allocate_ids(OPERATOR, 3)) & set(ids)
    assert repo.allocate_ids(OPERATOR, 0) == []
    licence_id = repo.allocate_ids(LICENCE, 1)[0]
    scopes = ["02101", "带,逗号", '引"号', "反\\斜", "\x1f"]
    licence = {
        "id": licence_id,
        "operator_id": ids[0],
        "authority_id": authority.id,
        "type_code": "100",
        "number": "吉交运管许可长字220102000001号",
        "business_scopes": scopes,
        "valid_from": date(2024, 2, 29),
        "valid_until": date(2030, 12, 31),
        "issue_date": date(1999, 1, 1),
        "status": "有效",
        "import_digest": None,
        "created_at": now,
        "updated_at": now,
    }
    repo.write(LICENCE, [licence])
    session.expire_all()
    stored = {o.id: o for o in session.scalars(select(Operator).where(Operator.id.in_(ids)))}
    for row in rows:
        operator = stored[row["id"]]
        assert (operator.name, operator.address, operator.legacy_id) == (row["name"],) * 3
        assert operator.uscc is None and operator.economic_type is None
        assert operator.created_at == now and operator.updated_at == now
    written = session.get(Licence, licence_id)
    assert written is not None and written.business_scopes == scopes
    assert (written.valid_from, written.valid_until, written.issue_date) == (
        date(2024, 2, 29),
        date(2030, 12, 31),
        date(1999, 1, 1),
    )
    expected = {row["legacy_id"]: (row["id"], row["import_digest"]) for row in rows}
    # Keys a delimited text carries, then all of them (an empty key, the separator itself).
    plain = [k for k in AWKWARD if k and "\x1f" not in k]
    found = repo.by_key(OPERATOR, "legacy_id", [*plain, *plain, "不存在"], "import_digest")
    assert found == {k: expected[k] for k in plain}
    assert repo.by_key(OPERATOR, "legacy_id", [*AWKWARD, "不存在"], "import_digest") == expected
    assert repo.by_key(OPERATOR, "legacy_id", []) == {}
    assert set(repo.rows(OPERATOR, [*ids, *ids, 10**9])) == set(ids)
    assert repo.rows(OPERATOR, []) == {}


def test_a_batch_plans_its_look_ups_without_parallel_workers(session: Session) -> None:
    ImportRepository(session).serial_plans()
    if session.get_bind().dialect.name == "postgresql":
        assert session.scalar(text("SHOW max_parallel_workers_per_gather")) == "0"


class _Intervals:
    """A progress display that notes, as batches are written, the interpreter's switch interval
    and how many listeners watch the engine's statements."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen: list[tuple[float, int]] = []

    def start(self, source: Any, total: int) -> None:
        pass

    def advance(self, source: Any, position: int) -> None:
        listeners = len(self.runtime.engine.dispatch.before_cursor_execute)
        self.seen.append((sys.getswitchinterval(), listeners))

    def finish(self, source: Any) -> None:
        pass


def test_checking_in_a_thread_takes_turns_with_the_writer_only_while_it_runs(
    runtime: Runtime, tmp_path: Path
) -> None:
    before = (sys.getswitchinterval(), len(runtime.engine.dispatch.before_cursor_execute))
    progress = _Intervals(runtime)
    export = province(seed=15, operators=2, practitioners=2).write(tmp_path / "export")
    result, _ = run(runtime, export, tmp_path / "report", progress=progress, batch=2)
    assert result.completed and result.balanced and progress.seen
    # PostgreSQL checks in a thread beside the writer; SQLite in the writer itself.
    threaded = runtime.engine.dialect.name == "postgresql"
    for interval, listeners in progress.seen:
        assert (interval <= 0.0005) is threaded and (listeners > before[1]) is threaded
    after = (sys.getswitchinterval(), len(runtime.engine.dispatch.before_cursor_execute))
    assert after == before


def test_a_checking_thread_paces_itself_every_few_rows(tmp_path: Path) -> None:
    export = province(seed=16, operators=20, practitioners=20).write(tmp_path / "export")
    paced: list[int] = []
    batches = [
        m
        for m in messages(discover(export), "utf-8", 1000, lambda: paced.append(1))
        if m[0] == "batch"
    ]
    rows = sum(len(m[3]) for m in batches)
    assert rows > 100 and len(paced) >= rows // 16 - len(batches)


# -- a synthetic province, in two processes ------------------------------------------------------


def test_a_synthetic_export_imports_as_its_manifest_says(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    from roadcert.migration.synth import SynthOptions, synthesise

    options = SynthOptions(
        operators=40,
        vehicles=120,
        practitioners=200,
        today=date.today(),
        seed=5,
        non_standard_share=0.05,
        reject_share=0.03,
    )
    manifest = synthesise(options, tmp_path / "export").manifest
    result, rejects = run(runtime, tmp_path / "export", tmp_path / "report", parallel=True)
    for name, table in result.tables.items():
        assert table.rows == manifest["rows"][name], name
        assert table.rejected == sum(manifest["rejected"][name].values()), name
        assert table.new == manifest["accepted"][name], name
    found = Counter[str]()
    for table in result.tables.values():
        found.update(table.non_standard)
    assert dict(found) == manifest["non_standard"]
    rejected_rows = {(r["表"], r["行号"]) for r in rejects}
    assert len(rejected_rows) == manifest["rejected_total"]


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a ``roadcert`` command on a migrated database of each backend."""
    env = {"ROADCERT_ENV": "test", "ROADCERT_DATA_DIR": str(tmp_path / "data")}
    if request.param == "sqlite":
        env["ROADCERT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'roadcert.db'}"
        upgrade(env["ROADCERT_DATABASE_URL"])
        yield env
        return
    for schema in postgres_schema("rc_import"):
        env["ROADCERT_DATABASE_URL"] = postgres_url_for(schema)
        upgrade(env["ROADCERT_DATABASE_URL"])
        yield env


def invoke(env: dict[str, str], *args: str) -> Any:
    app = typer.Typer()
    app.command("import")(import_)
    app.command("noop")(lambda: None)  # two commands, so "import" is named as on roadcert
    get_settings.cache_clear()
    try:
        return CliRunner(env=env).invoke(app, ["import", *args])
    finally:
        get_settings.cache_clear()


def test_the_command_prints_a_chinese_summary_that_adds_up(
    database_env: dict[str, str], tmp_path: Path
) -> None:
    export = province(seed=14, operators=1, practitioners=1)
    export.rows("vehicles")[0]["核定座位"] = "很多"
    folder = export.write(tmp_path / "export")
    result = invoke(database_env, str(folder), "--report", str(tmp_path / "r"), "--batch", "2")
    assert result.exit_code == 0, (result.output, result.exception)
    shown = "".join(result.stdout.split())  # rich wraps at 80 columns
    assert "存量数据导入结果" in shown and "合计" in shown
    assert "行数=新增+更新+未变+拒收，一致" in shown
    assert "拒收问题1条" in shown
    again = invoke(database_env, str(folder), "--report", str(tmp_path / "r2"))
    assert again.exit_code == 0
    report = json.loads((tmp_path / "r2" / "report.json").read_text(encoding="utf-8"))
    assert report["totals"]["unchanged"] == 6 and report["totals"]["new"] == 0


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda d: d / "nothing-here", "import.not_found", "找不到导入路径"),
        (
            lambda d: _file(d / "车队.csv", "车牌号码\n吉A12345\n"),
            "import.unknown_table",
            "不是已知的表",
        ),
        (lambda d: _file(d / "业户.csv", "业户编号\nYH1\n"), "import.header", "缺少必填列"),
        (
            lambda d: _bytes(d / "业户.csv", "业户编号,名称\n".encode("gb18030")),
            "import.encoding",
            "--encodinggb18030",
        ),
    ],
)
def test_the_command_refuses_bad_input_in_chinese_without_a_traceback(
    database_env: dict[str, str], tmp_path: Path, make: Any, code: str, words: str
) -> None:
    path = make(tmp_path)
    result = invoke(database_env, str(path))
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("错误") and f"[{code}]" in result.stderr
    assert words in "".join(result.stderr.split())


def _file(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def _bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
