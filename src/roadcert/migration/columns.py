"""The legacy export format (存量数据导出格式): tables, file names and Chinese column headers.

One description serves the writer (``roadcert synth``) and the reader (``roadcert import``), so
the two cannot drift; docs/migration.md prints the same tables for the people who write the
export from their old 运政系统.

An export is a folder with one file per table (CSV, JSON Lines or XLSX; a workbook may also
hold several tables as sheets). Tables are read in the order of ``TABLES`` whatever the order
of the files, because later tables refer to earlier ones by their keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ValueKind(StrEnum):
    """How a cell is written and read."""

    TEXT = "text"
    CODE = "code"  # a code-table value, given as its code or as its Chinese label
    CODES = "codes"  # several codes or labels separated by ; ； , ， or 、
    DATE = "date"  # YYYY-MM-DD (also YYYY/MM/DD and YYYYMMDD)
    INTEGER = "integer"
    FLAG = "flag"  # 是/否 (also 1/0, true/false, Y/N)
    STATUS = "status"  # 有效/注销/吊销
    FILE = "file"  # a path relative to the export folder (photos)


@dataclass(frozen=True)
class Column:
    """One column: its Chinese header, the ledger field it fills and how it is written."""

    header: str
    field: str
    kind: ValueKind = ValueKind.TEXT
    required: bool = False
    note: str = ""


@dataclass(frozen=True)
class Table:
    """One table of the export: its file-name stems, its key columns and its columns."""

    name: str  # English stem, also the ledger entity
    title: str  # Chinese stem
    key: tuple[str, ...]  # headers whose values identify a row across exports
    columns: tuple[Column, ...]

    @property
    def stems(self) -> tuple[str, str]:
        """The file names (without extension) and sheet names this table is read from."""
        return (self.title, self.name)

    @property
    def headers(self) -> list[str]:
        """Column headers in the order a writer puts them."""
        return [c.header for c in self.columns]

    def column(self, header: str) -> Column:
        """The column with this header."""
        for column in self.columns:
            if column.header == header:
                return column
        raise KeyError(header)


AUTHORITIES = Table(
    "authorities",
    "核发机关",
    ("统一社会信用代码",),
    (
        Column("核发机关名称", "name", required=True),
        Column("统一社会信用代码", "uscc", required=True, note="18 位"),
        Column("行政区划代码", "region_code", required=True, note="6 位 GB/T 2260"),
        Column("证号简称", "number_prefix", required=True, note="证号前的地市简称，如“长”"),
        Column("启用电子证照", "ecert_enabled", ValueKind.FLAG, note="缺省为否"),
    ),
)

OPERATORS = Table(
    "operators",
    "业户",
    ("业户编号",),
    (
        Column("业户编号", "legacy_id", required=True, note="原运政系统中业户的编号"),
        Column("核发机关代码", "authority", required=True, note="核发机关的统一社会信用代码"),
        Column("业户名称", "name", required=True),
        Column("统一社会信用代码", "uscc"),
        Column("经营地址", "address"),
        Column("行政区划代码", "region_code", required=True),
        Column("经济类型", "economic_type", ValueKind.CODE),
        Column("经营状态", "status", ValueKind.CODE, required=True),
    ),
)

LICENCES = Table(
    "licences",
    "经营许可证",
    ("许可证号",),
    (
        Column("许可证号", "number", required=True),
        Column("业户编号", "operator", required=True),
        Column("核发机关代码", "authority", required=True),
        Column("证照类型", "type_code", required=True, note="证照名称或 21 位证照类型代码"),
        Column("经营范围", "business_scopes", ValueKind.CODES, required=True),
        Column("有效期起", "valid_from", ValueKind.DATE, required=True),
        Column("有效期止", "valid_until", ValueKind.DATE, required=True),
        Column("发证日期", "issue_date", ValueKind.DATE, required=True),
        Column("状态", "status", ValueKind.STATUS, note="缺省为有效"),
    ),
)

VEHICLES = Table(
    "vehicles",
    "车辆",
    ("道路运输证号",),
    (
        Column("道路运输证号", "transport_number", required=True),
        Column("业户编号", "operator", required=True),
        Column("核发机关代码", "authority", required=True),
        Column("许可证号", "licence"),
        Column("车牌号码", "plate", required=True),
        Column("车牌颜色", "plate_color", ValueKind.CODE, required=True),
        Column("车辆类型", "vehicle_type", ValueKind.CODE, required=True),
        Column("厂牌型号", "brand_model"),
        Column("核定座位", "seats", ValueKind.INTEGER),
        Column("核定吨位（千克）", "tonnage_kg", ValueKind.INTEGER),
        Column("车长（毫米）", "length_mm", ValueKind.INTEGER, required=True),
        Column("车宽（毫米）", "width_mm", ValueKind.INTEGER, required=True),
        Column("车高（毫米）", "height_mm", ValueKind.INTEGER, required=True),
        Column("经营范围", "business_scopes", ValueKind.CODES),
        Column("技术等级", "technical_grade", ValueKind.CODE, note="缺省为一级"),
        Column("车辆运行状态", "status", ValueKind.CODE, note="缺省为营运"),
        Column("网约车", "ride_hailing", ValueKind.FLAG, note="缺省为否"),
        Column("发证日期", "issue_date", ValueKind.DATE, required=True),
        Column("有效期起", "valid_from", ValueKind.DATE, required=True),
        Column("有效期止", "valid_until", ValueKind.DATE, required=True),
        Column("审验有效期至", "review_valid_until", ValueKind.DATE),
        Column("照片", "photo", ValueKind.FILE),
        Column("道路运输证状态", "transport_status", ValueKind.STATUS, note="缺省为有效"),
    ),
)

PRACTITIONERS = Table(
    "practitioners",
    "从业人员",
    ("从业资格证号",),
    (
        Column("从业资格证号", "certificate_number", required=True),
        Column("核发机关代码", "authority", required=True),
        Column("姓名", "name", required=True),
        Column("证件类型", "id_type", ValueKind.CODE, note="缺省为居民身份证（111）"),
        Column("证件号码", "id_number", required=True),
        Column("性别", "sex", ValueKind.CODE, required=True),
        Column("出生日期", "birth_date", ValueKind.DATE, required=True),
        Column("国籍", "nationality", note="缺省为中华人民共和国"),
        Column("住址", "address"),
        Column("准驾车型", "driving_class"),
        Column("照片", "photo", ValueKind.FILE),
    ),
)

QUALIFICATIONS = Table(
    "qualifications",
    "从业资格",
    ("从业资格证号", "从业资格类别"),
    (
        Column("从业资格证号", "practitioner", required=True),
        Column("从业资格类别", "category", ValueKind.CODE, required=True),
        Column("初领日期", "first_issued", ValueKind.DATE),
        Column("有效期起", "valid_from", ValueKind.DATE, required=True),
        Column("有效期止", "valid_until", ValueKind.DATE, required=True),
        Column("状态", "status", ValueKind.STATUS, note="缺省为有效"),
    ),
)

#: Every table, in the order they are read (a table refers only to tables before it).
TABLES: tuple[Table, ...] = (
    AUTHORITIES,
    OPERATORS,
    LICENCES,
    VEHICLES,
    PRACTITIONERS,
    QUALIFICATIONS,
)

#: File extensions read, by format.
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".xlsx": "xlsx"}

#: Folder (inside the export) that photo paths usually point into.
PHOTO_FOLDER = "photos"

#: Separators accepted between several codes in one cell.
CODE_SEPARATORS = ";；,，、"

#: The words a STATUS cell may hold, with the ledger's RecordStatus value.
STATUS_WORDS = {"有效": "active", "注销": "cancelled", "吊销": "revoked"}

#: The words a FLAG cell may hold.
FLAG_WORDS = {
    "是": True,
    "否": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "y": True,
    "n": False,
}


def table_for_stem(stem: str) -> Table | None:
    """The table a file or sheet name (without extension) holds, None if it is not one."""
    lowered = stem.strip().lower()
    for table in TABLES:
        if lowered in (table.title, table.name):
            return table
    return None


__all__ = [
    "AUTHORITIES",
    "CODE_SEPARATORS",
    "EXTENSIONS",
    "FLAG_WORDS",
    "LICENCES",
    "OPERATORS",
    "PHOTO_FOLDER",
    "PRACTITIONERS",
    "QUALIFICATIONS",
    "STATUS_WORDS",
    "TABLES",
    "VEHICLES",
    "Column",
    "Table",
    "ValueKind",
    "table_for_stem",
]
