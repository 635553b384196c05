"""`roadcert issue --all` as a province runs it: worker processes, killed with SIGKILL, resumed.

Real processes on a real database file (and a PostgreSQL schema): the ledger is built with the
business operations while the authority does not issue e-certs, then the command runs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from roadcert.certificates import bulk
from roadcert.certificates.bulk_repository import DEFERRABLE_INDEXES
from roadcert.certificates.models import Ecert
from roadcert.config import Environment, Settings
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.models import KeyRecord
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.kit import ric
from roadcert.migrate import upgrade
from roadcert.runtime import Runtime
from tests import factories
from tests.conftest import postgres_schema, postgres_url_for

PASSPHRASE = "bulk-test-passphrase"
ROADCERT = str(Path(sys.executable).with_name("roadcert"))


@dataclass
class Province:
    runtime: Runtime
    env: dict[str, str]
    expected: int  # e-certs the ledger gives


def _build(url: str, directory: Path, operators: int, people: int) -> Province:
    settings = Settings(
        env=Environment.TEST, data_dir=directory, database_url=url, province_code="220000"
    )
    engine = make_engine(url)
    store = FileKeyStore(settings.key_dir, PASSPHRASE, kdf=ScryptParams(log2_n=10))
    runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
    with runtime.unit_of_work("test") as svc:
        auth = factories.authority(svc, enabled=False)
        authority_id = auth.id
    rng, serial = random.Random(5), 0
    for _ in range(operators):
        with runtime.unit_of_work("test") as svc:
            auth = svc.ledger.get(type(auth), authority_id)
            op = factories.operator(svc, auth)
            lic = factories.licence(svc, auth, op).record
            for _ in range(3):
                factories.vehicle(svc, auth, op, lic)
            for _ in range(people // operators):
                serial += 1
                birth = date(1970, 1, 1) + timedelta(days=serial)
                number = ric.generate(rng, "220102", birth, True)
                factories.practitioner(svc, auth, birth_date=birth, id_number=number)
    with runtime.unit_of_work("test") as svc:
        assert svc.session.scalar(select(func.count()).select_from(Ecert)) == 0
        svc.ledger.set_ecert_enabled(authority_id, True)
    env = os.environ | {
        "ROADCERT_ENV": "test",
        "ROADCERT_DATABASE_URL": url,
        "ROADCERT_DATA_DIR": str(directory),
        "ROADCERT_KEY_PASSPHRASE": PASSPHRASE,
        "ROADCERT_PROVINCE_CODE": "220000",
    }
    return Province(runtime, env, operators * 4 + (people // operators) * operators)


@pytest.fixture(params=["sqlite", "postgresql"])
def province(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Province]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'province.db'}"
        upgrade(url)
        built = _build(url, tmp_path, operators=40, people=200)
        yield built
        built.runtime.engine.dispose()
    else:
        for schema in postgres_schema("rc_bulk"):
            url = postgres_url_for(schema)
            upgrade(url)
            built = _build(url, tmp_path, operators=40, people=200)
            yield built
            built.runtime.engine.dispose()


def _count(province: Province) -> int:
    with province.runtime.unit_of_work("test") as svc:
        return int(svc.session.scalar(select(func.count()).select_from(Ecert)) or 0)


def _peek(province: Province) -> int:
    """E-certs written so far, read without a transaction of the runtime's: on SQLite its
    ``BEGIN IMMEDIATE`` would queue behind the run's writers, and the run could end while the
    test waits its turn to look."""
    raw = province.runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT count(*) FROM ecert")
        row = cursor.fetchone()
        return int(row[0]) if row else 0
    finally:
        raw.close()


def _roadcert(province: Province, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ROADCERT, *args],
        env=province.env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _issue(province: Province, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ROADCERT, "issue", "--all", "--workers", "2", "--slice-size", "20", *extra],
        env=province.env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: SIGKILL reaches the workers too
    )


def test_killed_run_resumes_with_every_certificate_issued_once(
    province: Province, tmp_path: Path
) -> None:
    run = _issue(province, tmp_path, "--indexes", "defer")
    deadline = time.monotonic() + 120
    # Poll often: signing the whole ledger takes a few tenths of a second once the first batch
    # is in, so the kill must follow the first commit closely to land part-way (the pause
    # leaves SQLite's lock, which every transaction here takes, to the writers).
    while _peek(province) == 0:
        assert run.poll() is None, "the run ended before writing anything"
        assert time.monotonic() < deadline, "no e-cert was written in time"
        time.sleep(0.002)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    killed_at = _count(province)
    assert 0 < killed_at < province.expected, "the run must be stopped part-way"
    with province.runtime.unit_of_work("test") as svc:
        # Killed before its end, the run could not build the indexes it left out.
        assert bulk.missing_indexes(svc.session) == list(DEFERRABLE_INDEXES)

    resumed = _roadcert(
        province, tmp_path, "issue", "--all", "--json", "--workers", "2", "--slice-size", "20"
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["refused"] == 0
    assert summary["issued"] + summary["existing"] == province.expected
    assert summary["existing"] >= killed_at
    # Too small to defer them itself, the rerun builds the indexes the killed run left out.
    assert summary["indexes_deferred"] == []
    assert summary["indexes_rebuilt"] == list(DEFERRABLE_INDEXES)
    with province.runtime.unit_of_work("test") as svc:
        ecerts = svc.session.scalars(select(Ecert)).all()
        assert len(ecerts) == province.expected
        keys = [e.current_key for e in ecerts]
        assert None not in keys and len(set(keys)) == len(keys)
        assert {e.version for e in ecerts} == {1}
        assert len({(e.authority_id, e.status_index) for e in ecerts}) == len(ecerts)
        assert bulk.missing_indexes(svc.session) == []
        record = svc.session.get(KeyRecord, ecerts[0].signing_key_id)
        assert record is not None
        public = x509.load(record.certificate).public_key
        for ecert in ecerts[:: max(1, len(ecerts) // 25)]:
            assert cbor.decode(ecert.signed_data)["ZZBS"] == ecert.identifier
            assert sm.verify(public, ecert.signed_data, ecert.signature)

    again = _roadcert(province, tmp_path, "issue", "--all", "--json")
    assert json.loads(again.stdout)["issued"] == 0
    assert _count(province) == province.expected


def test_command_refuses_without_all_and_with_a_bad_scope(
    province: Province, tmp_path: Path
) -> None:
    bare = _roadcert(province, tmp_path, "issue")
    assert bare.returncode == 2 and "issue.scope" in bare.stderr
    bad = _roadcert(province, tmp_path, "issue", "--all", "--type", "0" * 21)
    assert bad.returncode == 2 and "ecert.type_unknown" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_queue_spreads_the_run_over_worker_processes(province: Province, tmp_path: Path) -> None:
    queued = _roadcert(
        province, tmp_path, "issue", "--all", "--queue", "--json", "--slice-size", "25"
    )
    if province.env["ROADCERT_DATABASE_URL"].startswith("sqlite"):
        assert queued.returncode == 2
        assert "queue.postgresql_only" in queued.stderr and "Traceback" not in queued.stderr
        return
    assert queued.returncode == 0, queued.stderr
    deferred = json.loads(queued.stdout)
    assert deferred["deferred"] == deferred["slices"] > 1
    worked = _roadcert(province, tmp_path, "worker", "--processes", "2", "--no-wait", "--json")
    assert worked.returncode == 0, worked.stderr
    summary = json.loads(worked.stdout)
    assert summary["issued"] == province.expected
    assert summary["queue"]["succeeded"] == deferred["slices"]
    assert summary["queue"]["todo"] == summary["queue"]["failed"] == 0
    assert _count(province) == province.expected
    status = _roadcert(province, tmp_path, "worker", "--status", "--json")
    assert json.loads(status.stdout)["succeeded"] == deferred["slices"]


def test_a_slice_is_read_while_another_connection_holds_the_sqlite_write_lock(
    tmp_path: Path,
) -> None:
    # Workers read their next slice while another worker's batch holds SQLite's single write
    # lock: the read is a snapshot and must not queue behind it (a slice whose e-certs all
    # exist only reads, so the run returns without writing).
    url = f"sqlite:///{tmp_path / 'province.db'}"
    upgrade(url)
    province = _build(url, tmp_path, operators=2, people=4)
    runtime = province.runtime
    with runtime.unit_of_work("test") as svc:
        work = bulk.plan(svc.session, slice_size=50)
        bulk.ensure_keys(svc.session, svc.keys, work.authorities)
    issuer = bulk.SliceIssuer(runtime.sessions, runtime.store, runtime.settings)
    assert sum(issuer.run(piece).issued for piece in work.slices) == province.expected

    holder = sqlite3.connect(tmp_path / "province.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    pool = ThreadPoolExecutor(1)
    try:
        reread = pool.submit(lambda: [issuer.run(piece) for piece in work.slices])
        # A read that took the write lock would wait out busy_timeout (30 s), then fail.
        results = reread.result(timeout=10)
    finally:
        holder.rollback()  # before waiting for the thread, which may be queued behind it
        holder.close()
        pool.shutdown()
        runtime.engine.dispose()
    assert sum(r.existing for r in results) == province.expected
    assert sum(r.issued for r in results) == 0
