"""``roadcert import PATH``: the command that runs the importer, with a progress bar and a summary.

Registered by ``roadcert.cli`` as ``app.command("import")(import_)``. Bad input (a missing or
unreadable file, a file that is no known table, a wrong encoding, headers that do not fit) ends
with exit code 2 and a Chinese message; an interrupted run keeps the batches it committed.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

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
    out.print(f"报告：{result.report_dir / 'report.json'}")


__all__ = ["Encoding", "import_"]
