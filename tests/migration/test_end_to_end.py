"""The whole migration as a province runs it: synth → import → issue --all → quality.

The synthetic export's manifest says exactly how many rows must be rejected, how many
certificates must get an e-cert and how many must be refused for each reason; the three commands
run as separate processes against a database file (and a PostgreSQL schema) and must agree.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.db import make_engine
from roadcert.migrate import upgrade
from tests.conftest import postgres_schema, postgres_url_for

ROADCERT = str(Path(sys.executable).with_name("roadcert"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'province.db'}"
        upgrade(url)
        yield url
    else:
        for schema in postgres_schema("rc_e2e"):
            url = postgres_url_for(schema)
            upgrade(url)
            yield url


def _roadcert(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [ROADCERT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done


def test_synth_import_issue_agree_with_the_manifest(database: str, tmp_path: Path) -> None:
    env = os.environ | {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATABASE_URL": database,
        "ROADCERT_DATA_DIR": str(tmp_path / "data"),
        "ROADCERT_KEY_PASSPHRASE": "e2e-passphrase",
        "ROADCERT_PROVINCE_CODE": "220000",
    }
    export = tmp_path / "export"
    _roadcert(
        env,
        tmp_path,
        "synth",
        "-o",
        str(export),
        "--operators",
        "60",
        "--vehicles",
        "180",
        "--practitioners",
        "360",
        "--non-standard-share",
        "0.05",
        "--reject-share",
        "0.02",
        "--photos",
        "20",
    )
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))

    _roadcert(env, tmp_path, "init")
    report = tmp_path / "import-report"
    _roadcert(env, tmp_path, "import", str(export), "--report", str(report))
    summary = json.loads((report / "report.json").read_text(encoding="utf-8"))
    totals = summary["totals"]
    assert totals["rows"] == sum(manifest["rows"].values())
    assert (
        totals["rows"]
        == totals["new"] + totals["updated"] + totals["unchanged"] + totals["rejected"]
    )
    assert totals["rejected"] == manifest["rejected_total"]
    with (report / "rejects.csv").open(encoding="utf-8-sig") as handle:
        rejected_rows = {(r["文件"], r["行号"]) for r in csv.DictReader(handle)}
    assert len(rejected_rows) == manifest["rejected_total"]

    refusals = tmp_path / "refusals.csv"
    issued = _roadcert(
        env, tmp_path, "issue", "--all", "--json", "--workers", "2", "--report", str(refusals)
    )
    figures = json.loads(issued.stdout)
    assert figures["issued"] == manifest["ecerts"]["total"]
    assert figures["refused_by_code"] == manifest["refused"]
    if figures["refused"]:
        with refusals.open(encoding="utf-8-sig") as handle:
            listed = Counter(r["原因代码"] for r in csv.DictReader(handle))
        assert dict(listed) == manifest["refused"]

    engine = make_engine(database)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Ecert))
        valid = conn.scalar(
            select(func.count()).select_from(Ecert).where(Ecert.status == EcertStatus.VALID)
        )
    engine.dispose()
    assert count == valid == manifest["ecerts"]["total"]

    # Importing the same export again changes nothing; issuing again signs nothing.
    again_report = tmp_path / "again"
    _roadcert(env, tmp_path, "import", str(export), "--report", str(again_report))
    again_summary = json.loads((again_report / "report.json").read_text(encoding="utf-8"))
    again = again_summary["totals"]
    assert (again["new"], again["updated"]) == (0, 0)
    assert again["unchanged"] == totals["new"] + totals["updated"] + totals["unchanged"]
    second = json.loads(_roadcert(env, tmp_path, "issue", "--all", "--json").stdout)
    assert second["issued"] == 0 and second["existing"] == manifest["ecerts"]["total"]

    quality = json.loads(_roadcert(env, tmp_path, "quality", "--json").stdout)
    assert quality, "quality reports the collection rate per authority"
    # The re-import's report carries the same 制证率 figures, and they are the manifest's.
    assert again_summary["collection"] == quality
    rates = {r["uscc"]: (r["valid"], r["with_ecert"]) for r in quality["authorities"]}
    assert rates == {
        a["uscc"]: (a["certificates_valid"], a["ecerts"]) for a in manifest["authorities"]
    }
