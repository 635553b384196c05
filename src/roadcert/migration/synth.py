"""A synthetic legacy export (合成存量数据) of one province, to rehearse 归集 with.

``roadcert synth`` writes what a province's old 运政系统 would export — one file per table of
:mod:`roadcert.migration.columns`, Chinese headers, codes mostly as codes and partly as Chinese
labels — for 吉林 (220000) with one issuing authority per prefecture-level city. Besides the
clean rows it plants, in set shares and exactly counted, two kinds of faults:

- non-standard records (不规范数据): accepted into the ledger, listed by the quality rules of
  :mod:`roadcert.registry.quality`, refused an e-cert — a USCC with a wrong check character or
  none, an invalid ID number, a 出生日期 that contradicts the ID number, a malformed plate, an
  unknown vehicle type or business scope code — and records whose type needs a photo but whose
  照片 cell is empty (issuance refuses them with ``issuance.photo_missing``);
- rows the importer must reject (never enter the ledger): a required cell empty, a date that
  does not parse, an unknown 业户编号 or 从业资格证号, a key repeated later in the file, text in
  an integer cell. Rejected rows are written in addition to the requested counts, and nothing
  else refers to them, so no rejection drags another row with it.

Every other row is clean, and ``manifest.json`` states the exact counts (rows, rejects by table
and reason, non-standard records by rule, e-certs that issuing everything must produce), so
tests and benchmarks can assert them.

Rows are generated and written one at a time (operators with their licence and vehicles,
practitioners with their qualifications): memory stays flat whatever the counts. Identifiers are
unique by construction — each comes from a counter passed through a bijection of its identifier
space — so no set of used values is kept either.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

from PIL import Image, ImageDraw
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from roadcert.catalog import codes
from roadcert.catalog.types import (
    DANGEROUS_GOODS_LICENCE,
    RADIOACTIVE_LICENCE,
    RIDE_HAILING_LICENCE,
    RIDE_HAILING_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_CERTIFICATE,
    ROAD_TRANSPORT_LICENCE,
    CertificateType,
    type_for_category,
)
from roadcert.errors import BadInput
from roadcert.kit import cert_numbers, plates, regions, uscc
from roadcert.migration import columns
from roadcert.migration.vocabulary import (
    BUS_MODELS,
    CAR_MODELS,
    GIVEN,
    SURNAMES,
    SYNTH_FIRM_WORDS,
    SYNTH_ROADS,
    TANK_MODELS,
    TRUCK_MODELS,
)

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

PROVINCE = "220000"
PROVINCE_ABBR = "吉"
PROVINCE_NAME = "吉林省"

#: The workbook an XLSX export is written to, one sheet per table.
WORKBOOK_NAME = "存量数据.xlsx"
#: Rows an XLSX sheet holds, header included (Excel's limit).
XLSX_MAX_ROWS = 1_048_576
#: The manifest's file name inside the export folder.
MANIFEST_NAME = "manifest.json"

T = TypeVar("T")

# Upper bound of both shares: beyond half of a table, the faults would be the data.
MAX_SHARE = 0.5
# A row written with Chinese labels instead of codes, as parts of old systems export them.
LABEL_SHARE = 0.1


class SynthError(BadInput):
    """The options cannot give an export (bad count, share, folder …)."""

    code = "synth.bad_option"


class ExportFormat(StrEnum):
    """The file format of the export."""

    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"


class RejectReason(StrEnum):
    """Why the importer must reject a planted row (the manifest's keys)."""

    label: str

    def __new__(cls, value: str, label: str = "") -> RejectReason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    REQUIRED_EMPTY = "required_empty", "必填项为空"
    BAD_DATE = "bad_date", "日期无法识别"
    UNKNOWN_REFERENCE = "unknown_reference", "引用的记录不存在"
    DUPLICATE_KEY = "duplicate_key", "记录键在文件中重复"
    BAD_INTEGER = "bad_integer", "整数栏含文字"


#: The refusal of a record whose certificate needs a photo and whose 照片 cell is empty; no
#: quality rule lists it, so the manifest counts these records apart (``missing_photo``).
PHOTO_MISSING = "issuance.photo_missing"


# -- the province -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefecture:
    """A prefecture-level city: its authority's region, plate letter and share of records."""

    code: str
    letter: str  # 发牌机关代号
    share: int

    @property
    def name(self) -> str:
        """``长春市``."""
        return regions.name_of(self.code) or self.code

    @property
    def short(self) -> str:
        """The short name in certificate numbers (``长``)."""
        return regions.CITY_SHORT_NAMES[self.code]

    @property
    def stem(self) -> str:
        """The name as company names begin with it (``长春``, ``延边``)."""
        name = self.name
        for suffix in ("朝鲜族自治州", "市"):
            name = name.removesuffix(suffix)
        return name


# Shares follow the cities' sizes roughly (长春 holds a third of the province's transport).
PREFECTURES: tuple[Prefecture, ...] = (
    Prefecture("220100", "A", 34),  # 长春
    Prefecture("220200", "B", 16),  # 吉林
    Prefecture("220300", "C", 9),  # 四平
    Prefecture("220400", "D", 5),  # 辽源
    Prefecture("220500", "E", 8),  # 通化
    Prefecture("220600", "F", 5),  # 白山
    Prefecture("220700", "J", 10),  # 松原
    Prefecture("220800", "G", 6),  # 白城
    Prefecture("222400", "H", 8),  # 延边
)


def prefecture_for(text: str) -> Prefecture:
    """The prefecture named by its code (``220800``) or name (``白城``, ``白城市``)."""
    wanted = text.strip()
    for prefecture in PREFECTURES:
        if wanted in (prefecture.code, prefecture.name, prefecture.stem, prefecture.short):
            return prefecture
    names = "、".join(f"{p.stem}（{p.code}）" for p in PREFECTURES)
    raise SynthError(f"“{text}”不是吉林省的地级行政区；可选：{names}", field="ecert_disabled")


@dataclass(frozen=True)
class OperatorKind:
    """A kind of operator: its share, licence, business scopes and vehicles."""

    name: str
    share: int
    licence: CertificateType
    trades: tuple[str, ...]  # the trade word of company names
    fleet: float  # relative fleet size
    individual_share: float  # share of 个体 operators (a person's name, USCC 92…)


OPERATOR_KINDS: tuple[OperatorKind, ...] = (
    OperatorKind("freight", 55, ROAD_TRANSPORT_LICENCE, ("物流", "货运", "运输"), 1.0, 0.4),
    OperatorKind("passenger", 20, ROAD_TRANSPORT_LICENCE, ("客运", "旅游客运"), 1.6, 0.0),
    OperatorKind("dangerous", 15, DANGEROUS_GOODS_LICENCE, ("危险货物运输", "化工物流"), 1.3, 0.0),
    OperatorKind("ride", 8, RIDE_HAILING_LICENCE, ("网约车服务", "出行服务"), 2.5, 0.0),
    OperatorKind("radioactive", 2, RADIOACTIVE_LICENCE, ("放射性物品运输",), 0.6, 0.0),
)

# Qualification category sets (1–3 categories) with their weights; most go on one certificate
# type, the last two on two (从业资格证 and 网约车驾驶员证).
ROLE_SETS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("02001",), 40),
    (("01001",), 12),
    (("01001", "02001"), 10),
    (("02001", "03001"), 9),
    (("02001", "03001", "03003"), 3),
    (("03002",), 4),
    (("03003",), 4),
    (("09002",), 7),
    (("09003",), 7),
    (("02001", "09003"), 3),
    (("01001", "02001", "09003"), 1),
)

_DRIVING_CLASSES = {
    "01001": ("A1", "B1", "A1A2"),
    "02001": ("A2", "B2", "A2D"),
    "03001": ("A2", "B2"),
    "03002": ("C1", "B2"),
    "03003": ("C1", "B2"),
    "09002": ("C1", "C2"),
    "09003": ("C1", "C2"),
}

# Codes found in old ledgers that no code table holds: planted as non-standard values.
UNKNOWN_VEHICLE_TYPES = ("X00", "H1", "K99")
UNKNOWN_BUSINESS_SCOPES = ("02999", "01999", "03900")

# Dates that no reader can parse, as old exports hold them.
BAD_DATES = ("2023-02-30", "2024-13-01", "二〇二一年五月", "00000000", "2022.7")
BAD_INTEGERS = ("十二米", "约45", "N/A", "4.5米")


# -- small tools ---------------------------------------------------------------------------------


class Shuffle:
    """A bijection of ``range(size)`` that scatters consecutive inputs: i → (a·i + c) mod size.

    Identifiers come from a counter passed through one of these, so they are unique without a
    set of the values already used, yet do not look sequential.
    """

    def __init__(self, rng: random.Random, size: int, what: str) -> None:
        self.size = size
        self.what = what
        a = rng.randrange(size // 3, size - 1) if size > 4 else 1
        while math.gcd(a, size) != 1:
            a += 1
        self.a = a
        self.c = rng.randrange(size)
        self.used = 0

    def next(self) -> int:
        """The image of the next counter value."""
        if self.used >= self.size:
            raise SynthError(f"{self.what}的编号空间（{self.size} 个）已用尽，请减少数量")
        value = (self.a * self.used + self.c) % self.size
        self.used += 1
        return value


class Picker:
    """Chooses exactly ``picks`` of ``total`` positions, asked one position at a time.

    The positions fall one in each of ``picks`` equal stretches, at a random place within it:
    planted rows are spread over the whole file, and no list of them is kept.
    """

    def __init__(self, rng: random.Random, total: int, picks: int) -> None:
        self.rng = rng
        self.total = total
        self.picks = min(picks, total)
        self.made = 0
        self.seen = 0
        self.next = self._draw()

    def _draw(self) -> int:
        stretch = self.made
        if stretch >= self.picks:
            return -1
        low = stretch * self.total // self.picks
        high = (stretch + 1) * self.total // self.picks
        return low + int(self.rng.random() * (high - low))

    def __call__(self) -> bool:
        """Whether the next position is picked."""
        seen = self.seen
        self.seen = seen + 1
        if seen != self.next:
            return False
        self.made += 1
        self.next = self._draw()
        return True


class FastRandom(random.Random):
    """``random.Random`` whose ``choice`` and ``randint`` take one float draw each.

    The standard ones draw bits until an unbiased integer comes out, several times slower; a
    float's bias (below 2⁻⁵⁰) does not matter for test data, and the generator makes millions.
    """

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        """An element of ``seq``."""
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        """An integer from ``a`` to ``b`` inclusive."""
        return a + int(self.random() * (b - a + 1))


def _weighted(rng: random.Random, cumulative: Sequence[float]) -> int:
    """The index drawn by weights given as cumulative sums (faster than ``rng.choices``)."""
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def _cumulative(weights: Sequence[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        out.append(total)
    return out


_LABELS: dict[type[codes.CodeEnum], dict[str, str]] = {}


def label(table: type[codes.CodeEnum], code: str) -> str:
    """The Chinese label of a code (a reader accepts either)."""
    labels = _LABELS.get(table)
    if labels is None:
        labels = _LABELS[table] = {m.value: m.label for m in table}
    return labels[code]


def photo_png(index: int) -> bytes:
    """A small distinct picture: a silhouette whose colours encode ``index``."""
    image = Image.new("RGB", (24, 32), (235, 235 - index % 7 * 9, 220))
    draw = ImageDraw.Draw(image)
    ink = ((index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF)
    draw.ellipse((7, 3, 17, 13), fill=ink)
    draw.rectangle((4, 16, 20, 31), fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def photo_path(index: int) -> str:
    """The 照片 cell of photo ``index`` (0-based): ``photos/0001.png``."""
    return f"{columns.PHOTO_FOLDER}/{index + 1:04d}.png"


# -- identifiers ---------------------------------------------------------------------------------

_DIGITS = "0123456789"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # serial letters: no I, no O
_PLATE_SERIAL = _PLATE_LETTERS + _DIGITS


def _decode_ordinary_plate(value: int) -> str:
    """The 5-character serial of an ordinary plate for a number in ``[0, ORDINARY_PLATES)``.

    The space is every serial with at most two letters: 10⁵ all-digit, 5·24·10⁴ with one
    letter, 10·24²·10³ with two.
    """
    if value < 100_000:
        return f"{value:05d}"
    value -= 100_000
    if value < 1_200_000:
        position, rest = divmod(value, 240_000)
        letter, number = divmod(rest, 10_000)
        serial = f"{number:04d}"
        return serial[:position] + _PLATE_LETTERS[letter] + serial[position:]
    value -= 1_200_000
    pair, rest = divmod(value, 576_000)
    letters, number = divmod(rest, 1000)
    first, second = _PAIRS[pair]
    chars = list(f"{number:03d}")
    chars.insert(first, _PLATE_LETTERS[letters // 24])
    chars.insert(second, _PLATE_LETTERS[letters % 24])
    return "".join(chars)


_PAIRS = [(i, j) for i in range(5) for j in range(i + 1, 5)]
ORDINARY_PLATES = 100_000 + 1_200_000 + 10 * 576_000
NEW_ENERGY_PLATES = len(plates.SMALL_NEV_ENERGY_LETTERS) * len(_PLATE_SERIAL) * 10_000


def _decode_new_energy_plate(value: int) -> str:
    """The 6-character serial of a small new-energy plate (``D`` + 1 + 4 digits)."""
    head, number = divmod(value, 10_000)
    energy, second = divmod(head, len(_PLATE_SERIAL))
    return plates.SMALL_NEV_ENERGY_LETTERS[energy] + _PLATE_SERIAL[second] + f"{number:04d}"


def uscc_of(registration: str, region: str, body: str) -> str:
    """A USCC from its parts: the organisation-code check and the GB 32100 check are computed."""
    stem = registration + region + body + uscc.org_code_check_char(body)
    return stem + stdnum_uscc.calc_check_digit(stem)


def ric_of(region: str, birth: str, sequence: int) -> str:
    """An 18-digit ID number from its parts (``birth`` as ``YYYYMMDD``), with its ISO 7064
    check character."""
    body = f"{region}{birth}{sequence:03d}"
    return body + str(stdnum_ric.calc_check_digit(body + "0"))


def _wrong_check_char(code: str, alphabet: str) -> str:
    """``code`` with its last character replaced by another one of ``alphabet``."""
    last = code[-1]
    return code[:-1] + alphabet[(alphabet.index(last) + 7) % len(alphabet)]


# -- options and the manifest --------------------------------------------------------------------


@dataclass(frozen=True)
class SynthOptions:
    """What to generate."""

    operators: int
    vehicles: int
    practitioners: int
    today: date
    seed: int = 2026
    export_format: ExportFormat = ExportFormat.CSV
    non_standard_share: float = 0.02
    reject_share: float = 0.005
    photos: int = 200
    ecert_disabled: tuple[str, ...] = ()  # prefecture codes whose authority issues no e-certs

    def check(self) -> None:
        """Refuse options that cannot give an export, with a Chinese message."""
        for name, title, value in (
            ("operators", "业户数量", self.operators),
            ("vehicles", "车辆数量", self.vehicles),
            ("practitioners", "从业人员数量", self.practitioners),
        ):
            if value < 0:
                raise SynthError(f"{title}不能为负数（{value}）", field=name)
        if self.vehicles and not self.operators:
            raise SynthError("有车辆就须有业户：--vehicles 大于 0 时 --operators 也须大于 0")
        for name, title, share in (
            ("non_standard_share", "不规范数据比例", self.non_standard_share),
            ("reject_share", "拒收行比例", self.reject_share),
        ):
            if not 0 <= share <= MAX_SHARE or math.isnan(share):
                raise SynthError(f"{title}须在 0 到 {MAX_SHARE} 之间，实为 {share}", field=name)
        if self.photos < 1:
            raise SynthError(f"照片数量须至少为 1，实为 {self.photos}", field="photos")
        if self.export_format is ExportFormat.XLSX:
            largest = max(self.operators, self.vehicles, self.practitioners * 3)
            if math.ceil(largest * (1 + self.reject_share)) + 1 > XLSX_MAX_ROWS:
                raise SynthError(
                    f"XLSX 每个工作表最多 {XLSX_MAX_ROWS} 行（从业资格按每人至多 3 行计），"
                    "数量过大，请改用 csv 或 jsonl",
                    field="export_format",
                )
        for code in self.ecert_disabled:
            prefecture_for(code)


@dataclass
class AuthorityTally:
    """Per authority: records, valid certificates, and the e-certs `issue --all` must give."""

    uscc: str
    name: str
    region_code: str
    ecert_enabled: bool
    records: int = 0  # accepted licences, vehicles and practitioners
    certificates: int = 0  # valid certificates (制证率 denominator)
    ecerts: int = 0  # e-certs issued by `issue --all` (制证率 numerator right after it)


@dataclass
class Tally:
    """Exact counts of what was written, for the manifest."""

    rows: Counter[str] = field(default_factory=Counter)
    rejected: dict[str, Counter[str]] = field(default_factory=dict)
    non_standard: Counter[str] = field(default_factory=Counter)
    non_standard_records: Counter[str] = field(default_factory=Counter)
    missing_photo: Counter[str] = field(default_factory=Counter)
    ecerts: Counter[str] = field(default_factory=Counter)  # by source table
    ecerts_by_type: Counter[str] = field(default_factory=Counter)
    certificates: Counter[str] = field(default_factory=Counter)  # valid ones, by table
    refused: Counter[str] = field(default_factory=Counter)  # issuance refusal codes
    statuses: dict[str, Counter[str]] = field(
        default_factory=lambda: {
            name: Counter() for name in ("operators", "licences", "vehicles", "qualifications")
        }
    )
    authorities: dict[str, AuthorityTally] = field(default_factory=dict)


# -- writers -------------------------------------------------------------------------------------


_BUFFER = 1 << 20
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NEEDS_QUOTES = re.compile('["\r\n]')


class TableWriter(Protocol):
    """Writes one table's rows: lists of text cells in column order, ``""`` when empty."""

    def write(self, row: list[str]) -> None:
        """Write one row."""


def _kinds(table: columns.Table, kind: columns.ValueKind) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(table.columns) if c.kind is kind)


class _CsvWriter:
    """CSV, UTF-8 with a byte-order mark (which makes Excel read it as UTF-8), CRLF lines."""

    def __init__(self, stack: ExitStack, path: Path, table: columns.Table) -> None:
        self.handle = stack.enter_context(
            path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
        )
        self.handle.write("\ufeff")
        self.csv = csv.writer(self.handle)
        self.csv.writerow(table.headers)
        self.commas = len(table.columns) - 1

    def write(self, row: list[str]) -> None:
        # Joining is four times faster than csv.writer; rows with a comma, quote or line break
        # in a cell (none are generated today) still go through csv.writer for its quoting.
        line = ",".join(row)
        if line.count(",") == self.commas and not _NEEDS_QUOTES.search(line):
            self.handle.write(line + "\r\n")
        else:
            self.csv.writerow(row)


class _JsonlWriter:
    """JSON Lines: one object per row keyed by header; empty cells null, integers numbers."""

    def __init__(self, stack: ExitStack, path: Path, table: columns.Table) -> None:
        self.handle: IO[str] = stack.enter_context(
            path.open("w", encoding="utf-8", buffering=_BUFFER)
        )
        self.headers = table.headers
        self.integers = _kinds(table, columns.ValueKind.INTEGER)
        self.encode = json.JSONEncoder(ensure_ascii=False).encode

    def write(self, row: list[str]) -> None:
        cells: list[Any] = [cell or None for cell in row]
        for i in self.integers:
            if row[i].isdigit():
                cells[i] = int(row[i])
        self.handle.write(self.encode(dict(zip(self.headers, cells, strict=True))) + "\n")


class _XlsxSheet:
    """One sheet: empty cells left empty, dates as date cells, integers as numbers."""

    def __init__(self, sheet: Any, table: columns.Table) -> None:
        sheet.append(table.headers)
        self.append = sheet.append
        self.integers = _kinds(table, columns.ValueKind.INTEGER)
        self.dates = _kinds(table, columns.ValueKind.DATE)

    def write(self, row: list[str]) -> None:
        cells: list[Any] = [cell or None for cell in row]
        for i in self.integers:
            if row[i].isdigit():
                cells[i] = int(row[i])
        for i in self.dates:
            # A planted bad date stays text.
            with suppress(ValueError):
                if _ISO_DATE.fullmatch(row[i]):
                    cells[i] = date.fromisoformat(row[i])
        self.append(cells)


@contextmanager
def open_writers(
    directory: Path, export_format: ExportFormat
) -> Iterator[tuple[dict[str, TableWriter], dict[str, str]]]:
    """One writer per table, and each table's file name relative to ``directory``."""
    with ExitStack() as stack:
        writers: dict[str, TableWriter] = {}
        files: dict[str, str] = {}
        if export_format is ExportFormat.XLSX:
            from openpyxl import Workbook

            # write_only streams each sheet to a temporary file instead of building cells.
            book = Workbook(write_only=True)
            for table in columns.TABLES:
                writers[table.name] = _XlsxSheet(book.create_sheet(table.title), table)
                files[table.name] = WORKBOOK_NAME
            yield writers, files
            book.save(directory / WORKBOOK_NAME)
            return
        for table in columns.TABLES:
            name = f"{table.title}.{export_format.value}"
            files[table.name] = name
            if export_format is ExportFormat.CSV:
                writers[table.name] = _CsvWriter(stack, directory / name, table)
            else:
                writers[table.name] = _JsonlWriter(stack, directory / name, table)
        yield writers, files


class _Stream:
    """One table's output: writes its rows and plants the rejected rows among them."""

    def __init__(
        self,
        writer: TableWriter,
        rng: random.Random,
        accepted: int,
        rejects: int,
        reasons: Sequence[RejectReason],
    ) -> None:
        self.write = writer.write
        # A rejected row follows the accepted row at each picked position.
        self.picker = Picker(rng, accepted, rejects if reasons else 0)
        self.reasons = reasons
        self.rejected: Counter[str] = Counter()
        self.last: list[Any] | None = None

    @property
    def rows(self) -> int:
        """Rows written so far, rejected ones included."""
        return self.picker.seen + self.picker.made

    def accept(self, row: list[Any], reject: Callable[[RejectReason], list[Any]]) -> None:
        """Write an accepted row, and after it a rejected row if this position is picked.

        ``reject`` makes the rejected row for a reason; it may copy ``last``, the row just
        written (a repeated key).
        """
        self.write(row)
        self.last = row
        if self.picker():
            reason = self.reasons[(self.picker.made - 1) % len(self.reasons)]
            self.write(reject(reason))
            self.rejected[reason] += 1


# -- the generator -------------------------------------------------------------------------------


REJECT_REASONS: dict[str, tuple[RejectReason, ...]] = {
    "authorities": (),
    "operators": (RejectReason.REQUIRED_EMPTY, RejectReason.DUPLICATE_KEY),
    "licences": (
        RejectReason.REQUIRED_EMPTY,
        RejectReason.BAD_DATE,
        RejectReason.UNKNOWN_REFERENCE,
        RejectReason.DUPLICATE_KEY,
    ),
    "vehicles": (
        RejectReason.REQUIRED_EMPTY,
        RejectReason.BAD_DATE,
        RejectReason.UNKNOWN_REFERENCE,
        RejectReason.DUPLICATE_KEY,
        RejectReason.BAD_INTEGER,
    ),
    "practitioners": (
        RejectReason.REQUIRED_EMPTY,
        RejectReason.BAD_DATE,
        RejectReason.DUPLICATE_KEY,
    ),
    "qualifications": (
        RejectReason.REQUIRED_EMPTY,
        RejectReason.BAD_DATE,
        RejectReason.UNKNOWN_REFERENCE,
        RejectReason.DUPLICATE_KEY,
    ),
}
"""The faults each table's rejected rows carry, in turn. Authorities get none: every other table
refers to them."""

# ``plate`` becomes the plate.* rule the malformed plate breaks (plate.separator or
# plate.new_energy / plate.format, see ``_malformed_plate``).
NON_STANDARD_KINDS: dict[str, tuple[str, ...]] = {
    "operators": ("uscc.check_char", "uscc.missing"),
    "licences": ("business_scopes.code_table",),
    "vehicles": ("plate", "vehicle_type.code_table", PHOTO_MISSING),
    "practitioners": ("ric.check_char", "birth_date.id_number", PHOTO_MISSING),
}
"""The defects planted in each table, in turn."""


def _expect_fields(table: columns.Table, fields: str) -> None:
    # Rows are built as lists in column order for speed; fail when the module loads if
    # columns.py changes under them, rather than write cells under the wrong header.
    actual = " ".join(c.field for c in table.columns)
    if actual != fields:
        raise RuntimeError(f"{table.title} 的列已变化：{actual}，生成器按 {fields} 写行")


_expect_fields(columns.AUTHORITIES, "name uscc region_code number_prefix ecert_enabled")
_expect_fields(
    columns.OPERATORS, "legacy_id authority name uscc address region_code economic_type status"
)
_expect_fields(
    columns.LICENCES,
    "number operator authority type_code business_scopes valid_from valid_until issue_date status",
)
_expect_fields(
    columns.VEHICLES,
    "transport_number operator authority licence plate plate_color vehicle_type brand_model "
    "seats tonnage_kg length_mm width_mm height_mm business_scopes technical_grade status "
    "ride_hailing issue_date valid_from valid_until review_valid_until photo transport_status",
)
_expect_fields(
    columns.PRACTITIONERS,
    "certificate_number authority name id_type id_number sex birth_date nationality address "
    "driving_class photo",
)
_expect_fields(
    columns.QUALIFICATIONS, "practitioner category first_issued valid_from valid_until status"
)

_YEAR = 365
_MAX_SERIAL = 999_999
_SCOPE_SEP = "；"
_ACTIVE, _CANCELLED, _REVOKED = "有效", "注销", "吊销"
_YES, _NO = "是", "否"
_OPERATING = codes.OperatorStatus.OPERATING.value
_ISSUABLE_VEHICLE = {codes.VehicleStatus.OPERATING.value, codes.VehicleStatus.SUSPENDED.value}
_KNOWN_SCOPES = frozenset(m.value for m in codes.BusinessScope)
_KNOWN_VEHICLE_TYPES = frozenset(m.value for m in codes.VehicleType)
_ID_ALPHABET = "0123456789X"
# Categories for rejected qualification rows: enough that a person's (at most three) rejected
# rows never repeat a key, with theirs or each other's.
_SPARE_CATEGORIES = ("03002", "03003", "09002", "01001", "03004", "11001", "11002", "12002")
# Vehicle dimensions (length, width, height in mm) by body.
_BUS = ("12000", "2550", "3800")
_MIDI_BUS = ("8500", "2450", "3300")
_TANKER = ("10500", "2500", "3500")
_MIDI_TANKER = ("8000", "2400", "3200")
_CAR = ("4800", "1850", "1500")
_TRUCK = ("9600", "2500", "3600")
_LIGHT_TRUCK = ("5990", "2100", "2800")
_CATEGORY_TYPES = {c.value: type_for_category(c) for c in codes.QualificationCategory}


def _malformed_plate(plate: str, turn: int) -> str:
    """A plate as careless data entry leaves it; still unique, since nothing is dropped."""
    if turn % 2:
        return plate[:2] + "·" + plate[2:]
    return plate + "I"


def _vehicle_scopes(kind: str, licence_scopes: list[str]) -> list[str]:
    """The business scopes printed on a vehicle's 道路运输证 (a subset of its licence's)."""
    if kind == "passenger":
        return licence_scopes[:1]
    if kind in ("dangerous", "radioactive"):
        return [s for s in licence_scopes if s.startswith("03")]
    return ["02101"]


@dataclass
class _Authority:
    prefecture: Prefecture
    uscc: str
    tally: AuthorityTally
    counties: list[str]


@dataclass
class _OperatorInfo:
    """What an operator's licence and vehicles need to know of it."""

    legacy_id: str
    authority: _Authority
    county: str
    kind: OperatorKind
    scopes: list[str]
    operating: bool
    clean: bool  # the only planted operator defects are USCC ones
    licence_number: str = ""


class _IsoDays(dict[int, str]):
    """Day ordinal → ``YYYY-MM-DD``, each day formatted once (the export spans a few thousand
    days, written millions of times)."""

    def __missing__(self, ordinal: int) -> str:
        text = self[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


def _no_reject(reason: RejectReason) -> list[Any]:
    raise AssertionError(f"no rejected rows are planted here ({reason})")


class Synthesiser:
    """Generates the export of one province into one writer per table."""

    def __init__(
        self, options: SynthOptions, tick: Callable[[str, int], None] | None = None
    ) -> None:
        self.options = options
        self.today_ord = options.today.toordinal()
        self.tick = tick or (lambda _task, _n: None)
        seed = options.seed
        # Separate streams: the data, the planting of faults, identifiers, fleet sizes and
        # qualification sets (the last two are read twice, see _fleets and _role_sets).
        self.rng = FastRandom(f"{seed}:data")
        self.plant_rng = FastRandom(f"{seed}:plant")
        self.ids_rng = FastRandom(f"{seed}:ids")
        self.tally = Tally()
        self.iso = _IsoDays()
        self.statuses = self.tally.statuses
        self.streams: dict[str, _Stream] = {}
        self.planted: Counter[str] = Counter()
        self.photo_counter = 0
        self.photo_paths = [photo_path(i) for i in range(options.photos)]
        self.operator_counter = 0
        self.licence_seq: Counter[str] = Counter()
        self.transport_seq: Counter[str] = Counter()
        self.uscc_bodies = Shuffle(self.ids_rng, 10**8, "统一社会信用代码")
        self.plates = {
            (p.letter, new_energy): Shuffle(
                self.ids_rng,
                NEW_ENERGY_PLATES if new_energy else ORDINARY_PLATES,
                f"{PROVINCE_ABBR}{p.letter} 号牌",
            )
            for p in PREFECTURES
            for new_energy in (False, True)
        }
        self.birth_first = date(1962, 1, 1).toordinal()
        self.birth_days = date(2000, 12, 31).toordinal() - self.birth_first + 1
        self.id_regions = [c for p in PREFECTURES for c in regions.counties(p.code)]
        # Odd sequence numbers are men's (500 of them), even ones women's (499: 000 is unused).
        self.id_numbers = {
            male: Shuffle(
                self.ids_rng,
                len(self.id_regions) * self.birth_days * (500 if male else 499),
                "公民身份号码",
            )
            for male in (True, False)
        }
        self.prefecture_weights = _cumulative([p.share for p in PREFECTURES])
        self.kind_weights = _cumulative([k.share for k in OPERATOR_KINDS])
        self.role_weights = _cumulative([w for _, w in ROLE_SETS])
        self.authorities: list[_Authority] = []
        self.by_uscc: dict[str, _Authority] = {}
        self.last_vehicle: tuple[_Authority, str, bool] | None = None
        self.last_person: tuple[str, tuple[str, ...]] | None = None

    # -- the whole export ------------------------------------------------------------------

    def run(self, writers: dict[str, TableWriter]) -> Tally:
        """Write every table and return the counts."""
        options = self.options
        share = options.reject_share
        accepted = {
            "authorities": len(PREFECTURES),
            "operators": options.operators,
            "licences": options.operators,
            "vehicles": options.vehicles,
            "practitioners": options.practitioners,
            "qualifications": sum(len(roles) for roles in self._role_sets()),
        }
        for table in columns.TABLES:
            count = accepted[table.name]
            self.streams[table.name] = _Stream(
                writers[table.name],
                self.plant_rng,
                count,
                round(count * share) if REJECT_REASONS[table.name] else 0,
                REJECT_REASONS[table.name],
            )
        self.plant = {
            name: Picker(
                self.plant_rng, accepted[name], round(accepted[name] * options.non_standard_share)
            )
            for name in NON_STANDARD_KINDS
        }
        self.authority_rows()
        self.operator_rows()
        self.practitioner_rows()
        for name, stream in self.streams.items():
            self.tally.rows[name] = stream.rows
            self.tally.rejected[name] = stream.rejected
        return self.tally

    # -- helpers ---------------------------------------------------------------------------

    def _days_ago(self, low: int, high: int) -> int:
        """A day (as an ordinal) between ``high`` and ``low`` days before today."""
        return self.today_ord - self.rng.randint(low, high)

    def _person_name(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN)
        if rng.random() < 0.7:
            given += rng.choice(GIVEN)
        return rng.choice(SURNAMES) + given

    def _address(self, authority: _Authority) -> tuple[str, str]:
        rng = self.rng
        county = rng.choice(authority.counties)
        text = (
            f"{PROVINCE_NAME}{authority.prefecture.name}{regions.name_of(county)}"
            f"{rng.choice(SYNTH_ROADS)}{rng.randint(1, 3999)}号"
        )
        return text, county

    def _authority(self) -> _Authority:
        return self.authorities[_weighted(self.rng, self.prefecture_weights)]

    def _photo(self) -> str:
        index = self.photo_counter % self.options.photos
        self.photo_counter += 1
        return self.photo_paths[index]

    def _legacy_id(self, prefecture: Prefecture) -> str:
        self.operator_counter += 1
        return f"{prefecture.code}{self.operator_counter:08d}"

    def _unknown_operator(self) -> str:
        # 999999 is no region: no operator of the export has such a 业户编号.
        self.operator_counter += 1
        return f"999999{self.operator_counter:08d}"

    def _uscc(self, county: str, individual: bool) -> str:
        number = self.uscc_bodies.next()
        if self.ids_rng.random() < 0.3:
            # Codes given out since 2015 start their entity part with MA.
            body = "MA"
            for _ in range(6):
                number, digit = divmod(number, len(uscc.ALPHABET))
                body += uscc.ALPHABET[digit]
        else:
            body = f"{number:08d}"
        # 92 registers 个体工商户, 91 companies.
        return uscc_of("92" if individual else "91", county, body)

    def _plate(self, prefecture: Prefecture, new_energy: bool) -> str:
        value = self.plates[prefecture.letter, new_energy].next()
        serial = _decode_new_energy_plate(value) if new_energy else _decode_ordinary_plate(value)
        return PROVINCE_ABBR + prefecture.letter + serial

    def _id_number(self, male: bool) -> tuple[str, int]:
        """A new ID number and the birth day (ordinal) it carries."""
        value = self.id_numbers[male].next()
        sequence_index, value = divmod(value, len(self.id_regions) * self.birth_days)
        region_index, day = divmod(value, self.birth_days)
        birth = self.birth_first + day
        sequence = 2 * sequence_index + (1 if male else 2)
        compact = self.iso[birth].replace("-", "")
        return ric_of(self.id_regions[region_index], compact, sequence), birth

    def _licence_number(self, authority: _Authority, county: str) -> str:
        code = authority.prefecture.code
        self.licence_seq[code] += 1
        return self._number(cert_numbers.licence_number, authority, county, self.licence_seq[code])

    def _transport_number(self, authority: _Authority, county: str) -> str:
        code = authority.prefecture.code
        self.transport_seq[code] += 1
        return self._number(
            cert_numbers.transport_number, authority, county, self.transport_seq[code]
        )

    def _number(
        self,
        form: Callable[[str, str, str, int], str],
        authority: _Authority,
        county: str,
        seq: int,
    ) -> str:
        # Numbers carry a 6-digit serial per city: at most 999,999 licences or vehicles each.
        if seq > _MAX_SERIAL:
            raise SynthError(
                f"{authority.prefecture.name}的证号流水号超过 {_MAX_SERIAL}，请减少数量",
                code="synth.too_many",
            )
        return form(PROVINCE_ABBR, authority.prefecture.short, county, seq)

    def _defect(self, table: str) -> str | None:
        """The defect planted in this record of ``table``, if it is one of the chosen."""
        if not self.plant[table]():
            return None
        kinds = NON_STANDARD_KINDS[table]
        defect = kinds[self.planted[table] % len(kinds)]
        self.planted[table] += 1
        return defect

    def _finding(self, table: str, rule: str) -> None:
        self.tally.non_standard[rule] += 1
        self.tally.non_standard_records[table] += 1

    def _last(self, table: str) -> list[Any]:
        last = self.streams[table].last
        assert last is not None  # rejected rows come after an accepted row
        return last

    def _ecert(
        self,
        table: str,
        authority: _Authority,
        type_code: str,
        refusal: str | None,
        valid_until: int,
        certificate_valid: bool,
    ) -> None:
        """Count one issuance target: a valid certificate, and its e-cert or its refusal.

        ``refusal`` is the first precondition that fails, checked in the order of
        ``roadcert issue --all`` (certificates/bulk.py): an authority not switched on first (the
        command skips it whole), then the issuance service's own order, expiry last (bulk
        issuance does not sign certificates whose validity has ended).
        """
        tally = self.tally
        if certificate_valid:
            tally.certificates[table] += 1
            authority.tally.certificates += 1
        if refusal is None and valid_until < self.today_ord:
            refusal = "issuance.expired"
        if refusal is not None:
            tally.refused[refusal] += 1
            return
        tally.ecerts[table] += 1
        tally.ecerts_by_type[type_code] += 1
        authority.tally.ecerts += 1

    # -- authorities -----------------------------------------------------------------------

    def authority_rows(self) -> None:
        """核发机关: one 交通运输局 per prefecture-level city."""
        disabled = {prefecture_for(text).code for text in self.options.ecert_disabled}
        stream = self.streams["authorities"]
        for prefecture in PREFECTURES:
            code = uscc.generate(self.ids_rng, prefecture.code, "1", "1")
            name = f"{prefecture.name}交通运输局"
            enabled = prefecture.code not in disabled
            tally = AuthorityTally(code, name, prefecture.code, enabled)
            self.tally.authorities[code] = tally
            authority = _Authority(prefecture, code, tally, regions.counties(prefecture.code))
            self.authorities.append(authority)
            self.by_uscc[code] = authority
            row = [name, code, prefecture.code, prefecture.short, _YES if enabled else _NO]
            stream.accept(row, _no_reject)

    # -- operators, licences and vehicles ------------------------------------------------

    def _fleets(self) -> Iterator[tuple[OperatorKind, int]]:
        """Each operator's kind and number of vehicles; the numbers add up to the option.

        Kinds and fleet weights come from their own stream, read twice: once for the total
        weight, once to hand out the vehicles in proportion (cumulative rounding).
        """
        operators, vehicles = self.options.operators, self.options.vehicles
        seed = f"{self.options.seed}:fleet"

        def weights() -> Iterator[tuple[OperatorKind, float]]:
            rng = random.Random(seed)
            for _ in range(operators):
                kind = OPERATOR_KINDS[_weighted(rng, self.kind_weights)]
                # A long tail: most operators run a few vehicles, a few run large fleets.
                yield kind, kind.fleet * min(rng.paretovariate(1.6), 80.0)

        total = sum(weight for _, weight in weights()) or 1.0
        running = 0.0
        handed = 0
        for index, (kind, weight) in enumerate(weights()):
            running += weight
            due = vehicles if index == operators - 1 else round(vehicles * running / total)
            count = max(due - handed, 0)
            handed += count
            yield kind, count

    def operator_rows(self) -> None:
        """业户, 经营许可证 and 车辆, operator by operator."""
        operators, licences = self.streams["operators"], self.streams["licences"]
        vehicles = self.streams["vehicles"]
        done = 0
        for kind, fleet in self._fleets():
            info = self._operator(kind, operators)
            self._licence(info, licences)
            for _ in range(fleet):
                self._vehicle(info, vehicles)
            done += 1
            if done % 500 == 0:
                self.tick("operators", 500)
        self.tick("operators", done % 500)

    def _operator(self, kind: OperatorKind, stream: _Stream) -> _OperatorInfo:
        rng = self.rng
        authority = self._authority()
        prefecture = authority.prefecture
        address, county = self._address(authority)
        labelled = rng.random() < LABEL_SHARE
        individual = rng.random() < kind.individual_share
        if individual:
            name = self._person_name()
            economic = codes.EconomicType.INDIVIDUAL_BUSINESS.value
        else:
            first, second = rng.sample(SYNTH_FIRM_WORDS, 2)
            name = f"{prefecture.stem}{first}{second}{rng.choice(kind.trades)}有限公司"
            economic = rng.choice(("173", "173", "173", "150", "159", "110"))
        code = self._uscc(county, individual)
        roll = rng.random()
        status = "1" if roll < 0.94 else "2" if roll < 0.98 else "5" if roll < 0.995 else "3"
        defect = self._defect("operators")
        if defect is not None:
            self._finding("operators", defect)
            code = "" if defect == "uscc.missing" else _wrong_check_char(code, uscc.ALPHABET)
        self.statuses["operators"][status] += 1
        legacy_id = self._legacy_id(prefecture)
        row = [
            legacy_id,
            authority.uscc,
            name,
            code,
            address,
            county,
            label(codes.EconomicType, economic) if labelled else economic,
            label(codes.OperatorStatus, status) if labelled else status,
        ]
        stream.accept(row, self._operator_reject)
        return _OperatorInfo(
            legacy_id=legacy_id,
            authority=authority,
            county=county,
            kind=kind,
            scopes=self._scopes(kind),
            operating=status == _OPERATING,
            clean=defect is None,
        )

    def _operator_reject(self, reason: RejectReason) -> list[Any]:
        if reason is RejectReason.DUPLICATE_KEY:
            duplicate = list(self._last("operators"))
            duplicate[4] = f"{duplicate[4]}（旧址）"
            return duplicate
        authority = self._authority()
        address, county = self._address(authority)
        row = [
            self._legacy_id(authority.prefecture),
            authority.uscc,
            f"{authority.prefecture.stem}{self.rng.choice(SYNTH_FIRM_WORDS)}运输有限公司",
            self._uscc(county, False),
            address,
            county,
            "173",
            _OPERATING,
        ]
        row[self.rng.choice((1, 2, 5, 7))] = ""  # a required cell
        return row

    def _scopes(self, kind: OperatorKind) -> list[str]:
        rng = self.rng
        if kind.name == "freight":
            return ["02101"] if rng.random() < 0.8 else ["02101", rng.choice(("02201", "02202"))]
        if kind.name == "passenger":
            return sorted(rng.sample(("01102", "01103", "01104", "01202", "01203", "01204"), 2))
        if kind.name == "dangerous":
            goods = rng.sample(("03121", "03122", "03131", "03161", "03181", "03191"), 2)
            return ["02101", *sorted(goods[: rng.randint(1, 2)])]
        if kind.name == "ride":
            return ["01000"]
        return ["03170"]

    def _licence(self, info: _OperatorInfo, stream: _Stream) -> None:
        rng = self.rng
        labelled = rng.random() < LABEL_SHARE
        authority = info.authority
        cert_type = info.kind.licence
        number = self._licence_number(authority, info.county)
        info.licence_number = number
        issued = self._days_ago(10, 4 * _YEAR + 120)
        valid_until = issued + _YEAR * cert_type.validity_years - 1
        roll = rng.random()
        if not info.operating and roll < 0.3:
            status = _CANCELLED
        else:
            status = _ACTIVE if roll < 0.965 else _CANCELLED if roll < 0.99 else _REVOKED
        scopes = info.scopes
        defect = self._defect("licences")
        if defect is not None:
            self._finding("licences", defect)
            scopes = [*scopes, rng.choice(UNKNOWN_BUSINESS_SCOPES)]
        self.statuses["licences"][status] += 1
        if labelled:
            type_cell = cert_type.name
            scope_cell = _SCOPE_SEP.join(
                label(codes.BusinessScope, s) if s in _KNOWN_SCOPES else s for s in scopes
            )
        else:
            type_cell = cert_type.type_code
            scope_cell = _SCOPE_SEP.join(scopes)
        row = [
            number,
            info.legacy_id,
            authority.uscc,
            type_cell,
            scope_cell,
            self.iso[issued],
            self.iso[valid_until],
            self.iso[issued],
            status,
        ]
        stream.accept(row, self._licence_reject)
        authority.tally.records += 1
        refusal = None
        if not authority.tally.ecert_enabled:
            refusal = "issuance.authority_disabled"
        elif status != _ACTIVE:
            refusal = "issuance.record_cancelled"
        elif not info.operating:
            refusal = "issuance.operator_not_operating"
        elif not info.clean:
            refusal = "issuance.operator_uscc"
        elif defect is not None:
            refusal = "issuance.non_standard"
        still_valid = valid_until >= self.today_ord
        self._ecert(
            "licences",
            authority,
            cert_type.type_code,
            refusal,
            valid_until,
            status == _ACTIVE and still_valid,
        )

    def _licence_reject(self, reason: RejectReason) -> list[Any]:
        last = self._last("licences")
        if reason is RejectReason.DUPLICATE_KEY:
            row = list(last)
            row[7] = self.iso[date.fromisoformat(row[7]).toordinal() - 30]
            return row
        # Another licence of the same operator, with its own number.
        authority = self.by_uscc[last[2]]
        issued = self._days_ago(10, 3 * _YEAR)
        row = [
            self._licence_number(authority, authority.counties[0]),
            last[1],
            authority.uscc,
            ROAD_TRANSPORT_LICENCE.type_code,
            "02101",
            self.iso[issued],
            self.iso[issued + 4 * _YEAR - 1],
            self.iso[issued],
            _ACTIVE,
        ]
        if reason is RejectReason.REQUIRED_EMPTY:
            row[self.rng.choice((3, 4, 6))] = ""
        elif reason is RejectReason.BAD_DATE:
            row[self.rng.choice((5, 6))] = self.rng.choice(BAD_DATES)
        else:
            row[1] = self._unknown_operator()
        return row

    def _vehicle(self, info: _OperatorInfo, stream: _Stream) -> None:
        rng = self.rng
        labelled = rng.random() < LABEL_SHARE
        authority = info.authority
        kind = info.kind.name
        ride = kind == "ride"
        # Integer cells are written as digit strings like every other cell; the JSONL and XLSX
        # writers turn them into numbers.
        seats = tonnage = ""
        colour = codes.PlateColor.YELLOW.value
        if kind == "passenger":
            if rng.random() < 0.7:
                vtype, seats, dims = "K11", rng.choice(("39", "45", "49", "53")), _BUS
            else:
                vtype, seats, dims = "K21", rng.choice(("19", "23", "29")), _MIDI_BUS
            model = rng.choice(BUS_MODELS)
        elif kind in ("dangerous", "radioactive"):
            if rng.random() < 0.8:
                vtype, tonnage, dims = "H14", f"{rng.randint(10, 30)}000", _TANKER
            else:
                vtype, tonnage, dims = "H24", f"{rng.randint(4, 9)}000", _MIDI_TANKER
            model = rng.choice(TANK_MODELS)
        elif ride:
            vtype, seats, dims = "K33", "5", _CAR
            model = rng.choice(CAR_MODELS)
            colour = codes.PlateColor.GREEN.value
        elif rng.random() < 0.75:
            vtype = rng.choice(("H11", "H12", "H17", "H19"))
            tonnage, dims = f"{rng.randint(10, 40)}000", _TRUCK
            model = rng.choice(TRUCK_MODELS)
        else:
            # Light trucks carry blue plates.
            vtype, tonnage, dims = "H31", str(rng.randint(2, 8) * 250), _LIGHT_TRUCK
            model = rng.choice(TRUCK_MODELS)
            colour = codes.PlateColor.BLUE.value
        plate = self._plate(authority.prefecture, ride)
        number = self._transport_number(authority, info.county)
        issued = self._days_ago(5, 3 * _YEAR + 60)
        valid_until = issued + 3 * _YEAR - 1
        review = self._days_ago(-_YEAR, 60)
        roll = rng.random()
        status = "10" if roll < 0.92 else "21" if roll < 0.97 else "33"
        roll = rng.random()
        if status == "33":  # scrapped: its 道路运输证 is mostly cancelled already
            transport = _CANCELLED if roll < 0.9 else _ACTIVE
        else:
            transport = _ACTIVE if roll < 0.98 else _CANCELLED
        photo = self._photo()
        scopes = [] if ride else _vehicle_scopes(kind, info.scopes)
        defect = self._defect("vehicles")
        if defect == "plate":
            plate = _malformed_plate(plate, self.planted["vehicles"])
            defect = plates.check(plate).rule
            self._finding("vehicles", defect)
        elif defect == "vehicle_type.code_table":
            vtype = rng.choice(UNKNOWN_VEHICLE_TYPES)
            self._finding("vehicles", defect)
        elif defect == PHOTO_MISSING:
            photo = ""
            self.tally.missing_photo["vehicles"] += 1
        self.statuses["vehicles"][f"{status}/{transport}"] += 1
        grade = "1" if rng.random() < 0.85 else "2"
        if labelled:
            colour_cell = label(codes.PlateColor, colour)
            type_cell = label(codes.VehicleType, vtype) if vtype in _KNOWN_VEHICLE_TYPES else vtype
            grade_cell = label(codes.TechnicalGrade, grade)
            status_cell = label(codes.VehicleStatus, status)
            scope_cell = _SCOPE_SEP.join(label(codes.BusinessScope, s) for s in scopes)
        else:
            colour_cell, type_cell, grade_cell, status_cell = colour, vtype, grade, status
            scope_cell = _SCOPE_SEP.join(scopes)
        row = [
            number,
            info.legacy_id,
            authority.uscc,
            info.licence_number if rng.random() < 0.95 else "",
            plate,
            colour_cell,
            type_cell,
            model,
            seats,
            tonnage,
            dims[0],
            dims[1],
            dims[2],
            scope_cell,
            grade_cell,
            status_cell,
            _YES if ride else _NO,
            self.iso[issued],
            self.iso[issued],
            self.iso[valid_until],
            self.iso[review],
            photo,
            transport,
        ]
        self.last_vehicle = (authority, info.county, ride)
        stream.accept(row, self._vehicle_reject)
        authority.tally.records += 1
        refusal = None
        if not authority.tally.ecert_enabled:
            refusal = "issuance.authority_disabled"
        elif transport != _ACTIVE:
            refusal = "issuance.record_cancelled"
        elif not info.operating:
            refusal = "issuance.operator_not_operating"
        elif not info.clean:
            refusal = "issuance.operator_uscc"
        elif status not in _ISSUABLE_VEHICLE:
            refusal = "issuance.vehicle_status"
        elif not photo:
            refusal = PHOTO_MISSING
        elif defect is not None:
            refusal = "issuance.non_standard"
        cert_type = RIDE_HAILING_TRANSPORT_CERTIFICATE if ride else ROAD_TRANSPORT_CERTIFICATE
        still_valid = valid_until >= self.today_ord
        self._ecert(
            "vehicles",
            authority,
            cert_type.type_code,
            refusal,
            valid_until,
            transport == _ACTIVE and still_valid,
        )

    def _vehicle_reject(self, reason: RejectReason) -> list[Any]:
        row = list(self._last("vehicles"))
        if reason is RejectReason.DUPLICATE_KEY:
            row[7] = f"{row[7]}（改装）"
            return row
        # Another vehicle of the same operator with its own plate and number, so that only the
        # planted fault can reject it.
        assert self.last_vehicle is not None
        authority, county, ride = self.last_vehicle
        row[0] = self._transport_number(authority, county)
        row[4] = self._plate(authority.prefecture, ride)
        if reason is RejectReason.REQUIRED_EMPTY:
            row[self.rng.choice((4, 6, 10))] = ""  # plate, type or length
        elif reason is RejectReason.BAD_DATE:
            row[17] = self.rng.choice(BAD_DATES)  # 发证日期
        elif reason is RejectReason.UNKNOWN_REFERENCE:
            row[1] = self._unknown_operator()
            row[3] = ""
        else:
            row[self.rng.choice((8, 10))] = self.rng.choice(BAD_INTEGERS)  # seats or length
        return row

    # -- practitioners and qualifications ---------------------------------------------------

    def _role_sets(self) -> Iterator[tuple[str, ...]]:
        """Each practitioner's qualification categories, from their own stream (read twice:
        first to count the qualification rows, then to write them)."""
        rng = random.Random(f"{self.options.seed}:roles")
        for _ in range(self.options.practitioners):
            yield ROLE_SETS[_weighted(rng, self.role_weights)][0]

    def practitioner_rows(self) -> None:
        """从业人员 and 从业资格, person by person."""
        people, qualifications = self.streams["practitioners"], self.streams["qualifications"]
        done = 0
        for roles in self._role_sets():
            self._practitioner(roles, people, qualifications)
            done += 1
            if done % 500 == 0:
                self.tick("practitioners", 500)
        self.tick("practitioners", done % 500)

    def _practitioner(
        self, roles: tuple[str, ...], people: _Stream, qualifications: _Stream
    ) -> None:
        rng = self.rng
        iso = self.iso
        labelled = rng.random() < LABEL_SHARE
        authority = self._authority()
        address, _county = self._address(authority)
        male = rng.random() < 0.85
        number, birth = self._id_number(male)
        adult = birth + 20 * _YEAR
        photo = self._photo()
        defect = self._defect("practitioners")
        if defect == "ric.check_char":
            number = _wrong_check_char(number, _ID_ALPHABET)
            self._finding("practitioners", defect)
        elif defect == "birth_date.id_number":
            birth += rng.randint(1, 400)
            self._finding("practitioners", defect)
        elif defect == PHOTO_MISSING:
            photo = ""
            self.tally.missing_photo["practitioners"] += 1
        sex = "1" if male else "2"
        roll = rng.random()
        # An empty 证件类型 means 居民身份证.
        id_type = label(codes.HolderCodeType, "111") if labelled else "111" if roll < 0.6 else ""
        row = [
            number,
            authority.uscc,
            self._person_name(),
            id_type,
            number,
            label(codes.Sex, sex) if labelled else sex,
            iso[birth],
            "中华人民共和国" if roll > 0.7 else "",
            address,
            rng.choice(_DRIVING_CLASSES[roles[0]]),
            photo,
        ]
        people.accept(row, self._practitioner_reject)
        authority.tally.records += 1
        self.last_person = (number, roles)
        due: dict[str, int] = {}  # type code → latest valid_until of its active categories
        for role in roles:
            valid_from = self._days_ago(10, 6 * _YEAR + 120)
            valid_until = valid_from + 6 * _YEAR - 1
            # First issued one or two 6-year terms earlier, but not before the age of 20.
            first = valid_from
            for _ in range(rng.choice((0, 0, 1, 2))):
                if first - 6 * _YEAR > adult:
                    first -= 6 * _YEAR
            roll = rng.random()
            status = _ACTIVE if roll < 0.965 else _CANCELLED if roll < 0.99 else _REVOKED
            self.statuses["qualifications"][status] += 1
            cell = label(codes.QualificationCategory, role) if labelled else role
            qualifications.accept(
                [number, cell, iso[first], iso[valid_from], iso[valid_until], status],
                self._qualification_reject,
            )
            if status == _ACTIVE:
                type_code = _CATEGORY_TYPES[role].type_code
                due[type_code] = max(due.get(type_code, valid_until), valid_until)
        # One issuance target per certificate type with an active category.
        for type_code, valid_until in due.items():
            refusal = None
            if not authority.tally.ecert_enabled:
                refusal = "issuance.authority_disabled"
            elif not photo:
                refusal = PHOTO_MISSING
            elif defect is not None:
                refusal = "issuance.non_standard"
            still_valid = valid_until >= self.today_ord
            self._ecert("practitioners", authority, type_code, refusal, valid_until, still_valid)

    def _practitioner_reject(self, reason: RejectReason) -> list[Any]:
        if reason is RejectReason.DUPLICATE_KEY:
            duplicate = list(self._last("practitioners"))
            duplicate[8] = f"{duplicate[8]}（旧住址）"
            return duplicate
        # Another person, whose row alone is faulty; no qualification refers to them.
        authority = self._authority()
        address, _county = self._address(authority)
        number, birth = self._id_number(True)
        row = [
            number,
            authority.uscc,
            self._person_name(),
            "111",
            number,
            "1",
            self.iso[birth],
            "",
            address,
            "B2",
            self._photo(),
        ]
        if reason is RejectReason.REQUIRED_EMPTY:
            row[self.rng.choice((1, 2, 5, 6))] = ""
        else:
            row[6] = self.rng.choice(BAD_DATES)
        return row

    def _qualification_reject(self, reason: RejectReason) -> list[Any]:
        last = self._last("qualifications")
        if reason is RejectReason.DUPLICATE_KEY:
            duplicate = list(last)
            duplicate[2] = self.iso[date.fromisoformat(duplicate[2]).toordinal() - 1]
            return duplicate
        # A category the last person neither holds nor got in a rejected row already, so that
        # the key is new.
        assert self.last_person is not None
        number, roles = self.last_person
        category = next(c for c in _SPARE_CATEGORIES if c not in roles)
        self.last_person = (number, (*roles, category))
        valid_from = self._days_ago(10, 5 * _YEAR)
        row = [
            number,
            category,
            self.iso[valid_from],
            self.iso[valid_from],
            self.iso[valid_from + 6 * _YEAR - 1],
            _ACTIVE,
        ]
        if reason is RejectReason.REQUIRED_EMPTY:
            row[self.rng.choice((3, 4))] = ""  # not the category: an empty key could repeat
        elif reason is RejectReason.BAD_DATE:
            row[self.rng.choice((3, 4))] = self.rng.choice(BAD_DATES)
        else:
            row[0] = self._id_number(False)[0]  # a number no practitioner of the export has
        return row


# -- the export folder ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What ``synthesise`` did: the manifest and how long it took."""

    manifest: dict[str, Any]
    elapsed_s: float

    @property
    def rows(self) -> int:
        """Data rows written, rejected ones included."""
        return sum(self.manifest["rows"].values())

    @property
    def rows_per_s(self) -> float:
        """Rows written per second."""
        return self.rows / self.elapsed_s if self.elapsed_s else 0.0


def check_directory(directory: Path) -> None:
    """Refuse a target that is a file or a folder that is not empty."""
    if directory.exists() and not directory.is_dir():
        raise SynthError(f"{directory} 已存在且不是文件夹", code="synth.directory", field="output")
    if directory.is_dir() and any(directory.iterdir()):
        raise SynthError(
            f"文件夹 {directory} 不是空的；请指定新的或空的文件夹，以免混入旧文件",
            code="synth.directory",
            field="output",
        )


def write_photos(directory: Path, count: int) -> None:
    """``count`` distinct small PNG pictures in ``directory/photos``."""
    folder = directory / columns.PHOTO_FOLDER
    folder.mkdir()
    for index in range(count):
        (directory / photo_path(index)).write_bytes(photo_png(index))


def synthesise(options: SynthOptions, directory: Path, console: Console | None = None) -> Result:
    """Write the synthetic export of ``options`` into ``directory`` (created, must be empty).

    ``console`` shows a progress bar while writing (when it is a terminal). The manifest is
    written last, so a folder with a manifest is a complete export.
    """
    options.check()
    check_directory(directory)
    start = time.perf_counter()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthError(
            f"无法建立文件夹 {directory}：{exc.strerror}", code="synth.directory"
        ) from exc
    write_photos(directory, options.photos)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None or not console.is_terminal,
    )
    with progress:
        tasks = {
            "operators": progress.add_task("业户、许可证与车辆", total=options.operators),
            "practitioners": progress.add_task("从业人员与从业资格", total=options.practitioners),
        }
        generator = Synthesiser(options, lambda task, n: progress.advance(tasks[task], n))
        with open_writers(directory, options.export_format) as (writers, files):
            tally = generator.run(writers)
    manifest = build_manifest(options, tally, files)
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return Result(manifest, time.perf_counter() - start)


def build_manifest(options: SynthOptions, tally: Tally, files: dict[str, str]) -> dict[str, Any]:
    """The manifest: the options, and the exact counts of what was written (docs/migration/
    synth.md defines each)."""
    tables = [t.name for t in columns.TABLES]
    rejected = {name: dict(sorted(tally.rejected.get(name, Counter()).items())) for name in tables}
    ecerts_total = sum(tally.ecerts.values())
    return {
        "generator": "roadcert synth",
        "seed": options.seed,
        "today": options.today.isoformat(),
        "format": options.export_format.value,
        "options": {
            "operators": options.operators,
            "vehicles": options.vehicles,
            "practitioners": options.practitioners,
            "non_standard_share": options.non_standard_share,
            "reject_share": options.reject_share,
            "photos": options.photos,
            "ecert_disabled": sorted(prefecture_for(p).code for p in options.ecert_disabled),
        },
        "files": {name: files[name] for name in tables},
        "photos": {"folder": columns.PHOTO_FOLDER, "count": options.photos},
        "rows": {name: tally.rows[name] for name in tables},
        "accepted": {name: tally.rows[name] - sum(rejected[name].values()) for name in tables},
        "rejected": rejected,
        "rejected_total": sum(sum(r.values()) for r in rejected.values()),
        "non_standard": dict(sorted(tally.non_standard.items())),
        "non_standard_records": {
            name: tally.non_standard_records[name] for name in NON_STANDARD_KINDS
        },
        "missing_photo": {
            "vehicles": tally.missing_photo["vehicles"],
            "practitioners": tally.missing_photo["practitioners"],
        },
        "ecerts": {
            "total": ecerts_total,
            "licences": tally.ecerts["licences"],
            "vehicles": tally.ecerts["vehicles"],
            "practitioners": tally.ecerts["practitioners"],
            "by_type": dict(sorted(tally.ecerts_by_type.items())),
        },
        "targets": ecerts_total + sum(tally.refused.values()),
        "refused": dict(sorted(tally.refused.items())),
        "certificates_valid": {
            "total": sum(tally.certificates.values()),
            "licences": tally.certificates["licences"],
            "vehicles": tally.certificates["vehicles"],
            "practitioners": tally.certificates["practitioners"],
        },
        "statuses": {name: dict(sorted(counts.items())) for name, counts in tally.statuses.items()},
        "authorities": [
            {
                "uscc": a.uscc,
                "name": a.name,
                "region_code": a.region_code,
                "ecert_enabled": a.ecert_enabled,
                "records": a.records,
                "certificates_valid": a.certificates,
                "ecerts": a.ecerts,
            }
            for a in tally.authorities.values()
        ],
    }


__all__ = [
    "MANIFEST_NAME",
    "NON_STANDARD_KINDS",
    "PHOTO_MISSING",
    "PREFECTURES",
    "REJECT_REASONS",
    "WORKBOOK_NAME",
    "ExportFormat",
    "RejectReason",
    "Result",
    "SynthError",
    "SynthOptions",
    "Synthesiser",
    "build_manifest",
    "check_directory",
    "photo_png",
    "prefecture_for",
    "synthesise",
]
