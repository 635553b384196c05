"""``roadcert import PATH``: the command that runs the importer, with a progress bar and a summary.

Registered by ``roadcert.cli`` as ``app.command("import")(import_)``. Bad input (a missing or
unreadable file, a file that is no known table, a wrong encoding, headers that do not fit) ends
with exit code 2 and a Chinese message; an interrupted run keeps the batches it committed.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from roadcert.certificates.collection import percent
from roadcert.errors import RoadcertError
from roadcert.migration.importer import DEFAULT_BATCH, Importer, ImportResult, build_summary
from roadcert.migration.reader import Source
from roadcert.runtime import Runtime

out = Console()
err = Console(stderr=True)

#: Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class Encoding(StrEnum):
    """Encodings of CSV and JSON Lines files."""

    UTF8 = "utf-8"
    GB18030 = "gb18030"


def _fail(message: str, code: str, exit_code: int) -> NoReturn:
    err.print(f"[bold red]错误[/] {escape(f'[{code}]')}: {escape(message)}", highlight=False)
    raise typer.Exit(exit_code)


class _Bar:
    """The importer's progress, as one rich bar per file (bytes for text files, rows for XLSX)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[Source, TaskID] = {}

    def stop(self) -> None:
        """Leave the bars as they are (nothing shows when no file was read)."""
        if self.tasks:
            self.progress.stop()

    def start(self, source: Source, total: int) -> None:
        if not self.tasks:
            self.progress.start()  # only once a file is being read
        self.tasks[source] = self.progress.add_task(
            f"{source.table.title}  {source.name}", total=total or None
        )

    def advance(self, source: Source, position: int) -> None:
        self.progress.update(self.tasks[source], completed=position)

    def finish(self, source: Source) -> None:
        task = self.tasks[source]
        total = self.progress.tasks[task].total
        self.progress.update(task, completed=total)


def import_(
    path: Annotated[Path, typer.Argument(help="导出文件夹，或单个 CSV、JSONL、XLSX 文件")],
    report: Annotated[
        Path | None,
        typer.Option("--report", help="报告文件夹（默认：输入旁的 <PATH>.import-<时间>）"),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="每批行数（每批一个事务）")
    ] = DEFAULT_BATCH,
    encoding: Annotated[
        Encoding, typer.Option("--encoding", help="CSV、JSONL 文件的编码")
    ] = Encoding.UTF8,
    actor: Annotated[str, typer.Option("--actor", help="记入台账变更历史的操作人")] = "import",
    as_json: Annotated[
        bool, typer.Option("--json", help="结果以 JSON 输出（与 report.json 相同）")
    ] = False,
) -> None:
    """导入存量数据（原运政系统导出）：逐行校验，分批写入台账，输出拒收清单和导入报告。"""
    try:
        runtime = Runtime.from_settings()
    except ValidationError as exc:
        _fail(str(exc.errors()[0].get("msg")), "configuration", 2)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    bar = _Bar(progress)
    importer = Importer(runtime, batch=batch, encoding=str(encoding), actor=actor, progress=bar)
    try:
        try:
            result = importer.run(path, report)
        finally:
            bar.stop()
    except RoadcertError as exc:
        _fail(exc.message, exc.code, 2 if exc.status < 500 else 1)
    except KeyboardInterrupt:
        _fail(
            "导入已中断：已提交的批次保留，重新导入即可继续", "import.interrupted", EXIT_INTERRUPTED
        )
    except (SQLAlchemyError, OSError) as exc:
        _fail(f"导入失败：{exc.__class__.__name__}：{exc}"[:500], "import.failed", 1)
    finally:
        runtime.engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(build_summary(result), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_summary(result)
    if not result.balanced:
        _fail("各表行数与新增、更新、未变、拒收之和不一致（请报告此问题）", "import.unbalanced", 1)


def _print_summary(result: ImportResult) -> None:
    summary = build_summary(result)
    table = Table(title="存量数据导入结果")
    for column in ("表", "文件", "行数", "新增", "更新", "未变", "拒收", "不规范"):
        table.add_column(column, justify="left" if column in ("表", "文件") else "right")
    for counts in result.tables.values():
        table.add_row(
            counts.title,
            "、".join(counts.files),
            str(counts.rows),
            str(counts.new),
            str(counts.updated),
            str(counts.unchanged),
            str(counts.rejected),
            str(sum(counts.non_standard.values())),
        )
    totals = summary["totals"]
    table.add_row(
        "合计",
        "",
        *(str(totals[k]) for k in ("rows", "new", "updated", "unchanged", "rejected")),
        str(sum(summary["non_standard"].values())),
    )
    out.print(table)
    if result.balanced:
        out.print("核对：各表 行数 = 新增 + 更新 + 未变 + 拒收，一致")
    else:
        out.print("[bold red]核对：行数与各项之和不一致[/]")
    rate = summary["rows_per_second"] or 0
    out.print(f"用时 {result.elapsed:.1f} 秒，{rate:,.0f} 行/秒")
    out.print(f"拒收问题 {result.problems} 条：{result.report_dir / 'rejects.csv'}")
    _print_collection(summary)
    out.print(f"报告：{result.report_dir / 'report.json'}")


def _print_collection(summary: dict[str, Any]) -> None:
    """制证率 per authority after the import, from the report's ``collection`` (the shape of
    ``roadcert quality --json``), so the table and report.json cannot differ."""
    collection = summary["collection"]
    if collection is None:
        error = summary["collection_error"]
        out.print(f"制证率：{error['message'] if error else '未统计'}", highlight=False)
        return
    table = Table("核发机关", title=f"导入后的制证率（{collection['date']}）")
    for column in ("应制证", "已制证", "制证率"):
        table.add_column(column, justify="right")
    total = collection["province_total"]
    for row in [*collection["authorities"], *([total] if total else [])]:
        name = escape(row["authority"])
        if row is not total and not row["ecert_enabled"]:
            name += "（未启用）"
        table.add_row(
            f"[bold]{name}[/]" if row is total else name,
            str(row["valid"]),
            str(row["with_ecert"]),
            percent(row["rate"]),
        )
    out.print(table)
    out.print(
        f"制证率统计用时 {summary['collection_seconds']:.1f} 秒；"
        "得分、激活率和不规范数据见 roadcert quality",
        highlight=False,
    )


__all__ = ["Encoding", "import_"]
