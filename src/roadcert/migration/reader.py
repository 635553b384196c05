"""Streaming readers of a legacy export (存量数据导出): CSV, JSON Lines and XLSX, one row at a time.

A reader never holds more than one row of a table: CSV and JSON Lines are read line by line,
workbooks through openpyxl's read-only mode. What cannot be read at all (a missing file, a file
that is not a known table, a wrong encoding, a header that does not fit the table) stops the import
with an :class:`ExportUnreadable` naming the file; what is wrong with one row (a JSON line that
does not parse, cells beyond the header) travels with the row as a problem, so the row is rejected
and the import goes on.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zipfile import BadZipFile

from roadcert.errors import RoadcertError
from roadcert.migration.columns import EXTENSIONS, TABLES, Table, table_for_stem

#: One cell as a reader gives it: text as written (the column parsers strip it), or what a
#: workbook or a JSON line typed it as. ``None`` is a missing cell.
Cell = str | int | float | bool | date | datetime | list[Any] | dict[str, Any] | None

#: Encodings ``--encoding`` accepts. UTF-8 is read with or without a byte-order mark.
ENCODINGS = ("utf-8", "gb18030")

# How much of a text file is decoded up front to tell UTF-8 from GB18030 before any row is read.
_SNIFF_BYTES = 64 * 1024


class ExportUnreadable(RoadcertError):
    """An export (or one of its files) that cannot be read: the import stops here."""

    status = 422
    code = "import.unreadable"


@dataclass(frozen=True)
class Source:
    """One table's rows in one file (or one sheet of a workbook)."""

    path: Path
    table: Table
    format: str  # csv | jsonl | xlsx
    sheet: str | None = None

    @property
    def name(self) -> str:
        """How the report names this source: the file name, and the sheet of a workbook."""
        return f"{self.path.name}:{self.sheet}" if self.sheet else self.path.name


@dataclass
class RowProblem:
    """Something wrong with a row found while reading it (before its values are looked at)."""

    header: str
    rule: str
    reason: str
    value: str = ""


@dataclass(slots=True)
class Row:
    """One data row: its line (CSV, JSON Lines) or row number (XLSX) and its cells by header."""

    line: int
    cells: dict[str, Cell]
    problems: list[RowProblem] = field(default_factory=list)


def _known_tables() -> str:
    return "、".join(f"{t.title}（{t.name}）" for t in TABLES)


def _skipped(path: Path) -> bool:
    # Hidden files and the lock files Excel leaves next to an open workbook are not tables.
    return path.name.startswith((".", "~$"))


def discover(path: Path) -> list[Source]:
    """The tables of an export folder or of one file, in ``columns.TABLES`` order.

    In a folder, files whose extension is not a table format (photos, manifest.json, notes) are
    not tables and are left alone; a CSV, JSONL or XLSX file whose name is not a table is
    refused rather than skipped, so that a misnamed file is never silently left out.
    """
    if not path.exists():
        raise ExportUnreadable(f"找不到导入路径：{path}", code="import.not_found")
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in EXTENSIONS and not _skipped(p)
        )
        sources = [s for p in files for s in _sources_of(p)]
        if not sources:
            raise ExportUnreadable(
                f"文件夹 {path} 中没有可导入的表"
                f"（CSV、JSONL 或 XLSX 文件，文件名为表名：{_known_tables()}）",
                code="import.empty",
            )
    else:
        if path.suffix.lower() not in EXTENSIONS:
            raise ExportUnreadable(
                f"不支持的文件类型“{path.suffix or path.name}”：只能导入 CSV、JSONL 或 XLSX 文件",
                code="import.format",
            )
        sources = _sources_of(path)
    order = {table.name: index for index, table in enumerate(TABLES)}
    return sorted(sources, key=lambda s: (order[s.table.name], s.path.name, s.sheet or ""))


def _sources_of(path: Path) -> list[Source]:
    kind = EXTENSIONS[path.suffix.lower()]
    if kind == "xlsx":
        return _workbook_sources(path)
    table = table_for_stem(path.stem)
    if table is None:
        raise ExportUnreadable(
            f"文件 {path.name} 不是已知的表：文件名应为表名（{_known_tables()}）",
            code="import.unknown_table",
        )
    return [Source(path, table, kind)]


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ExportUnreadable(
            f"无法读取 {path.name}：不是有效的 XLSX 工作簿（{exc}）", code="import.unreadable"
        ) from exc


def _workbook_sources(path: Path) -> list[Source]:
    workbook = _open_workbook(path)
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    named = {name: table_for_stem(name) for name in names}
    if any(named.values()):
        unknown = [name for name, table in named.items() if table is None]
        if unknown:
            raise ExportUnreadable(
                f"工作簿 {path.name} 的工作表“{'”、“'.join(unknown)}”不是已知的表"
                f"（工作表名应为表名：{_known_tables()}）",
                code="import.unknown_table",
            )
        return [Source(path, table, "xlsx", name) for name, table in named.items() if table]
    # A workbook named after its table whose one sheet kept Excel's default name.
    table = table_for_stem(path.stem)
    if table is not None and len(names) == 1:
        return [Source(path, table, "xlsx", names[0])]
    raise ExportUnreadable(
        f"工作簿 {path.name} 中没有已知的表：工作表名（或只有一个工作表时的文件名）应为表名"
        f"（{_known_tables()}）",
        code="import.unknown_table",
    )


# -- cells and headers ---------------------------------------------------------------------------


def clean(value: Any) -> Cell:
    """A cell as the importer wants it: text stripped, empty text as None, other types kept."""
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return value


def _header_text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("\ufeff", "").strip()


def check_headers(source: Source, raw: list[Any], hint: str = "") -> list[str]:
    """The header row, checked against the table: unknown, duplicated or missing columns refuse
    the file (an unknown header would otherwise lose that column of every row without a word)."""
    headers = [_header_text(h) for h in raw]
    while headers and not headers[-1]:
        headers.pop()  # trailing empty header cells: a trailing comma, Excel's formatting
    table = source.table
    if not headers:
        raise ExportUnreadable(f"{source.name} 没有表头行", code="import.header")
    if "" in headers:
        raise ExportUnreadable(
            f"{source.name} 第 {headers.index('') + 1} 列没有表头", code="import.header"
        )
    duplicated = sorted({h for h in headers if headers.count(h) > 1})
    if duplicated:
        raise ExportUnreadable(
            f"{source.name} 表头重复：{'、'.join(duplicated)}", code="import.header"
        )
    known = set(table.headers)
    unknown = [h for h in headers if h not in known]
    if unknown:
        raise ExportUnreadable(
            f"{source.name} 有{table.title}表没有的列：{'、'.join(unknown)}"
            f"（{table.title}表的列为：{'、'.join(table.headers)}）{hint}",
            code="import.header",
        )
    missing = [c.header for c in table.columns if c.required and c.header not in headers]
    if missing:
        raise ExportUnreadable(
            f"{source.name} 缺少必填列：{'、'.join(missing)}", code="import.header"
        )
    return headers


# -- text files ----------------------------------------------------------------------------------


def _python_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise ExportUnreadable(
            f"不支持的编码 {encoding}：可选 {'、'.join(ENCODINGS)}", code="import.encoding"
        )
    # utf-8-sig reads UTF-8 with or without a byte-order mark.
    return "utf-8-sig" if encoding == "utf-8" else encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _sniff(source: Source, encoding: str) -> str:
    """Refuse a file in the wrong encoding before any row is read; return a hint for headers."""
    with source.path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    python_encoding = _python_encoding(encoding)
    try:
        codecs.getincrementaldecoder(python_encoding)().decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head.count(b"\n", 0, max(exc.start, 0)) + 1
        other = "gb18030" if encoding == "utf-8" else "utf-8"
        looks = (
            f"，看起来是 {other.upper()} 编码，请加 --encoding {other}"
            if _decodes(head, _python_encoding(other))
            else ""
        )
        raise ExportUnreadable(
            f"{source.name} 第 {line} 行不是有效的 {encoding.upper()} 编码{looks}",
            code="import.encoding",
        ) from exc
    if encoding == "gb18030" and not head.isascii() and _decodes(head, "utf-8-sig"):
        # GB18030 decodes almost any bytes, so a UTF-8 file read as GB18030 shows up only as
        # headers that do not match.
        return "；文件看起来是 UTF-8 编码，请去掉 --encoding gb18030"
    return ""


def check_encoding(source: Source, encoding: str = "utf-8") -> None:
    """Decode a whole text file once, so that a bad byte anywhere refuses it before any row of
    the export is written (a C decoder over the bytes: well under a second per gigabyte)."""
    if source.format == "xlsx":
        return
    decoder = codecs.getincrementaldecoder(_python_encoding(encoding))()
    line = 1
    try:
        with source.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line += chunk.count(b"\n", 0, max(exc.start, 0))
                    raise ExportUnreadable(
                        f"{source.name} 第 {line} 行不是有效的 {encoding.upper()} 编码"
                        f"（{exc.reason}）",
                        code="import.encoding",
                    ) from exc
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ExportUnreadable(
            f"{source.name} 在文件末尾被截断：最后一个字符不完整", code="import.encoding"
        ) from exc
    except OSError as exc:
        raise ExportUnreadable(
            f"无法读取 {source.name}：{exc.strerror or exc}", code="import.unreadable"
        ) from exc


class _TextReader:
    """Shared by CSV and JSON Lines: the file's lines, decoded one by one.

    Each line is decoded on its own (neither encoding uses the newline byte inside a
    character), so a bad byte is reported on its own line rather than somewhere in a buffer.
    """

    def __init__(self, source: Source, encoding: str) -> None:
        self.source = source
        self.hint = _sniff(source, encoding)
        # The byte-order mark is dropped from the first line below.
        self._encoding = "utf-8" if encoding == "utf-8" else _python_encoding(encoding)
        try:
            self.total = source.path.stat().st_size
            self._file: IO[bytes] = source.path.open("rb")
        except OSError as exc:
            raise ExportUnreadable(
                f"无法读取 {source.name}：{exc.strerror or exc}", code="import.unreadable"
            ) from exc
        self.lines_read = 0

    def lines(self) -> Iterator[str]:
        """The file's lines, with their line ends, as text."""
        encoding = self._encoding
        for raw in self._file:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ExportUnreadable(
                    f"{self.source.name} 第 {self.lines_read + 1} 行不是有效的 "
                    f"{encoding.upper()} 编码（{exc.reason}）；已导入的批次保留，"
                    "修正文件后重新导入即可继续",
                    code="import.encoding",
                ) from exc
            if self.lines_read == 0:
                text = text.removeprefix("\ufeff")
            self.lines_read += 1
            yield text

    def position(self) -> int:
        """Bytes read from the file so far (ahead of the rows by at most one buffer)."""
        return self._file.tell()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class CsvReader(_TextReader):
    """Rows of a CSV file; the first line is the header."""

    def __init__(self, source: Source, encoding: str) -> None:
        super().__init__(source, encoding)
        self._rows = csv.reader(self.lines())
        try:
            raw = next(self._rows, None)
        except ExportUnreadable:
            self.close()
            raise
        except csv.Error as exc:
            self.close()
            raise ExportUnreadable(
                f"{source.name} 表头无法解析：{exc}", code="import.unreadable"
            ) from exc
        if raw is None:
            self.close()
            raise ExportUnreadable(f"{source.name} 是空文件，没有表头行", code="import.header")
        try:
            self.headers = check_headers(source, raw, self.hint)
        except ExportUnreadable:
            self.close()
            raise

    def __iter__(self) -> Iterator[Row]:
        headers = self.headers
        width = len(headers)
        rows = self._rows
        while True:
            # A quoted cell may span lines: a row starts on the line after the previous row.
            line = self.lines_read + 1
            try:
                raw = next(rows, None)
            except csv.Error as exc:
                raise ExportUnreadable(
                    f"{self.source.name} 第 {line} 行无法解析：{exc}", code="import.unreadable"
                ) from exc
            if raw is None:
                return
            # Cells stay as read: the column parsers strip them (cells.text).
            if len(raw) == width:  # the usual row (every table has two columns or more)
                yield Row(line, dict(zip(headers, raw, strict=True)))
                continue
            if not raw or (len(raw) == 1 and not raw[0].strip()):
                continue  # a blank line is no row
            row = Row(line, dict(zip(headers, raw, strict=False)))
            if len(raw) > width and any(v.strip() for v in raw[width:]):
                extra = "，".join(v.strip() for v in raw[width:] if v.strip())
                row.problems.append(
                    RowProblem(
                        "",
                        "row.extra_cells",
                        f"多出 {len(raw) - width} 个没有表头的单元格",
                        extra,
                    )
                )
            yield row


class JsonLinesReader(_TextReader):
    """Rows of a JSON Lines file: one object per line, its keys are the headers.

    JSON Lines has no header line: the first object's keys are checked as the header; a later
    line with a key the table does not have is rejected (never read without that key).
    """

    def __init__(self, source: Source, encoding: str) -> None:
        super().__init__(source, encoding)
        self._lines = self.lines()
        self._line = 0
        self._first: Row | None = None
        try:
            self._first = self._next_row()
        except ExportUnreadable:
            self.close()
            raise
        if self._first is None:
            self.close()
            raise ExportUnreadable(f"{source.name} 是空文件，没有数据行", code="import.header")
        keys = list(self._first.cells) if not self._first.problems else []
        if not keys:
            self.close()
            raise ExportUnreadable(
                f"{source.name} 第 {self._first.line} 行应为 JSON 对象"
                f"（键为{source.table.title}表的列名）",
                code="import.header",
            )
        try:
            self.headers = check_headers(source, keys, self.hint)
        except ExportUnreadable:
            self.close()
            raise
        self._known = set(source.table.headers)

    def _next_row(self) -> Row | None:
        while True:
            text = next(self._lines, None)
            if text is None:
                return None
            self._line += 1
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                return Row(
                    self._line,
                    {},
                    [RowProblem("", "row.json", f"不是有效的 JSON：{exc.msg}", text.strip()[:200])],
                )
            if not isinstance(value, dict):
                return Row(
                    self._line,
                    {},
                    [RowProblem("", "row.not_object", "应为 JSON 对象", text.strip()[:200])],
                )
            return Row(self._line, {_header_text(k): clean(v) for k, v in value.items()})

    def __iter__(self) -> Iterator[Row]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while (row := self._next_row()) is not None:
            unknown = [h for h in row.cells if h not in self._known]
            for header in unknown:
                value = row.cells.pop(header)
                row.problems.append(
                    RowProblem(
                        header,
                        "column.unknown",
                        f"{self.source.table.title}表没有“{header}”列",
                        "" if value is None else str(value)[:200],
                    )
                )
            yield row


class XlsxReader:
    """Rows of one worksheet, through openpyxl's read-only mode; row 1 is the header."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.workbook = _open_workbook(source.path)
        try:
            sheet = self.workbook[source.sheet]
            # The sheet's stored dimension; only used for the progress bar.
            self.total = max((sheet.max_row or 1) - 1, 0)
            self._rows = sheet.iter_rows(values_only=True)
            raw = next(self._rows, None)
            if raw is None:
                raise ExportUnreadable(
                    f"{source.name} 是空工作表，没有表头行", code="import.header"
                )
            self.headers = check_headers(source, list(raw))
        except BaseException:
            self.workbook.close()
            raise
        self._row = 1

    def position(self) -> int:
        """Rows read so far."""
        return self._row - 1

    def close(self) -> None:
        """Close the workbook (read-only mode keeps the file open)."""
        self.workbook.close()

    def __iter__(self) -> Iterator[Row]:
        headers = self.headers
        width = len(headers)
        for raw in self._rows:
            self._row += 1
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
                continue  # empty rows of a formatted sheet
            cells = {h: clean(v) for h, v in zip(headers, raw, strict=False)}
            row = Row(self._row, cells)
            extra = [v for v in raw[width:] if clean(v) is not None]
            if extra:
                row.problems.append(
                    RowProblem(
                        "",
                        "row.extra_cells",
                        f"多出 {len(extra)} 个没有表头的单元格",
                        "，".join(str(v) for v in extra)[:200],
                    )
                )
            yield row


TableReader = CsvReader | JsonLinesReader | XlsxReader


def open_source(source: Source, encoding: str = "utf-8") -> TableReader:
    """A reader of ``source`` whose header has been checked; close it when done."""
    if source.format == "csv":
        return CsvReader(source, encoding)
    if source.format == "jsonl":
        return JsonLinesReader(source, encoding)
    return XlsxReader(source)


__all__ = [
    "ENCODINGS",
    "Cell",
    "CsvReader",
    "ExportUnreadable",
    "JsonLinesReader",
    "Row",
    "RowProblem",
    "Source",
    "TableReader",
    "XlsxReader",
    "check_encoding",
    "check_headers",
    "clean",
    "discover",
    "open_source",
]
