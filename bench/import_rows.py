"""Benchmark: ``roadcert import`` of a synthetic export on SQLite and PostgreSQL, rows per second.

A synthetic province (``roadcert synth``: operators, licences, vehicles, practitioners and their
qualifications, with its share of rejected and non-standard rows) is written once, not timed. Each
backend then gets a fresh database (SQLite file in a temporary folder, PostgreSQL in a throw-away
schema) and the export is imported twice: the first import writes everything (the figure the
issue sets at ≥ 20,000 rows/s), the second finds every row unchanged.

Printed per backend and run: rows read, wall seconds, rows per second, CPU seconds of the importer
and of its checking process and the importer's CPU microseconds per row (what bounds the rate
when the cores are not free), the CPU seconds of the PostgreSQL server's processes when they can
be read from /proc (a local server; other work on it counts too) and of the import's own
backends alone with their microseconds per row, the CPU seconds every other process on the
machine took meanwhile, peak resident memory, and the machine's load average (the machine may be
shared: a load above the number of cores, or other processes' CPU, means the figure is a
floor).

    .venv/bin/python bench/import_rows.py [-n CERTIFICATES] [--db sqlite|postgresql|both]
                                          [--export DIR] [--format csv|jsonl|xlsx] [--batch B]
                                          [--in-process | --parallel] [--postgres-url URL]
                                          [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

from roadcert.config import Environment, Settings
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.migrate import upgrade
from roadcert.migration.importer import DEFAULT_BATCH, Importer
from roadcert.migration.synth import ExportFormat, SynthOptions, synthesise
from roadcert.runtime import Runtime

POSTGRES_URL = os.environ.get(
    "ROADCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# The application name of this benchmark's PostgreSQL connections, to find their server processes
# (one run at a time, as the benchmarks are meant to be run).
BENCH_APPLICATION = f"roadcert-import-bench-{os.getpid()}"


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _peak_mb() -> tuple[float, float]:
    # ru_maxrss is in KiB on Linux.
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def _postgres_cpu() -> float | None:
    """CPU seconds used so far by the processes of a local PostgreSQL server, if readable."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            values = fields[1].split()
        except OSError:
            continue
        total += int(values[11]) + int(values[12])  # utime, stime in clock ticks
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def _process_cpu(pid: int) -> float:
    """CPU seconds a process has used, 0 if it is gone or unreadable."""
    try:
        values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu(runtime: Runtime) -> dict[int, float]:
    """CPU seconds of each server process serving this benchmark's connections (local server).

    They are told apart from other work on the server by the connections' application name.
    """
    if runtime.engine.dialect.name != "postgresql":
        return {}
    with runtime.engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": BENCH_APPLICATION},
        ).all()
    return {pid: _process_cpu(pid) for pid in pids}


def _machine_cpu() -> float | None:
    """CPU seconds the whole machine has been busy (all cores, every process), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    busy = sum(values[:8]) - values[3] - values[4]  # all but idle and iowait; no guest time
    return busy / os.sysconf("SC_CLK_TCK")


def _import(
    runtime: Runtime, export: Path, report: Path, args: argparse.Namespace
) -> dict[str, Any]:
    parallel = False if args.in_process else True if args.parallel else None
    cpu_before = _cpu()
    postgres_before = _postgres_cpu() if runtime.engine.dialect.name == "postgresql" else None
    backends_before = _backends_cpu(runtime)
    machine_before = _machine_cpu()
    start = time.perf_counter()
    # The collection rate after the import is timed apart from it (report.json).
    result = Importer(runtime, batch=args.batch, parallel=parallel, collect=False).run(
        export, report
    )
    wall = time.perf_counter() - start
    cpu_after = _cpu()
    postgres_after = _postgres_cpu() if postgres_before is not None else None
    machine_after = _machine_cpu()
    backends_after = _backends_cpu(runtime)
    # A backend that was not there before started during the run.
    backend_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
    tables = result.tables.values()
    importer_cpu = cpu_after[0] - cpu_before[0]
    checker_cpu = cpu_after[1] - cpu_before[1]
    postgres_cpu = (
        None
        if postgres_after is None or postgres_before is None
        else postgres_after - postgres_before
    )
    # What the rest of the machine took meanwhile: the CPU the import could not have.
    others_cpu = (
        None
        if machine_after is None or machine_before is None
        else machine_after - machine_before - importer_cpu - checker_cpu - (postgres_cpu or 0.0)
    )
    return {
        "rows": result.rows,
        "new": sum(t.new for t in tables),
        "unchanged": sum(t.unchanged for t in tables),
        "rejected": sum(t.rejected for t in tables),
        "balanced": result.balanced,
        "seconds": round(wall, 2),
        "rows_per_s": round(result.rows / wall),
        "cpu_importer_s": round(importer_cpu, 2),
        "cpu_us_per_row": round(importer_cpu / result.rows * 1e6, 1),
        "cpu_checker_s": round(checker_cpu, 2),
        "cpu_postgres_s": None if postgres_cpu is None else round(postgres_cpu, 2),
        "cpu_backend_s": round(backend_cpu, 2) if backends_after else None,
        "backend_us_per_row": round(backend_cpu / result.rows * 1e6, 1) if backends_after else None,
        "cpu_others_s": None if others_cpu is None else round(max(others_cpu, 0.0), 2),
        "peak_importer_mb": round(_peak_mb()[0]),
        "peak_checker_mb": round(_peak_mb()[1]),
        "load": round(os.getloadavg()[0], 2),
    }


def _runtime(url: str, folder: Path) -> Runtime:
    engine = make_engine(url)
    settings = Settings(env=Environment.TEST, data_dir=folder, database_url=url)
    store = FileKeyStore(folder / "keys", "bench", kdf=ScryptParams(log2_n=10))
    return Runtime(settings, engine, make_sessionmaker(engine), store)


def _bench(db: str, export: Path, folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    schema = None
    if db == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        schema = f"bench_{secrets.token_hex(6)}"
        try:
            admin = make_engine(args.postgres_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:
            print(f"PostgreSQL 不可用，跳过：{exc}", file=sys.stderr)
            return []
        separator = "&" if "?" in args.postgres_url else "?"
        url = (
            f"{args.postgres_url}{separator}options=-csearch_path%3D{schema}"
            f"&application_name={BENCH_APPLICATION}"
        )
    try:
        upgrade(url)
        runtime = _runtime(url, folder)
        runs: list[dict[str, Any]] = []
        for label in ("first import", "re-import"):
            print(f"{db}: {label} …", file=sys.stderr)
            figures = _import(runtime, export, folder / f"report-{db}-{len(runs)}", args)
            runs.append({"db": db, "run": label, **figures})
        runtime.engine.dispose()
        return runs
    finally:
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="certificates (~10%% operators)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--export", type=Path, help="import this export instead of a new one")
    parser.add_argument("--format", choices=[f.value for f in ExportFormat], default="csv")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--in-process", action="store_true", help="no separate checking process")
    mode.add_argument(
        "--parallel", action="store_true", help="a checking process whatever the machine's load"
    )
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="roadcert-import-bench-") as tmp:
        folder = Path(tmp)
        export = args.export
        if export is None:
            export = folder / "export"
            n = args.n
            options = SynthOptions(
                operators=n // 10,
                vehicles=n * 3 // 10,
                practitioners=n * 6 // 10,
                today=date.today(),
                export_format=ExportFormat(args.format),
            )
            print(f"synth: {n} certificates …", file=sys.stderr)
            made = synthesise(options, export)
            print(f"synth: {made.rows} rows in {made.elapsed_s:.1f} s", file=sys.stderr)
        size = sum(p.stat().st_size for p in export.iterdir() if p.is_file())
        dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
        runs = [r for db in dbs for r in _bench(db, export, folder, args)]
    if args.json:
        print(json.dumps({"export_bytes": size, "cores": os.cpu_count(), "runs": runs}, indent=2))
        return
    print(f"export: {size / 1e6:.1f} MB, {os.cpu_count()} cores")
    columns = (
        "db",
        "run",
        "rows",
        "seconds",
        "rows_per_s",
        "cpu_importer_s",
        "cpu_us_per_row",
        "cpu_checker_s",
        "cpu_postgres_s",
        "cpu_backend_s",
        "backend_us_per_row",
        "cpu_others_s",
        "peak_importer_mb",
        "peak_checker_mb",
        "load",
    )
    print("  ".join(f"{c:>16}" for c in columns))
    for r in runs:
        print("  ".join(f"{r[c]!s:>16}" for c in columns))


if __name__ == "__main__":
    main()
