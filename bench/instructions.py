"""Benchmark: CPU instructions per e-cert that bulk issuance spends besides signing (valgrind).

Wall-clock rates on a shared virtual machine drift by ±10 % within minutes, which hides the 1–3 %
a change to the issuance path gains or loses. Instruction counts do not drift: the same code on
the same data executes the same instructions, so this script gives an A/B measure of our own work
per e-cert (reading the ledger, quality rules, building the document, deterministic CBOR,
writing) that repeats to within a few hundredths of a per cent. It does not measure time: cache
misses, the database's waits and the machine's speed are outside it; ``issue.py`` and
``migrate.py`` measure those.

Setup (not counted): a small synthetic province (``roadcert synth`` with a fixed seed, today's
date), ``roadcert init`` and ``roadcert import`` into SQLite in a temporary directory, the
authorities' signing keys (``bulk.ensure_keys``) and, as in a migration, the deferrable indexes
dropped. The issuing authority with the most ledger records is picked; its first slice of each
kind (licence, vehicle, practitioner) warms the process (imports, compiled statements, caches),
and the next ``--slices`` slices of each kind are measured.

Counted: a worker process as ``roadcert issue --all`` runs it (``SliceIssuer``, its writer
thread, the collector settings of ``bulk.quiet_gc``) under ``valgrind --tool=cachegrind``, once
with only the warm-up slices and once more per kind with the warm-up and that kind's measured
slices, each on its own copy of the database. The difference, divided by the e-certs issued, is
the instructions of one e-cert of that kind. Signing is left out: the key store's signer returns
one fixed signature, so SM2 (``openssl speed sm2``'s business) is not counted. Serial numbers,
hashing and the clock are fixed, so a run repeats to within about 0.05 %.

What does move the count is where objects happen to lie in memory: dictionaries and sets of
objects hashed by address probe differently. A path a few characters longer, or a module with
one constant more, moves a kind's count by up to 0.4 % with no change to the work. So each tree
is counted in ``--layouts`` memory layouts (a different amount of ballast allocated before
``roadcert`` is imported), and the mean is reported with its spread; both trees are copied to
folders of the same length and run with command lines of the same length. A change smaller
than the spread is not a change this script can see.

With ``--compare SRC`` the ``roadcert`` package in the folder SRC (another worktree's ``src``)
is counted too, on the same database, and the change per kind is printed.

    .venv/bin/python bench/instructions.py [--compare SRC] [--layouts L] [--slices N]
                                           [--slice-size S] [--scale F] [--indexes defer|keep]
                                           [--jobs J] [--keep DIR] [--json]

Needs valgrind (Debian: ``apt-get install valgrind``). On two cores: about 2 minutes for one
tree, 4 with ``--compare``.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

PASSPHRASE = "bench-passphrase-not-secret"
ROADCERT = str(Path(sys.executable).with_name("roadcert"))
KINDS = ("licence", "vehicle", "practitioner")
# Weights of a province's e-certs (bench/migrate.py's default export: 100k operators with a
# licence each, 300k vehicles, 600k practitioners).
PROVINCE_MIX = {"licence": 0.1, "vehicle": 0.3, "practitioner": 0.6}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- inside valgrind: one worker process ------------------------------------------------------


def _settings() -> Any:
    from roadcert.config import get_settings

    return get_settings()


def inner_prepare(args: argparse.Namespace) -> None:
    """Keys, indexes and the choice of slices; prints the slices as JSON."""
    from roadcert.certificates import bulk
    from roadcert.runtime import Runtime

    runtime = Runtime.from_settings()
    with runtime.unit_of_work("bench") as svc:
        work = bulk.plan(svc.session, slice_size=args.slice_size)
        bulk.ensure_keys(svc.session, svc.keys, work.authorities)
        mode = bulk.IndexMode(args.indexes)
        if mode is bulk.IndexMode.DEFER:
            bulk.defer_indexes(svc.session, work, mode)
    runtime.engine.dispose()
    held: dict[int, int] = {}
    for piece in work.slices:
        held[piece.authority_ids[0]] = held.get(piece.authority_ids[0], 0) + piece.records
    chosen = max(held, key=lambda authority: held[authority])
    chosen_name = next(a.name for a in work.authorities if a.id == chosen)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS:
        mine = [p for p in work.slices if str(p.kind) == kind and p.authority_ids == (chosen,)]
        if len(mine) < args.slices + 1:
            raise SystemExit(
                f"{chosen_name} has {len(mine)} {kind} slices of {args.slice_size}; "
                f"{args.slices + 1} are needed: raise --scale or lower --slice-size"
            )
        by_kind[kind] = [p.as_dict() for p in mine[: args.slices + 1]]
    print(json.dumps({"authority": chosen_name, "slices": by_kind}))


def inner_run(args: argparse.Namespace) -> None:
    """Issue the warm-up slices, then the measured slices of kind number ``--kind`` (0: none)."""
    # Kept to the end: every object made after it lies somewhere else than without it.
    ballast = [bytes(8 * (n % 9)) + b"." for n in range(args.layout * 53)]
    ballast.append(bytes(args.layout * 4133))
    from roadcert.certificates import bulk
    from roadcert.crypto import sm
    from roadcert.crypto.keystore import FileKeyStore
    from roadcert.db import make_engine, make_sessionmaker
    from roadcert.kit import ecert_id

    fixed_signature = sm.sign(sm.generate_private_key(), b"roadcert instructions")

    class FixedSignatureStore(FileKeyStore):
        """Signs nothing: every signature is one fixed DER value, so SM2 is not counted."""

        def signer(self, label: str) -> Callable[[bytes], bytes]:
            def sign(data: bytes) -> bytes:
                return fixed_signature

            return sign

    settings = _settings()
    plan = json.loads(Path(args.plan).read_text(encoding="utf-8"))["slices"]
    clock_at = datetime.fromisoformat(args.clock)
    issuer = bulk.SliceIssuer(
        make_sessionmaker(make_engine(settings.resolved_database_url)),
        FixedSignatureStore(settings.key_dir, settings.key_passphrase),
        settings,
        clock=lambda: clock_at,
    )
    # Serials the same in every run: their random part from a seeded generator, their time
    # from a clock that advances a millisecond every two e-certs (a worker's pace), not the
    # real one, which under valgrind would change the stamps, their cache's hits and the order
    # of the index pages from run to run.
    issuer._rng = random.Random(0)
    issuer._index_rng = random.Random(1)
    issued = itertools.count(2 * int(clock_at.timestamp() * 1000))
    real_serial = ecert_id.new_serial
    ecert_id.new_serial = lambda rng, millis=None: real_serial(rng, next(issued) // 2)
    bulk.quiet_gc()
    for kind in KINDS:
        issuer.run(bulk.Slice.from_dict(plan[kind][0]))
    measured = {"records": 0, "issued": 0, "refused": 0, "existing": 0}
    if args.kind:
        for data in plan[KINDS[args.kind - 1]][1:]:
            result = issuer.run(bulk.Slice.from_dict(data))
            measured["records"] += result.records
            measured["issued"] += result.issued
            measured["refused"] += len(result.refused)
            measured["existing"] += result.existing
    print(json.dumps(measured))
    del ballast


# -- outside: set-up, valgrind runs, figures ---------------------------------------------------


def _environment(database: Path, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATABASE_URL": f"sqlite:///{database}",
        "ROADCERT_DATA_DIR": str(data_dir),
        "ROADCERT_KEY_PASSPHRASE": PASSPHRASE,
        "ROADCERT_PROVINCE_CODE": "220000",
        "PYTHONHASHSEED": "0",
        "COLUMNS": "120",
    }


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done


def _remove_database(path: Path) -> None:
    """A SQLite database with its write-ahead log: a stale log would corrupt a new database."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@dataclass(frozen=True)
class Run:
    """One valgrind run: which tree, which memory layout, which kind (0: warm-up only)."""

    tree: int
    layout: int
    kind: int


def count(run: Run, work: Path, plan: Path, clock: str) -> tuple[int, dict[str, int]]:
    """Issue under cachegrind on a copy of the base database; (instructions, what the measured
    slices did). Paths and arguments have the same length in every run."""
    database = work / f"run-{run.tree}-{run.layout:02d}-{run.kind}.db"
    _remove_database(database)
    with sqlite3.connect(work / "base.db") as source, sqlite3.connect(database) as copy:
        source.backup(copy)  # with whatever the write-ahead log still holds
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        "run",
        "--plan",
        str(plan),
        "--clock",
        clock,
        "--kind",
        str(run.kind),
        "--layout",
        f"{run.layout:02d}",
    ]
    env = _environment(database, work / "data")
    tree = work / "trees" / str(run.tree)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    done = _run(command, env, f"valgrind run {run}")
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    _remove_database(database)
    return int(found.group(1).replace(",", "")), json.loads(done.stdout.strip().splitlines()[-1])


def copy_tree(package: Path, work: Path, number: int) -> None:
    """``package`` (a ``roadcert`` folder) to ``work/trees/N/roadcert``, byte-compiled here so
    that no run compiles."""
    target = work / "trees" / str(number) / "roadcert"
    shutil.rmtree(target.parent, ignore_errors=True)
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(target, quiet=1)


def figures(results: dict[Run, tuple[int, dict[str, int]]], tree: int) -> dict[str, Any]:
    """Per kind: what the measured slices did and the instructions per e-cert and per record,
    the mean over the layouts with its lowest and highest."""
    layouts = sorted({run.layout for run in results if run.tree == tree})
    rows: dict[str, dict[str, Any]] = {}
    for number, kind in enumerate(KINDS, start=1):
        per_ecert, per_record = [], []
        measured: dict[str, int] = {}
        for layout in layouts:
            extra = results[Run(tree, layout, number)][0] - results[Run(tree, layout, 0)][0]
            measured = results[Run(tree, layout, number)][1]
            if measured["issued"]:
                per_ecert.append(extra / measured["issued"])
            per_record.append(extra / measured["records"])
        rows[kind] = measured | {
            "per_ecert": round(statistics.fmean(per_ecert)) if per_ecert else None,
            "per_ecert_low": round(min(per_ecert)) if per_ecert else None,
            "per_ecert_high": round(max(per_ecert)) if per_ecert else None,
            "per_record": round(statistics.fmean(per_record)),
        }
    mixed = None
    if all(rows[kind]["per_ecert"] for kind in KINDS):
        mixed = round(sum(PROVINCE_MIX[kind] * rows[kind]["per_ecert"] for kind in KINDS))
    warmups = [results[Run(tree, layout, 0)][0] for layout in layouts]
    return {
        "warmup_instructions": round(statistics.fmean(warmups)),
        "kinds": rows,
        "per_ecert_province_mix": mixed,
    }


def print_table(title: str, found: dict[str, Any]) -> None:
    print(f"{title} (warm-up run {found['warmup_instructions']:,} instructions)")
    header = ("kind", "records", "issued", "refused", "per e-cert", "(layouts)", "per record")
    print(
        f"  {header[0]:<13}{header[1]:>8}{header[2]:>8}{header[3]:>8}"
        f"{header[4]:>12}  {header[5]:<20}{header[6]:>11}"
    )
    for kind, row in found["kinds"].items():
        if row["per_ecert"]:
            per_ecert = f"{row['per_ecert']:,}"
            spread = f"{row['per_ecert_low']:,}–{row['per_ecert_high']:,}"
        else:
            per_ecert = spread = "-"
        print(
            f"  {kind:<13}{row['records']:>8,}{row['issued']:>8,}{row['refused']:>8,}"
            f"{per_ecert:>12}  {spread:<20}{row['per_record']:>11,}"
        )
    if found["per_ecert_province_mix"]:
        print(
            "  province mix (10 % licences, 30 % vehicles, 60 % practitioners): "
            f"{found['per_ecert_province_mix']:,} per e-cert"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=2, help="measured slices of each kind")
    parser.add_argument("--slice-size", type=int, default=500, help="ledger records a slice")
    parser.add_argument(
        "--scale", type=float, default=0.05, help="of bench/migrate.py's million (0.05: 50k)"
    )
    parser.add_argument("--indexes", choices=["defer", "keep"], default="defer")
    parser.add_argument(
        "--layouts", type=int, default=3, help="memory layouts each tree is counted in"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: temporary)")
    parser.add_argument(
        "--compare",
        type=Path,
        help="also count the roadcert package of this source folder (e.g. another worktree's "
        "src) on the same database, and print the change",
    )
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    parser.add_argument("--inner", choices=["prepare", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    parser.add_argument("--kind", type=int, choices=range(len(KINDS) + 1), help=argparse.SUPPRESS)
    parser.add_argument("--layout", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner == "prepare":
        inner_prepare(args)
        return
    if args.inner == "run":
        inner_run(args)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: apt-get install valgrind")
    if args.compare is not None:
        args.compare = args.compare.resolve()
        if not (args.compare / "roadcert" / "__init__.py").is_file():
            raise SystemExit(f"--compare {args.compare}: no roadcert package in that folder")

    from roadcert.db import utcnow
    from roadcert.kit.chinatime import china_date

    started = time.perf_counter()
    now = utcnow().replace(microsecond=0)
    today = china_date(now)
    root = args.keep or Path(tempfile.mkdtemp(prefix="roadcert-instructions-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        export, base, data_dir = root / "export", root / "base.db", root / "data"
        for stale in (export, data_dir):
            shutil.rmtree(stale, ignore_errors=True)
        _remove_database(base)
        env = _environment(base, data_dir)
        log(f"setup: synth --scale {args.scale:g}, init, import, keys ({root})")
        _run(
            [
                ROADCERT,
                "synth",
                "-o",
                str(export),
                "--operators",
                str(max(1, round(100_000 * args.scale))),
                "--vehicles",
                str(round(300_000 * args.scale)),
                "--practitioners",
                str(round(600_000 * args.scale)),
                "--seed",
                str(args.seed),
                "--today",
                today.isoformat(),
            ],
            env,
            "roadcert synth",
        )
        _run([ROADCERT, "init"], env, "roadcert init")
        _run([ROADCERT, "import", str(export), "--report", str(root / "report")], env, "import")
        prepared = _run(
            [
                sys.executable,
                __file__,
                "--inner",
                "prepare",
                "--slices",
                str(args.slices),
                "--slice-size",
                str(args.slice_size),
                "--indexes",
                args.indexes,
            ],
            env,
            "prepare",
        )
        plan_path = root / "plan.json"
        plan_path.write_text(prepared.stdout, encoding="utf-8")
        authority = json.loads(prepared.stdout)["authority"]
        import roadcert

        copy_tree(Path(roadcert.__file__).resolve().parent, root, 0)
        trees = [0]
        if args.compare is not None:
            copy_tree(args.compare / "roadcert", root, 1)
            trees.append(1)
        runs = [
            Run(tree, layout, kind)
            for tree in trees
            for layout in range(args.layouts)
            for kind in range(len(KINDS) + 1)
        ]
        log(f"valgrind: {len(runs)} runs, {args.jobs} at a time …")
        clock = now.isoformat()
        with ThreadPoolExecutor(args.jobs) as pool:
            counted = list(pool.map(lambda run: count(run, root, plan_path, clock), runs))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    results = dict(zip(runs, counted, strict=True))
    this = figures(results, 0)
    other = figures(results, 1) if args.compare else None
    report: dict[str, Any] = {
        "authority": authority,
        "slice_size": args.slice_size,
        "slices_per_kind": args.slices,
        "indexes": args.indexes,
        "layouts": args.layouts,
        "this": this,
        "compare": None if other is None else {"src": str(args.compare)} | other,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(
        f"instructions per e-cert besides SM2 signing: {authority}, {args.slices} slices of "
        f"{args.slice_size} records of each kind, indexes {args.indexes}, mean of "
        f"{args.layouts} memory layouts"
    )
    print_table("this tree", this)
    if other is not None:
        print_table(f"--compare {args.compare}", other)
        print("change (--compare against this tree), per e-cert:")
        pairs = [(k, this["kinds"][k]["per_ecert"], other["kinds"][k]["per_ecert"]) for k in KINDS]
        pairs.append(
            ("province mix", this["per_ecert_province_mix"], other["per_ecert_province_mix"])
        )
        for label, mine, theirs in pairs:
            if mine and theirs:
                print(f"  {label:<13}{theirs - mine:>+12,}  {100 * (theirs / mine - 1):+.2f} %")
        print("  (a change inside the spread of the layouts is not one this script can see)")
    print(f"({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
