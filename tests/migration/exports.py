"""Small hand-made legacy exports for the reader and importer tests.

Rows are dicts keyed by the Chinese headers of ``roadcert.migration.columns``; one call writes
them as CSV, JSON Lines or an XLSX workbook, with the photos they name. Identifiers come from
``roadcert.kit``, so a row is standard data unless a test spoils it on purpose.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from roadcert.catalog.types import ROAD_TRANSPORT_LICENCE
from roadcert.kit import cert_numbers, plates, ric, uscc
from roadcert.migration.columns import TABLES
from tests.factories import png

TODAY = date.today()
TITLES = {t.name: t.title for t in TABLES}


@dataclass
class Export:
    """The rows of each table (by English table name) and the photo files."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The rows of one table (created empty when absent)."""
        return self.tables.setdefault(table, [])

    def find(self, table: str, header: str, value: str) -> dict[str, Any]:
        """The row of ``table`` whose ``header`` is ``value``."""
        return next(r for r in self.rows(table) if r.get(header) == value)

    def write(self, folder: Path, fmt: str = "csv", encoding: str = "utf-8-sig") -> Path:
        """Write every table into ``folder`` (created) in ``fmt``; returns the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.photos.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if fmt == "xlsx":
            write_workbook(folder / "存量数据.xlsx", self.tables)
            return folder
        for table in TABLES:
            rows = self.tables.get(table.name)
            if rows is None:
                continue
            headers = table.headers
            path = folder / f"{table.title}.{fmt}"
            if fmt == "csv":
                write_csv(path, headers, rows, encoding)
            else:
                with path.open("w", encoding="utf-8") as handle:
                    for row in rows:
                        handle.write(json.dumps(_jsonable(row), ensure_ascii=False) + "\n")
        return folder


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(
    path: Path, headers: list[str], rows: list[dict[str, Any]], encoding: str = "utf-8-sig"
) -> None:
    """A CSV file with ``headers`` and the rows' cells under them."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_cell(row.get(h)) for h in headers])


def write_workbook(path: Path, tables: dict[str, list[dict[str, Any]]]) -> None:
    """One workbook, one sheet per table named by its Chinese title; dates as date cells."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in TABLES:
        rows = tables.get(table.name)
        if rows is None:
            continue
        sheet = workbook.create_sheet(table.title)
        sheet.append(table.headers)
        for row in rows:
            sheet.append([row.get(h) for h in table.headers])
    workbook.save(path)


def province(seed: int = 1, operators: int = 2, practitioners: int = 2) -> Export:
    """One authority (长春), ``operators`` operators each with a licence and two vehicles, and
    ``practitioners`` freight drivers each with one qualification; every record standard."""
    rng = random.Random(seed)
    export = Export()
    authority = uscc.generate(rng, "220100", "1", "1")
    export.rows("authorities").append(
        {
            "核发机关名称": f"长春市交通运输局{seed}",
            "统一社会信用代码": authority,
            "行政区划代码": "220100",
            "证号简称": "长",
            "启用电子证照": "否",
        }
    )
    for o in range(operators):
        legacy = f"YH{seed:02d}{o:05d}"
        licence = cert_numbers.licence_number("吉", "长", "220102", rng.randint(1, 999_999))
        export.rows("operators").append(
            {
                "业户编号": legacy,
                "核发机关代码": authority,
                "业户名称": f"长春市测试物流{seed}{o}有限公司",
                "统一社会信用代码": uscc.generate(rng, "220102"),
                "经营地址": "吉林省长春市南关区人民大街1号",
                "行政区划代码": "220102",
                "经济类型": "173",
                "经营状态": "1",
            }
        )
        export.rows("licences").append(
            {
                "许可证号": licence,
                "业户编号": legacy,
                "核发机关代码": authority,
                "证照类型": ROAD_TRANSPORT_LICENCE.type_code,
                "经营范围": "02101",
                "有效期起": TODAY - timedelta(days=30),
                "有效期止": TODAY + timedelta(days=1000),
                "发证日期": TODAY - timedelta(days=30),
                "状态": "有效",
            }
        )
        for v in range(2):
            photo = f"photos/v{seed}-{o}-{v}.png"
            export.photos[photo] = png(colour=(rng.randint(0, 255), o * 40 % 256, v * 90))
            export.rows("vehicles").append(
                {
                    "道路运输证号": cert_numbers.transport_number(
                        "吉", "长", "220100", rng.randint(1, 999_999)
                    ),
                    "业户编号": legacy,
                    "核发机关代码": authority,
                    "许可证号": licence,
                    "车牌号码": plates.generate(rng, "吉", "A"),
                    "车牌颜色": "2",
                    "车辆类型": "H11",
                    "厂牌型号": "解放牌CA1250",
                    "核定吨位（千克）": 18000,
                    "车长（毫米）": 9600,
                    "车宽（毫米）": 2500,
                    "车高（毫米）": 3600,
                    "经营范围": "02101",
                    "技术等级": "1",
                    "车辆运行状态": "10",
                    "网约车": "否",
                    "发证日期": TODAY - timedelta(days=10),
                    "有效期起": TODAY - timedelta(days=10),
                    "有效期止": TODAY + timedelta(days=900),
                    "审验有效期至": TODAY + timedelta(days=300),
                    "照片": photo,
                    "道路运输证状态": "有效",
                }
            )
    for p in range(practitioners):
        birth = date(1980, 3, 14) + timedelta(days=400 * p + seed)
        number = ric.generate(rng, "220102", birth, p % 2 == 0)
        photo = f"photos/p{seed}-{p}.png"
        export.photos[photo] = png(30, 40, (rng.randint(0, 255), 200, p * 30 % 256))
        export.rows("practitioners").append(
            {
                "从业资格证号": number,
                "核发机关代码": authority,
                "姓名": f"张{'一二三四五六七八九'[p % 9]}",
                "证件类型": "111",
                "证件号码": number,
                "性别": "1" if p % 2 == 0 else "2",
                "出生日期": birth,
                "国籍": "中华人民共和国",
                "住址": "吉林省长春市朝阳区解放大路2号",
                "准驾车型": "A2",
                "照片": photo,
            }
        )
        export.rows("qualifications").append(
            {
                "从业资格证号": number,
                "从业资格类别": "02001",
                "初领日期": TODAY - timedelta(days=100),
                "有效期起": TODAY - timedelta(days=100),
                "有效期止": TODAY + timedelta(days=2000),
                "状态": "有效",
            }
        )
    return export
