"""``roadcert import``: check an export's rows and write them into the ledger, batch by batch.

Each row is read (reader.py), its cells parsed (cells.py) and checked against the same input
schemas and service rules a clerk's entry meets. A row that breaks a structural rule is rejected:
it never enters the ledger and every problem it has becomes one line of rejects.csv. Every other
row is accepted even when it breaks a 不规范数据 rule; its findings are stored as open
QualityIssue rows, exactly as ``LedgerService.refresh_quality`` keeps them.

New rows are written in bulk straight to the driver, one transaction per batch, so an
interrupted import keeps what it committed and a rerun goes on from there: each ledger row carries
the digest of the export row it came from, and a row whose digest is unchanged is left alone. A
new record gets no ledger history entry: the import run is its provenance (``_Handler.insert``).
A row whose digest changed goes through the business operations (BusinessService), so a newer
export has the effects a clerk's 变更, 换证, 注销 … would have: new e-cert versions, revocations,
and their history entries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError
from sqlalchemy import Table as SqlTable
from sqlalchemy import event
from sqlalchemy.orm import Session

from roadcert.audit.service import AuditService
from roadcert.certificates.collection import CollectionRate, collection_rates, collection_summary
from roadcert.crypto.sm import sm3
from roadcert.db import read_transaction, transaction, utcnow
from roadcert.errors import Conflict, RoadcertError, validation_details
from roadcert.kit.chinatime import CHINA_OFFSET, china_date
from roadcert.migration.columns import Table, ValueKind
from roadcert.migration.reader import (
    ExportUnreadable,
    Source,
    check_encoding,
    discover,
    open_source,
)
from roadcert.migration.repository import (
    ISSUE,
    LICENCE,
    OPERATOR,
    PHOTO,
    PRACTITIONER,
    QUALIFICATION,
    VEHICLE,
    ImportRepository,
)
from roadcert.migration.rows import (
    AuthorityChecker,
    Candidate,
    Checker,
    LicenceChecker,
    Message,
    OperatorChecker,
    PractitionerChecker,
    QualificationChecker,
    VehicleChecker,
    fewer_collections,
    messages,
    run_worker,
    unpack,
)
from roadcert.registry import quality
from roadcert.registry.models import (
    Authority,
    Licence,
    Operator,
    Practitioner,
    Qualification,
    RecordStatus,
    Vehicle,
)
from roadcert.registry.schemas import (
    AuthorityIn,
    LicenceChange,
    OperatorChange,
    PractitionerChange,
    QualificationIn,
    Renewal,
    VehicleChange,
)
from roadcert.registry.service import (
    MAX_PHOTO_BYTES,
    PHOTO_FORMATS,
    LedgerService,
    findings_of,
)
from roadcert.runtime import Runtime, Services

#: Columns of rejects.csv, one line per problem.
REJECT_HEADERS = ("文件", "行号", "表", "记录键", "字段", "规则", "原因", "值")

NEW, UPDATED, UNCHANGED, REJECTED = "new", "updated", "unchanged", "rejected"

#: Rows per batch, one transaction each. Every commit on SQLite writes the index pages the
#: batch touched (at a million certificates a 5000-row commit took 30 ms); 20 000 rows are
#: 20–40 MB in memory.
DEFAULT_BATCH = 20_000

_ENDED = (RecordStatus.CANCELLED.value, RecordStatus.REVOKED.value)
# Distinct photo files read before their digests are looked up and the new ones stored: bounds
# the photo bytes held at once (at most this many times the 2 MB limit, typically a few MB).
_PHOTO_CHUNK = 100


# -- results and report ------------------------------------------------------------------------


@dataclass
class TableCounts:
    """What became of one table's rows."""

    title: str
    files: list[str] = field(default_factory=list)
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    non_standard: Counter[str] = field(default_factory=Counter)

    @property
    def balanced(self) -> bool:
        """Every row read is counted exactly once."""
        return self.rows == self.new + self.updated + self.unchanged + self.rejected

    def add(self, outcome: str, rows: int = 1) -> None:
        """Count ``rows`` rows with this outcome."""
        self.rows += rows
        setattr(self, outcome, getattr(self, outcome) + rows)


@dataclass
class ImportResult:
    """The outcome of one run: counts per table, where the report is, whether it finished."""

    path: Path
    report_dir: Path
    started_at: datetime
    batch: int
    encoding: str
    actor: str
    tables: dict[str, TableCounts] = field(default_factory=dict)
    problems: int = 0
    elapsed: float = 0.0
    completed: bool = False
    error: RoadcertError | None = None
    # 制证率 per authority over the whole ledger once the run stopped (``Importer.collect``),
    # the China date it was computed for, how long it took, or why there is none.
    collection: list[CollectionRate] | None = None
    collection_date: date | None = None
    collection_seconds: float | None = None
    collection_error: RoadcertError | None = None

    @property
    def rows(self) -> int:
        """Rows read, all tables."""
        return sum(t.rows for t in self.tables.values())

    @property
    def balanced(self) -> bool:
        """Every table's counts add up."""
        return all(t.balanced for t in self.tables.values())


def build_summary(result: ImportResult) -> dict[str, Any]:
    """report.json: per-table counts, 不规范数据 by rule, time and rate, and 制证率 per authority.

    The one place the import report is assembled; figures computed over the whole ledger after
    the import belong here too. ``collection`` has the shape of ``roadcert quality --json``
    (``collection.collection_summary``); ``elapsed_seconds`` and ``rows_per_second`` leave out
    the time it took (``collection_seconds``).
    """
    tables: dict[str, Any] = {}
    totals = Counter[str]()
    non_standard = Counter[str]()
    for name, counts in result.tables.items():
        tables[name] = {
            "title": counts.title,
            "files": counts.files,
            "rows": counts.rows,
            "new": counts.new,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "rejected": counts.rejected,
            "balanced": counts.balanced,
            "non_standard": dict(sorted(counts.non_standard.items())),
        }
        for key in ("rows", "new", "updated", "unchanged", "rejected"):
            totals[key] += getattr(counts, key)
        non_standard.update(counts.non_standard)
    finished = result.started_at.timestamp() + result.elapsed
    return {
        "source": str(result.path),
        "report": str(result.report_dir),
        "completed": result.completed,
        "error": _error_of(result.error),
        "started_at": result.started_at.isoformat(),
        "finished_at": datetime.fromtimestamp(finished, result.started_at.tzinfo).isoformat(),
        "elapsed_seconds": round(result.elapsed, 3),
        "rows_per_second": round(result.rows / result.elapsed, 1) if result.elapsed else None,
        "batch": result.batch,
        "encoding": result.encoding,
        "actor": result.actor,
        "tables": tables,
        "totals": {**{k: totals[k] for k in ("rows", "new", "updated", "unchanged", "rejected")}},
        "balanced": result.balanced,
        "non_standard": dict(sorted(non_standard.items())),
        "rejects": {"file": "rejects.csv", "lines": result.problems},
        "collection": None
        if result.collection is None or result.collection_date is None
        else collection_summary(result.collection, result.collection_date),
        "collection_seconds": None
        if result.collection_seconds is None
        else round(result.collection_seconds, 3),
        "collection_error": _error_of(result.collection_error),
    }


def _error_of(error: RoadcertError | None) -> dict[str, str] | None:
    return None if error is None else {"code": error.code, "message": error.message}


class Progress(Protocol):
    """Where the importer reports how far it has read (the CLI shows a progress bar)."""

    def start(self, source: Source, total: int) -> None:
        """Reading ``source`` begins; ``total`` is its size (bytes, or rows of a sheet)."""

    def advance(self, source: Source, position: int) -> None:
        """``position`` of ``total`` has been read and written."""

    def finish(self, source: Source) -> None:
        """``source`` is done."""


class _NoProgress:
    def start(self, source: Source, total: int) -> None:
        pass

    def advance(self, source: Source, position: int) -> None:
        pass

    def finish(self, source: Source) -> None:
        pass


class Unsupported(Conflict):
    """A change in a newer export that no business operation makes: the row is rejected."""

    code = "change.unsupported"


# -- photos --------------------------------------------------------------------------------------


class PhotoFiles:
    """The photo files an export refers to: each read, checked and stored once.

    A cache of the last ``capacity`` paths (path → digest and photo id, or the problem) spares
    re-reading a file that many rows share; photos themselves are kept once per SM3 digest in
    the photo table, whatever their path.
    """

    def __init__(self, root: Path, capacity: int = 10_000) -> None:
        self.root = root
        self.capacity = capacity
        self._cache: OrderedDict[str, tuple[str, int] | tuple[str, str, str]] = OrderedDict()

    def path(self, value: str) -> Path | None:
        """The file a 照片 cell names, or None when it points outside the export folder."""
        relative = Path(value.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts:
            return None
        return self.root / relative

    def read(self, value: str) -> bytes:
        """The bytes of a photo (for the business operations of changed rows)."""
        path = self.path(value)
        if path is None:
            raise Unsupported("照片路径应为导出文件夹内的相对路径", field="照片")
        return path.read_bytes()

    def _remember(self, value: str, entry: tuple[str, int] | tuple[str, str, str]) -> None:
        self._cache[value] = entry
        self._cache.move_to_end(value)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)

    def resolve(self, repo: ImportRepository, batch: Sequence[Candidate], header: str) -> None:
        """Give each candidate with a photo its photo id and digest, storing new photos."""
        pending: dict[str, list[Candidate]] = {}
        for c in batch:
            value = c.values.get("photo")
            if not c.ok or not value:
                continue
            if value in self._cache:
                self._cache.move_to_end(value)
                self._apply(c, self._cache[value], header, value)
            else:
                pending.setdefault(value, []).append(c)
        values = list(pending)
        for start in range(0, len(values), _PHOTO_CHUNK):
            chunk = values[start : start + _PHOTO_CHUNK]
            entries = self._store(repo, chunk)
            for value in chunk:
                self._remember(value, entries[value])
                for c in pending[value]:
                    self._apply(c, entries[value], header, value)

    @staticmethod
    def _apply(
        c: Candidate, entry: tuple[str, int] | tuple[str, str, str], header: str, value: str
    ) -> None:
        if len(entry) == 2:
            c.photo_sm3, c.ids["photo_id"] = entry
        else:
            c.refuse(header, entry[0], entry[1], value)

    def _store(
        self, repo: ImportRepository, values: list[str]
    ) -> dict[str, tuple[str, int] | tuple[str, str, str]]:
        entries: dict[str, tuple[str, int] | tuple[str, str, str]] = {}
        contents: dict[str, bytes] = {}
        digest_of: dict[str, str] = {}
        for value in values:
            path = self.path(value)
            if path is None:
                entries[value] = ("photo.path", "照片路径应为导出文件夹内的相对路径", "")
                continue
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                entries[value] = ("photo.missing", f"照片文件不存在：{value}", "")
                continue
            except OSError as exc:
                entries[value] = ("photo.unreadable", f"无法读取照片：{exc.strerror}", "")
                continue
            if len(content) > MAX_PHOTO_BYTES:
                entries[value] = (
                    "photo.too_large",
                    f"照片过大：{len(content)} 字节，上限 {MAX_PHOTO_BYTES} 字节",
                    "",
                )
                continue
            digest = sm3(content).hex()
            digest_of[value] = digest
            contents.setdefault(digest, content)
        stored = repo.photo_ids(contents)
        new_rows: list[dict[str, Any]] = []
        refused: dict[str, tuple[str, str, str]] = {}
        now = utcnow()
        for digest, content in contents.items():
            if digest in stored:
                continue
            media_type = _photo_media_type(content)
            if isinstance(media_type, tuple):
                refused[digest] = media_type
                continue
            new_rows.append(
                {"sm3": digest, "media_type": media_type, "content": content, "created_at": now}
            )
        for row, photo_id in zip(new_rows, repo.allocate_ids(PHOTO, len(new_rows)), strict=True):
            row["id"] = photo_id
            stored[row["sm3"]] = photo_id
        repo.write(PHOTO, new_rows)
        for value, digest in digest_of.items():
            entries[value] = refused[digest] if digest in refused else (digest, stored[digest])
        return entries


def _photo_media_type(content: bytes) -> str | tuple[str, str, str]:
    """The media type of a JPEG or PNG picture, or the refusal ``store_photo`` would give."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            kind = image.format or ""
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return ("photo.unreadable", "照片不是可识别的图片", "")
    if kind not in PHOTO_FORMATS:
        return ("photo.format", f"照片格式 {kind} 不被接受：仅限 JPEG 或 PNG", "")
    return PHOTO_FORMATS[kind]


# -- tables --------------------------------------------------------------------------------------


class _Handler:
    """How one table's checked rows are matched against the ledger, written and changed."""

    checker: ClassVar[type[Checker]]
    entity: ClassVar[str]  # the ledger entity (history, quality issues)
    ledger: ClassVar[SqlTable | None] = None
    # Ledger columns filled straight from the row's values.
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, importer: Importer) -> None:
        self.importer = importer
        self.table: Table = self.checker.table
        self.header_of = {c.field: c.header for c in self.table.columns}
        self.key_fields = [self.table.column(h).field for h in self.table.key]
        self.has_photo = any(c.kind is ValueKind.FILE for c in self.table.columns)
        # Whether ``digest`` says more than the checker's digest of the values.
        self.redigest = self.has_photo or type(self).digest is not _Handler.digest
        self.counts = TableCounts(self.table.title)
        # New rows ``insert`` leaves to the business operations (``update``), per batch.
        self.deferred: list[Candidate] = []
        if self.ledger is not None:
            # A candidate's values serve as its ledger row (``row``): every value named like a
            # ledger column must be one that goes there.
            stray = {c.field for c in self.table.columns} & set(self.ledger.c.keys())
            if not stray <= set(self.fields):
                raise TypeError(f"{self.table.name}: {sorted(stray - set(self.fields))}")

    def digest(self, c: Candidate) -> str:
        """The row's digest; with a photo, of its values and of the photo's content."""
        if not self.has_photo:
            return c.digest
        text = f"{c.digest}:{c.photo_sm3 or ''}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    # -- checks against the ledger -------------------------------------------------------------

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        """References, existing records and unique values, for the whole batch at once."""

    def _authority(self, batch: list[Candidate]) -> None:
        header = self.header_of["authority"]
        known = self.importer.authority_ids
        for c in batch:
            code = c.values.get("authority")
            if code is None:
                continue
            authority_id = known.get(code)
            if authority_id is None:
                c.refuse(
                    header,
                    "reference.authority",
                    f"核发机关代码 {code} 不存在：台账和本次导入的核发机关表中都没有",
                    code,
                )
            else:
                c.ids["authority_id"] = authority_id

    def _reference(
        self,
        repo: ImportRepository,
        batch: list[Candidate],
        name: str,
        ledger: SqlTable,
        column: str,
        label: str,
        *extra: str,
    ) -> dict[str, tuple[Any, ...]]:
        wanted = [c.values[name] for c in batch if c.values.get(name) is not None]
        found = repo.by_key(ledger, column, wanted, *extra)
        reference = f"{name}_id"
        for c in batch:
            value = c.values.get(name)
            if value is None:
                continue
            entry = found.get(value)
            if entry is not None:
                c.ids[reference] = entry[0]
            else:
                c.refuse(
                    self.header_of[name],
                    f"reference.{name}",
                    f"{label} {value} 不存在：台账中没有，本次导入中也没有被接受的该记录",
                    value,
                )
        return found

    def _existing(self, repo: ImportRepository, batch: list[Candidate], column: str) -> None:
        assert self.ledger is not None
        keys = [c.values[self.key_fields[0]] for c in batch if c.values.get(self.key_fields[0])]
        found = repo.by_key(self.ledger, column, keys, "import_digest")
        for c in batch:
            entry = found.get(c.values.get(self.key_fields[0]) or "")
            if entry is not None:
                c.existing_id, c.existing_digest = entry

    # -- writing -------------------------------------------------------------------------------

    def row(self, c: Candidate, now: datetime) -> dict[str, Any]:
        """The ledger row of a new record: its values (``fields``), references and digest.

        The candidate's values dict itself, completed: ``repository.write`` takes the table's
        columns from a row by name and leaves the other keys (the export's references by key),
        so no row is copied.
        """
        row = c.values
        row.update(c.ids)
        row["import_digest"] = c.digest
        row["created_at"] = row["updated_at"] = now
        return row

    def insert(self, repo: ImportRepository, new: list[Candidate], now: datetime) -> None:
        """Write new records and their findings in bulk.

        A record an import creates gets no ledger history entry of its own: its provenance is
        the import run — report.json and rejects.csv, the ``registry:import:completed`` audit
        event, and the ``import_digest`` it carries. One history row with a full snapshot per
        record cost a third of the writing; what an export later changes goes through
        BusinessService and is recorded in the history as a clerk's change is.
        """
        if not new:
            return
        assert self.ledger is not None
        rows = [self.row(c, now) for c in new]
        ids = repo.allocate_ids(self.ledger, len(rows))
        issues: list[dict[str, Any]] = []
        for c, row, record_id in zip(new, rows, ids, strict=True):
            row["id"] = record_id
            c.outcome = NEW
            if c.findings:
                issues += _issue_rows(self.entity, record_id, row["authority_id"], c.findings, now)
        repo.write(self.ledger, rows)
        repo.write(ISSUE, issues, with_id=False)

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        """Bring an existing record in line with a changed row; True if anything changed."""
        raise NotImplementedError(self.table.name)

    def after(self, repo: ImportRepository, batch: list[Candidate], now: datetime) -> None:
        """Work left once the batch's records are written."""

    # -- helpers for ``update`` ----------------------------------------------------------------

    def _unsupported(self, record: Any, c: Candidate, names: Iterable[str]) -> None:
        differing = [n for n in names if getattr(record, n) != self._wanted(c, n)]
        if differing:
            headers = "、".join(self._header(n) for n in differing)
            raise Unsupported(
                f"{headers}的变更不能由导入办理，请在系统中办理相应业务",
                field=self._header(differing[0]),
            )

    def _header(self, name: str) -> str:
        return self.header_of.get(name.removesuffix("_id"), name)

    def _wanted(self, c: Candidate, name: str) -> Any:
        return c.ids.get(name) if name.endswith("_id") else c.values.get(name)

    def _changes(self, record: Any, c: Candidate, names: Iterable[str]) -> dict[str, Any]:
        changes = {n: c.values[n] for n in names if getattr(record, n) != c.values[n]}
        cleared = [n for n, value in changes.items() if value is None]
        if cleared:
            raise Unsupported(
                f"{'、'.join(self._header(n) for n in cleared)}被清空：清空不能由导入办理",
                field=self._header(cleared[0]),
            )
        return changes

    def _no_revival(self, current: str, c: Candidate, name: str) -> None:
        # 注销 and 吊销 both end a record (a 道路运输证 is only ever 注销); 有效 would revive it.
        if current in _ENDED and c.values[name] not in _ENDED:
            raise Unsupported(
                "台账中该记录已注销或吊销，不能由导入恢复为有效", field=self._header(name)
            )


def _issue_rows(
    entity: str,
    record_id: int,
    authority_id: int,
    findings: Iterable[quality.Finding],
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "authority_id": authority_id,
            "entity": entity,
            "entity_id": record_id,
            "field": f.field,
            "rule": f.rule,
            "message": f.message,
            "value": None if f.value is None else str(f.value)[:300],
            "detected_at": now,
            "resolved_at": None,
        }
        for f in findings
    ]


class _Authorities(_Handler):
    """核发机关: few rows, written through LedgerService; the flag only ever switches on."""

    checker = AuthorityChecker
    entity = "authority"

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        for c in batch:
            authority = self.importer.authorities.get(c.values.get("uscc") or "")
            if authority is not None:
                c.existing_id = authority.id
                c.existing_digest = self._digest_of(authority)

    def digest(self, c: Candidate) -> str:
        v = c.values
        return _digest(
            "authority", v["name"], v["region_code"], v["number_prefix"], v["ecert_enabled"]
        )

    @staticmethod
    def _digest_of(a: Authority) -> str:
        return _digest("authority", a.name, a.region_code, a.number_prefix, a.ecert_enabled)

    def insert(self, repo: ImportRepository, new: list[Candidate], now: datetime) -> None:
        # A handful of rows: through LedgerService, which records them as a clerk's would be.
        ledger = LedgerService(repo.session, self.importer.actor)
        for c in new:
            data = {name: c.values[name] for name in AuthorityIn.model_fields}
            ledger.create_authority(AuthorityIn(**data))
            c.outcome = NEW

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        assert c.existing_id is not None
        authority = svc.ledger.get(Authority, c.existing_id)
        differing = [
            n
            for n in ("name", "region_code", "number_prefix")
            if getattr(authority, n) != c.values[n]
        ]
        if differing:
            raise Unsupported(
                f"{'、'.join(self.header_of[n] for n in differing)}与台账中的核发机关不一致："
                "核发机关信息不能由导入修改",
                field=self.header_of[differing[0]],
            )
        # 启用电子证照 defaults to 否: an export cannot switch a running authority off.
        if c.values["ecert_enabled"] and not authority.ecert_enabled:
            svc.ledger.set_ecert_enabled(authority.id, True)
            return True
        return False

    def after(self, repo: ImportRepository, batch: list[Candidate], now: datetime) -> None:
        repo.session.flush()
        self.importer.load_authorities(repo)


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class _Operators(_Handler):
    """业户, keyed by 业户编号 (operator.legacy_id)."""

    checker = OperatorChecker
    entity = "operator"
    ledger = OPERATOR
    fields = ("legacy_id", "name", "uscc", "address", "region_code", "economic_type", "status")

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        self._authority(batch)
        self._existing(repo, batch, "legacy_id")

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        assert c.existing_id is not None
        operator = svc.ledger.get(Operator, c.existing_id)
        self._unsupported(operator, c, ["authority_id"])
        changes = self._changes(
            operator, c, ("name", "uscc", "address", "region_code", "economic_type", "status")
        )
        if changes:
            svc.business.change_operator(operator.id, OperatorChange(**changes))
        operator.import_digest = c.digest
        return bool(changes)


class _Licences(_Handler):
    """经营许可证, keyed by 许可证号."""

    checker = LicenceChecker
    entity = "licence"
    ledger = LICENCE
    fields = (
        "number",
        "type_code",
        "business_scopes",
        "valid_from",
        "valid_until",
        "issue_date",
        "status",
    )

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        self._authority(batch)
        self._reference(repo, batch, "operator", OPERATOR, "legacy_id", "业户编号")
        self._existing(repo, batch, "number")

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        assert c.existing_id is not None
        licence = svc.ledger.get(Licence, c.existing_id)
        v = c.values
        self._unsupported(licence, c, ["operator_id", "authority_id", "type_code"])
        self._no_revival(licence.status, c, "status")
        renewed = (licence.valid_from, licence.valid_until) != (v["valid_from"], v["valid_until"])
        if not renewed:
            self._unsupported(licence, c, ["issue_date"])
        applied = False
        if licence.business_scopes != v["business_scopes"]:
            svc.business.change_licence(
                licence.id, LicenceChange(business_scopes=v["business_scopes"])
            )
            applied = True
        if renewed:
            # 换证 comes with its new 发证日期, which the new version's face shows.
            licence.issue_date = v["issue_date"]
            svc.business.renew_licence(
                licence.id, Renewal(valid_from=v["valid_from"], valid_until=v["valid_until"])
            )
            applied = True
        if v["status"] in _ENDED and licence.status == RecordStatus.ACTIVE:
            svc.business.cancel_licence(licence.id, revoked=v["status"] == RecordStatus.REVOKED)
            applied = True
        licence.import_digest = c.digest
        return applied


class _Vehicles(_Handler):
    """车辆 and their 道路运输证, keyed by 道路运输证号."""

    checker = VehicleChecker
    entity = "vehicle"
    ledger = VEHICLE
    fields = (
        "transport_number",
        "plate",
        "plate_color",
        "vehicle_type",
        "brand_model",
        "seats",
        "tonnage_kg",
        "length_mm",
        "width_mm",
        "height_mm",
        "business_scopes",
        "technical_grade",
        "status",
        "ride_hailing",
        "issue_date",
        "valid_from",
        "valid_until",
        "review_valid_until",
        "transport_status",
    )
    _CHANGES = (
        "plate",
        "plate_color",
        "vehicle_type",
        "brand_model",
        "seats",
        "tonnage_kg",
        "length_mm",
        "width_mm",
        "height_mm",
        "business_scopes",
        "status",
    )

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        self._authority(batch)
        self._reference(repo, batch, "operator", OPERATOR, "legacy_id", "业户编号")
        self._reference(repo, batch, "licence", LICENCE, "number", "许可证号")
        for c in batch:
            c.ids.setdefault("licence_id", None)
            c.ids.setdefault("photo_id", None)
        self._existing(repo, batch, "transport_number")
        self._plates(repo, batch)

    def _plates(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        """号牌 and 车牌颜色 belong to one vehicle: in the ledger and within the batch."""
        holders: dict[tuple[str, str], str] = {
            (plate, color): number
            for plate, color, number in repo.vehicles_with_plates(
                c.values["plate"] for c in batch if c.values.get("plate")
            )
        }
        for c in batch:
            plate, color, number = (
                c.values.get("plate"),
                c.values.get("plate_color"),
                c.values.get("transport_number"),
            )
            if not (plate and color and number) or not c.ok:
                continue
            holder = holders.setdefault((plate, color), number)
            if holder != number:
                c.refuse(
                    self.header_of["plate"],
                    "unique.plate",
                    f"号牌 {plate}（车牌颜色 {color}）已登记在道路运输证号 {holder} 的车辆上",
                    plate,
                )

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        assert c.existing_id is not None
        vehicle = svc.ledger.get(Vehicle, c.existing_id)
        v = c.values
        self._unsupported(vehicle, c, ["operator_id", "authority_id", "licence_id", "ride_hailing"])
        self._no_revival(vehicle.transport_status, c, "transport_status")
        changes = self._changes(vehicle, c, self._CHANGES)
        renewed = (vehicle.valid_from, vehicle.valid_until) != (v["valid_from"], v["valid_until"])
        reviewed = (vehicle.review_valid_until, vehicle.technical_grade) != (
            v["review_valid_until"],
            v["technical_grade"],
        )
        if reviewed and v["review_valid_until"] is None:
            raise Unsupported("技术等级或审验有效期的变更须给出审验有效期至", field="审验有效期至")
        new_photo = c.ids.get("photo_id")
        if vehicle.photo_id is not None and new_photo is None:
            raise Unsupported("照片被清空：清空不能由导入办理", field="照片")
        business = svc.business
        if changes:
            business.change_vehicle(vehicle.id, VehicleChange(**changes))
        if renewed:
            # 换证: the service sets 发证日期 to the new 有效期起 (docs/migration/import.md).
            business.renew_vehicle(
                vehicle.id, Renewal(valid_from=v["valid_from"], valid_until=v["valid_until"])
            )
        if reviewed:
            grade = (
                v["technical_grade"] if v["technical_grade"] != vehicle.technical_grade else None
            )
            business.review_vehicle(
                vehicle.id,
                Renewal(review_valid_until=v["review_valid_until"], technical_grade=grade),
            )
        photo = new_photo is not None and new_photo != vehicle.photo_id
        if photo:
            business.vehicle_photo(vehicle.id, self.importer.photos.read(v["photo"]))
        cancelled = v["transport_status"] in _ENDED and vehicle.transport_status not in _ENDED
        if cancelled:
            business.cancel_vehicle(vehicle.id)
        vehicle.import_digest = c.digest
        return bool(changes) or renewed or reviewed or photo or cancelled


class _Practitioners(_Handler):
    """从业人员, keyed by 从业资格证号."""

    checker = PractitionerChecker
    entity = "practitioner"
    ledger = PRACTITIONER
    fields = (
        "certificate_number",
        "name",
        "id_type",
        "id_number",
        "sex",
        "birth_date",
        "nationality",
        "address",
        "driving_class",
    )

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        self._authority(batch)
        for c in batch:
            c.ids.setdefault("photo_id", None)
        self._existing(repo, batch, "certificate_number")
        holders: dict[str, str] = dict(
            repo.practitioners_with_id_numbers(
                c.values["id_number"] for c in batch if c.values.get("id_number")
            )
        )
        for c in batch:
            number, certificate = c.values.get("id_number"), c.values.get("certificate_number")
            if not (number and certificate) or not c.ok:
                continue
            holder = holders.setdefault(number, certificate)
            if holder != certificate:
                c.refuse(
                    self.header_of["id_number"],
                    "unique.id_number",
                    f"证件号码 {number} 已登记在从业资格证号 {holder} 的从业人员上",
                    number,
                )

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        assert c.existing_id is not None
        person = svc.ledger.get(Practitioner, c.existing_id)
        self._unsupported(person, c, ["authority_id", "id_type", "id_number", "sex", "birth_date"])
        changes = self._changes(person, c, ("name", "address", "nationality", "driving_class"))
        new_photo = c.ids.get("photo_id")
        if person.photo_id is not None and new_photo is None:
            raise Unsupported("照片被清空：清空不能由导入办理", field="照片")
        if changes:
            svc.business.change_practitioner(person.id, PractitionerChange(**changes))
        photo = new_photo is not None and new_photo != person.photo_id
        if photo:
            svc.business.practitioner_photo(person.id, self.importer.photos.read(c.values["photo"]))
        person.import_digest = c.digest
        return bool(changes) or photo


class _Qualifications(_Handler):
    """从业资格, keyed by 从业资格证号 and 从业资格类别; findings belong to the practitioner."""

    checker = QualificationChecker
    entity = "practitioner"
    ledger = QUALIFICATION
    fields = ("category", "first_issued", "valid_from", "valid_until", "status")

    def resolve(self, repo: ImportRepository, batch: list[Candidate]) -> None:
        people = self._reference(
            repo,
            batch,
            "practitioner",
            PRACTITIONER,
            "certificate_number",
            "从业资格证号",
            "authority_id",
        )
        pairs: list[tuple[int, str]] = []
        holding: list[tuple[Candidate, tuple[int, str]]] = []
        for c in batch:
            person = people.get(c.values.get("practitioner") or "")
            if person is not None:
                c.ids["authority_id"] = person[1]
                category = c.values.get("category")
                if category:
                    pairs.append((person[0], category))
                    holding.append((c, pairs[-1]))
        existing = repo.qualifications(pairs)
        if existing:
            for c, pair in holding:
                entry = existing.get(pair)
                if entry is not None:
                    c.existing_id, c.existing_digest = entry

    def row(self, c: Candidate, now: datetime) -> dict[str, Any]:
        row = super().row(c, now)
        # As LedgerService does: 初领日期 is the first 有效期起 when the source has none.
        row["first_issued"] = row["first_issued"] or row["valid_from"]
        return row

    def insert(self, repo: ImportRepository, new: list[Candidate], now: datetime) -> None:
        # A practitioner who already holds e-certs gets a new category as 增项, with its effect
        # on their certificates; everyone else's qualifications are written in bulk, without
        # history entries, as other new records are (``_Handler.insert``).
        active = [c for c in new if c.values["status"] == RecordStatus.ACTIVE]
        holders = repo.practitioners_with_ecerts(c.ids["practitioner_id"] or 0 for c in active)
        self.deferred = [c for c in active if c.ids["practitioner_id"] in holders]
        # By identity: ``c not in active`` compared candidates field by field, row by row.
        deferred = {id(c) for c in self.deferred}
        bulk = [c for c in new if id(c) not in deferred]
        rows = [self.row(c, now) for c in bulk]
        flawed: set[int] = set()
        for c, row, record_id in zip(
            bulk, rows, repo.allocate_ids(QUALIFICATION, len(rows)), strict=True
        ):
            row["id"] = record_id
            c.outcome = NEW
            if c.findings:
                flawed.add(row["practitioner_id"])
        repo.write(QUALIFICATION, rows)
        if flawed:
            self._refresh(repo, flawed, now)

    def _refresh(self, repo: ImportRepository, people: set[int], now: datetime) -> None:
        """Re-run the practitioner rules on people whose new qualifications break one.

        The rules on the person themself do not look at qualifications, so a clean
        qualification changes no finding and its practitioner is left alone.
        """
        rows = repo.rows(PRACTITIONER, people)
        qualifications = repo.qualifications_of(people)
        records = [
            (
                person_id,
                row["authority_id"],
                quality.practitioner_findings(
                    {**row, "qualifications": qualifications.get(person_id, [])}
                ),
            )
            for person_id, row in rows.items()
        ]
        refresh_issues(repo, "practitioner", records, now)

    def update(self, svc: Services, repo: ImportRepository, c: Candidate) -> bool:
        """换证 or 注销 of one category; or 增项 for a practitioner who holds e-certs."""
        person_id = c.ids["practitioner_id"] or 0
        v = c.values
        if c.existing_id is None:
            svc.business.add_qualification(
                person_id,
                QualificationIn(
                    category=v["category"],
                    first_issued=v["first_issued"],
                    valid_from=v["valid_from"],
                    valid_until=v["valid_until"],
                ),
            )
            svc.ledger.qualification(person_id, v["category"]).import_digest = c.digest
            return True
        q = svc.session.get(Qualification, c.existing_id)
        assert q is not None
        self._no_revival(q.status, c, "status")
        if v["first_issued"] is not None:
            self._unsupported(q, c, ["first_issued"])
        renewed = (q.valid_from, q.valid_until) != (v["valid_from"], v["valid_until"])
        if renewed:
            svc.business.renew_qualification(
                person_id,
                q.category,
                Renewal(valid_from=v["valid_from"], valid_until=v["valid_until"]),
            )
        cancelled = v["status"] in _ENDED and q.status not in _ENDED
        if cancelled:
            svc.business.cancel_qualification(person_id, q.category)
        q.import_digest = c.digest
        return renewed or cancelled


def refresh_issues(
    repo: ImportRepository,
    entity: str,
    records: list[tuple[int, int, list[quality.Finding]]],
    now: datetime,
) -> Counter[str]:
    """``LedgerService.refresh_quality`` for many records: close fixed findings, open new ones.

    Returns the rules of the findings opened.
    """
    wanted = {rid: {(f.field, f.rule): f for f in findings} for rid, _a, findings in records}
    resolved: list[int] = []
    for issue in repo.open_issues(entity, wanted):
        current = wanted[issue.entity_id].pop((issue.field, issue.rule), None)
        if current is None:
            resolved.append(issue.id)
            continue
        value = None if current.value is None else str(current.value)[:300]
        if (issue.message, issue.value) != (current.message, value):
            repo.restate_issue(issue.id, current.message, value)
    repo.resolve_issues(resolved, now)
    rows: list[dict[str, Any]] = []
    opened = Counter[str]()
    for record_id, authority_id, _findings in records:
        remaining = wanted[record_id].values()
        rows += _issue_rows(entity, record_id, authority_id, remaining, now)
        opened.update(f.rule for f in remaining)
    repo.write(ISSUE, rows, with_id=False)
    return opened


_HANDLERS: dict[str, type[_Handler]] = {
    handler.checker.table.name: handler
    for handler in (
        _Authorities,
        _Operators,
        _Licences,
        _Vehicles,
        _Practitioners,
        _Qualifications,
    )
}


# -- the import ----------------------------------------------------------------------------------


def default_report_dir(path: Path, now: datetime) -> Path:
    """``<PATH>.import-<YYYYmmdd-HHMMSS>`` next to the input (China time)."""
    stamp = f"{now + CHINA_OFFSET:%Y%m%d-%H%M%S}"
    return path.parent / f"{path.name}.import-{stamp}"


#: Exports smaller than this are checked in the importer's own process: starting a second one
#: costs more than it saves.
PARALLEL_FROM_BYTES = 8 * 1024 * 1024


def spare_core() -> bool:
    """Whether a core looks free for the checking process, by the load average.

    The checking process pays off only when it runs beside the writer: on a busy machine the two
    take turns on the same core and the extra work of passing rows between them (pickling, the
    queue) makes the import slower than checking in one process (docs/migration/import.md §7).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and os.getloadavg()[0] <= cores - 1


# Checked batches that may wait for the writer (from the checking process or thread): bounds
# the memory they hold.
_QUEUE_BATCHES = 2

# How long the checking thread may keep the interpreter once the writer wants it back
# (``Importer._threaded``); Python's default is 5 ms.
_SWITCH_INTERVAL = 0.0005


class _Turns:
    """Who runs Python while the writer and its checking thread share this process.

    The checking thread goes on only while the writer waits: for the server (a statement,
    the end of a COPY, a commit) or for the next batch. Left to the interpreter, the two
    threads would take turns every switch interval whenever both have Python to run, so the
    writer's own work, which the server waits for, would take twice as long.
    """

    def __init__(self) -> None:
        self.writer_waits = threading.Event()

    def waiting(self, *_: Any) -> None:
        """The writer starts waiting: the checking thread may run."""
        self.writer_waits.set()

    def working(self, *_: Any) -> None:
        """The writer runs Python again: the checking thread stops at its next ``pace``."""
        self.writer_waits.clear()

    def told(self, waits: bool) -> None:
        """``waiting`` or ``working``, as the repository reports the end of a COPY."""
        if waits:
            self.waiting()
        else:
            self.working()

    def pace(self) -> None:
        """In the checking thread: wait for the writer to wait."""
        self.writer_waits.wait()


class Importer:
    """One run of ``roadcert import`` over an export folder or file.

    Checking (rows.py) and writing run in two processes when the export is large and a core is
    free (``spare_core``): the checking process reads and checks batches ahead while this one
    writes, at most a few batches ahead.
    The checking process is started with ``spawn``, which imports the calling program's main
    module again: a script that imports with ``parallel`` must guard its main code with
    ``if __name__ == "__main__":`` (the ``roadcert`` command does).

    Once the run stops, completed or not, it computes 制证率 per authority over the whole ledger
    for the report (``collect``); a caller that times the import alone turns that off.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        batch: int = DEFAULT_BATCH,
        encoding: str = "utf-8",
        actor: str = "import",
        progress: Progress | None = None,
        parallel: bool | None = None,
        collect: bool = True,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be positive")
        self.runtime = runtime
        self.batch = batch
        self.encoding = encoding
        self.actor = actor
        self.progress: Progress = progress or _NoProgress()
        # None: decide by the size of the export and the load of the machine.
        self.parallel = parallel
        self.collect = collect
        self.authorities: dict[str, Authority] = {}
        self.authority_ids: dict[str, int] = {}
        self.photos = PhotoFiles(Path("."))
        # While a checking thread runs beside the writer (``_threaded``).
        self._turns: _Turns | None = None

    def load_authorities(self, repo: ImportRepository) -> None:
        """Every authority by USCC: a province has at most a few hundred, so all stay in memory."""
        self.authorities = {a.uscc: a for a in repo.authorities()}
        self.authority_ids = {uscc: a.id for uscc, a in self.authorities.items()}

    def run(self, path: Path, report_dir: Path | None = None) -> ImportResult:
        """Import ``path``; the report goes to ``report_dir`` (default next to the input).

        Files are checked (names, encodings, headers) before anything is written. A file that
        becomes unreadable half-way stops the import with :class:`ExportUnreadable`; the batches
        written before stay, and the report says the run did not complete.
        """
        path = path.resolve()
        sources = discover(path)
        for source in sources:  # names, headers and encodings, before anything is written
            open_source(source, self.encoding).close()
            check_encoding(source, self.encoding)
        started = utcnow()
        report_dir = report_dir or default_report_dir(path, started)
        report_dir.mkdir(parents=True, exist_ok=True)
        self.photos = PhotoFiles(path if path.is_dir() else path.parent)
        result = ImportResult(path, report_dir, started, self.batch, self.encoding, self.actor)
        clock = time.perf_counter()
        interrupted = False
        with (report_dir / "rejects.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            rejects = csv.writer(handle)
            rejects.writerow(REJECT_HEADERS)
            try:
                with transaction(self.runtime.sessions) as session:
                    self.load_authorities(ImportRepository(session))
                stream = self._stream(sources)
                try:
                    with fewer_collections():
                        self._consume(sources, stream, result, rejects)
                finally:
                    stream.close()  # stops the checking process when writing stopped early
                result.completed = True
            except RoadcertError as exc:
                result.error = exc
                raise
            except BaseException as exc:  # a database error, Ctrl-C: the report still says so
                interrupted = not isinstance(exc, Exception)
                result.error = RoadcertError(
                    f"导入中断（{type(exc).__name__}）：已提交的批次保留，重新导入即可继续",
                    code="import.interrupted",
                    status=500,
                )
                raise
            finally:
                result.elapsed = time.perf_counter() - clock
                if self.collect:
                    self._collect(result, interrupted)
                _write_summary(result)
        if result.completed:
            self._audit(result)
        return result

    def _stream(self, sources: list[Source]) -> Generator[Message, None, None]:
        parallel = self.parallel
        if parallel is None:
            size = sum(s.path.stat().st_size for s in sources)
            parallel = size >= PARALLEL_FROM_BYTES and spare_core()
        if not parallel:
            if self.runtime.engine.dialect.name == "postgresql":
                yield from self._threaded(sources)
            else:
                yield from messages(sources, self.encoding, self.batch)
            return
        # spawn, not fork: this process holds database connections and the progress thread.
        context = multiprocessing.get_context("spawn")
        channel = context.Queue(maxsize=_QUEUE_BATCHES)
        worker = context.Process(
            target=run_worker,
            args=(sources, self.encoding, self.batch, channel),
            name="roadcert-import-check",
            daemon=True,
        )
        worker.start()
        try:
            while True:
                try:
                    message = channel.get(timeout=1.0)
                except queue.Empty:
                    if not worker.is_alive():
                        raise RoadcertError(
                            f"检查进程意外退出（退出码 {worker.exitcode}）",
                            code="import.worker",
                            status=500,
                        ) from None
                    continue
                if message[0] == "batch":
                    fields = [c.field for c in sources[message[1]].table.columns]
                    message = (*message[:3], [unpack(p, fields) for p in message[3]])
                yield message
                if message[0] in ("done", "error"):
                    return
        finally:
            if worker.is_alive():
                worker.terminate()  # the writer stopped early: the checker has no one to feed
            worker.join()
            channel.close()

    def _threaded(self, sources: list[Source]) -> Generator[Message, None, None]:
        """Check in a thread of this process while this one writes, for PostgreSQL.

        The writer spends a third of its time waiting for the server to take a batch (COPY,
        commit, look-ups); psycopg lets other threads run meanwhile, so the next batch is
        checked then. Only the waits overlap (one thread runs Python at a time), which is why
        SQLite, whose driver lets go row by row, gains nothing: the two threads would pass
        the interpreter back and forth on every row.

        Each time the server answers, the writer waits for the checking thread to hand the
        interpreter back, up to the switch interval, and the server idles meanwhile: a batch
        makes dozens of such round trips (look-ups, COPY's flushes, commit). At the default
        5 ms a COPY beside a busy thread took three times as long as alone; at 0.5 ms, one
        and a half. The interval is shortened while the two threads run, and restored after;
        and the checking thread runs only while the writer waits (``_Turns``).
        """
        channel: queue.Queue[Message] = queue.Queue(maxsize=_QUEUE_BATCHES)
        stop = threading.Event()
        turns = _Turns()

        def send(message: Message) -> bool:
            while not stop.is_set():
                try:
                    channel.put(message, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def check() -> None:
            try:
                for message in messages(sources, self.encoding, self.batch, turns.pace):
                    if not send(message):
                        return  # the writer stopped
            except BaseException as exc:  # the writer raises it: no failure goes unheard
                send(("raise", exc))

        engine = self.runtime.engine
        hooks = (
            ("before_cursor_execute", turns.waiting),
            ("after_cursor_execute", turns.working),
            ("commit", turns.waiting),  # ``_flush`` takes its turn back after the commit
        )
        thread = threading.Thread(target=check, name="roadcert-import-check", daemon=True)
        interval = sys.getswitchinterval()
        for name, hook in hooks:
            event.listen(engine, name, hook)
        self._turns = turns
        sys.setswitchinterval(min(interval, _SWITCH_INTERVAL))
        try:
            thread.start()
            while True:
                turns.waiting()
                message = channel.get()
                turns.working()
                if message[0] == "raise":
                    raise message[1]
                yield message
                if message[0] in ("done", "error"):
                    return
        finally:
            stop.set()
            turns.waiting()  # for good: the checking thread must see ``stop``
            if thread.is_alive():
                thread.join(timeout=10)
            sys.setswitchinterval(interval)
            self._turns = None
            for name, hook in hooks:
                event.remove(engine, name, hook)

    def _consume(
        self,
        sources: list[Source],
        stream: Iterator[Message],
        result: ImportResult,
        rejects: Any,
    ) -> None:
        handler: _Handler | None = None
        for message in stream:
            kind = message[0]
            if kind == "error":
                raise ExportUnreadable(message[2], code=message[1])
            if kind == "done":
                return
            source = sources[message[1]]
            if kind == "start":
                if handler is None or handler.table is not source.table:
                    handler = _HANDLERS[source.table.name](self)
                    result.tables[source.table.name] = handler.counts
                handler.counts.files.append(source.name)
                self.progress.start(source, message[2])
            elif kind == "batch":
                assert handler is not None
                self._flush(handler, source, message[3], result, rejects)
                self.progress.advance(source, message[2])
            else:
                self.progress.finish(source)

    def _collect(self, result: ImportResult, interrupted: bool) -> None:
        """制证率 per authority into ``result``: the baseline after a first import (nothing is
        issued yet), the real rate once ``roadcert issue`` ran.

        Never raises: it runs while the report is being finished, and a failure here must
        neither hide the import's own error nor cost the report. A Ctrl-C that stopped the
        import skips it (the user asked to stop; ``roadcert quality`` gives the same figures).
        """
        if interrupted:
            result.collection_error = RoadcertError(
                "导入被中断，未统计制证率（可用 roadcert quality 查看）",
                code="import.collection_skipped",
                status=500,
            )
            return
        started = time.perf_counter()
        try:
            today = china_date(self.runtime.clock())
            # Read-only: on SQLite a write transaction would hold the lock for the seconds
            # the rates take at a million certificates.
            with read_transaction(self.runtime.sessions) as session:
                rates = collection_rates(session, today)
        except (Exception, KeyboardInterrupt) as exc:  # the import itself is already settled
            stopped = isinstance(exc, KeyboardInterrupt)
            result.collection_error = RoadcertError(
                ("制证率统计被中断" if stopped else f"制证率统计失败（{type(exc).__name__}）")
                + "：导入本身不受影响，可用 roadcert quality 查看",
                code="import.collection_interrupted" if stopped else "import.collection_failed",
                status=500,
            )
        else:
            result.collection, result.collection_date = rates, today
        finally:
            result.collection_seconds = time.perf_counter() - started

    def _audit(self, result: ImportResult) -> None:
        with transaction(self.runtime.sessions) as session:
            totals = build_summary(result)["totals"]
            AuditService(session, self.runtime.clock).record(
                "registry:import:completed",
                self.actor,
                f"import:{result.path.name}"[:120],
                report=str(result.report_dir),
                **totals,
            )

    def _flush(
        self,
        handler: _Handler,
        source: Source,
        batch: list[Candidate],
        result: ImportResult,
        rejects: Any,
    ) -> None:
        turns = self._turns
        with transaction(self.runtime.sessions) as session:
            repo = ImportRepository(session, None if turns is None else turns.told)
            repo.serial_plans()
            handler.resolve(repo, batch)
            if handler.has_photo:
                self.photos.resolve(repo, batch, handler.header_of["photo"])
            new: list[Candidate] = []
            changed: list[Candidate] = []
            redigest = handler.redigest
            for c in batch:
                if c.problems:
                    c.outcome = REJECTED
                    continue
                if redigest:
                    c.digest = handler.digest(c)
                if c.existing_id is None:
                    new.append(c)
                elif c.existing_digest == c.digest:
                    c.outcome = UNCHANGED
                else:
                    changed.append(c)
            now = utcnow()
            handler.deferred = []
            handler.insert(repo, new, now)
            changed += handler.deferred
            if changed:
                self._change(handler, session, repo, changed)
            handler.after(repo, batch, now)
        if turns is not None:
            turns.working()  # committed
        counts = handler.counts
        outcomes = Counter(c.outcome for c in batch)
        for outcome, number in outcomes.items():
            counts.add(outcome, number)
        for c in batch:
            if c.findings and c.outcome in (NEW, UPDATED):
                counts.non_standard.update(f.rule for f in c.findings)
            for header, rule, reason, value in c.problems:
                rejects.writerow(
                    [source.name, c.line, handler.table.title, c.key, header, rule, reason, value]
                )
                result.problems += 1

    def _change(
        self, handler: _Handler, session: Session, repo: ImportRepository, changed: list[Candidate]
    ) -> None:
        """Changed rows through the business operations, each in its own savepoint."""
        svc = self.runtime.services(session, self.actor)
        for c in changed:
            try:
                with session.begin_nested():
                    applied = handler.update(svc, repo, c)
                    record = _record_of(svc, handler, c)
            except RoadcertError as exc:
                c.refuse(exc.field or "", exc.code, exc.message)
                c.outcome = REJECTED
                continue
            except ValidationError as exc:
                detail = validation_details(list(exc.errors()))[0]
                c.refuse(detail["field"], f"schema.{detail['rule']}", detail["message"])
                c.outcome = REJECTED
                continue
            if c.existing_id is None:
                c.outcome = NEW
            else:
                c.outcome = UPDATED if applied else UNCHANGED
            c.findings = findings_of(record) if applied and record is not None else []


def _record_of(svc: Services, handler: _Handler, c: Candidate) -> Any:
    models: dict[str, Any] = {
        "operators": Operator,
        "licences": Licence,
        "vehicles": Vehicle,
        "practitioners": Practitioner,
    }
    model = models.get(handler.table.name)
    if model is None or c.existing_id is None:
        return None
    return svc.session.get(model, c.existing_id)


def _write_summary(result: ImportResult) -> None:
    summary = build_summary(result)
    (result.report_dir / "report.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


__all__ = [
    "DEFAULT_BATCH",
    "NEW",
    "REJECTED",
    "REJECT_HEADERS",
    "UNCHANGED",
    "UPDATED",
    "Candidate",
    "ImportResult",
    "Importer",
    "PhotoFiles",
    "Progress",
    "TableCounts",
    "build_summary",
    "default_report_dir",
    "refresh_issues",
    "spare_core",
]
