"""Checking an export's rows without the database: cells, input schemas, keys, quality rules.

This is the first half of ``roadcert import`` (the importer writes what it gives): each row is
read, its cells parsed (cells.py), the defaults of empty cells applied, and the row checked
against the same input schemas (registry/schemas.py) and service refusals a clerk's entry meets.
Rules that need the ledger (references, existing records, unique values) come later, per batch.

It imports nothing that opens a database, so it can run in a process of its own next to the one
that writes (``run_worker``): checking costs as much time as writing.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError

from roadcert.errors import RoadcertError, validation_details
from roadcert.migration import cells
from roadcert.migration.columns import TABLES, Table, ValueKind
from roadcert.migration.reader import Row, Source, open_source
from roadcert.registry import quality
from roadcert.registry.models import RecordStatus
from roadcert.registry.schemas import (
    AuthorityIn,
    LicenceIn,
    OperatorIn,
    PractitionerIn,
    QualificationIn,
    VehicleIn,
)

# Stands in for a reference the batch resolves later, so the input schema checks everything else.
_PLACEHOLDER_ID = 1


def cells_text(value: Any) -> str:
    """A value as rejects.csv shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(cells_text(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(slots=True)
class Candidate:
    """One row of the export between reading and writing."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)  # ledger field → parsed value
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)
    key: str = ""
    digest: str = ""  # of the row's values; the importer adds its photo's digest
    findings: list[quality.Finding] = field(default_factory=list)
    # Filled by the importer, batch by batch:
    ids: dict[str, int | None] = field(default_factory=dict)  # resolved references
    photo_sm3: str | None = None
    existing_id: int | None = None
    existing_digest: str | None = None
    outcome: str = ""

    @property
    def ok(self) -> bool:
        """No problem found so far."""
        return not self.problems

    def refuse(self, header: str, rule: str, reason: str, value: Any = None) -> None:
        """Note a problem that keeps the row out of the ledger."""
        self.problems.append((header, rule, reason, cells_text(value)[:300]))


class KeySet:
    """The keys of one table seen so far in this import, to reject a key given twice.

    Kept as 64-bit BLAKE2b hashes in an open-addressing table filled to at most two thirds: 12
    to 24 bytes per key (a Python set of the key strings would take about 100). Two different
    keys share a hash with probability about n²/2⁶⁵ (10⁻⁸ for a million keys); the second row
    is then reported as a duplicate, never silently taken. docs/migration/import.md gives the
    sizes at 1, 10 and 30 million certificates.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held by the table."""
        return len(self._slots) * self._slots.itemsize

    @staticmethod
    def _hash(key: str) -> int:
        value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        return value or 1  # 0 marks an empty slot

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was already there."""
        value = self._hash(key)
        slots, mask = self._slots, self._mask
        index = value & mask
        while True:
            slot = slots[index]
            if slot == 0:
                slots[index] = value
                self._count += 1
                if self._count * 3 > len(slots) * 2:
                    self._grow()
                return True
            if slot == value:
                return False
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))  # twice the slots, 8 bytes each
        self._mask = len(self._slots) - 1
        slots, mask = self._slots, self._mask
        for value in old:
            if value:
                index = value & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = value


# -- checking one table's rows -------------------------------------------------------------------


def _schema_reason(error: Any, fallback: str) -> str:
    context = error.get("ctx") or {}
    kind = error["type"]
    if kind == "string_too_long":
        return f"内容过长：最多 {context.get('max_length')} 个字符"
    if kind == "string_too_short":
        return f"内容过短：至少 {context.get('min_length')} 个字符"
    if kind in ("less_than_equal", "less_than"):
        return f"数值过大：不得大于 {context.get('le', context.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        return f"数值过小：须{'不小于' if kind == 'greater_than_equal' else '大于'} {bound}"
    return fallback


# A practitioner who breaks no rule: the findings of a practitioner holding only one qualification
# are then those that qualification brings (tests/migration/test_import.py checks it is clean).
CLEAN_PERSON: dict[str, Any] = {"name": "张三", "id_type": "999", "id_number": "X", "sex": "1"}


def qualification_findings(qualification: dict[str, Any]) -> list[quality.Finding]:
    """The 不规范数据 findings one qualification brings to its practitioner."""
    return quality.practitioner_findings({**CLEAN_PERSON, "qualifications": [qualification]})


class _PractitionerRow(PractitionerIn):
    """A practitioner row: its qualifications come in their own table."""

    qualifications: list[QualificationIn] = Field(default_factory=list)


class Checker:
    """How the rows of one table are checked before the database is asked anything."""

    table: ClassVar[Table]
    schema: ClassVar[type[BaseModel]]
    # Values an empty cell takes (the column notes' 缺省为 …).
    defaults: ClassVar[dict[str, Any]] = {}
    # References the schema checks as ids: a placeholder id when the cell is given.
    placeholders: ClassVar[dict[str, str]] = {}
    has_validity: ClassVar[bool] = False
    rules: ClassVar[Callable[[dict[str, Any]], list[quality.Finding]] | None] = None

    def __init__(self) -> None:
        table = self.table
        self.header_of = {c.field: c.header for c in table.columns}
        self.key_fields = [table.column(h).field for h in table.key]
        self.parsers = [
            (c.header, c.field, c.required, cells.parser_for(table, c)) for c in table.columns
        ]
        self.schema_fields = frozenset(self.schema.model_fields)
        self.digested = tuple(c.field for c in table.columns if c.kind is not ValueKind.FILE)

    def check(self, row: Row, keys: KeySet) -> Candidate:
        """One row, parsed and checked; its problems and findings noted on it."""
        c = Candidate(row.line)
        for problem in row.problems:
            c.refuse(problem.header, problem.rule, problem.reason, problem.value or None)
        found = row.cells
        values = c.values
        for header, name, required, parser in self.parsers:
            raw = found.get(header)
            if raw.__class__ is str:
                raw = raw.strip() or None
            try:
                value = parser(raw)
            except cells.CellError as exc:
                c.refuse(header, exc.rule, exc.reason, raw)
                values[name] = None
                continue
            if value is None and required:
                c.refuse(header, "required", "必填项为空")
            values[name] = value
        key_values = [values.get(name) for name in self.key_fields]
        c.key = "/".join(cells_text(v) for v in key_values)
        for name, default in self.defaults.items():
            if values.get(name) is None:
                values[name] = default
        self._schema(c)
        if self.has_validity:
            start, end = values.get("valid_from"), values.get("valid_until")
            if start and end and end < start:
                c.refuse(
                    self.header_of["valid_until"],
                    "validity.order",
                    f"有效期止 {end} 早于有效期起 {start}",
                    end,
                )
        if None not in key_values and not keys.add(c.key):
            table = self.table
            c.refuse(
                table.key[0],
                "key.duplicate",
                f"记录键（{'、'.join(table.key)}）{c.key} 在本次导入中已出现过",
                c.key,
            )
        if c.ok:
            # repr() of str, int, bool, date, list and None is stable for each type.
            parts = tuple(values.get(name) for name in self.digested)
            c.digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
            c.findings = self.findings(values)
        return c

    def _schema(self, c: Candidate) -> None:
        fields = self.schema_fields
        data = {name: v for name, v in c.values.items() if v is not None and name in fields}
        for name, reference in self.placeholders.items():
            if c.values.get(reference) is not None:
                data[name] = _PLACEHOLDER_ID
        try:
            self.schema.model_validate(data)
        except ValidationError as exc:
            refused = {p[0] for p in c.problems}
            errors = exc.errors()
            for error, detail in zip(errors, validation_details(list(errors)), strict=True):
                if error["type"] == "missing":
                    continue  # an empty required cell is already reported as such
                name = str(error["loc"][0]) if error["loc"] else ""
                header = self.header_of.get(name, name)
                if header in refused:
                    continue
                c.refuse(
                    header,
                    f"schema.{error['type']}",
                    _schema_reason(error, detail["message"]),
                    c.values.get(name),
                )
                refused.add(header)

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        """The 不规范数据 findings of an accepted row, as the stored record will have them."""
        return []


class AuthorityChecker(Checker):
    """核发机关."""

    table = TABLES[0]
    schema = AuthorityIn
    defaults: ClassVar[dict[str, Any]] = {"ecert_enabled": False}


class OperatorChecker(Checker):
    """业户."""

    table = TABLES[1]
    schema = OperatorIn
    defaults: ClassVar[dict[str, Any]] = {"address": ""}
    placeholders: ClassVar[dict[str, str]] = {"authority_id": "authority"}

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        return quality.operator_findings(values)


class LicenceChecker(Checker):
    """经营许可证."""

    table = TABLES[2]
    schema = LicenceIn
    defaults: ClassVar[dict[str, Any]] = {"status": RecordStatus.ACTIVE.value}
    placeholders: ClassVar[dict[str, str]] = {
        "operator_id": "operator",
        "authority_id": "authority",
    }
    has_validity = True

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        return quality.licence_findings(values)


class VehicleChecker(Checker):
    """车辆."""

    table = TABLES[3]
    schema = VehicleIn
    defaults: ClassVar[dict[str, Any]] = {
        "brand_model": "",
        "business_scopes": [],
        "technical_grade": "1",
        "status": "10",
        "ride_hailing": False,
        "transport_status": RecordStatus.ACTIVE.value,
    }
    placeholders: ClassVar[dict[str, str]] = {
        "operator_id": "operator",
        "authority_id": "authority",
        "licence_id": "licence",
    }
    has_validity = True

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        return quality.vehicle_findings(values)


class PractitionerChecker(Checker):
    """从业人员."""

    table = TABLES[4]
    schema = _PractitionerRow
    defaults: ClassVar[dict[str, Any]] = {
        "id_type": "111",
        "nationality": "中华人民共和国",
        "address": "",
    }
    placeholders: ClassVar[dict[str, str]] = {"authority_id": "authority"}

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        return quality.practitioner_findings({**values, "qualifications": []})


class QualificationChecker(Checker):
    """从业资格. 初领日期 stays empty when the cell is: the importer fills it for new rows only."""

    table = TABLES[5]
    schema = QualificationIn
    defaults: ClassVar[dict[str, Any]] = {"status": RecordStatus.ACTIVE.value}
    has_validity = True

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        return qualification_findings(values)


CHECKERS: dict[str, type[Checker]] = {
    checker.table.name: checker
    for checker in (
        AuthorityChecker,
        OperatorChecker,
        LicenceChecker,
        VehicleChecker,
        PractitionerChecker,
        QualificationChecker,
    )
}


# -- the stream of checked rows ------------------------------------------------------------------

#: What ``messages`` yields: ("start", source index, total), ("batch", source index, position,
#: candidates), ("finish", source index), ("error", code, message) or ("done",).
Message = tuple[Any, ...]


def messages(sources: list[Source], encoding: str, batch: int) -> Iterator[Message]:
    """Read and check every source in order, in batches; an unreadable file ends with "error"."""
    try:
        keys: KeySet | None = None
        current: Table | None = None
        checker: Checker | None = None
        for index, source in enumerate(sources):
            if source.table is not current:
                # Keys are unique per table, across all of its files; one table at a time.
                current, keys, checker = source.table, KeySet(), CHECKERS[source.table.name]()
            assert keys is not None and checker is not None
            reader = open_source(source, encoding)
            try:
                yield ("start", index, reader.total)
                rows: list[Candidate] = []
                for row in reader:
                    rows.append(checker.check(row, keys))
                    if len(rows) >= batch:
                        yield ("batch", index, reader.position(), rows)
                        rows = []
                if rows:
                    yield ("batch", index, reader.position(), rows)
            finally:
                reader.close()
            yield ("finish", index)
    except RoadcertError as exc:
        yield ("error", exc.code, exc.message)
        return
    yield ("done",)


#: A candidate as it crosses to the writing process: line, values in column order, problems,
#: key, digest, findings. Plain tuples unpickle several times faster than objects.
Packed = tuple[int, tuple[Any, ...], Any, str, str, Any]


def pack(c: Candidate) -> Packed:
    """A checked row as plain data."""
    return (
        c.line,
        tuple(c.values.values()),
        c.problems or None,
        c.key,
        c.digest,
        c.findings or None,
    )


def unpack(packed: Packed, fields: list[str]) -> Candidate:
    """The row ``pack`` gave, with ``fields`` the table's column fields in order."""
    line, values, problems, key, digest, findings = packed
    return Candidate(
        line,
        dict(zip(fields, values, strict=True)),
        problems or [],
        key,
        digest,
        findings or [],
    )


def run_worker(sources: list[Source], encoding: str, batch: int, queue: Any) -> None:
    """The checking process: put every message on ``queue`` (bounded, so memory stays flat)."""
    try:
        for message in messages(sources, encoding, batch):
            if message[0] == "batch":
                message = (*message[:3], [pack(c) for c in message[3]])
            queue.put(message)
    except BaseException as exc:  # the writer must hear of it rather than wait for ever
        queue.put(("error", "import.worker", f"检查进程出错：{type(exc).__name__}: {exc}"))
        raise


__all__ = [
    "CHECKERS",
    "CLEAN_PERSON",
    "Candidate",
    "Checker",
    "KeySet",
    "Message",
    "Packed",
    "cells_text",
    "messages",
    "pack",
    "qualification_findings",
    "run_worker",
    "unpack",
]
