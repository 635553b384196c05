"""Benchmark: a province's migration end to end (synthesise, import, issue), SQLite and PostgreSQL.

Runs the three commands a province runs (``roadcert synth``, ``roadcert import``,
``roadcert issue --all``) as separate processes, exactly as an operator would, and prints:

- rows per second of the synthesis and of the import, and e-certs per second of issuance;
- issuance as a ratio to this machine's SM2 signing limit: ``openssl speed sm2`` sign/s (one
  core) × cores, from the mean of two measurements taken just before and just after each
  backend's issuance (the cores' speed drifts on a shared virtual machine; both are printed);
- where issuance time went (read, build, encode, sign, write: seconds summed over workers),
  and with PostgreSQL on this machine the CPU its server's processes used meanwhile (/proc);
- peak memory of each command's whole process tree (parent and worker processes), sampled from
  /proc every 0.2 s;
- how busy the cores were during issuance: before the worker processes started, while they ran
  and after they ended, and the core-seconds left idle in each phase (from the same samples,
  with the command's total CPU from the kernel's accounting of its ended children);
- the database size and the counts (rows, rejected, non-standard, e-certs, refused).

Default size: 100,000 operators with a licence each, 300,000 vehicles and 600,000 practitioners
(about 1,000,000 certificates). Smaller for a quick look: ``--scale 0.01``.

    .venv/bin/python bench/migrate.py [--scale F] [--db sqlite|postgresql|both]
                                      [--postgres-url URL] [--workers N] [--format csv|jsonl]
                                      [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from issue import log, openssl_speed, sm_sign_rate
from roadcert.db import make_engine

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSPHRASE = "bench-passphrase-not-secret"
ROADCERT = str(Path(sys.executable).with_name("roadcert"))


def openssl_multi(processes: int, seconds: int = 3) -> float | None:
    """``openssl speed -multi N sm2``: signatures per second of N processes together.

    What the machine can really sign in parallel right now: virtual CPUs that share a physical
    core (or a busy host) give less than N times one core.
    """
    exe = shutil.which("openssl")
    if exe is None or processes < 2:
        return None
    done = subprocess.run(
        [exe, "speed", "-seconds", str(seconds), "-multi", str(processes), "sm2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds * 6 + 60,
    )
    lines = [line for line in done.stdout.splitlines() if "SM2" in line]
    if done.returncode != 0 or not lines:
        return None
    return float(lines[-1].split()[-2])


# -- measuring a command ---------------------------------------------------------------------------


@dataclass
class TreeSample:
    """One look at a command's process tree in /proc."""

    rss_bytes: int
    # CPU seconds of the tree: each live process's own time plus that of its children that
    # have ended and been waited for (so a worker's time stays counted after it exits).
    cpu_seconds: float
    # Live descendants that are not multiprocessing's resource tracker: the worker processes.
    workers: int


def _tree(root: int) -> TreeSample:
    """Memory, CPU and worker processes of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        # utime, stime, cutime, cstime: fields 14-17 of stat(5), 11-14 after the name.
        cpu[pid] = sum(int(value) for value in fields[11:15])
    total_rss, ticks, workers = 0, 0, 0
    stack = [root]
    while stack:
        pid = stack.pop()
        total_rss += rss.get(pid, 0)
        ticks += cpu.get(pid, 0)
        stack += children.get(pid, [])
        if pid != root and not _is_resource_tracker(pid):
            workers += 1
    return TreeSample(total_rss, ticks / os.sysconf("SC_CLK_TCK"), workers)


def _is_resource_tracker(pid: int) -> bool:
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Phases:
    """How busy the cores were before, while and after a command's worker processes ran.

    From samples of its process tree every 0.2 s (so each boundary is known to 0.2 s); the
    command's total CPU is the kernel's, taken when it has ended."""

    seconds: float
    cpu_seconds: float
    before_seconds: float = 0.0  # from the start to the first worker process seen
    before_cpu: float = 0.0
    during_seconds: float = 0.0
    during_cpu: float = 0.0
    after_seconds: float = 0.0  # from the last worker process gone to the end
    after_cpu: float = 0.0

    def idle(self, cores: int) -> dict[str, float]:
        """Core-seconds no process of the command used, by phase."""
        return {
            "before": max(0.0, cores * self.before_seconds - self.before_cpu),
            "during": max(0.0, cores * self.during_seconds - self.during_cpu),
            "after": max(0.0, cores * self.after_seconds - self.after_cpu),
        }


def _phases(samples: list[tuple[float, TreeSample]], seconds: float, cpu: float) -> Phases:
    """Cut ``samples`` (time, tree) into the phases before, while and after workers ran."""
    phases = Phases(seconds=seconds, cpu_seconds=cpu)
    with_workers = [i for i, (_, sample) in enumerate(samples) if sample.workers]
    if not with_workers:
        return phases
    first, last = with_workers[0], with_workers[-1]
    start_t, start_cpu = samples[first]
    end_t, end_cpu = samples[min(last + 1, len(samples) - 1)]
    phases.before_seconds, phases.before_cpu = start_t, start_cpu.cpu_seconds
    phases.during_seconds = end_t - start_t
    phases.during_cpu = end_cpu.cpu_seconds - start_cpu.cpu_seconds
    phases.after_seconds = max(0.0, seconds - end_t)
    phases.after_cpu = max(0.0, cpu - end_cpu.cpu_seconds)
    return phases


@dataclass
class Ran:
    """One command: wall seconds, peak memory of its process tree, its output, and how busy
    the cores were."""

    seconds: float
    peak_bytes: int
    stdout: str
    phases: Phases


def run(command: list[str], env: dict[str, str], cwd: Path) -> Ran:
    """Run ``command``, sampling its process tree's memory and CPU; fail loudly on a non-zero
    exit."""
    log("$ " + " ".join(command[1:] if command[0] == ROADCERT else command))
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    samples: list[tuple[float, TreeSample]] = []
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            tree = _tree(process.pid)
            if tree.rss_bytes:  # not yet or no longer readable: not a sample
                samples.append((time.perf_counter() - started, tree))
                peak = max(peak, tree.rss_bytes)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError(f"{command[1]} failed ({process.returncode}): {stderr[-2000:]}")
    cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    return Ran(seconds, peak, stdout, _phases(samples, seconds, cpu))


# -- one backend -----------------------------------------------------------------------------------


@dataclass
class Result:
    """Figures of one backend."""

    backend: str
    import_rows: int = 0
    import_seconds: float = 0.0
    import_rows_per_s: float = 0.0
    import_peak_mb: float = 0.0
    import_counts: dict[str, Any] = field(default_factory=dict)
    issued: int = 0
    refused: int = 0
    refused_by_code: dict[str, int] = field(default_factory=dict)
    issue_seconds: float = 0.0
    ecerts_per_s: float = 0.0
    # openssl speed sm2 (one core) just before and just after this backend's issuance: on a
    # shared virtual machine the cores' speed drifts (seen here: 2,000 to 3,700 sign/s within
    # minutes), so the limit is taken from the mean of the two, measured around the run itself.
    openssl_before: float | None = None
    openssl_after: float | None = None
    # ÷ (openssl one core × signing cores): the issue's limit; the cores that sign are the
    # workers, but no more than the machine has.
    ratio_to_machine: float | None = None
    ratio_to_parallel: float | None = None  # ÷ openssl -multi (signing cores): what they gave
    issue_peak_mb: float = 0.0
    time_split: dict[str, float] = field(default_factory=dict)
    database_mb: float | None = None
    # CPU seconds of the PostgreSQL server's processes during issuance, when it runs here.
    server_cpu: float | None = None
    # The issue command's process tree: before, while and after its workers ran.
    issue_phases: dict[str, float] = field(default_factory=dict)
    issue_idle_core_seconds: dict[str, float] = field(default_factory=dict)


def _environment(url: str, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATABASE_URL": url,
        "ROADCERT_DATA_DIR": str(data_dir),
        "ROADCERT_KEY_PASSPHRASE": PASSPHRASE,
        "ROADCERT_PROVINCE_CODE": "220000",
        "COLUMNS": "120",
    }


def run_backend(
    backend: str,
    url: str,
    export: Path,
    work: Path,
    args: argparse.Namespace,
    limits: tuple[int, float | None, int],
) -> Result:
    """Import ``export`` into a fresh database at ``url`` and issue every e-cert."""
    result = Result(backend)
    env = _environment(url, work)
    run([ROADCERT, "init"], env, work)
    report = work / "import-report"
    imported = run([ROADCERT, "import", str(export), "--report", str(report)], env, work)
    summary = json.loads((report / "report.json").read_text(encoding="utf-8"))
    rows = int(summary["totals"]["rows"])
    result.import_rows = rows
    result.import_seconds = imported.seconds
    result.import_rows_per_s = rows / imported.seconds
    result.import_peak_mb = imported.peak_bytes / 2**20
    result.import_counts = summary["totals"]
    command = [ROADCERT, "issue", "--all", "--json", "--report", str(work / "refusals.csv")]
    if args.workers:
        command += ["--workers", str(args.workers)]
    log(f"{backend}: openssl speed sm2 before issuing …")
    result.openssl_before = _openssl_sign()
    server_before = server_cpu_seconds() if backend == "postgresql" else None
    issued = run(command, env, work)
    server_after = server_cpu_seconds() if backend == "postgresql" else None
    if server_before is not None and server_after is not None:
        result.server_cpu = server_after - server_before
    log(f"{backend}: openssl speed sm2 after issuing …")
    result.openssl_after = _openssl_sign()
    figures = json.loads(issued.stdout)
    result.issued = figures["issued"]
    result.refused = figures["refused"]
    result.refused_by_code = figures["refused_by_code"]
    result.issue_seconds = issued.seconds
    result.ecerts_per_s = figures["issued"] / issued.seconds
    signing, parallel, cores = limits
    around = [x for x in (result.openssl_before, result.openssl_after) if x]
    limit = sum(around) / len(around) * signing if around else None
    result.ratio_to_machine = result.ecerts_per_s / limit if limit else None
    result.ratio_to_parallel = result.ecerts_per_s / parallel if parallel else None
    result.issue_peak_mb = issued.peak_bytes / 2**20
    result.issue_phases = {k: round(v, 2) for k, v in asdict(issued.phases).items()}
    result.issue_idle_core_seconds = {k: round(v, 1) for k, v in issued.phases.idle(cores).items()}
    result.time_split = figures["time_split"]
    if backend == "sqlite":
        result.database_mb = sum(f.stat().st_size for f in work.glob("bench.db*")) / 2**20
    return result


def server_cpu_seconds() -> float | None:
    """CPU seconds used so far by this machine's PostgreSQL processes, from /proc: each one's
    own time plus that of its children that have ended (a connection's backend exits at its
    end and its time passes to the postmaster). None when no such process is seen (a server
    elsewhere, or no /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, seen = 0, False
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() != "postgres":
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat(5), 11-14 after the name.
        total += sum(int(value) for value in fields[11:15])
        seen = True
    return total / ticks if seen else None


def _openssl_sign() -> float | None:
    try:
        return openssl_speed()[1]
    except (RuntimeError, OSError, subprocess.SubprocessError):
        return None


def postgres_schema(url: str) -> tuple[str, Any]:
    """A fresh schema on ``url``: (its URL, a function that drops it)."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = make_engine(url, connect_args={"connect_timeout": 5})
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


def _cores(seconds: float, cpu: float) -> str:
    """Cores a phase kept busy on average."""
    return f"{cpu / seconds:.2f}" if seconds > 0 else "—"


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a million certificates")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ROADCERT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    parser.add_argument("--workers", type=int, default=None, help="issuing processes (cores)")
    parser.add_argument("--format", default="csv", choices=["csv", "jsonl"])
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    workers = args.workers or cores
    log("reference: openssl speed -seconds 3 sm2 (one core) …")
    version, openssl_sign, _ = openssl_speed()
    # More workers than cores sign no faster than the cores: the limit counts at most those.
    signing = min(workers, cores)
    log(f"reference: openssl speed -seconds 3 -multi {signing} sm2 …")
    parallel = openssl_multi(signing)
    in_process = sm_sign_rate()
    limit = openssl_sign * signing if openssl_sign else None

    root = args.keep or Path(tempfile.mkdtemp(prefix="roadcert-migrate-"))
    root.mkdir(parents=True, exist_ok=True)
    export = root / "export"
    shutil.rmtree(export, ignore_errors=True)
    operators = max(1, round(100_000 * args.scale))
    vehicles = round(300_000 * args.scale)
    practitioners = round(600_000 * args.scale)
    synth = run(
        [
            ROADCERT,
            "synth",
            "-o",
            str(export),
            "--operators",
            str(operators),
            "--vehicles",
            str(vehicles),
            "--practitioners",
            str(practitioners),
            "--format",
            args.format,
        ],
        _environment("sqlite://", root),
        root,
    )
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    synth_rows = sum(int(n) for n in manifest["rows"].values())
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: list[Result] = []
    for backend in backends:
        work = root / backend
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        if backend == "sqlite":
            results.append(
                run_backend(
                    backend,
                    f"sqlite:///{work / 'bench.db'}",
                    export,
                    work,
                    args,
                    (signing, parallel, cores),
                )
            )
            continue
        try:
            url, drop = postgres_schema(args.postgres_url)
        except Exception as exc:  # unreachable PostgreSQL: say so and go on
            log(f"postgresql: not reachable ({exc}); skipped")
            continue
        try:
            results.append(
                run_backend(backend, url, export, work, args, (signing, parallel, cores))
            )
        finally:
            drop()
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)

    figures = {
        "machine": {
            "cpus": cores,
            "python": platform.python_version(),
            "openssl": version,
            "openssl_sign_per_s_one_core": openssl_sign,
            "in_process_sign_per_s": round(in_process, 1),
            "signing_limit_per_s": limit,
            "openssl_multi_sign_per_s": parallel,
        },
        "synth": {
            "rows": synth_rows,
            "seconds": round(synth.seconds, 1),
            "rows_per_s": round(synth_rows / synth.seconds),
            "peak_mb": round(synth.peak_bytes / 2**20),
            "ecerts_expected": manifest["ecerts"]["total"],
            "refusals_expected": manifest["refused"],
        },
        "backends": [asdict(r) for r in results],
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(
        f"machine: {cores} CPUs, Python {platform.python_version()}, {version}; "
        f"openssl speed sm2: {openssl_sign:,.1f} sign/s per core → limit "
        f"{limit:,.0f} sign/s on {signing} cores ({workers} workers); "
        f"roadcert.crypto.sm.sign in process: "
        f"{in_process:,.0f}/s; openssl speed -multi {signing}: "
        f"{parallel or 0:,.0f} sign/s together"
    )
    print(
        f"synth: {synth_rows:,} rows in {synth.seconds:.1f} s ({synth_rows / synth.seconds:,.0f} "
        f"rows/s), peak {synth.peak_bytes / 2**20:,.0f} MB"
    )
    print()
    header = (
        f"{'backend':<11}{'import rows':>12}{'rows/s':>9}{'peak MB':>9}"
        f"{'e-certs':>10}{'refused':>9}{'issue s':>9}{'e-certs/s':>11}{'÷ limit':>9}"
        f"{'÷ multi':>9}{'peak MB':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r.ratio_to_machine:.3f}" if r.ratio_to_machine else "—"
        multi = f"{r.ratio_to_parallel:.3f}" if r.ratio_to_parallel else "—"
        print(
            f"{r.backend:<11}{r.import_rows:>12,}{r.import_rows_per_s:>9,.0f}"
            f"{r.import_peak_mb:>9,.0f}{r.issued:>10,}{r.refused:>9,}{r.issue_seconds:>9.1f}"
            f"{r.ecerts_per_s:>11,.0f}{ratio:>9}{multi:>9}{r.issue_peak_mb:>9,.0f}"
        )
    print()
    for r in results:
        print(
            f"  {r.backend}: openssl speed sm2 around the issuance: {r.openssl_before or 0:,.1f}"
            f" before, {r.openssl_after or 0:,.1f} after; ÷ limit uses their mean × {signing}"
        )
    print()
    print(
        "issuance time split (CPU seconds summed over workers and their writer threads, share of"
        " that CPU, µs per e-cert; wait: wall time of reads and writes beyond their CPU):"
    )
    for r in results:
        cpu = {k: v for k, v in r.time_split.items() if k != "wait"}
        total = sum(cpu.values()) or 1.0
        per = 1e6 / r.issued if r.issued else 0.0
        parts = ", ".join(
            f"{k} {v:,.1f} ({v / total:.0%}, {v * per:,.0f} µs)" for k, v in cpu.items()
        )
        wait = r.time_split.get("wait", 0.0)
        size = f"; database {r.database_mb:,.0f} MB" if r.database_mb else ""
        print(f"  {r.backend}: {parts}; CPU {total * per:,.0f} µs an e-cert")
        print(f"  {r.backend}: wait {wait:,.1f}{size}")
        if r.server_cpu is not None:
            print(
                f"  {r.backend}: the server's processes {r.server_cpu:,.1f} CPU s"
                f" ({r.server_cpu * per:,.0f} µs an e-cert, {r.server_cpu / total:.2f} of the"
                " workers' CPU) on the same cores"
            )
        print(f"  {r.backend} refused by reason: {r.refused_by_code}")
    print()
    print(
        f"how busy the {cores} cores were during issuance (the command's process tree, sampled"
        " every 0.2 s; idle: core-seconds none of its processes used, which on PostgreSQL"
        " here includes the server's share):"
    )
    for r in results:
        ph = r.issue_phases
        if not ph or not ph.get("during_seconds"):
            continue
        idle = r.issue_idle_core_seconds
        print(
            f"  {r.backend}: before the workers {ph['before_seconds']:.1f} s at"
            f" {_cores(ph['before_seconds'], ph['before_cpu'])} cores (idle"
            f" {idle['before']:.1f}); with them {ph['during_seconds']:.1f} s at"
            f" {_cores(ph['during_seconds'], ph['during_cpu'])} (idle {idle['during']:.1f});"
            f" after them {ph['after_seconds']:.1f} s at"
            f" {_cores(ph['after_seconds'], ph['after_cpu'])} (idle {idle['after']:.1f});"
            f" in all {ph['cpu_seconds'] / ph['seconds']:.2f} cores of {cores}"
        )


if __name__ == "__main__":
    main()
