"""Bulk issuance in one process: the same e-certs as one-by-one issuance, refusals, resuming."""

from __future__ import annotations

import copy
import csv
import itertools
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from roadcert.catalog.types import (
    CATALOGUE,
    DANGEROUS_GOODS_LICENCE,
    RIDE_HAILING_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_CERTIFICATE,
    CertGroup,
)
from roadcert.certificates import bulk
from roadcert.certificates.bulk_repository import DEFERRABLE_INDEXES, BulkRepository
from roadcert.certificates.models import Ecert, EcertStatus, SourceKind
from roadcert.certificates.service import Target
from roadcert.crypto import cbor, sm, x509
from roadcert.crypto.models import KeyRecord
from roadcert.db import make_sessionmaker, read_transaction
from roadcert.errors import BadInput
from roadcert.registry.models import EntryKind
from roadcert.registry.schemas import EntryIn
from roadcert.runtime import Runtime, Services
from tests import factories
from tests.factories import TODAY


def _issuer(runtime: Runtime) -> bulk.SliceIssuer:
    return bulk.SliceIssuer(runtime.sessions, runtime.store, runtime.settings, batch_size=7)


def _run(services: Services, runtime: Runtime, **scope: Any) -> bulk.SliceResult:
    work = bulk.plan(services.session, slice_size=5, **scope)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    issuer = _issuer(runtime)
    total = bulk.SliceResult()
    for piece in work.slices:
        total.add(issuer.run(piece))
    return total


def _province(services: Services) -> dict[str, Any]:
    """A small ledger entered while the authority did not issue e-certs, then switched on."""
    auth = factories.authority(services, enabled=False)
    op = factories.operator(services, auth)
    lic = factories.licence(services, auth, op).record
    dangerous = factories.licence(
        services,
        auth,
        factories.operator(services, auth),
        type_code=DANGEROUS_GOODS_LICENCE.type_code,
        business_scopes=["02101", "03131"],
    ).record
    lorry = factories.vehicle(services, auth, op, lic).record
    ride = factories.vehicle(services, auth, op, lic, ride_hailing=True, vehicle_type="K33").record
    driver = factories.practitioner(services, auth, ("02001", "03001")).record
    taxi = factories.practitioner(services, auth, ("01001", "09002")).record
    services.ledger.add_entry(
        driver.id,
        EntryKind.CONTINUING_EDUCATION,
        EntryIn(entry_date=TODAY, text="继续教育 24 学时"),
    )
    services.ledger.set_ecert_enabled(auth.id, True)
    services.session.flush()
    assert services.session.scalar(select(func.count()).select_from(Ecert)) == 0
    return {
        "authority": auth,
        "licences": [lic, dangerous],
        "vehicles": [lorry, ride],
        "practitioners": [driver, taxi],
    }


def test_bulk_issues_what_one_by_one_issuance_would(services: Services, runtime: Runtime) -> None:
    ledger = _province(services)
    result = _run(services, runtime)
    # 2 licences, 2 vehicles; the driver's 货运 and 危货 categories share one 从业资格证, the
    # taxi driver's 客运 and 巡游出租 categories go on two certificates.
    assert (result.issued, result.existing, result.refused) == (7, 0, [])
    ecerts = services.session.scalars(select(Ecert).order_by(Ecert.id)).all()
    assert len(ecerts) == 7
    assert {e.type_code for e in ecerts if e.source_kind == "vehicle"} == {
        ROAD_TRANSPORT_CERTIFICATE.type_code,
        RIDE_HAILING_TRANSPORT_CERTIFICATE.type_code,
    }
    for ecert in ecerts:
        # One-by-one issuance of the same target, in a savepoint that is thrown away: the
        # signed document must be the same but for the identifier it carries.
        target = Target(SourceKind(ecert.source_kind), ecert.source_id, ecert.type_code)
        nested = services.session.begin_nested()
        single = services.issuance.issue(target, previous=None)
        expected = cbor.decode(single.signed_data)
        nested.rollback()
        got = cbor.decode(ecert.signed_data, require_canonical=True)
        assert got.pop("ZZBS") == ecert.identifier
        expected.pop("ZZBS")
        assert got == expected
        assert cbor.canonical(got | {"ZZBS": ecert.identifier}) == ecert.signed_data
        assert ecert.status == EcertStatus.VALID and ecert.version == 1
        assert ecert.current_key == target.current_key
        key = services.session.get(KeyRecord, ecert.signing_key_id)
        assert key is not None
        assert sm.verify(x509.load(key.certificate).public_key, ecert.signed_data, ecert.signature)
    entries = [e for e in ecerts if e.source_id == ledger["practitioners"][0].id]
    assert any("继续教育" in str(e.face.get("continuing_education")) for e in entries)
    indices = {(e.authority_id, e.status_index) for e in ecerts}
    assert len(indices) == 7


def test_second_run_issues_nothing_and_counts_existing(
    services: Services, runtime: Runtime
) -> None:
    _province(services)
    _run(services, runtime)
    again = _run(services, runtime)
    assert (again.issued, again.existing, again.refused) == (0, 7, [])
    assert services.session.scalar(select(func.count()).select_from(Ecert)) == 7


def _lookup_indexes(services: Services) -> list[dict[str, Any]]:
    indexes = inspect(services.session.connection()).get_indexes("ecert")
    return sorted(
        ({k: i[k] for k in ("name", "column_names", "unique")} for i in indexes),
        key=lambda i: str(i["name"]),
    )


def test_a_large_run_builds_the_lookup_indexes_at_its_end(
    services: Services, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _province(services)
    before = _lookup_indexes(services)
    work = bulk.plan(services.session, slice_size=5)
    # Seven records are no migration: auto leaves the indexes, keep always does.
    assert bulk.defer_indexes(services.session, work) == []
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 5)
    assert bulk.defer_indexes(services.session, work, bulk.IndexMode.KEEP) == []
    assert bulk.missing_indexes(services.session) == []

    # Seven records and no e-cert yet: auto defers.
    assert bulk.defer_indexes(services.session, work) == list(DEFERRABLE_INDEXES)
    assert bulk.missing_indexes(services.session) == list(DEFERRABLE_INDEXES)
    assert bulk.defer_indexes(services.session, work, bulk.IndexMode.DEFER) == []  # gone already
    assert _run(services, runtime).issued == 7
    holder = ledger["practitioners"][0].id_number
    found = [e.id for e in services.issuance.repo.search(holder_code=holder)]
    assert len(found) == 1  # read without the index: slower, the same answer

    assert bulk.restore_indexes(services.session) == list(DEFERRABLE_INDEXES)
    assert _lookup_indexes(services) == before  # as the migrations made them
    assert bulk.restore_indexes(services.session) == []
    assert [e.id for e in services.issuance.repo.search(holder_code=holder)] == found
    # Now the e-certs outnumber the records: a rerun keeps the indexes.
    assert bulk.defer_indexes(services.session, bulk.plan(services.session, slice_size=5)) == []
    assert bulk.missing_indexes(services.session) == []


def test_a_reading_transaction_keeps_the_indexes_on_postgresql_only(
    services: Services, engine: Engine
) -> None:
    _province(services)
    postgresql = engine.dialect.name == "postgresql"
    repo = BulkRepository(services.session)
    with read_transaction(make_sessionmaker(engine)) as other:
        # Another transaction reading e-certs: a report, an export.
        assert other.scalar(select(func.count()).select_from(Ecert)) == 0
        started = time.monotonic()
        dropped = repo.drop_deferrable_indexes(lock_timeout=0.3)
        waited = time.monotonic() - started
    if postgresql:
        # DROP INDEX needs the whole table: it waited its 0.3 s, then gave up and kept them.
        assert dropped is None and waited >= 0.3
        assert repo.missing_deferrable_indexes() == []
        # The caller's transaction is intact (the savepoint took the failure).
        assert repo.ecert_count() == 0
        assert repo.drop_deferrable_indexes() == list(DEFERRABLE_INDEXES)
    else:
        # In WAL mode a reader does not stand in the way of the writer's schema change.
        assert dropped == list(DEFERRABLE_INDEXES)
    assert repo.missing_deferrable_indexes() == list(DEFERRABLE_INDEXES)


def test_slice_reads_plan_for_index_lookups_only_in_their_transaction(
    services: Services, engine: Engine
) -> None:
    session = services.session
    postgresql = engine.dialect.name == "postgresql"
    before = session.scalar(text("SHOW random_page_cost")) if postgresql else None
    session.rollback()
    BulkRepository(session).prefer_index_lookups()
    if postgresql:
        assert session.scalar(text("SHOW random_page_cost")) == "1.1"
        session.rollback()
        # SET LOCAL: the connection goes back to the pool as it was.
        assert session.scalar(text("SHOW random_page_cost")) == before
    else:
        assert not session.in_transaction()  # nothing to tell SQLite's planner


def test_a_slice_reads_only_its_own_range_of_practitioners(
    services: Services, engine: Engine
) -> None:
    # The qualifications and entries of a slice are read joined to practitioner (for its
    # authority). PostgreSQL does not carry the slice's id range across that join by itself: it
    # hashed every practitioner of the authority for each slice until the range was stated.
    ledger = _province(services)
    first = min(p.id for p in ledger["practitioners"])
    last = max(p.id for p in ledger["practitioners"])
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "JOIN practitioner" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        BulkRepository(services.session).practitioners(first, last, [ledger["authority"].id])
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 2  # qualifications, entries
    connection = services.session.connection()
    for statement, parameters in statements:
        if engine.dialect.name == "postgresql":
            # Told that a full scan costs more than it does on a table this small, the planner
            # reaches practitioner through whatever conditions the query gives it on its id.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            (tree,) = connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            ).scalar_one()
            plan = list(_plan_nodes(tree["Plan"]))
            reached = [
                node
                for node in plan
                if node.get("Relation Name") == "practitioner"
                and "(id >= " in node.get("Index Cond", "")
            ]
        else:
            plan = [
                row[-1]
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            reached = [line for line in plan if " practitioner " in line and "rowid>" in line]
        assert reached, plan


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A PostgreSQL JSON plan's nodes, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_scope_by_type_and_authority(services: Services, runtime: Runtime) -> None:
    ledger = _province(services)
    other = factories.authority(services)
    factories.licence(services, other, factories.operator(services, other))  # issued at once
    result = _run(services, runtime, type_code=RIDE_HAILING_TRANSPORT_CERTIFICATE.type_code)
    assert result.issued == 1
    result = _run(services, runtime, authority_uscc=ledger["authority"].uscc)
    assert result.issued == 6 and result.existing == 1
    with pytest.raises(BadInput) as unknown:
        bulk.plan(services.session, type_code="0" * 21)
    assert unknown.value.code == "ecert.type_unknown"
    with pytest.raises(BadInput) as missing:
        bulk.plan(services.session, authority_uscc="91220000MA00000000")
    assert missing.value.code == "authority.not_found"


def test_refusals_name_the_record_and_the_reason(
    services: Services, runtime: Runtime, tmp_path: Path
) -> None:
    auth = factories.authority(services, enabled=False)
    op = factories.operator(services, auth)
    lic = factories.licence(services, auth, op).record
    bad_op = factories.operator(services, auth, uscc="91220101MA1234567X")  # wrong check digit
    factories.licence(services, auth, bad_op)
    stopped = factories.operator(services, auth, status="2")
    factories.licence(services, auth, stopped)
    factories.vehicle(services, auth, op, lic, photo=None)
    factories.licence(
        services,
        auth,
        op,
        valid_from=TODAY - timedelta(days=2000),
        valid_until=TODAY - timedelta(days=1),
    )
    factories.practitioner(services, auth, id_number="220102198003141234")  # bad check digit
    services.ledger.set_ecert_enabled(auth.id, True)
    disabled = factories.authority(services, enabled=False)
    factories.licence(services, disabled, factories.operator(services, disabled))

    work = bulk.plan(services.session, slice_size=3)
    assert [(a.id, held) for a, held in work.disabled] == [(disabled.id, 1)]
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    issuer = _issuer(runtime)
    report = bulk.RefusalWriter(tmp_path / "refusals.csv")
    total = bulk.SliceResult()
    for piece in work.slices:
        result = issuer.run(piece)
        report.write(result.refused)
        total.add(result)
    report.close()
    codes = sorted(r.code for r in total.refused)
    assert codes == [
        "issuance.expired",
        "issuance.non_standard",
        "issuance.operator_not_operating",
        "issuance.operator_uscc",
        "issuance.photo_missing",
    ]
    assert total.issued == 1
    with (tmp_path / "refusals.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 == report.count
    photo = next(r for r in rows if r["原因代码"] == "issuance.photo_missing")
    assert photo["记录类型"] == "车辆" and photo["证照名称"] == "道路运输证"
    assert "缺少车辆照片" in photo["原因"]


def test_a_concurrent_run_over_the_same_slice_keeps_one_current_version(
    services: Services, runtime: Runtime
) -> None:
    _province(services)
    work = bulk.plan(services.session, slice_size=100)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    (piece,) = [s for s in work.slices if s.kind == "practitioner"]
    first, second = _issuer(runtime), _issuer(runtime)
    # Both read and sign before either writes, as two workers racing on one slice would.
    session = runtime.sessions()
    theirs = list(
        first._sign_all(first._read(session, piece, bulk.SliceResult()), None, bulk.SliceResult())
    )
    session.rollback()
    ours = second.run(piece)
    assert ours.issued == 3
    late = bulk.SliceResult()
    first._write(session, theirs, late)
    session.close()
    assert (late.issued, late.existing, late.retries) == (0, 3, 1)
    keys = services.session.scalars(
        select(Ecert.current_key).where(Ecert.source_kind == "practitioner")
    ).all()
    assert len(keys) == len(set(keys)) == 3


def test_a_batch_whose_copy_meets_a_taken_key_is_written_again_without_it(
    services: Services, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _province(services)
    work = bulk.plan(services.session, slice_size=100)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    (piece,) = [s for s in work.slices if s.kind == "practitioner"]
    issuer = _issuer(runtime)
    session = runtime.sessions()
    batch = list(
        issuer._sign_all(issuer._read(session, piece, bulk.SliceResult()), None, bulk.SliceResult())
    )
    session.rollback()
    # A version written since the slice was read holds the current key of the batch's last
    # row: only the database's unique key can tell, when the COPY (PostgreSQL) ends.
    taken = batch[-1].row | {"identifier": "taken", "serial": "TAKEN", "status_index": -1}
    services.session.execute(insert(Ecert), [taken])
    services.session.flush()
    raised: list[Exception] = []
    original = BulkRepository.insert_ecerts

    def noting(repo: BulkRepository, rows: Any) -> None:
        try:
            original(repo, rows)
        except Exception as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(BulkRepository, "insert_ecerts", noting)
    result = bulk.SliceResult()
    issuer._write(session, batch, result)
    session.close()
    assert (result.issued, result.existing, result.retries) == (len(batch) - 1, 1, 1)
    (error,) = raised
    assert isinstance(error, IntegrityError) and error.statement is not None
    if services.session.get_bind().dialect.name == "postgresql":
        assert isinstance(error.orig, psycopg.errors.UniqueViolation)
        assert error.statement.startswith("COPY ")
    else:
        assert isinstance(error.orig, sqlite3.IntegrityError)
    keys = services.session.scalars(
        select(Ecert.current_key).where(Ecert.source_kind == "practitioner")
    ).all()
    assert sorted(keys) == sorted(s.current_key for s in batch)


def test_an_index_taken_behind_the_bitmap_is_drawn_again(
    services: Services, runtime: Runtime
) -> None:
    ledger = _province(services)
    authority_id = ledger["authority"].id
    work = bulk.plan(services.session, slice_size=100)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    licences, vehicles, practitioners = work.slices
    issuer = _issuer(runtime)
    assert issuer.run(licences).issued == 2
    assert issuer.run(vehicles).issued == 2  # the bitmap now holds ids up to the fourth
    # The writer's next draw, taken by a version its bitmap cannot see: one with an id below
    # the highest it has read, as an e-cert issued from the web and committed late would be.
    upcoming = copy.deepcopy(issuer._used[authority_id]).draw(copy.deepcopy(issuer._index_rng))
    model = services.session.scalars(select(Ecert).order_by(Ecert.id)).first()
    assert model is not None
    row = {c.key: getattr(model, c.key) for c in Ecert.__table__.columns}
    row |= {
        "id": -1,
        "identifier": "late",
        "serial": "LATE",
        "current_key": None,
        "status_index": upcoming,
    }
    services.session.execute(insert(Ecert), [row])
    services.session.flush()
    result = issuer.run(practitioners)
    assert (result.issued, result.retries) == (3, 1)
    indices = services.session.scalars(
        select(Ecert.status_index).where(Ecert.authority_id == authority_id)
    ).all()
    assert len(indices) == len(set(indices)) == 8 and upcoming in indices


def test_slices_cover_every_record_once(services: Services) -> None:
    auth = factories.authority(services, enabled=False)
    op = factories.operator(services, auth)
    for _ in range(11):
        factories.licence(services, auth, op)
    services.ledger.set_ecert_enabled(auth.id, True)
    work = bulk.plan(services.session, slice_size=4, authority_uscc=auth.uscc)
    licences = [s for s in work.slices if s.kind == "licence"]
    assert [s.records for s in licences] == [4, 4, 3]
    assert all(a.last_id < b.first_id for a, b in itertools.pairwise(licences))
    assert bulk.Slice.from_dict(licences[0].as_dict()) == licences[0]


def test_every_type_encodes_to_canonical_cbor(services: Services) -> None:
    """The fast encoder gives the RFC 8949 §4.2.1 bytes for every certificate type's document."""
    from roadcert.certificates import faces

    for cert_type in CATALOGUE.values():
        meta = {key: f"值{key}" for key in faces.METADATA_KEYS}
        face: dict[str, Any] = {item.key: f"{item.label}内容" for item in cert_type.face}
        if cert_type.group is CertGroup.QUALIFICATION:
            face = face | {
                "categories": [
                    {
                        "code": "02001",
                        "label": "货运",
                        "valid_from": "2020-01-01",
                        "valid_until": "2026-01-01",
                    }
                ]
            }
        document = faces.signed_document(meta, cert_type, face)
        assert cbor.encode_ordered(document) == cbor.canonical(document)
        assert list(document) == list(faces.document_order(cert_type))


def test_a_worker_whose_command_has_gone_takes_no_more_slices(
    services: Services, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed ``roadcert issue`` leaves its worker processes orphaned for the slices already
    handed to them: they refuse those, so nothing but a rerun goes on issuing."""
    _province(services)
    services.session.commit()
    work = bulk.plan(services.session, slice_size=5)
    bulk.ensure_keys(services.session, services.keys, work.authorities)
    services.session.commit()
    monkeypatch.setattr(bulk, "_WORKER", _issuer(runtime))
    monkeypatch.setattr(bulk, "_PARENT", os.getppid() + 1)  # another parent than this one's
    with pytest.raises(bulk.WorkerLost):
        bulk._run_slice(work.slices[0])
    assert services.session.scalar(select(func.count()).select_from(Ecert)) == 0
    monkeypatch.setattr(bulk, "_PARENT", os.getppid())
    assert bulk._run_slice(work.slices[0]).issued > 0
