"""Benchmark: verifying e-cert codes offline and over HTTP, QR encode/decode, face rendering.

Prints, next to the machine facts and ``openssl speed sm2`` measured in the same run:

1. offline verifications per second (``verify_cose`` with a cached trust list and status list,
   one core), the cost of each of its steps, and the ratio to openssl's SM2 verify/s;
2. ``POST /api/verify`` of a ``roadcert serve`` subprocess on 127.0.0.1 under a bounded load
   (N requests at each fixed concurrency, at most 60 s each): requests/s, p50/p99, errors;
3. QR encode/decode and PDF/PNG face rendering per second.

Setup (not timed) builds a small province with bench/issue.py's helpers and issues its e-certs.

    .venv/bin/python bench/verify.py [--db sqlite|postgresql|both] [--requests N]
                                     [--concurrency 8,32] [--json] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx2
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from roadcert.catalog.types import CATALOGUE
from roadcert.certificates.models import Ecert
from roadcert.certificates.status import build_status_list
from roadcert.config import Environment, Settings
from roadcert.crypto import sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.models import KeyRole
from roadcert.crypto.trustlist import build_trust_list
from roadcert.db import make_sessionmaker
from roadcert.kit import ecert_id
from roadcert.render import faces, qr
from roadcert.render.service import face_for, render
from roadcert.runtime import Runtime
from roadcert.verification import payload
from roadcert.verification.codes import code_for
from roadcert.verification.service import verify_cose
from roadcert.verification.sources import OnlineSource, load_offline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import issue  # bench/issue.py: the openssl reference, the province's ledger, the backends

VERIFY_HOST = "zz.jtt.jl.gov.cn"  # a realistic host in the QR texts (its length counts)
CODES = 200  # signed codes the verification loops cycle over
LOAD_LIMIT_S = 60.0  # a load run stops after this, whatever --requests says
CLIENT_TIMEOUT_S = 30.0
log = issue.log


@dataclass
class Rate:
    """A timed loop: calls per second and microseconds per call."""

    name: str
    per_s: float
    us: float
    calls: int


Case = tuple[str, Callable[[Any], object], Sequence[Any]]  # name, function, items to cycle over


def rates(cases: Sequence[Case], seconds: float, rounds: int = 5) -> list[Rate]:
    """Time each case for ``seconds`` on this core, in ``rounds`` interleaved rounds of at least
    one call, keeping each case's fastest round: a burst of other work on a shared machine then
    slows one round of a case, not the case, and the cases of a table are measured alike."""
    best = [float("inf")] * len(cases)
    calls = [0] * len(cases)
    for _ in range(rounds):
        for i, (_, fn, items) in enumerate(cases):
            count = 0
            start = now = time.perf_counter()
            while now < start + seconds / rounds or count < 1:
                fn(items[(calls[i] + count) % len(items)])
                count += 1
                now = time.perf_counter()
            best[i], calls[i] = min(best[i], (now - start) / count), calls[i] + count
    return [
        Rate(name, round(1 / b, 1), round(b * 1e6, 1), n)
        for (name, _, _), b, n in zip(cases, best, calls, strict=True)
    ]


def reference(seconds: float) -> dict[str, Any]:
    """``openssl speed sm2`` (sign/s, verify/s) and ``sm.verify`` of 1 KiB in this process."""
    log(f"reference: openssl speed -seconds {issue.OPENSSL_SECONDS} sm2 …")
    out: dict[str, Any] = dict.fromkeys(["version", "sign_per_s", "verify_per_s", "note"])
    try:
        out["version"], out["sign_per_s"], out["verify_per_s"] = issue.openssl_speed()
    except (RuntimeError, OSError, subprocess.SubprocessError, IndexError) as exc:
        out["note"] = str(exc)
        log(f"  openssl reference unavailable: {exc}; ratios will be missing")
    key = sm.generate_private_key()
    data = os.urandom(1024)
    signature, public = sm.sign(key, data), key.public_key()
    case: Case = ("sm.verify", lambda _: sm.verify(public, data, signature), [0])
    out["sm_verify_per_s"] = rates([case], seconds)[0].per_s
    return out


# -- the province ----------------------------------------------------------------------------------


@dataclass
class Province:
    """A province with issued e-certs, signed codes of some, and its exported lists."""

    runtime: Runtime
    ecerts: list[Ecert]
    codes: list[bytes]
    texts: list[str]
    trust_list: bytes
    root_pem: bytes
    status_lists: list[bytes]
    now: datetime


def build_province(engine: Engine, directory: Path, n: int, seed: int) -> Province:
    """``n`` ledger records and their e-certs (bench/issue.py), codes, trust and status lists."""
    settings = Settings(
        env=Environment.TEST,
        data_dir=directory,
        key_passphrase=issue.PASSPHRASE,
        province_code="220000",
        verify_host=VERIFY_HOST,
    )
    store = FileKeyStore(directory / "keys", issue.PASSPHRASE)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
    issue.issue_records(runtime, issue.build_ledger(runtime, n, seed), 500, issue.Split())
    now = datetime.now(UTC)
    with runtime.unit_of_work("bench") as svc:
        ecerts = list(svc.session.scalars(select(Ecert).order_by(Ecert.id)))
        codes = [code_for(svc, ecert) for ecert in ecerts[:CODES]]
        next_update = now + timedelta(seconds=settings.trust_list_ttl)
        trust = build_trust_list(svc.session, svc.keys, now, next_update)
        root = svc.keys.repo.current(KeyRole.ROOT)
        assert root is not None
        lists = [
            build_status_list(svc.session, authority, svc.keys, now, settings.status_list_ttl)
            for authority in svc.ledger.repo.authorities()
        ]
    texts = [payload.to_text(cose, VERIFY_HOST) for cose in codes]
    root_pem = x509.to_pem(root.certificate).encode()
    return Province(runtime, ecerts, codes, texts, trust, root_pem, lists, now)


# -- 1. offline verification -----------------------------------------------------------------------


def bench_offline(province: Province, seconds: float) -> dict[str, Any]:
    """``verify_cose`` against cached lists, then each of its steps on its own."""
    now, codes = province.now, province.codes
    offline = load_offline(province.trust_list, province.root_pem, province.status_lists, now)
    results = [verify_cose(cose, offline, now) for cose in codes]
    good = sum(result.ok for result in results)
    if good != len(results):
        log(f"offline: only {good} of {len(results)} codes verify as good!")
    # Does verify_cose parse the signer certificate on every call? (Counted after warming up.)
    with mock.patch.object(x509, "load", wraps=x509.load) as spy:
        verify_cose(codes[0], offline, now)
    envelopes = [payload.open_envelope(cose) for cose in codes]
    signers = [offline.signer(envelope.kid) for envelope in envelopes]
    certificates = [signer.certificate for signer in signers if signer]
    keys = [x509.load(der).public_key for der in certificates]
    claims = [payload.decode_claims(envelope) for envelope in envelopes]
    pairs = list(zip(envelopes, keys, strict=True))

    def identifier(c: payload.Claims) -> object:
        return ecert_id.check(c.identifier), ecert_id.parse(c.identifier)

    inside: list[Case] = [
        ("open_envelope (COSE structure)", payload.open_envelope, codes),
        ("trust list lookup (by kid)", lambda e: offline.signer(e.kid), envelopes),
        ("x509.load (signer certificate)", x509.load, certificates),
        ("payload.verify (SM2/SM3)", lambda p: payload.verify(*p), pairs),
        ("decode_claims", payload.decode_claims, envelopes),
        ("identifier check (GB/T 36904)", identifier, claims),
        ("status lookup (status list)", lambda c: offline.status(c, now), claims),
    ]
    if not spy.call_count:  # a verify_cose that caches the signer's key has no such step
        inside = [case for case in inside if not case[0].startswith("x509.load")]
    outside: list[Case] = [
        ("from_text (QR text → COSE)", payload.from_text, province.texts),
        ("to_dict (JSON answer)", lambda r: r.to_dict(), results),
    ]
    total_case: Case = ("verify_cose", lambda c: verify_cose(c, offline, now), codes)
    total, *measured = rates([total_case, *inside, *outside], seconds)
    steps, after = measured[: len(inside)], measured[len(inside) :]
    return {
        "codes": len(codes),
        "good": good,
        "cose_bytes_mean": round(statistics.fmean(len(c) for c in codes), 1),
        "certificate_parses_per_verify": spy.call_count,
        "total": asdict(total),
        "steps": [asdict(r) for r in steps],
        "rest_us": round(total.us - sum(r.us for r in steps), 1),
        "outside": [asdict(r) for r in after],
    }


def bench_online_in_process(province: Province, seconds: float) -> dict[str, Any]:
    """``verify_cose`` with ``OnlineSource``, a session per code as a request has: no HTTP."""
    runtime, now = province.runtime, province.now
    queries = Counter[str]()

    def count(*_: Any) -> None:
        queries["n"] += 1

    def one(cose: bytes) -> None:
        with runtime.unit_of_work("bench") as svc:
            verify_cose(cose, OnlineSource(svc), now)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        (result,) = rates([("online verify_cose", one, province.codes)], seconds)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    return asdict(result) | {"queries_per_verify": round(queries["n"] / result.calls, 2)}


# -- 2. HTTP under a bounded load ------------------------------------------------------------------


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from Linux /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(database_url: str, directory: Path) -> Iterator[tuple[str, int, Path]]:
    """``roadcert serve`` on 127.0.0.1 and a free port: (base URL, pid, log); always stopped."""
    port = free_port()
    env = os.environ | {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATA_DIR": str(directory),
        "ROADCERT_DATABASE_URL": database_url,
        "ROADCERT_KEY_PASSPHRASE": issue.PASSPHRASE,
        "ROADCERT_VERIFY_HOST": VERIFY_HOST,
    }
    command = [sys.executable, "-c", "from roadcert.cli import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    base, log_path = f"http://127.0.0.1:{port}", directory / f"server-{port}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"roadcert serve exited with {process.returncode}:\n{tail}")
            try:
                httpx2.get(f"{base}/api/verify", timeout=1)  # 405 once it listens
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("roadcert serve did not start within 30 s") from None
                time.sleep(0.2)
        yield base, process.pid, log_path
    finally:  # also on Ctrl-C; a server whose event loop is stuck ignores SIGTERM: kill it
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _load(base: str, texts: Sequence[str], n: int, concurrency: int) -> tuple[Any, ...]:
    """``concurrency`` workers on one keep-alive pool send ``n`` requests in all."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    state = {"next": 0, "not_ok": 0}
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=CLIENT_TIMEOUT_S) as client:
        start = time.perf_counter()

        async def worker() -> None:
            while state["next"] < n and time.perf_counter() < start + LOAD_LIMIT_S:
                body = {"text": texts[state["next"] % len(texts)]}
                state["next"] += 1
                sent = time.perf_counter()
                try:
                    response = await client.post("/api/verify", json=body)
                except httpx2.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    errors[str(response.status_code)] += 1
                elif not response.json().get("ok"):
                    state["not_ok"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return state["next"], errors, state["not_ok"], latencies, wall


def run_load(
    backend: str, base: str, pid: int, texts: Sequence[str], n: int, conc: int
) -> dict[str, Any]:
    """Send ``n`` requests (stop after 60 s) with ``conc`` in flight; CPU used on both ends."""
    server_before, client_before = cpu_seconds(pid), time.process_time()
    sent, errors, not_ok, latencies, wall = asyncio.run(_load(base, texts, n, conc))
    server_after, client_cpu = cpu_seconds(pid), time.process_time() - client_before
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    server_cpu = None
    if server_before is not None and server_after is not None:
        server_cpu = round((server_after - server_before) / sent * 1000, 2)
    return {
        "backend": backend,
        "concurrency": conc,
        "requests": sent,  # fewer than asked if the time limit stopped the run
        "errors": sum(errors.values()),  # transport errors, timeouts and non-200 answers
        "not_ok": not_ok,  # 200 answers saying the code is not good (none expected)
        "wall_s": round(wall, 2),
        "per_s": round(sent / wall, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "server_cpu_ms": server_cpu,  # CPU of the server process per request
        "client_cpu_ms": round(client_cpu / sent * 1000, 2),  # of the load generator
        "error_kinds": dict(errors),
    }


def bench_http(
    province: Province, directory: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Serve the province's database (same SQLite file or PostgreSQL schema) and load it."""
    engine = province.runtime.engine
    backend = engine.dialect.name
    url = engine.url
    if backend == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    log(f"{backend}: roadcert serve on 127.0.0.1 …")
    loads = []
    with server(url.render_as_string(hide_password=False), directory) as (base, pid, log_path):
        asyncio.run(_load(base, province.texts, 10 if args.quick else 100, 4))  # warm-up
        for conc in args.concurrency:
            log(f"{backend}: {args.requests} requests, {conc} in flight …")
            loads.append(run_load(backend, base, pid, province.texts, args.requests, conc))
        if any(load["errors"] for load in loads):  # the server's own account, without access lines
            lines = log_path.read_text(errors="replace").splitlines()
            log("\n".join([line for line in lines if "HTTP/1.1" not in line][-40:]))
    return loads


# -- 3. QR and faces -------------------------------------------------------------------------------


def bench_render(province: Province, seconds: float) -> dict[str, Any]:
    """QR encode/decode of the codes' texts, and PDF/PNG faces of one e-cert per group."""
    texts = province.texts
    pngs = [qr.encode_png(t) for t in texts[:20]]
    cases: list[Case] = [
        ("qr.encode_matrix", qr.encode_matrix, texts),
        ("qr.encode_png (4 px/module)", qr.encode_png, texts),
        ("qr.decode_image (code PNG)", qr.decode_image, pngs),
    ]
    by_group: dict[str, int] = {}
    for ecert in province.ecerts:
        by_group.setdefault(str(CATALOGUE[ecert.type_code].group), ecert.id)
    with province.runtime.unit_of_work("bench") as svc:
        for group, ecert_id_ in sorted(by_group.items()):
            ecert = svc.session.get_one(Ecert, ecert_id_)
            doc = face_for(svc, ecert)
            face_png = faces.render_png(doc)
            found = qr.decode_image(face_png)
            if not found or found[0].text != doc.qr_text:
                log(f"render: the QR of the {group} face PNG did not decode back!")
            cases += [
                (f"render(…, 'pdf') {group}", lambda e: render(svc, e, "pdf"), [ecert]),
                (f"  face_for (data + code) {group}", lambda e: face_for(svc, e), [ecert]),
                (f"  faces.render_pdf {group}", faces.render_pdf, [doc]),
                (f"render(…, 'png') {group}", lambda e: render(svc, e, "png"), [ecert]),
                (f"  faces.render_png {group}", faces.render_png, [doc]),
                (f"qr.decode_image (face PNG, 150 dpi) {group}", qr.decode_image, [face_png]),
            ]
        rows = rates(cases, seconds)
    versions = [qr.version_of(t) for t in texts]
    return {
        "qr_versions": [min(versions), max(versions)],
        "text_chars": [min(map(len, texts)), max(map(len, texts))],
        "rows": [asdict(r) for r in rows],
    }


# -- report ----------------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    """The human-readable tables."""
    facts, ref = report["machine"], report["reference"]
    openssl = ref["verify_per_s"]
    print(f"\nmachine: {facts['cpu_count']} CPUs ({facts['cpu']}), Python {facts['python']}")
    print(f"openssl: {ref['version'] or 'n/a'}; tongsuopy {facts['tongsuopy']}")
    rates = f"{ref['sign_per_s']:,.1f} sign/s, {openssl:,.1f} verify/s" if openssl else ref["note"]
    print(f"openssl speed sm2 (one core): {rates}")
    print(f"roadcert.crypto.sm.verify in process (one core): {ref['sm_verify_per_s']:,.1f}/s")

    off = report["offline"]
    total = off["total"]
    ratio = f"{total['per_s'] / openssl:.3f}" if openssl else "n/a"
    print(
        f"\n1. offline verification, one core: {off['codes']} codes "
        f"({off['cose_bytes_mean']:.0f} B of COSE on average), {off['good']}/{off['codes']} good"
    )
    print(f"   verify_cose: {total['per_s']:,.1f} verifications/s ({total['us']:.0f} µs each)")
    print(f"   ÷ openssl verify/s: {ratio}")
    print(f"   {'step inside verify_cose':<36}{'µs/call':>10}{'share':>8}")
    steps = [*off["steps"], {"name": "rest (total − steps)", "us": off["rest_us"]}]
    for step in steps:
        print(f"   {step['name']:<36}{step['us']:>10.1f}{step['us'] / total['us']:>8.0%}")
    for step in off["outside"]:
        print(f"   {'outside: ' + step['name']:<36}{step['us']:>10.1f}")

    print(f"\n2. POST /api/verify on loopback (roadcert serve; at most {LOAD_LIMIT_S:.0f} s a run)")
    for backend, online in report["online_in_process"].items():
        print(
            f"   {backend}: verify_cose with OnlineSource in process, a session each: "
            f"{online['per_s']:,.1f}/s ({online['us']:.0f} µs, "
            f"{online['queries_per_verify']:g} statements each)"
        )
    header = (
        f"   {'backend':<11}{'conc':>5}{'requests':>9}{'errors':>7}{'not ok':>7}{'wall s':>8}"
        f"{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'srv CPU ms':>11}{'cli CPU ms':>11}"
    )
    print(header + "\n   " + "-" * (len(header) - 3))
    for r in report["http"]:
        srv = "n/a" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.2f}"
        print(
            f"   {r['backend']:<11}{r['concurrency']:>5}{r['requests']:>9}{r['errors']:>7}"
            f"{r['not_ok']:>7}{r['wall_s']:>8.2f}{r['per_s']:>8.1f}{r['p50_ms']:>8.1f}"
            f"{r['p99_ms']:>8.1f}{srv:>11}{r['client_cpu_ms']:>11.2f}"
        )
        if r["error_kinds"]:
            print(f"      errors: {r['error_kinds']}")

    rend = report["render"]
    low, high = rend["qr_versions"]
    chars = "–".join(str(c) for c in rend["text_chars"])
    print(f"\n3. QR and faces, one core (QR texts of {chars} characters, versions {low}–{high}, M)")
    print(f"   {'operation':<44}{'per s':>10}{'ms each':>10}")
    for r in rend["rows"]:
        print(f"   {r['name']:<44}{r['per_s']:>10.1f}{r['us'] / 1000:>10.2f}")


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ROADCERT_TEST_POSTGRES_URL", issue.DEFAULT_POSTGRES_URL),
        help=f"default: $ROADCERT_TEST_POSTGRES_URL or {issue.DEFAULT_POSTGRES_URL}",
    )
    parser.add_argument("--requests", type=int, help="requests per concurrency (2000; quick 200)")
    parser.add_argument("--concurrency", default="8,32", help="requests in flight: 8,32")
    parser.add_argument("--records", type=int, help="e-certs in the province (300; quick 60)")
    parser.add_argument("--seconds", type=float, help="seconds per timed loop (2; quick 0.3)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the generated ledger")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args(argv)
    args.requests = args.requests or (200 if args.quick else 2000)
    args.records = args.records or (60 if args.quick else 300)
    args.seconds = args.seconds or (0.3 if args.quick else 2.0)
    try:
        args.concurrency = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency takes numbers separated by commas")
    if min(args.concurrency) < 1 or args.requests < 1 or args.records < 3 or args.seconds <= 0:
        parser.error("--requests, --concurrency and --seconds must be positive, --records ≥ 3")
    return args


def run_backend(backend: str, args: argparse.Namespace, report: dict[str, Any]) -> None:
    """Build a province on ``backend``; the offline, QR and face figures come from SQLite's."""
    with tempfile.TemporaryDirectory(prefix=f"roadcert-bench-verify-{backend}-") as tmp:
        directory = Path(tmp)
        if backend == "sqlite":
            database = issue.sqlite_engine(directory)
        else:
            database = issue.postgres_engine(args.postgres_url)
        with database as engine:
            log(f"{backend}: building a province of {args.records} e-certs (not timed) …")
            province = build_province(engine, directory, args.records, args.seed)
            if backend == "sqlite":
                log("offline verification …")
                report["offline"] = bench_offline(province, args.seconds)
                log("QR and faces …")
                report["render"] = bench_render(province, args.seconds)
            if args.db in (backend, "both"):
                online = bench_online_in_process(province, args.seconds)
                report["online_in_process"][backend] = online
                report["http"] += bench_http(province, directory, args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; exit status 1 if any request failed."""
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the server subprocess is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    report: dict[str, Any] = {"date": date.today().isoformat(), "machine": issue.machine()}
    report |= {"reference": reference(args.seconds), "online_in_process": {}, "http": []}
    for backend in ["sqlite"] if args.db == "sqlite" else ["sqlite", "postgresql"]:
        try:
            run_backend(backend, args, report)
        except issue.Unreachable as exc:
            log(f"postgresql: not reachable at {args.postgres_url} ({exc}); skipped")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)
    return 1 if any(r["errors"] or r["not_ok"] for r in report["http"]) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted (the server, if one was running, has been stopped)")
        sys.exit(130)
