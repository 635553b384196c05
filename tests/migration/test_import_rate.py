"""制证率 in the import report: report.json's ``collection`` is what ``roadcert quality --json``
gives (``collection_rates``), 0 % right after a first import, the real rate once e-certs are
issued; and the command prints it as a table or, with ``--json``, as the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from roadcert.certificates import bulk
from roadcert.certificates.collection import collection_rates, collection_summary
from roadcert.db import utcnow
from roadcert.kit.chinatime import china_date
from roadcert.migration.importer import Importer
from roadcert.migration.reader import ExportUnreadable
from roadcert.migration.synth import SynthOptions, synthesise
from roadcert.runtime import Runtime, Services
from tests.migration.exports import province
from tests.migration.test_import import database_env, invoke

__all__ = ["database_env"]  # the fixture, shared with test_import.py

YANBIAN = "222400"  # the prefecture whose authority is not switched to e-certs


def _report(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return loaded


def _import(runtime: Runtime, export: Path, report: Path) -> dict[str, Any]:
    Importer(runtime, actor="导入测试", parallel=False).run(export, report)
    return _report(report)


def _ledger_rates(session: Session, runtime: Runtime) -> dict[str, Any]:
    """What ``roadcert quality --json`` would print now."""
    session.expire_all()
    today = china_date(runtime.clock())
    return collection_summary(collection_rates(session, today), today)


def _issue_all(services: Services, runtime: Runtime) -> int:
    """``roadcert issue --all`` in this process: every slice, one after another."""
    work = bulk.plan(services.session, slice_size=50)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    issuer = bulk.SliceIssuer(runtime.sessions, runtime.store, runtime.settings)
    done = bulk.SliceResult()
    for piece in work.slices:
        done.add(issuer.run(piece))
    return done.issued


def _check_totals(collection: dict[str, Any]) -> None:
    """The 全省合计 row is the sum of the authorities' rows, and each rate is its quotient."""
    rows, total = collection["authorities"], collection["province_total"]
    for key in ("valid", "with_ecert", "issued_this_year", "activated_this_year"):
        assert total[key] == sum(r[key] for r in rows), key
    for kind, counts in total["by_kind"].items():
        for key in ("valid", "with_ecert"):
            assert counts[key] == sum(r["by_kind"][kind][key] for r in rows), (kind, key)
    for row in [*rows, total]:
        assert row["valid"] == sum(c["valid"] for c in row["by_kind"].values())
        assert row["with_ecert"] == sum(c["with_ecert"] for c in row["by_kind"].values())
        expected = row["with_ecert"] / row["valid"] if row["valid"] else None
        assert row["rate"] == pytest.approx(expected)
    found: dict[str, int] = {}
    for row in rows:
        for rule, count in row["non_standard"].items():
            found[rule] = found.get(rule, 0) + count
    assert total["non_standard"] == found
    assert collection["non_standard_total"] == sum(found.values())


def test_the_report_gives_the_baseline_rate_then_the_rate_after_issuance(
    runtime: Runtime, services: Services, session: Session, tmp_path: Path
) -> None:
    options = SynthOptions(
        operators=24,
        vehicles=70,
        practitioners=110,
        today=china_date(utcnow()),
        seed=7,
        non_standard_share=0.05,
        reject_share=0.02,
        photos=10,
        ecert_disabled=(YANBIAN,),
    )
    manifest = synthesise(options, tmp_path / "export").manifest
    expected = {a["uscc"]: a for a in manifest["authorities"]}

    first = _import(runtime, tmp_path / "export", tmp_path / "r1")
    collection = first["collection"]
    assert first["completed"] and first["collection_error"] is None
    assert first["collection_seconds"] >= 0
    assert collection == _ledger_rates(session, runtime)
    _check_totals(collection)
    # Right after a first import nothing is issued: every authority with valid certificates is
    # at 0 %, the baseline; the due counts are the manifest's valid certificates.
    rows = {r["uscc"]: r for r in collection["authorities"]}
    assert rows.keys() == expected.keys()
    for uscc, row in rows.items():
        assert row["valid"] == expected[uscc]["certificates_valid"], row["authority"]
        assert row["with_ecert"] == 0 and row["rate"] == (0.0 if row["valid"] else None)
        assert row["ecert_enabled"] == expected[uscc]["ecert_enabled"]
    total = collection["province_total"]
    assert total["valid"] == manifest["certificates_valid"]["total"] > 0
    assert {k: total["by_kind"][k]["valid"] for k in ("licence", "vehicle", "practitioner")} == {
        "licence": manifest["certificates_valid"]["licences"],
        "vehicle": manifest["certificates_valid"]["vehicles"],
        "practitioner": manifest["certificates_valid"]["practitioners"],
    }
    # Into an empty ledger, the open findings are those this import wrote.
    assert total["non_standard"] == dict(
        sorted(first["non_standard"].items(), key=lambda kv: (-kv[1], kv[0]))
    )
    assert total["non_standard"] == dict(
        sorted(manifest["non_standard"].items(), key=lambda kv: (-kv[1], kv[0]))
    )

    assert _issue_all(services, runtime) == manifest["ecerts"]["total"]

    again = _import(runtime, tmp_path / "export", tmp_path / "r2")
    assert again["totals"]["new"] == again["totals"]["updated"] == 0
    collection = again["collection"]
    assert collection == _ledger_rates(session, runtime)
    _check_totals(collection)
    for row in collection["authorities"]:
        wanted = expected[row["uscc"]]
        assert (row["valid"], row["with_ecert"]) == (
            wanted["certificates_valid"],
            wanted["ecerts"],
        ), row["authority"]
        if wanted["ecert_enabled"]:
            assert row["rate"] == pytest.approx(wanted["ecerts"] / wanted["certificates_valid"])
        else:
            assert row["rate"] == 0.0 and row["score"] == 0
    total = collection["province_total"]
    assert total["with_ecert"] == manifest["ecerts"]["total"]
    assert total["rate"] == pytest.approx(total["with_ecert"] / total["valid"])
    assert 0 < total["rate"] < 1  # the disabled authority and the refusals keep it below 1
    assert total["issued_this_year"] == manifest["ecerts"]["total"]


def test_a_stopped_import_still_reports_the_rate_and_it_can_be_left_out(
    runtime: Runtime, session: Session, tmp_path: Path
) -> None:
    folder = province(seed=21, operators=2, practitioners=4).write(tmp_path / "export")
    people = folder / "从业人员.csv"
    good = people.read_text(encoding="utf-8-sig")
    lines = good.split("\n")
    lines[3] = lines[3].replace("张", '"' + "张" * 140_000 + '"', 1)  # no CSV reader takes it
    people.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ExportUnreadable):
        Importer(runtime, batch=1, parallel=False).run(folder, tmp_path / "stopped")
    stopped = _report(tmp_path / "stopped")
    assert not stopped["completed"] and stopped["collection_error"] is None
    assert stopped["collection"] == _ledger_rates(session, runtime)
    # The licences and vehicles written before the bad line count, unissued.
    assert stopped["collection"]["province_total"]["by_kind"]["vehicle"]["valid"] == 4
    assert stopped["collection"]["province_total"]["with_ecert"] == 0

    people.write_text(good, encoding="utf-8")
    Importer(runtime, parallel=False, collect=False).run(folder, tmp_path / "bare")
    bare = _report(tmp_path / "bare")
    assert (bare["collection"], bare["collection_seconds"], bare["collection_error"]) == (
        None,
        None,
        None,
    )


def test_the_command_prints_the_rate_per_authority_and_gives_it_with_json(
    database_env: dict[str, str], tmp_path: Path
) -> None:
    export = province(seed=22, operators=2, practitioners=2)
    folder = export.write(tmp_path / "export")
    shown = invoke(database_env, str(folder), "--report", str(tmp_path / "r1"))
    assert shown.exit_code == 0, (shown.output, shown.exception)
    flat = re.sub(r"[\s│┃]", "", shown.stdout)  # rich wraps at 80 columns
    assert "导入后的制证率" in flat and "核发机关应制证已制证制证率" in flat
    authority = export.rows("authorities")[0]["核发机关名称"]
    # 2 licences, 4 vehicles and 2 practitioners, all valid, none issued yet (and the export
    # leaves the authority off e-certs).
    assert f"{authority}（未启用）800.0%" in flat
    assert "全省合计800.0%" in flat and "制证率统计用时" in flat

    as_json = invoke(database_env, str(folder), "--report", str(tmp_path / "r2"), "--json")
    assert as_json.exit_code == 0, (as_json.output, as_json.exception)
    printed = json.loads(as_json.stdout)
    assert printed == _report(tmp_path / "r2")
    assert printed["totals"]["unchanged"] == printed["totals"]["rows"]
    total = printed["collection"]["province_total"]
    assert (total["valid"], total["with_ecert"], total["rate"]) == (8, 0, 0.0)
    assert [r["authority"] for r in printed["collection"]["authorities"]] == [authority]
