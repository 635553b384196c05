"""The ``roadcert synth`` command: write a synthetic legacy export to rehearse 归集 with.

Registered by ``roadcert.cli`` as ``app.command("synth")(synth)``; this module does not import
the CLI module, so either can be imported first.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roadcert.db import utcnow
from roadcert.kit.chinatime import china_date
from roadcert.migration.synth import (
    MANIFEST_NAME,
    ExportFormat,
    Result,
    SynthError,
    SynthOptions,
    synthesise,
)

_RULE_TITLES = {
    "uscc.check_char": "统一社会信用代码校验位错误",
    "uscc.missing": "统一社会信用代码缺失",
    "business_scopes.code_table": "经营范围代码不在代码表中",
    "plate.separator": "车牌号码含分隔符",
    "plate.new_energy": "车牌号码不符合新能源号牌规则",
    "plate.format": "车牌号码长度或结构错误",
    "vehicle_type.code_table": "车辆类型不在代码表中",
    "ric.check_char": "身份证号码校验码错误",
    "birth_date.id_number": "出生日期与身份证号码不一致",
}
_TABLE_TITLES = {
    "authorities": "核发机关",
    "operators": "业户",
    "licences": "经营许可证",
    "vehicles": "车辆",
    "practitioners": "从业人员",
    "qualifications": "从业资格",
}


def _fail(message: str, code: str, exit_code: int = 2) -> NoReturn:
    Console(stderr=True).print(
        f"[bold red]错误[/] {escape(f'[{code}]')}: {escape(message)}", highlight=False
    )
    raise typer.Exit(exit_code)


def _parse_today(text: str | None) -> date:
    if text is None:
        return china_date(utcnow())
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        _fail(f"--today 应为 YYYY-MM-DD 格式的日期，实为“{text}”", "synth.bad_option")


def _parse_format(text: str) -> ExportFormat:
    try:
        return ExportFormat(text.strip().lower())
    except ValueError:
        choices = "、".join(f.value for f in ExportFormat)
        _fail(f"--format 只能是 {choices} 之一，实为“{text}”", "synth.bad_option")


def synth(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="输出文件夹（不存在则新建；已存在须为空）")
    ],
    operators: Annotated[int, typer.Option(help="业户数量（每户一件经营许可证）")] = 1000,
    vehicles: Annotated[int, typer.Option(help="车辆数量（分配给各类业户）")] = 3000,
    practitioners: Annotated[
        int, typer.Option(help="从业人员数量（每人 1–3 个从业资格类别）")
    ] = 6000,
    export_format: Annotated[
        str, typer.Option("--format", help="文件格式：csv（UTF-8 带 BOM）、jsonl 或 xlsx")
    ] = "csv",
    seed: Annotated[int, typer.Option(help="随机种子（同一种子、同一参数得到同一份数据）")] = 2026,
    non_standard_share: Annotated[
        float, typer.Option(help="各表不规范数据所占比例（0–0.5）")
    ] = 0.02,
    reject_share: Annotated[float, typer.Option(help="各表另加的应拒收行比例（0–0.5）")] = 0.005,
    photos: Annotated[int, typer.Option(help="照片文件数量（照片栏轮流引用）")] = 200,
    today: Annotated[
        str | None, typer.Option(help="基准日期 YYYY-MM-DD，决定有效期（缺省为今天，北京时间）")
    ] = None,
    ecert_disabled: Annotated[
        list[str] | None,
        typer.Option(
            "--ecert-disabled",
            help="未启用电子证照的地市（代码或名称，如 220800 或 白城），可重复",
        ),
    ] = None,
) -> None:
    """生成合成的存量数据导出（吉林省），含清单 manifest.json，用于演练归集。"""
    options = SynthOptions(
        operators=operators,
        vehicles=vehicles,
        practitioners=practitioners,
        today=_parse_today(today),
        seed=seed,
        export_format=_parse_format(export_format),
        non_standard_share=non_standard_share,
        reject_share=reject_share,
        photos=photos,
        ecert_disabled=tuple(ecert_disabled or ()),
    )
    try:
        result = synthesise(options, output, Console(stderr=True))
    except SynthError as exc:
        _fail(exc.message, exc.code)
    except OSError as exc:
        _fail(f"写入 {output} 失败：{exc.strerror or exc}", "synth.write", 1)
    _print_summary(Console(), output, result)


def _print_summary(out: Console, output: Path, result: Result) -> None:
    manifest = result.manifest
    table = Table(title=f"合成存量数据：{output}（{manifest['format']}）")
    for column in ("表", "行数", "应导入", "应拒收"):
        table.add_column(column, justify="left" if column == "表" else "right")
    for name, rows in manifest["rows"].items():
        rejected = sum(manifest["rejected"][name].values())
        table.add_row(
            _TABLE_TITLES[name], str(rows), str(manifest["accepted"][name]), str(rejected)
        )
    out.print(table)
    rules = Table(title="埋设的不规范数据")
    rules.add_column("规则")
    rules.add_column("说明")
    rules.add_column("条数", justify="right")
    for rule, count in manifest["non_standard"].items():
        rules.add_row(rule, _RULE_TITLES.get(rule, ""), str(count))
    missing = manifest["missing_photo"]
    rules.add_row(
        "issuance.photo_missing",
        f"缺照片（车辆 {missing['vehicles']}，从业人员 {missing['practitioners']}）",
        str(missing["vehicles"] + missing["practitioners"]),
    )
    out.print(rules)
    ecerts = manifest["ecerts"]
    expired = manifest["refused"].get("issuance.expired", 0)
    out.print(
        f"roadcert issue --all 应制发电子证照 {ecerts['total']} 张（许可证 {ecerts['licences']}，"
        f"车辆 {ecerts['vehicles']}，从业人员×证照类型 {ecerts['practitioners']}）；"
        f"另有 {manifest['targets'] - ecerts['total']} 张不能制发（其中已过期 {expired}）"
    )
    out.print(
        f"照片 {manifest['photos']['count']} 张；用时 {result.elapsed_s:.1f} 秒，"
        f"{result.rows_per_s:,.0f} 行/秒；清单：{output / MANIFEST_NAME}"
    )


__all__ = ["synth"]
