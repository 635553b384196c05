"""Checking an export's rows without the database: cells, input schemas, keys, quality rules.

This is the first half of ``roadcert import`` (the importer writes what it gives): each row is
read, its cells parsed (cells.py), the defaults of empty cells applied, and the row checked
against the limits of the same input schemas (registry/schemas.py, read off them by
``limits_of``) and the service refusals a clerk's entry meets. Rules that need the ledger
(references, existing records, unique values) come later, per batch.

It imports nothing that opens a database, so it can run in a process of its own next to the one
that writes (``run_worker``) or in a thread of the importer (docs/migration/import.md §7).
"""

from __future__ import annotations

import gc
import hashlib
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from pydantic.fields import FieldInfo

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

    Kept as 64-bit hashes in an open-addressing table filled to at most two thirds: 12 to 24
    bytes per key (a Python set of the key strings would take about 100). The hash is Python's
    own string hash (SipHash, keyed afresh in each process: fine, the set lives in one process,
    and a string's hash is computed once and kept on it). Two different keys share a hash with
    probability about n²/2⁶⁵ (10⁻⁸ for a million keys); the second row is then reported as a
    duplicate, never silently taken. docs/migration/import.md gives the sizes at 1, 10 and 30
    million certificates.
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
        return (hash(key) & 0xFFFF_FFFF_FFFF_FFFF) or 1  # 0 marks an empty slot

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was already there."""
        value = (hash(key) & 0xFFFF_FFFF_FFFF_FFFF) or 1  # as ``_hash``, without the call
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


def row_digest(values: list[Any]) -> str:
    """The digest of a row's values (text, codes, dates, numbers, flags, lists; None if empty).

    BLAKE2b of the values as text joined by U+001F (``repr`` of every value is as exact but
    several times slower on Chinese text). An empty cell is read as None and only a default is
    ever "", so within a column "" and None never both stand for a cell. A value that holds
    U+001F itself would blur the joins: such a row is digested as U+001F and its ``repr``.
    """
    # str() of a date is YYYY-MM-DD, of a list its repr; numbers and flags as Python writes them.
    texts = [v if v.__class__ is str else "" if v is None else str(v) for v in values]
    text = "\x1f".join(texts)
    if text.count("\x1f") != len(texts) - 1:
        text = "\x1f" + repr(values)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# -- the input schemas' limits ------------------------------------------------------------------

# The Python type cells.py reads each kind of cell as: the type its schema field must take.
_KIND_TYPES: dict[ValueKind, type] = {
    ValueKind.TEXT: str,
    ValueKind.CODE: str,
    ValueKind.FILE: str,
    ValueKind.STATUS: str,
    ValueKind.CODES: list,
    ValueKind.DATE: date,
    ValueKind.INTEGER: int,
    ValueKind.FLAG: bool,
}


@dataclass(frozen=True)
class Limit:
    """What an input schema demands of one field, read off the schema so that the two agree.

    Checking these limits costs a fraction of validating each row with pydantic. They are read
    from the schema (``limits_of``), never written out a second time; a constraint the reading
    does not know refuses to start rather than being left out.
    """

    field: str
    type: type  # str, int, date, bool or list
    min_length: int = 0  # of a text, or of a list
    max_length: int | None = None
    pattern: str | None = None  # searched for (re.search), as pydantic does
    minimum: int | None = None  # inclusive: a whole number greater than 0 is at least 1
    maximum: int | None = None
    item: Limit | None = None  # what each element of a list must satisfy

    def allows(self, value: Any) -> bool:
        """Whether the schema accepts ``value``, a value of this field's type."""
        if not self.typed(value):
            return False
        if self.type is str or self.type is list:
            if len(value) < self.min_length:
                return False
            if self.max_length is not None and len(value) > self.max_length:
                return False
        if self.pattern is not None and re.search(self.pattern, value) is None:
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        return self.item is None or all(self.item.allows(item) for item in value)

    def typed(self, value: Any) -> bool:
        """Whether ``value`` is of this field's type exactly (a bool is no int here)."""
        return value.__class__ is self.type


def _unwrapped(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """A field's type without ``Optional`` and ``Annotated``, and every constraint on it."""
    constraints = list(metadata)
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            constraints += extra
        elif origin is Union or origin is UnionType:
            given = [a for a in get_args(annotation) if a is not type(None)]
            if len(given) != 1:
                raise TypeError(f"导入无法检查联合类型 {annotation!r}")
            annotation = given[0]
        else:
            return annotation, constraints


def _limit(name: str, annotation: Any, metadata: list[Any]) -> Limit:
    base, constraints = _unwrapped(annotation, metadata)
    item = None
    if get_origin(base) is list:
        (element,) = get_args(base)
        item = _limit(name, element, [])
        base = list
    if base not in (str, int, date, bool, list):
        raise TypeError(f"导入无法检查 {name} 的类型 {base!r}")
    found: dict[str, Any] = {}
    pending = list(constraints)
    while pending:
        constraint = pending.pop(0)
        if isinstance(constraint, FieldInfo):
            pending += constraint.metadata
        elif isinstance(constraint, StringConstraints):
            unknown = ("to_upper", "to_lower", "strict", "ascii_only")
            if any(getattr(constraint, u) is not None for u in unknown):
                raise TypeError(f"导入无法检查 {name} 的约束 {constraint!r}")
            # strip_whitespace changes nothing: cells are read stripped (cells.text).
            for attribute in ("min_length", "max_length", "pattern"):
                if getattr(constraint, attribute) is not None:
                    found[attribute] = getattr(constraint, attribute)
        elif isinstance(constraint, annotated_types.MinLen):
            found["min_length"] = constraint.min_length
        elif isinstance(constraint, annotated_types.MaxLen):
            found["max_length"] = constraint.max_length
        elif isinstance(constraint, annotated_types.Ge) and base is int:
            found["minimum"] = constraint.ge
        elif isinstance(constraint, annotated_types.Gt) and base is int:
            found["minimum"] = int(constraint.gt) + 1  # type: ignore[call-overload]
        elif isinstance(constraint, annotated_types.Le) and base is int:
            found["maximum"] = constraint.le
        elif isinstance(constraint, annotated_types.Lt) and base is int:
            found["maximum"] = int(constraint.lt) - 1  # type: ignore[call-overload]
        else:
            raise TypeError(f"导入无法检查 {name} 的约束 {constraint!r}")
    return Limit(name, base, item=item, **found)


def limits_of(schema: type[BaseModel], fields: Iterable[str]) -> dict[str, Limit]:
    """The limits ``schema`` sets on ``fields``, in the schema's order (pydantic's report order)."""
    wanted = set(fields)
    return {
        name: _limit(name, info.annotation, info.metadata)
        for name, info in schema.model_fields.items()
        if name in wanted
    }


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


@lru_cache(maxsize=1024)
def _category_findings(category: str) -> tuple[quality.Finding, ...]:
    # Findings are frozen: one tuple serves every qualification of the category.
    return tuple(qualification_findings({"category": category}))


class _PractitionerRow(PractitionerIn):
    """A practitioner row: its qualifications come in their own table."""

    qualifications: list[QualificationIn] = Field(default_factory=list)


class _Refusal:
    """A cell value that does not parse, remembered with the rule and reason it gave."""

    __slots__ = ("reason", "rule")

    def __init__(self, rule: str, reason: str) -> None:
        self.rule = rule
        self.reason = reason


_UNSEEN = object()
# Distinct texts remembered per column (dates, codes, numbers repeat from row to row); the memo
# starts afresh when full, so it stays under a few MB whatever the export.
_MEMO_SIZE = 20_000
_UNBOUNDED = float("inf")


class Checker:
    """How the rows of one table are checked before the database is asked anything."""

    table: ClassVar[Table]
    schema: ClassVar[type[BaseModel]]
    # Values an empty cell takes (the column notes' 缺省为 …).
    defaults: ClassVar[dict[str, Any]] = {}
    # References the schema checks as ids: a placeholder id when the cell is given.
    placeholders: ClassVar[dict[str, str]] = {}
    has_validity: ClassVar[bool] = False

    def __init__(self) -> None:
        table = self.table
        self.header_of = {c.field: c.header for c in table.columns}
        self.key_fields = [table.column(h).field for h in table.key]
        # Cells in two passes, each as plain as it can be: text cells are their stripped text;
        # every other kind is parsed once per distinct text (``memo``). Problems are put back
        # in column order afterwards.
        self.texts: list[tuple[str, str, bool]] = []
        self.parsed: list[tuple[str, str, bool, Callable[[Any], Any], dict[str, Any]]] = []
        for column in table.columns:
            parser = cells.parser_for(table, column)
            if parser is cells.text:
                self.texts.append((column.header, column.field, column.required))
            else:
                self.parsed.append((column.header, column.field, column.required, parser, {}))
        self.position = {c.header: index for index, c in enumerate(table.columns)}
        # Values in column order (``pack`` relies on it), filled in by the two passes.
        self.blank: dict[str, Any] = dict.fromkeys(c.field for c in table.columns)
        self.schema_fields = frozenset(self.schema.model_fields)
        self.digested = tuple(c.field for c in table.columns if c.kind is not ValueKind.FILE)
        self.limits = limits_of(self.schema, (c.field for c in table.columns))
        for name, limit in self.limits.items():
            kind = table.column(self.header_of[name]).kind
            if limit.type is not _KIND_TYPES[kind]:
                raise TypeError(
                    f"{table.name}.{name}: 输入模式要求 {limit.type}，单元格读作 {kind}"
                )
            if name in self.defaults and not limit.typed(self.defaults[name]):
                raise TypeError(f"{table.name}.{name}: 缺省值 {self.defaults[name]!r} 类型不符")
        # The limits as plain comparisons, the way ``check`` runs them on every row.
        self.lengths: tuple[tuple[str, float, float], ...] = tuple(
            (n, lim.min_length, _UNBOUNDED if lim.max_length is None else lim.max_length)
            for n, lim in self.limits.items()
            if lim.min_length or lim.max_length is not None
        )
        self.ranges: tuple[tuple[str, float, float], ...] = tuple(
            (
                n,
                -_UNBOUNDED if lim.minimum is None else lim.minimum,
                _UNBOUNDED if lim.maximum is None else lim.maximum,
            )
            for n, lim in self.limits.items()
            if lim.minimum is not None or lim.maximum is not None
        )
        self.others = tuple(
            lim for lim in self.limits.values() if lim.pattern is not None or lim.item is not None
        )

    def check(self, row: Row, keys: KeySet) -> Candidate:
        """One row, parsed and checked; its problems and findings noted on it."""
        values = self.blank.copy()
        c = Candidate(row.line, values)
        for problem in row.problems:
            c.refuse(problem.header, problem.rule, problem.reason, problem.value or None)
        before = len(c.problems)
        found = row.cells
        for header, name, required in self.texts:
            raw = found.get(header)
            if raw.__class__ is str:
                raw = raw.strip()
                if raw:
                    values[name] = raw  # cells.text of a text
                elif required:
                    c.refuse(header, "required", "必填项为空")
            elif raw is not None or required:
                self._cell(c, header, name, required, cells.text, raw)
        value: Any
        for header, name, required, parser, memo in self.parsed:
            raw = found.get(header)
            if raw.__class__ is str:
                # Remembered by the text as written: no need to strip a text seen before.
                value = memo.get(raw, _UNSEEN)
                if value is _UNSEEN:
                    value = self._parse(memo, parser, raw)
                if value is None:
                    if required:
                        c.refuse(header, "required", "必填项为空")
                elif value.__class__ is _Refusal:
                    c.refuse(header, value.rule, value.reason, raw.strip())
                elif value.__class__ is tuple:
                    values[name] = list(value)  # codes: each row its own list
                else:
                    values[name] = value
            elif raw is not None or required:
                self._cell(c, header, name, required, parser, raw)
        if len(c.problems) > before + 1:
            # Two passes found them; rejects.csv lists a row's cells in column order.
            position = self.position
            c.problems[before:] = sorted(c.problems[before:], key=lambda p: position[p[0]])
        key_values = [values[name] for name in self.key_fields]
        key = key_values[0] if len(key_values) == 1 else None
        c.key = (
            key
            if key.__class__ is str
            else "/".join(v if v.__class__ is str else cells_text(v) for v in key_values)
        )
        for name, default in self.defaults.items():
            if values[name] is None:
                values[name] = default
        if not self.within_limits(values):
            self._schema(c)
        if self.has_validity:
            start, end = values["valid_from"], values["valid_until"]
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
        if not c.problems:
            c.digest = row_digest([values[name] for name in self.digested])
            c.findings = self.findings(values)
        return c

    @staticmethod
    def _cell(
        c: Candidate,
        header: str,
        name: str,
        required: bool,
        parser: Callable[[Any], Any],
        raw: Any,
    ) -> None:
        """A cell off the usual path: missing, or typed by a workbook or a JSON line."""
        try:
            value = parser(raw)
        except cells.CellError as exc:
            c.refuse(header, exc.rule, exc.reason, raw)
            return
        if value is None and required:
            c.refuse(header, "required", "必填项为空")
        c.values[name] = value

    @staticmethod
    def _parse(memo: dict[str, Any], parser: Callable[[Any], Any], raw: str) -> Any:
        try:
            value = parser(raw.strip() or None)
        except cells.CellError as exc:
            value = _Refusal(exc.rule, exc.reason)
        if value.__class__ is list:
            value = tuple(value)  # the memo's copy stays as it was
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[raw] = value
        return value

    def within_limits(self, values: dict[str, Any]) -> bool:
        """The schema's limits, checked without pydantic (``limits_of``)."""
        for name, low, high in self.lengths:
            value = values[name]
            if value is not None and not low <= len(value) <= high:
                return False
        for name, low, high in self.ranges:
            value = values[name]
            if value is not None and not low <= value <= high:
                return False
        for limit in self.others:
            value = values[limit.field]
            if value is not None and not limit.allows(value):
                return False
        return True

    def _schema(self, c: Candidate) -> None:
        """The schema's own verdict on a row outside the limits: its words go to rejects.csv."""
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
        # No "qualifications" key: the person's own rules (the table's qualifications come next).
        return quality.practitioner_findings(values)


class QualificationChecker(Checker):
    """从业资格. 初领日期 stays empty when the cell is: the importer fills it for new rows only."""

    table = TABLES[5]
    schema = QualificationIn
    defaults: ClassVar[dict[str, Any]] = {"status": RecordStatus.ACTIVE.value}
    has_validity = True

    def findings(self, values: dict[str, Any]) -> list[quality.Finding]:
        category, start, end = values["category"], values["valid_from"], values["valid_until"]
        if category.__class__ is str and not (start and end and end < start):
            # Then the category alone decides (an accepted row's validity is in order).
            return list(_category_findings(category))
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


@contextmanager
def fewer_collections(threshold: int = 20_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while rows stream through.

    Every row makes a few dozen objects that are freed by reference counting when its batch is
    done; the collector's default pass every 700 allocations would walk the long-lived objects
    thousands of times for nothing (a sixth of the import's time at 100 k certificates). The
    previous thresholds come back afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(threshold, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


#: What ``messages`` yields: ("start", source index, total), ("batch", source index, position,
#: candidates), ("finish", source index), ("error", code, message) or ("done",).
Message = tuple[Any, ...]


# Rows checked between two calls of ``messages``' ``pace`` (about half a millisecond).
_PACE_ROWS = 16


def messages(
    sources: list[Source],
    encoding: str,
    batch: int,
    pace: Callable[[], object] | None = None,
) -> Iterator[Message]:
    """Read and check every source in order, in batches; an unreadable file ends with "error".

    ``pace``, when given, is called every few rows: a checking thread waits there for its turn
    (``Importer._threaded``).
    """
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
                    elif pace is not None and not len(rows) % _PACE_ROWS:
                        pace()
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
        with fewer_collections():
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
    "fewer_collections",
    "messages",
    "pack",
    "qualification_findings",
    "row_digest",
    "run_worker",
    "unpack",
]
