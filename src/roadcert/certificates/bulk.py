"""Bulk issuance (存量证照批量制发, seed 002 §5.2): every due e-cert of the ledger, on every core.

The work is cut into slices: a run of ids of one kind of ledger record (licences, vehicles,
practitioners) of one authority. A slice is issued in three steps:

1. **read**, in one short read transaction (a snapshot; on SQLite it does not take the write
   lock): the slice's records as plain rows (a few set queries, no ORM objects) and the
   current keys of the e-certs already made from them;
2. **sign**, outside any transaction: for every target without a current version, the same
   preconditions and content as ``IssuanceService.issue`` (the shared functions of
   certificates/service.py), a GB/T 36904 identifier, deterministic CBOR, the SM2 signature;
3. **write**, one short transaction per batch, in a writer thread while the next batch is
   signed: status-list indices (drawn from the worker's bitmap of the authority's used ones,
   ``UsedIndices``), one multi-row INSERT, COMMIT.

No transaction is open while signing, so on SQLite (where a writer holds the database lock for
its whole transaction) the workers sign in parallel and only queue for the brief writes.

Resumable by construction: nothing but the e-certs records progress. A run killed at any
moment leaves whole batches committed; the next run reads those as existing and issues the
rest. ``Ecert.current_key`` is unique, so even two runs over the same slice at once cannot
both write a current version of one certificate: the later batch fails, is rolled back and is
written again without the targets the other run wrote (the status-list index, which is not
part of the signed data, is drawn again the same way if two batches drew the same one).

Slices run in worker processes (``run``), one per core by default, or as tasks of a
PostgreSQL-backed queue spread over several machines (certificates/queue.py); a worker
process holds its own engine, key store and decrypted signing keys.

Expired certificates are not signed: 归集 is about valid certificates (seed 002 §5.2), and a
record whose validity has ended is reported as ``issuance.expired`` for the ledger to be put
right (renewed or cancelled), like every other record that cannot be issued.
"""

from __future__ import annotations

import csv
import gc
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import zip_longest
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar, TextIO

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from roadcert.catalog.types import (
    CATALOGUE,
    RIDE_HAILING_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_CERTIFICATE,
    CertGroup,
    CertificateType,
)
from roadcert.certificates import faces
from roadcert.certificates.bulk_repository import OPERATOR_COLUMNS, BulkRepository
from roadcert.certificates.models import EcertStatus, Operation, SourceKind
from roadcert.certificates.service import (
    IssuanceRefused,
    licence_content,
    qualification_content,
    transport_content,
    type_for_category,
)
from roadcert.certificates.status import UsedIndices
from roadcert.config import Settings
from roadcert.crypto import cbor
from roadcert.crypto.keystore import KeyStore
from roadcert.crypto.service import KeyService
from roadcert.db import make_engine, make_sessionmaker, read_transaction, utcnow
from roadcert.errors import BadInput, RoadcertError
from roadcert.kit import ecert_id
from roadcert.kit.chinatime import china_date
from roadcert.registry import quality
from roadcert.registry.models import Authority, Licence, RecordStatus, Vehicle

#: Records per slice: small enough that a killed run loses little and the progress bar moves,
#: large enough that the per-slice queries are a small share.
SLICE_SIZE = 2000
#: E-certs per INSERT and COMMIT.
BATCH_SIZE = 1000
#: E-certs built before they are signed in a row (cache locality, see ``_sign_all``).
SIGN_GROUP = 64
#: How often a batch is written again after a unique-key collision before giving up.
MAX_WRITE_ATTEMPTS = 5
#: Operators whose findings a worker remembers (a few tens of MB at most).
OPERATOR_CACHE_SIZE = 200_000
#: ``IndexMode.AUTO`` defers ``DEFERRABLE_INDEXES`` for a run over at least this many ledger
#: records, and more records than e-certs already stored: a migration, not a day's changes.
DEFER_INDEXES_FROM = 100_000

Clock = Callable[[], datetime]


# -- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """A run of ids of one kind of ledger record of one authority (``authority_ids``: a tuple,
    as slices queued by earlier versions, which mixed authorities, still read)."""

    kind: SourceKind
    first_id: int
    last_id: int
    records: int
    authority_ids: tuple[int, ...]
    type_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for a task queue)."""
        return {
            "kind": str(self.kind),
            "first_id": self.first_id,
            "last_id": self.last_id,
            "records": self.records,
            "authority_ids": list(self.authority_ids),
            "type_code": self.type_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Slice:
        """Inverse of :meth:`as_dict`."""
        return cls(
            SourceKind(data["kind"]),
            int(data["first_id"]),
            int(data["last_id"]),
            int(data["records"]),
            tuple(int(a) for a in data["authority_ids"]),
            data.get("type_code"),
        )


@dataclass
class Plan:
    """What a bulk run will look at."""

    slices: list[Slice]
    authorities: list[Authority]
    # Authorities in scope that do not issue e-certs yet, with how many records they hold.
    disabled: list[tuple[Authority, int]] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Ledger records the run will look at."""
        return sum(s.records for s in self.slices)


def _kinds_for(type_code: str | None) -> list[tuple[SourceKind, Any]]:
    """The record kinds (with a SQL condition) that can give e-certs of ``type_code``."""
    if type_code is None:
        return [
            (SourceKind.LICENCE, None),
            (SourceKind.VEHICLE, None),
            (SourceKind.PRACTITIONER, None),
        ]
    cert_type = CATALOGUE.get(type_code)
    if cert_type is None:
        raise BadInput(f"证照类型代码 {type_code} 不在证照目录中", code="ecert.type_unknown")
    if cert_type.group is CertGroup.LICENCE:
        return [(SourceKind.LICENCE, Licence.type_code == type_code)]
    if cert_type.group is CertGroup.TRANSPORT:
        ride_hailing = cert_type is RIDE_HAILING_TRANSPORT_CERTIFICATE
        return [(SourceKind.VEHICLE, Vehicle.ride_hailing.is_(ride_hailing))]
    return [(SourceKind.PRACTITIONER, None)]


def plan(
    session: Session,
    *,
    authority_uscc: str | None = None,
    type_code: str | None = None,
    slice_size: int = SLICE_SIZE,
) -> Plan:
    """Cut the ledger in scope into slices; authorities not issuing e-certs are set aside."""
    repo = BulkRepository(session)
    authorities = list(repo.authorities())
    if authority_uscc is not None:
        authorities = [a for a in authorities if a.uscc == authority_uscc]
        if not authorities:
            raise BadInput(f"核发机关 {authority_uscc} 不存在", code="authority.not_found")
    kinds = _kinds_for(type_code)
    enabled = [a for a in authorities if a.ecert_enabled]
    disabled = []
    for authority in authorities:
        if not authority.ecert_enabled:
            held = sum(
                count
                for kind, condition in kinds
                for _, _, count in repo.slice_bounds(kind, [authority.id], 1 << 30, condition)
            )
            disabled.append((authority, held))
    # One authority per slice: a write batch then locks one authority row (PostgreSQL) and
    # brings one authority's used status indices up to date. The authorities' slices are dealt
    # in turn, so workers taking consecutive slices work on different authorities and seldom
    # wait for each other's lock.
    slices: list[Slice] = []
    for kind, condition in kinds:
        runs = [
            [
                Slice(kind, first, last, count, (authority.id,), type_code)
                for first, last, count in repo.slice_bounds(
                    kind, [authority.id], slice_size, condition
                )
            ]
            for authority in enabled
        ]
        slices += [piece for turn in zip_longest(*runs) for piece in turn if piece is not None]
    return Plan(slices, enabled, disabled)


# -- indexes built after the run -------------------------------------------------------------


class IndexMode(StrEnum):
    """Whether a run maintains ``DEFERRABLE_INDEXES`` as it writes or builds them at its end."""

    AUTO = "auto"  # defer for a large run (``DEFER_INDEXES_FROM``)
    DEFER = "defer"
    KEEP = "keep"


def defer_indexes(
    session: Session, work: Plan, mode: IndexMode = IndexMode.AUTO
) -> list[str] | None:
    """Drop ``DEFERRABLE_INDEXES`` before a run when ``mode`` says so; the names dropped, or
    None when PostgreSQL's table lock was not free within a few seconds (they are then kept).

    The run's end builds them again (``restore_indexes``); so does the next run, or
    ``roadcert serve`` starting, if this one is killed. Until then finding a holder's e-certs
    and the expiry sweep read the whole table: slower, never wrong.
    """
    if mode is IndexMode.KEEP or not work.slices:
        return []
    repo = BulkRepository(session)
    if mode is IndexMode.AUTO and (
        work.records < DEFER_INDEXES_FROM or work.records <= repo.ecert_count()
    ):
        return []
    return repo.drop_deferrable_indexes()


def missing_indexes(session: Session) -> list[str]:
    """Which of ``DEFERRABLE_INDEXES`` the database lacks (a large run is going on, or died)."""
    return BulkRepository(session).missing_deferrable_indexes()


def restore_indexes(session: Session) -> list[str]:
    """Build whichever of ``DEFERRABLE_INDEXES`` is missing; the names built."""
    return BulkRepository(session).create_missing_indexes()


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A certificate that could not be issued, with the reason to put right."""

    kind: str
    source_id: int
    record_key: str  # licence number, transport certificate number or qualification number
    type_code: str
    code: str
    message: str


@dataclass
class Timing:
    """Where a worker's time went, in seconds: CPU time of the worker's thread per step, so a
    busy machine (other processes on the cores) does not inflate a step, and the time spent
    waiting for the database apart."""

    read: float = 0.0  # SQL of the read step
    build: float = 0.0  # preconditions, rules, faces, identifiers (Python)
    encode: float = 0.0  # deterministic CBOR
    sign: float = 0.0  # SM2
    write: float = 0.0  # status indices, INSERT, COMMIT (on SQLite, the database's own work)
    wait: float = 0.0  # read and write wall time beyond their CPU: locks, the server, disk

    STEPS: ClassVar[tuple[str, ...]] = ("read", "build", "encode", "sign", "write", "wait")

    def add(self, other: Timing) -> None:
        """Add another worker's or slice's time."""
        for step in self.STEPS:
            setattr(self, step, getattr(self, step) + getattr(other, step))

    @property
    def total(self) -> float:
        """All accounted time."""
        return sum(getattr(self, step) for step in self.STEPS)

    def as_dict(self) -> dict[str, float]:
        """Seconds per step, summed over workers."""
        return {step: round(getattr(self, step), 3) for step in self.STEPS}


#: The clock of the time split: CPU time of the calling thread.
_cpu = time.thread_time


@dataclass
class SliceResult:
    """What issuing one slice did."""

    records: int = 0
    issued: int = 0
    existing: int = 0
    refused: list[Refusal] = field(default_factory=list)
    retries: int = 0
    timing: Timing = field(default_factory=Timing)

    def add(self, other: SliceResult) -> None:
        """Fold another slice's result into this one."""
        self.records += other.records
        self.issued += other.issued
        self.existing += other.existing
        self.refused += other.refused
        self.retries += other.retries
        self.timing.add(other.timing)


class RefusalWriter:
    """The list of certificates that could not be issued, as CSV (UTF-8 with BOM for Excel).

    The file is created with the first refusal, so a clean run leaves none behind.
    """

    HEADER = ("记录类型", "记录ID", "记录键", "证照类型代码", "证照名称", "原因代码", "原因")
    KIND_LABELS: ClassVar[dict[str, str]] = {
        "licence": "经营许可证",
        "vehicle": "车辆",
        "practitioner": "从业人员",
    }

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: TextIO | None = None
        self._writer: Any = None

    def write(self, refusals: Iterable[Refusal]) -> None:
        """Append refusals."""
        for refusal in refusals:
            if self._writer is None:
                try:
                    self._file = self.path.open("w", encoding="utf-8-sig", newline="")
                except OSError as exc:
                    raise BadInput(
                        f"无法写入未制发清单 {self.path}（{exc.strerror}）", code="issue.report"
                    ) from exc
                self._writer = csv.writer(self._file)
                self._writer.writerow(self.HEADER)
            cert_type = CATALOGUE.get(refusal.type_code)
            self._writer.writerow(
                (
                    self.KIND_LABELS.get(refusal.kind, refusal.kind),
                    refusal.source_id,
                    refusal.record_key,
                    refusal.type_code,
                    cert_type.name if cert_type else "",
                    refusal.code,
                    refusal.message,
                )
            )
            self.count += 1

    def close(self) -> None:
        """Flush and close the file, if one was opened."""
        if self._file is not None:
            self._file.close()
            self._file = None


# -- issuing one slice ---------------------------------------------------------------------------


@dataclass
class _Signed:
    current_key: str
    row: dict[str, Any]


class SliceIssuer:
    """Issues slices with one database engine and key store (one per worker process)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: KeyStore,
        settings: Settings,
        clock: Clock = utcnow,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size
        # Serials must be unique, not secret: one seed from the OS, then a fast generator.
        self._rng = random.Random(os.urandom(32))
        self._index_rng = random.Random(os.urandom(32))  # the writer thread's own
        self._authorities: dict[int, _Authority] = {}
        self._keys: dict[int, tuple[int, Callable[[bytes], bytes]]] = {}
        self._signers: dict[
            tuple[str, int], tuple[Callable[[str, int], str], int, Callable[[bytes], bytes]]
        ] = {}
        # Each authority's used status indices, kept up to date by this writer (``_write``).
        self._used: dict[int, UsedIndices] = {}
        # Operators with their 不规范数据 findings, by their columns: an operator's licence and
        # vehicles come in several slices, and the rules need only those values.
        self._operators: dict[tuple[Any, ...], _Operator] = {}

    def run(self, piece: Slice) -> SliceResult:
        """Issue every due e-cert of ``piece``; commits per batch."""
        try:
            return self._run(piece)
        except SQLAlchemyError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise DatabaseFailure(
                f"数据库错误（{exc.__class__.__name__}）：{first_line[:300]}；"
                "已提交的电子证照不受影响，排除故障后重新运行即可继续"
            ) from exc

    def _run(self, piece: Slice) -> SliceResult:
        result = SliceResult(records=piece.records)
        timing = result.timing
        started, started_wall = _cpu(), time.perf_counter()
        # A read transaction (ended before the long signing step): on SQLite it reads a WAL
        # snapshot without taking the write lock, so a slice's reads do not hold up the other
        # workers' batches (BEGIN IMMEDIATE did, for the ~20 ms of a slice's queries).
        with read_transaction(self.sessions) as session:
            sources = self._read(session, piece, result)
        timing.read += (cpu := _cpu() - started)
        timing.wait += max(0.0, time.perf_counter() - started_wall - cpu)
        # Batches are written by a thread of their own while this one signs the next: a write
        # waiting for the database (SQLite's single writer lock, the PostgreSQL server) then
        # leaves the core to signing instead of idling it. Both threads' C work (SM2, SQLite,
        # the network) runs without the GIL.
        writes: list[Future[SliceResult]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="roadcert-bulk-writer") as writer:
            batch: list[_Signed] = []
            for signed in self._sign_all(sources, piece.type_code, result):
                batch.append(signed)
                if len(batch) == self.batch_size:
                    writes.append(writer.submit(self._write_batch, batch))
                    batch = []
            if batch:
                writes.append(writer.submit(self._write_batch, batch))
        # Leaving the block waited for every batch handed over; the first failure is raised.
        for future in writes:
            result.add(future.result())
        return result

    def _write_batch(self, batch: list[_Signed]) -> SliceResult:
        """Write one batch in a session of its own (runs in the writer thread)."""
        written = SliceResult()
        session = self.sessions()
        try:
            self._write(session, batch, written)
        finally:
            session.close()
        return written

    # -- read --------------------------------------------------------------------------------

    def _read(self, session: Session, piece: Slice, result: SliceResult) -> list[_Source]:
        repo = BulkRepository(session)
        repo.prefer_index_lookups()
        self._load_context(session, piece.authority_ids)
        existing = repo.current_keys(piece.kind, piece.first_id, piece.last_id, piece.authority_ids)
        sources: list[_Source]
        if piece.kind is SourceKind.LICENCE:
            rows = repo.licences(
                piece.first_id, piece.last_id, piece.authority_ids, piece.type_code
            )
            sources = [_LicenceSource(row) for row in rows]
        elif piece.kind is SourceKind.VEHICLE:
            ride = None
            if piece.type_code is not None:
                ride = CATALOGUE[piece.type_code] is RIDE_HAILING_TRANSPORT_CERTIFICATE
            rows = repo.vehicles(piece.first_id, piece.last_id, piece.authority_ids, ride)
            sources = [_VehicleSource(row) for row in rows]
        else:
            people, qualifications, entries = repo.practitioners(
                piece.first_id, piece.last_id, piece.authority_ids
            )
            sources = [
                _PractitionerSource(row, qualifications.get(row.id, []), entries.get(row.id, []))
                for row in people
            ]
        for source in sources:
            source.existing = existing
        return sources

    def _load_context(self, session: Session, authority_ids: Iterable[int]) -> None:
        """Authorities and their signing keys, once per process."""
        missing = [a for a in authority_ids if a not in self._authorities]
        if not missing:
            return
        keys = KeyService(session, self.store, self.settings)
        for authority in BulkRepository(session).authorities():
            if authority.id in missing:
                self._authorities[authority.id] = _Authority(
                    authority.id, authority.name, authority.uscc, authority.ecert_enabled
                )
                if authority.ecert_enabled:
                    # The run's caller made sure each key exists and is fresh (ensure_keys),
                    # so this reads it; no worker rotates a key behind another's back.
                    record = keys.signing_key(authority)
                    self._keys[authority.id] = (record.id, keys.signer(record))

    # -- sign --------------------------------------------------------------------------------

    def _sign_all(
        self, sources: Sequence[_Source], type_code: str | None, result: SliceResult
    ) -> Iterator[_Signed]:
        timing = result.timing
        now = self.clock()
        today = china_date(now)
        operators = self._operators
        if len(operators) > OPERATOR_CACHE_SIZE:
            operators.clear()
        rng, new_serial = self._rng, ecert_id.new_serial
        # Documents are built a group at a time, then encoded, then signed one after another:
        # alternating Python's work with a signature's evicts each other's data from the core's
        # caches (measured: build 60-70 -> 50-53 us and signing 5 % faster in groups of 64),
        # and each step is timed once a group.
        group: list[tuple[Callable[[bytes], bytes], _Signed, dict[str, Any]]] = []
        mark = _cpu()
        for source in sources:
            for cert_type in source.types():
                if type_code is not None and cert_type.type_code != type_code:
                    continue
                key = f"{source.kind}:{source.row.id}:{cert_type.type_code}"
                if key in source.existing:
                    result.existing += 1
                    continue
                authority = self._authorities[source.row.authority_id]
                try:
                    content = source.content(cert_type, authority, operators)
                    if content.valid_until < today:
                        raise IssuanceRefused(
                            f"{cert_type.name}有效期已于 {content.valid_until.isoformat()} 届满，"
                            "不制发电子证照（换证或注销后再归集）",
                            code="issuance.expired",
                        )
                except IssuanceRefused as refusal:
                    result.refused.append(
                        Refusal(
                            str(source.kind),
                            source.row.id,
                            source.record_key,
                            cert_type.type_code,
                            refusal.code,
                            refusal.message,
                        )
                    )
                    continue
                serial = new_serial(rng)
                identify, key_id, sign = self._signing(cert_type, authority)
                identifier = identify(serial, 1)
                meta = faces.metadata(content, identifier, authority, today)
                item = _Signed(
                    key,
                    {
                        "identifier": identifier,
                        "type_code": cert_type.type_code,
                        "serial": serial,
                        "version": 1,
                        "authority_id": authority.id,
                        "source_kind": str(source.kind),
                        "source_id": source.row.id,
                        "current_key": key,
                        "number": content.number,
                        "holder_name": content.holder.name,
                        "holder_code": content.holder.code,
                        "holder_code_type": content.holder.code_type,
                        "issue_date": today,
                        "valid_from": content.valid_from,
                        "valid_until": content.valid_until,
                        "status": str(EcertStatus.VALID),
                        "status_changed_at": now,
                        "status_reason": None,
                        "operation": str(Operation.NEW),
                        "signed_data": b"",  # encoded and signed with its group
                        "signature": b"",
                        "signing_key_id": key_id,
                        "supersedes_id": None,
                        "status_index": -1,  # drawn when written
                        "issued_at": now,
                        "activated_at": None,
                    },
                )
                group.append((sign, item, faces.signed_document(meta, cert_type, content.face)))
            if len(group) >= SIGN_GROUP:
                timing.build += _cpu() - mark
                yield from _signed_group(group, timing)
                group = []
                mark = _cpu()  # not the time the caller spent with the group
        timing.build += _cpu() - mark
        yield from _signed_group(group, timing)

    def _signing(
        self, cert_type: CertificateType, authority: _Authority
    ) -> tuple[Callable[[str, int], str], int, Callable[[bytes], bytes]]:
        """(identifier builder, signing key id, signing function) of a type and authority."""
        key = (cert_type.type_code, authority.id)
        found = self._signers.get(key)
        if found is None:
            builder = ecert_id.Builder(cert_type.type_code, authority.uscc)
            found = self._signers[key] = (builder.identifier, *self._keys[authority.id])
        return found

    # -- write -------------------------------------------------------------------------------

    def _write(self, session: Session, batch: list[_Signed], result: SliceResult) -> None:
        started, started_cpu = time.perf_counter(), _cpu()
        pending = batch
        repo = BulkRepository(session)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            authority_ids = sorted({item.row["authority_id"] for item in pending})
            try:
                if attempt:
                    # Another run wrote some of these targets meanwhile: theirs stand.
                    taken = repo.existing_current_keys(s.current_key for s in pending)
                    result.existing += sum(1 for s in pending if s.current_key in taken)
                    pending = [s for s in pending if s.current_key not in taken]
                # With the authorities' rows locked (and on SQLite the database), no other bulk
                # writer draws from their lists until COMMIT: the bitmaps brought up to date
                # now stay true while this batch draws.
                repo.lock_authorities(authority_ids)
                for authority_id in authority_ids:
                    used = self._used.setdefault(authority_id, UsedIndices())
                    used.add(repo.status_indices_since(authority_id, used.last_id))
                for item in pending:
                    item.row["status_index"] = self._used[item.row["authority_id"]].draw(
                        self._index_rng
                    )
                repo.insert_ecerts([s.row for s in pending])
                session.commit()
            except IntegrityError:
                session.rollback()
                result.retries += 1
                # The draws of the failed batch were marked used, and a writer that does not
                # lock (a single issuance) may have taken an index unseen: read them afresh.
                for authority_id in authority_ids:
                    self._used.pop(authority_id, None)
                continue
            result.issued += len(pending)
            cpu = _cpu() - started_cpu
            result.timing.write += cpu
            result.timing.wait += max(0.0, time.perf_counter() - started - cpu)
            return
        raise RoadcertError(
            f"批量写入电子证照连续 {MAX_WRITE_ATTEMPTS} 次发生唯一键冲突",
            code="issuance.write_conflict",
        )


def _signed_group(
    group: list[tuple[Callable[[bytes], bytes], _Signed, dict[str, Any]]], timing: Timing
) -> list[_Signed]:
    """Encode a group of built documents, then sign them one after another."""
    started = _cpu()
    encode = cbor.encode_ordered
    for _, item, document in group:
        item.row["signed_data"] = encode(document)
    encoded = _cpu()
    timing.encode += encoded - started
    for sign, item, _ in group:
        item.row["signature"] = sign(item.row["signed_data"])
    timing.sign += _cpu() - encoded
    return [item for _, item, _ in group]


# -- the ledger records of a slice, as issuance sees them ---------------------------------------


class _Source:
    """One ledger record of a slice and the certificates it gives rise to."""

    kind: SourceKind
    existing: set[str]

    def __init__(self, row: Any) -> None:
        self.row = row  # a named tuple (BulkRepository reads slices as such)

    @property
    def record_key(self) -> str:
        raise NotImplementedError

    def types(self) -> list[CertificateType]:
        raise NotImplementedError

    def content(
        self,
        cert_type: CertificateType,
        authority: _Authority,
        operators: dict[tuple[Any, ...], _Operator],
    ) -> faces.Content:
        raise NotImplementedError


class _Authority:
    """An issuing authority as issuance reads it: a plain snapshot (an ORM object's attribute
    access costs more, read a few times for every e-cert)."""

    __slots__ = ("ecert_enabled", "id", "name", "uscc")

    def __init__(self, authority_id: int, name: str, uscc: str, ecert_enabled: bool) -> None:
        self.id = authority_id
        self.name = name
        self.uscc = uscc
        self.ecert_enabled = ecert_enabled


class _Operator:
    """An operator as the last columns (``OPERATOR_COLUMNS``) of a licence or vehicle row give
    it, with its 不规范数据 findings."""

    __slots__ = ("address", "economic_type", "findings", "name", "region_code", "status", "uscc")

    def __init__(self, values: tuple[Any, ...]) -> None:
        data = dict(zip(OPERATOR_COLUMNS, values, strict=True))
        self.name = data["name"]
        self.uscc = data["uscc"]
        self.address = data["address"]
        self.region_code = data["region_code"]
        self.economic_type = data["economic_type"]
        self.status = data["status"]
        self.findings = quality.operator_findings(data)


class _OperatedSource(_Source):
    """A licence or vehicle row, which carries its operator's columns (``op_*``)."""

    def _operator(
        self,
        cache: dict[tuple[Any, ...], _Operator],
        own_rules: Callable[[Any], list[quality.Finding]],
    ) -> tuple[_Operator, list[quality.Finding]]:
        """The operator (cached), and the 不规范数据 findings of operator and record together."""
        values = tuple(self.row[-len(OPERATOR_COLUMNS) :])
        operator = cache.get(values)
        if operator is None:
            operator = cache[values] = _Operator(values)
        # A plain dict: the rules look up a dozen columns, each a method call on a row mapping.
        findings = [*operator.findings, *own_rules(self.row._asdict())]
        return operator, findings


class _LicenceSource(_OperatedSource):
    kind = SourceKind.LICENCE

    @property
    def record_key(self) -> str:
        return str(self.row.number)

    def types(self) -> list[CertificateType]:
        cert_type = CATALOGUE.get(self.row.type_code)
        return [cert_type] if cert_type is not None else []

    def content(
        self,
        cert_type: CertificateType,
        authority: _Authority,
        operators: dict[tuple[Any, ...], _Operator],
    ) -> faces.Content:
        row = self.row
        operator, findings = self._operator(operators, quality.licence_findings)
        return licence_content(cert_type, row, operator, authority, findings)


#: The transport certificate of a vehicle, by its ride-hailing flag.
_TRANSPORT_TYPES = {False: ROAD_TRANSPORT_CERTIFICATE, True: RIDE_HAILING_TRANSPORT_CERTIFICATE}


class _VehicleSource(_OperatedSource):
    kind = SourceKind.VEHICLE

    @property
    def record_key(self) -> str:
        return str(self.row.transport_number)

    def types(self) -> list[CertificateType]:
        return [_TRANSPORT_TYPES[bool(self.row.ride_hailing)]]

    def content(
        self,
        cert_type: CertificateType,
        authority: _Authority,
        operators: dict[tuple[Any, ...], _Operator],
    ) -> faces.Content:
        row = self.row
        operator, findings = self._operator(operators, quality.vehicle_findings)
        return transport_content(
            cert_type, row, operator, row.licence_number, authority, row.photo_sm3, findings
        )


class _PractitionerSource(_Source):
    kind = SourceKind.PRACTITIONER

    def __init__(self, row: Any, qualifications: list[Any], entries: list[Any]) -> None:
        super().__init__(row)
        self.qualifications = qualifications
        self.entries = entries

    @property
    def record_key(self) -> str:
        return str(self.row.certificate_number)

    def types(self) -> list[CertificateType]:
        found: dict[str, CertificateType] = {}
        for q in self.qualifications:
            if q.status == RecordStatus.ACTIVE:
                cert_type = type_for_category(q.category)
                if cert_type is not None:
                    found[cert_type.type_code] = cert_type
        return list(found.values())

    def content(
        self,
        cert_type: CertificateType,
        authority: _Authority,
        operators: dict[tuple[Any, ...], _Operator],
    ) -> faces.Content:
        row = self.row

        def findings() -> list[quality.Finding]:
            data: dict[str, Any] = row._asdict()
            if self.qualifications:
                data["qualifications"] = [q._asdict() for q in self.qualifications]
            return quality.practitioner_findings(data)

        return qualification_content(
            cert_type,
            row,
            self.qualifications,
            self.entries,
            authority,
            row.photo_sm3,
            findings,
        )


# -- running a whole plan ------------------------------------------------------------------------


def ensure_keys(session: Session, keys: KeyService, authorities: Iterable[Authority]) -> None:
    """Create or rotate each authority's signing key before workers start signing."""
    for authority in authorities:
        keys.signing_key(authority)


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs to open its own engine and key store (picklable)."""

    database_url: str
    store: KeyStore
    settings: Settings

    def issuer(self) -> SliceIssuer:
        """A slice issuer with its own engine."""
        engine = make_engine(self.database_url)
        return SliceIssuer(make_sessionmaker(engine), self.store, self.settings)


_WORKER: SliceIssuer | None = None
#: The process that started this worker: a worker whose parent has gone takes no more slices.
_PARENT: int | None = None


def quiet_gc() -> None:
    """Collect cyclic garbage seldom: for a process that issues and nothing else.

    Issuance allocates millions of short-lived dicts and tuples that reference counting frees;
    Python's default thresholds still ran a collection every few hundred e-certs, each walking
    the worker's long-lived caches (measured: 8 µs an e-cert, 2 % of a worker's CPU; 0.2 µs
    with these settings). What exists once the worker is set up is left out of collection.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _start_worker(setup: WorkerSetup) -> None:
    global _WORKER, _PARENT
    _PARENT = os.getppid()
    _WORKER = setup.issuer()
    quiet_gc()


class DatabaseFailure(RoadcertError):
    """The database refused a slice's work for a reason other than a key collision.

    Raised in place of SQLAlchemy's errors so that it crosses the process boundary intact and
    the command can say what happened without a traceback.
    """

    status = 500
    code = "issuance.database"


def _run_slice(piece: Slice) -> SliceResult:
    assert _WORKER is not None, "worker process not initialised"
    if os.getppid() != _PARENT:
        # The command was killed: the slices already handed to this worker would otherwise be
        # issued by an orphan, alongside a rerun (harmless, the unique keys see to that, but
        # surprising). Left for the rerun.
        raise WorkerLost("制发命令已退出，本进程不再制发", code="issuance.worker_lost")
    return _WORKER.run(piece)


class WorkerLost(RoadcertError):
    """A worker process died (killed, out of memory): committed batches stand, rerun to go on."""

    status = 500
    code = "issuance.worker_lost"


def run(
    plan: Plan,
    setup: WorkerSetup,
    *,
    workers: int | None = None,
    on_result: Callable[[Slice, SliceResult], None] = lambda piece, result: None,
) -> SliceResult:
    """Issue every slice of ``plan`` with ``workers`` processes (one per core by default).

    ``on_result`` is called in this process as each slice finishes (progress, reports). With one
    worker the slices run in this process.
    """
    workers = workers or os.cpu_count() or 1
    total = SliceResult()
    if workers == 1 or len(plan.slices) <= 1:
        issuer = setup.issuer()
        for piece in plan.slices:
            result = issuer.run(piece)
            on_result(piece, result)
            total.add(result)
        return total
    slices = iter(plan.slices)
    # A few slices queued per worker: busy without holding the whole plan in flight.
    in_flight: dict[Future[SliceResult], Slice] = {}
    context = get_context("spawn")  # no fork: the parent holds database connections
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(setup,)
    ) as pool:

        def submit() -> None:
            piece = next(slices, None)
            if piece is not None:
                in_flight[pool.submit(_run_slice, piece)] = piece

        for _ in range(2 * workers):
            submit()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                piece = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    raise WorkerLost(
                        "制发进程意外退出；已提交的电子证照不受影响，重新运行即可从中断处继续",
                        code="issuance.worker_lost",
                    ) from exc
                on_result(piece, result)
                total.add(result)
                submit()
    return total
