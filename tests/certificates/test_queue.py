"""Bulk issuance through the PostgreSQL task queue: two worker processes, each e-cert once.

The ledger is committed in a throwaway PostgreSQL schema (the workers are other processes, so
the rolled-back test transaction of the other tests cannot be used); procrastinate's tables are
created in the same schema and dropped with it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import func, select

from roadcert.certificates import bulk, queue
from roadcert.certificates.models import Ecert, EcertStatus
from roadcert.config import Environment, Settings
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.keystore import FileKeyStore
from roadcert.crypto.models import KeyRecord
from roadcert.crypto.sm4 import ScryptParams
from roadcert.db import make_engine, make_sessionmaker
from roadcert.errors import RoadcertError
from roadcert.kit import ric
from roadcert.migrate import alembic_config, upgrade
from roadcert.runtime import Runtime
from tests import factories as f
from tests.conftest import postgres_schema, postgres_url_for

PASSPHRASE = "queue-test-passphrase"
OPERATORS = 20
VEHICLES_PER_OPERATOR = 4
PRACTITIONERS = 200
NO_PHOTO_EVERY = 16  # every 16th vehicle has no photo: refused, not issued
SLICE_SIZE = 25
WORKER_TIMEOUT = 120


# -- pure parts ----------------------------------------------------------------------------------


def test_conninfo_keeps_the_search_path_option() -> None:
    info = queue.conninfo(
        "postgresql+psycopg://rc:s%40cret@db.example:5433/roadcert"
        "?options=-csearch_path%3Dprov_22&sslmode=require"
    )
    params = psycopg.conninfo.conninfo_to_dict(info)
    assert params == {
        "host": "db.example",
        "port": "5433",
        "user": "rc",
        "password": "s@cret",
        "dbname": "roadcert",
        "options": "-csearch_path=prov_22",
        "sslmode": "require",
        "application_name": "roadcert-queue",
    }


def test_sqlite_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(env=Environment.TEST, data_dir=tmp_path)  # SQLite in the data dir
    with pytest.raises(RoadcertError) as refused:
        queue.defer_plan(settings, bulk.Plan([], []))
    assert refused.value.code == "queue.postgresql_only"
    assert "PostgreSQL" in refused.value.message


def test_slice_key_names_the_slice_and_its_scope() -> None:
    piece = bulk.Slice(bulk.SourceKind.VEHICLE, 10, 60, 40, (3, 1))
    same = bulk.Slice(bulk.SourceKind.VEHICLE, 10, 60, 40, (1, 3))
    other_scope = bulk.Slice(bulk.SourceKind.VEHICLE, 10, 60, 40, (1,))
    assert queue.slice_key(piece) == queue.slice_key(same)
    assert queue.slice_key(piece) != queue.slice_key(other_scope)
    assert queue.slice_key(piece).startswith("issue:vehicle:10-60:*:")


# -- the queue on PostgreSQL ---------------------------------------------------------------------


@dataclass
class Province:
    """A committed ledger in its own schema, with the settings a worker process reads."""

    settings: Settings
    runtime: Runtime
    environment: dict[str, str]
    expected: int  # e-certs the ledger gives
    refused: int  # records that cannot be issued (no photo)


@pytest.fixture
def province(tmp_path: Path) -> Iterator[Province]:
    """~300 ledger records entered while the authority is not issuing e-certs, then enabled."""
    for schema in postgres_schema("rc_queue"):
        url = postgres_url_for(schema)
        upgrade(url)
        settings = Settings(
            env=Environment.TEST,
            data_dir=tmp_path,
            database_url=url,
            key_passphrase=PASSPHRASE,
            province_code="220000",
        )
        engine = make_engine(url)
        store = FileKeyStore(settings.key_dir, PASSPHRASE, kdf=ScryptParams(log2_n=10))
        runtime = Runtime(settings, engine, make_sessionmaker(engine), store)
        try:
            refused = _build_ledger(runtime)
            environment = {
                **os.environ,
                "ROADCERT_ENV": "test",
                "ROADCERT_DATA_DIR": str(tmp_path),
                "ROADCERT_DATABASE_URL": url,
                "ROADCERT_KEY_PASSPHRASE": PASSPHRASE,
                "ROADCERT_PROVINCE_CODE": "220000",
            }
            records = OPERATORS * (1 + VEHICLES_PER_OPERATOR) + PRACTITIONERS
            yield Province(settings, runtime, environment, records - refused, refused)
        finally:
            engine.dispose()


def _build_ledger(runtime: Runtime) -> int:
    """Records through the business operations; returns how many lack a photo."""
    rng = random.Random(5)
    with runtime.unit_of_work("test") as svc:
        svc.keys.ensure_hierarchy()
        authority = f.authority(svc, enabled=False)
    no_photo = 0
    vehicles = 0
    with runtime.unit_of_work("test") as svc:
        for _ in range(OPERATORS):
            operator = f.operator(svc, authority)
            licence = f.licence(svc, authority, operator).record
            for _ in range(VEHICLES_PER_OPERATOR):
                vehicles += 1
                photo = None if vehicles % NO_PHOTO_EVERY == 0 else b"png"
                no_photo += photo is None
                f.vehicle(svc, authority, operator, licence, photo=photo)
    for offset in range(0, PRACTITIONERS, 100):
        with runtime.unit_of_work("test") as svc:
            for n in range(offset, offset + 100):
                # Distinct birth dates: the factory's fixed one allows too few ID numbers.
                birth = date(1970, 1, 1) + timedelta(days=7 * n)
                f.practitioner(
                    svc,
                    authority,
                    birth_date=birth,
                    id_number=ric.generate(rng, "220102", birth, True),
                )
    with runtime.unit_of_work("test") as svc:
        assert svc.session.scalar(select(func.count()).select_from(Ecert)) == 0
        svc.ledger.set_ecert_enabled(authority.id, True)
    return no_photo


def _plan(runtime: Runtime) -> bulk.Plan:
    with runtime.unit_of_work("test") as svc:
        work = bulk.plan(svc.session, slice_size=SLICE_SIZE)
        bulk.ensure_keys(svc.session, svc.keys, work.authorities)
    return work


def _start_worker(province: Province) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roadcert.certificates.queue", "worker", "--no-wait"],
        env=province.environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> dict[str, int]:
    try:
        stdout, stderr = process.communicate(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    summary: dict[str, int] = json.loads(stdout.strip().splitlines()[-1])
    return summary


def _check_each_ecert_once(runtime: Runtime, expected: int) -> None:
    with runtime.unit_of_work("test") as svc:
        session = svc.session
        assert session.scalar(select(func.count()).select_from(Ecert)) == expected
        assert session.scalar(select(func.count(func.distinct(Ecert.current_key)))) == expected
        twice = session.execute(
            select(Ecert.source_kind, Ecert.source_id, Ecert.type_code)
            .group_by(Ecert.source_kind, Ecert.source_id, Ecert.type_code)
            .having(func.count() > 1)
        ).all()
        assert twice == []
        assert set(session.scalars(select(Ecert.version).distinct())) == {1}
        assert set(session.scalars(select(Ecert.status).distinct())) == {EcertStatus.VALID}


def _check_signatures(runtime: Runtime, sample: int = 25) -> None:
    with runtime.unit_of_work("test") as svc:
        ecerts = svc.session.scalars(select(Ecert).order_by(func.random()).limit(sample)).all()
        assert len(ecerts) == sample
        for ecert in ecerts:
            key = svc.session.get(KeyRecord, ecert.signing_key_id)
            assert key is not None
            public = x509.load(key.certificate).public_key
            document = cbor.decode(ecert.signed_data, require_canonical=True)
            assert document["ZZBS"] == ecert.identifier
            assert sm.verify(public, ecert.signed_data, ecert.signature)


def test_alembic_check_ignores_the_queue_tables(tmp_path: Path) -> None:
    """The queue's tables live next to the ledger but are procrastinate's, not migrations'."""
    for schema in postgres_schema("rc_queue_check"):
        url = postgres_url_for(schema)
        upgrade(url)
        settings = Settings(env=Environment.TEST, data_dir=tmp_path, database_url=url)
        assert queue.ensure_queue_schema(settings) is True
        command.check(alembic_config(url))  # raises when models and database differ


def _strand_one_job(settings: Settings) -> None:
    """Leave a job as a machine killed mid-slice does: taken by a worker whose heartbeat stopped."""
    with psycopg.connect(queue.conninfo(settings.resolved_database_url)) as connection:
        connection.execute(
            "WITH gone AS (INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '5 minutes') RETURNING id) "
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = (SELECT id FROM gone) "
            "WHERE id = (SELECT min(id) FROM procrastinate_jobs WHERE status = 'todo')"
        )


def test_two_worker_processes_issue_each_ecert_once(province: Province) -> None:
    settings = province.settings
    work = _plan(province.runtime)
    slices = len(work.slices)
    assert slices >= 10  # enough jobs for two workers to share
    assert queue.ensure_queue_schema(settings) is True
    assert queue.ensure_queue_schema(settings) is False

    # Deferring twice adds the jobs once: the second finds each slice waiting already.
    assert queue.defer_plan(settings, work) == slices
    assert queue.defer_plan(settings, work) == 0
    status = queue.queue_status(settings)
    assert status["todo"] == slices and status["total"] == slices

    workers = [_start_worker(province), _start_worker(province)]
    summaries = [_finish(process) for process in workers]

    assert sum(s["slices"] for s in summaries) == slices
    assert sum(s["issued"] for s in summaries) == province.expected
    assert sum(s["refused"] for s in summaries) == province.refused
    assert sum(s["existing"] for s in summaries) == 0
    status = queue.queue_status(settings)
    assert status["succeeded"] == slices and status["total"] == slices, status
    _check_each_ecert_once(province.runtime, province.expected)
    _check_signatures(province.runtime)

    # A second run of the same plan: the finished jobs make way, every slice runs again, on
    # two local processes, and finds every e-cert made. One job is left as a machine lost
    # mid-slice leaves it (doing, its worker silent): a starting worker puts it back.
    assert queue.defer_plan(settings, work) == slices
    _strand_one_job(settings)
    assert queue.queue_status(settings)["doing"] == 1
    seen: list[tuple[bulk.Slice, bulk.SliceResult]] = []
    again = queue.run_workers(
        settings, processes=2, wait=False, on_result=lambda *done: seen.append(done)
    )
    assert again.slices == slices and again.lost == 0
    assert sorted(piece.first_id for piece, _ in seen) == sorted(s.first_id for s in work.slices)
    refusals = [refusal for _, result in seen for refusal in result.refused]
    assert len(refusals) == province.refused
    assert {r.kind for r in refusals} == {"vehicle"}
    assert (again.issued, again.existing, again.refused) == (0, province.expected, province.refused)
    assert set(again.refused_by_code) == {"issuance.photo_missing"}
    status = queue.queue_status(settings)
    assert status["succeeded"] == slices and status["total"] == slices, status
    _check_each_ecert_once(province.runtime, province.expected)
