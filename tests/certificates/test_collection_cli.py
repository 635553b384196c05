"""``roadcert quality``: 制证率, 年度激活率 and 不规范数据 by rule, as a table and as JSON.

A small ledger is written into a fresh database of each backend (the same one the command
reads), then every figure the command prints is checked against what was built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from roadcert.config import Environment, Settings
from roadcert.runtime import Runtime
from tests import factories as f
from tests.test_cli import Cli, _flat, _refusal, cli_backend


@dataclass
class Built:
    cli: Cli
    enabled: dict[str, Any]  # name, uscc
    disabled: dict[str, Any]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """Two authorities: one on e-certs (3 valid licences, 2 issued, 1 of them activated; two
    non-standard operators), one not switched on (1 valid licence)."""
    for cli in cli_backend(request.param, tmp_path_factory.mktemp(f"rates-{request.param}")):
        cli.ok("init")
        settings = Settings(
            env=Environment.TEST,
            data_dir=Path(cli.env["ROADCERT_DATA_DIR"]),
            database_url=cli.env["ROADCERT_DATABASE_URL"],
        )
        runtime = Runtime.from_settings(settings)
        try:
            with runtime.unit_of_work() as svc:
                on, off = f.authority(svc), f.authority(svc, enabled=False)
                operator = f.operator(svc, on)
                first = f.licence(svc, on, operator).effect.issued[0]
                f.licence(svc, on, operator)
                broken = f.operator(svc, on, uscc="91220101MA0Y1234X0", name="长春市错码运输公司")
                assert f.licence(svc, on, broken).effect.refused
                f.operator(svc, on, uscc=None, name="长春市无码运输公司")
                f.licence(svc, off, f.operator(svc, off))
                svc.issuance.mark_activated(first)
                enabled = {"name": on.name, "uscc": on.uscc}
                disabled = {"name": off.name, "uscc": off.uscc}
        finally:
            runtime.engine.dispose()
        yield Built(cli, enabled, disabled)


def test_quality_json_gives_rates_and_scores(built: Built) -> None:
    report = built.cli.json("quality", "--json")
    rows = {r["uscc"]: r for r in report["authorities"]}
    on, off = rows[built.enabled["uscc"]], rows[built.disabled["uscc"]]
    assert (on["valid"], on["with_ecert"], on["score"]) == (3, 2, 25)  # 66.7 %: 60%—70%
    assert on["rate"] == pytest.approx(2 / 3)
    assert (on["issued_this_year"], on["activated_this_year"]) == (2, 1)
    assert on["activation_rate"] == pytest.approx(0.5) and on["activation_score"] == 20  # 50%—60%
    assert on["by_kind"]["licence"] == {"valid": 3, "with_ecert": 2}
    assert on["non_standard"] == {"uscc.check_char": 1, "uscc.missing": 1}
    assert on["non_standard_total"] == 2
    assert (off["valid"], off["with_ecert"], off["score"], off["ecert_enabled"]) == (1, 0, 0, False)
    assert off["activation_rate"] is None and off["activation_score"] is None
    total = report["province_total"]
    assert (total["valid"], total["with_ecert"], total["score"]) == (4, 2, 20)
    assert report["non_standard_total"] == 2
    assert "records" not in report

    one = built.cli.json("quality", "--json", "--authority", built.enabled["uscc"])
    assert [r["uscc"] for r in one["authorities"]] == [built.enabled["uscc"]]
    assert one["authorities"][0] == on and one["province_total"] is None


def test_quality_table(built: Built) -> None:
    text = _flat(built.cli.ok("quality").stdout)
    for header in ("核发机关", "有效证照", "已制电子证照", "制证率", "得分", "本年制发", "已激活"):
        assert header in text
    assert built.enabled["name"] in text and "66.6%" in text and "50.0%" in text
    assert f"{built.disabled['name']}（未启用）" in text
    assert "全省合计" in text and "uscc.check_char" in text and "uscc.missing" in text
    assert "不规范数据共2条" in text
    alone = _flat(built.cli.ok("quality", "--authority", built.enabled["uscc"]).stdout)
    assert "全省合计" not in alone and built.disabled["name"] not in alone


def test_quality_list_with_limit(built: Built) -> None:
    listed = built.cli.json("quality", "--list", "--json")
    assert {r["rule"] for r in listed["records"]} == {"uscc.check_char", "uscc.missing"}
    assert {r["authority"] for r in listed["records"]} == {built.enabled["name"]}
    assert listed["records_not_shown"] == 0
    assert "authorities" in listed  # the summary comes with the records
    text = _flat(built.cli.ok("quality", "--list").stdout)
    assert "uscc.check_char" in text and "不规范数据共2条" in text and "未列出" not in text

    one = built.cli.json("quality", "--list", "--json", "--limit", "1")
    assert len(one["records"]) == 1 and one["records_not_shown"] == 1
    text = _flat(built.cli.ok("quality", "--list", "--limit", "1").stdout)
    assert "另有1条未列出" in text and "不规范数据共2条" in text


def test_quality_refusals(built: Built) -> None:
    assert "不存在" in _refusal(built.cli("quality", "--authority", "91220101MA0Y1234X0"))
    assert built.cli("quality", "--list", "--limit", "0").exit_code == 2
