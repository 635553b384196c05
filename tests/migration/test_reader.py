"""Reading an export without the database: files, headers, encodings, cells and row checks."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from pydantic import BaseModel, Field, ValidationError

from roadcert.catalog import codes
from roadcert.catalog.types import ROAD_TRANSPORT_LICENCE
from roadcert.migration import cells
from roadcert.migration.columns import (
    LICENCES,
    OPERATORS,
    PRACTITIONERS,
    QUALIFICATIONS,
    TABLES,
    VEHICLES,
)
from roadcert.migration.reader import ExportUnreadable, Source, discover, open_source
from roadcert.migration.rows import (
    CHECKERS,
    CLEAN_PERSON,
    KeySet,
    Limit,
    limits_of,
    qualification_findings,
)
from roadcert.registry import quality
from tests.migration.exports import province, write_csv

# -- finding the tables --------------------------------------------------------------------------


def test_a_folder_gives_its_tables_in_dependency_order_whatever_the_file_names(
    tmp_path: Path,
) -> None:
    export = province().write(tmp_path / "export")
    # English names sort before Chinese ones: the order must come from the tables, not names.
    (export / "从业资格.csv").rename(export / "qualifications.csv")
    (export / "manifest.json").write_text("{}", encoding="utf-8")  # not a table format
    (export / ".~lock.车辆.csv#").write_text("x", encoding="utf-8")
    (export / "~$存量数据.xlsx").write_bytes(b"lock")  # Excel's lock file is no workbook
    sources = discover(export)
    assert [s.table.name for s in sources] == [t.name for t in TABLES]
    assert sources[-1].path.name == "qualifications.csv"
    assert all(s.format == "csv" for s in sources)


def test_a_csv_whose_name_is_no_table_refuses_the_folder(tmp_path: Path) -> None:
    export = province().write(tmp_path / "export")
    (export / "车辆备份.csv").write_text("车牌号码\n", encoding="utf-8")
    with pytest.raises(ExportUnreadable) as refused:
        discover(export)
    assert refused.value.code == "import.unknown_table"
    assert "车辆备份.csv" in refused.value.message


@pytest.mark.parametrize(
    ("name", "code"),
    [("missing", "import.not_found"), ("notes.txt", "import.format"), ("empty", "import.empty")],
)
def test_paths_that_hold_no_table_are_refused(tmp_path: Path, name: str, code: str) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportUnreadable) as refused:
        discover(tmp_path / name)
    assert refused.value.code == code


def test_one_file_by_its_english_or_chinese_name(tmp_path: Path) -> None:
    export = province().write(tmp_path / "export")
    (export / "车辆.csv").rename(export / "vehicles.csv")
    assert [s.table for s in discover(export / "vehicles.csv")] == [VEHICLES]
    assert [s.table for s in discover(export / "业户.csv")] == [OPERATORS]


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def test_workbook_sheets_are_tables_and_a_lone_sheet_takes_the_file_name(tmp_path: Path) -> None:
    _workbook(tmp_path / "all.xlsx", {"车辆": [VEHICLES.headers], "业户": [OPERATORS.headers]})
    _workbook(tmp_path / "从业资格.xlsx", {"Sheet1": [QUALIFICATIONS.headers]})
    sources = discover(tmp_path)
    assert [(s.table.name, s.name) for s in sources] == [
        ("operators", "all.xlsx:业户"),
        ("vehicles", "all.xlsx:车辆"),
        ("qualifications", "从业资格.xlsx:Sheet1"),
    ]


def test_a_workbook_with_a_sheet_that_is_no_table_is_refused(tmp_path: Path) -> None:
    _workbook(tmp_path / "all.xlsx", {"车辆": [VEHICLES.headers], "说明": [["x"]]})
    with pytest.raises(ExportUnreadable) as refused:
        discover(tmp_path)
    assert refused.value.code == "import.unknown_table" and "说明" in refused.value.message
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ExportUnreadable) as unreadable:
        discover(tmp_path / "bad.xlsx")
    assert unreadable.value.code == "import.unreadable"


# -- headers -------------------------------------------------------------------------------------


def _csv_source(path: Path, headers: list[str], rows: list[list[str]] | None = None) -> Source:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(headers) + "\n")
        for row in rows or []:
            handle.write(",".join(row) + "\n")
    (source,) = discover(path)
    return source


def test_an_unknown_header_refuses_the_file_naming_it(tmp_path: Path) -> None:
    source = _csv_source(tmp_path / "业户.csv", [*OPERATORS.headers, "备注"])
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert refused.value.code == "import.header"
    assert "备注" in refused.value.message and "业户名称" in refused.value.message


def test_a_missing_required_header_refuses_the_file(tmp_path: Path) -> None:
    headers = [h for h in OPERATORS.headers if h not in ("业户名称", "经营状态")]
    source = _csv_source(tmp_path / "业户.csv", headers)
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert "缺少必填列：业户名称、经营状态" in refused.value.message


def test_optional_columns_may_be_left_out_and_trailing_empty_headers_are_ignored(
    tmp_path: Path,
) -> None:
    required = [c.header for c in OPERATORS.columns if c.required]
    source = _csv_source(tmp_path / "业户.csv", [*required, "", ""])
    reader = open_source(source)
    try:
        assert reader.headers == required
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        (["业户编号", "业户编号"], "表头重复：业户编号"),
        (["业户编号", "", "业户名称"], "第 2 列没有表头"),
    ],
)
def test_duplicated_or_blank_headers_refuse_the_file(
    tmp_path: Path, headers: list[str], words: str
) -> None:
    source = _csv_source(tmp_path / "业户.csv", headers)
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert words in refused.value.message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "业户.csv").write_bytes(b"")
    (source,) = discover(tmp_path / "业户.csv")
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert refused.value.code == "import.header"


# -- encodings -----------------------------------------------------------------------------------


def _rows(source: Source, encoding: str = "utf-8") -> list[tuple[int, dict[str, object]]]:
    reader = open_source(source, encoding)
    try:
        return [(row.line, row.cells) for row in reader]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("written", "option"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gb18030", "gb18030")]
)
def test_utf8_with_or_without_bom_and_gb18030_read_the_same(
    tmp_path: Path, written: str, option: str
) -> None:
    export = province()
    write_csv(tmp_path / "业户.csv", OPERATORS.headers, export.rows("operators"), written)
    (source,) = discover(tmp_path / "业户.csv")
    rows = _rows(source, option)
    assert [cells_["业户名称"] for _line, cells_ in rows] == [
        r["业户名称"] for r in export.rows("operators")
    ]
    assert [line for line, _cells in rows] == [2, 3]


def test_a_gb18030_file_read_as_utf8_is_refused_with_the_option_to_use(tmp_path: Path) -> None:
    write_csv(tmp_path / "业户.csv", OPERATORS.headers, province().rows("operators"), "gb18030")
    (source,) = discover(tmp_path / "业户.csv")
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert refused.value.code == "import.encoding"
    assert "--encoding gb18030" in refused.value.message


def test_a_utf8_file_read_as_gb18030_says_so_when_its_headers_do_not_match(tmp_path: Path) -> None:
    write_csv(tmp_path / "业户.csv", OPERATORS.headers, province().rows("operators"), "utf-8")
    (source,) = discover(tmp_path / "业户.csv")
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source, "gb18030")
    assert "看起来是 UTF-8 编码" in refused.value.message


def test_bad_bytes_after_the_first_64_kib_stop_reading_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "业户.csv"
    row = ",".join(["YH1", "x", "长春市某某运输有限公司" * 3, "", "", "220102", "", "1"])
    lines = [",".join(OPERATORS.headers)] + [row] * 2000
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"YH2,\xff\xfe,bad\n")
    (source,) = discover(path)
    reader = open_source(source)  # the first 64 KiB are fine
    with pytest.raises(ExportUnreadable) as refused:
        for _row in reader:
            pass
    reader.close()
    assert refused.value.code == "import.encoding"
    assert "第 2002 行不是有效的 UTF-8 编码" in refused.value.message


# -- rows of each format -------------------------------------------------------------------------


def test_csv_rows_keep_the_line_their_record_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "业户.csv"
    path.write_text(
        ",".join(OPERATORS.headers) + "\n"
        'YH1,A,"多行\n名称",,,220102,,1\n'
        "\n"  # a blank line is no row
        "YH2,A,名称,,,220102,,1,多余\n",
        encoding="utf-8",
    )
    (source,) = discover(path)
    reader = open_source(source)
    rows = list(reader)
    reader.close()
    assert [r.line for r in rows] == [2, 5]
    assert rows[0].cells["业户名称"] == "多行\n名称"
    assert rows[0].problems == []
    assert [(p.rule, p.value) for p in rows[1].problems] == [("row.extra_cells", "多余")]


def test_json_lines_check_the_first_object_as_header_and_report_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "业户.jsonl"
    first = {"业户编号": "YH1", "核发机关代码": "A", "业户名称": "甲", "行政区划代码": "220102"}
    lines = [
        json.dumps({**first, "经营状态": "1"}, ensure_ascii=False),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"业户编号": "YH2", "备注": "多余"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (source,) = discover(path)
    reader = open_source(source)
    rows = list(reader)
    reader.close()
    assert [r.line for r in rows] == [1, 3, 4, 5]
    assert rows[0].cells["经营状态"] == "1" and not rows[0].problems
    assert [p.rule for p in rows[1].problems] == ["row.json"]
    assert [p.rule for p in rows[2].problems] == ["row.not_object"]
    assert [(p.header, p.rule) for p in rows[3].problems] == [("备注", "column.unknown")]
    assert "备注" not in rows[3].cells


def test_json_lines_whose_first_object_lacks_a_required_key_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "业户.jsonl"
    path.write_text(json.dumps({"业户编号": "YH1"}) + "\n", encoding="utf-8")
    (source,) = discover(path)
    with pytest.raises(ExportUnreadable) as refused:
        open_source(source)
    assert "缺少必填列" in refused.value.message


def test_workbook_rows_keep_their_row_number_and_cell_types(tmp_path: Path) -> None:
    headers = QUALIFICATIONS.headers
    _workbook(
        tmp_path / "从业资格.xlsx",
        {
            "从业资格": [
                headers,
                ["220102198003140011", "02001", None, datetime(2024, 5, 1), date(2030, 4, 30)],
                [None] * len(headers),  # formatted but empty
                ["220102198003140011", 3001, None, "2024/05/01", 20300430, None, "多余"],
            ]
        },
    )
    (source,) = discover(tmp_path / "从业资格.xlsx")
    reader = open_source(source)
    rows = list(reader)
    reader.close()
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].cells["有效期起"] == datetime(2024, 5, 1)
    assert rows[1].cells["从业资格类别"] == 3001
    assert [p.rule for p in rows[1].problems] == ["row.extra_cells"]


# -- cells ---------------------------------------------------------------------------------------


def test_code_cells_take_the_code_or_the_chinese_label() -> None:
    assert cells.code("黄色", codes.PlateColor) == "2"
    assert cells.code("2", codes.PlateColor) == "2"
    assert cells.code("重型普通货车", codes.VehicleType) == "H11"
    assert cells.code("紫色", codes.PlateColor) == "紫色"  # kept: the quality rules list it
    assert cells.code_list("道路普通货物运输；02201、 02202", codes.BusinessScope) == [
        "02101",
        "02201",
        "02202",
    ]
    assert cells.code_list(["01101", "县际班车客运"], codes.BusinessScope) == ["01101", "01102"]
    assert cells.cert_type("道路运输经营许可证") == ROAD_TRANSPORT_LICENCE.type_code
    assert cells.cert_type(ROAD_TRANSPORT_LICENCE.type_code) == ROAD_TRANSPORT_LICENCE.type_code


def test_a_workbook_number_gets_back_the_leading_zero_it_lost() -> None:
    assert cells.code(2101, codes.BusinessScope) == "02101"
    assert cells.code(3001, codes.QualificationCategory) == "03001"
    assert cells.code(10, codes.VehicleStatus) == "10"
    assert cells.code(7777, codes.BusinessScope) == "7777"  # no code: kept as given
    assert cells.text(220102.0) == "220102"


@pytest.mark.parametrize(
    "raw",
    ["2024-05-01", "2024/5/1", "20240501", "2024-05-01 00:00:00", datetime(2024, 5, 1, 0, 0)],
)
def test_dates_in_every_accepted_form(raw: object) -> None:
    assert cells.day(raw) == date(2024, 5, 1)


@pytest.mark.parametrize(
    ("parse", "raw", "rule"),
    [
        (cells.day, "2024.05.01", "date.format"),
        (cells.day, "2024-02-30", "date.invalid"),
        (cells.integer, "十二", "integer.format"),
        (cells.integer, True, "integer.format"),
        (cells.flag, "也许", "flag.format"),
        (cells.status, "暂停", "status.format"),
    ],
)
def test_unreadable_cells_name_their_rule(parse: object, raw: object, rule: str) -> None:
    with pytest.raises(cells.CellError) as refused:
        parse(raw)  # type: ignore[operator]
    assert refused.value.rule == rule


def test_flags_statuses_and_integers() -> None:
    assert [cells.flag(v) for v in ("是", "否", "Y", "n", "1", "0", "TRUE", True)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    assert [cells.status(v) for v in ("有效", "注销", "吊销")] == ["active", "cancelled", "revoked"]
    assert [cells.integer(v) for v in ("12", "1,200", "12.0", 12.0, 7)] == [12, 1200, 12, 12, 7]


# -- rows, before the database -------------------------------------------------------------------


def test_every_coded_column_has_its_code_table() -> None:
    coded = {
        (t.name, c.field) for t in TABLES for c in t.columns if c.kind.value in ("code", "codes")
    }
    assert coded == set(cells.CODE_TABLES)


def test_key_set_remembers_keys_and_grows() -> None:
    keys = KeySet()
    assert all(keys.add(f"key-{i}") for i in range(5000))
    assert not keys.add("key-42") and not keys.add("key-4999")
    assert len(keys) == 5000 and keys.nbytes <= 16 * 8 * 1024


def _check(table_name: str, cells_: dict[str, object]) -> list[tuple[str, str]]:
    from roadcert.migration.reader import Row

    checker = CHECKERS[table_name]()
    candidate = checker.check(Row(2, dict(cells_)), KeySet())
    return [(header, rule) for header, rule, _reason, _value in candidate.problems]


def test_the_input_schemas_limits_reject_a_row_naming_the_column() -> None:
    row = dict(province().rows("vehicles")[0])
    row.update({"核定座位": "500", "车牌号码": "吉A" + "1" * 12})
    assert sorted(_check("vehicles", row)) == [
        ("核定座位", "schema.less_than_equal"),
        ("车牌号码", "schema.string_too_long"),
    ]


def test_validity_that_ends_before_it_starts_is_rejected_as_the_service_would() -> None:
    row = dict(province().rows("licences")[0])
    row.update({"有效期起": "2025-01-01", "有效期止": "2024-12-31"})
    assert _check("licences", row) == [("有效期止", "validity.order")]


def test_a_cell_that_does_not_parse_is_reported_once() -> None:
    row = dict(province().rows("practitioners")[0])
    row.update({"出生日期": "1980年", "姓名": ""})
    assert _check("practitioners", row) == [("姓名", "required"), ("出生日期", "date.format")]


def test_the_clean_person_brings_no_finding_of_its_own() -> None:
    assert quality.practitioner_findings({**CLEAN_PERSON, "qualifications": []}) == []
    bad = {"category": "99999", "valid_from": date(2024, 1, 1), "valid_until": date(2025, 1, 1)}
    assert [f.rule for f in qualification_findings(bad)] == ["qualifications.category.code_table"]


def test_tables_list_is_what_the_checkers_cover() -> None:
    assert set(CHECKERS) == {t.name for t in TABLES}
    assert (
        CHECKERS["licences"].table is LICENCES and CHECKERS["practitioners"].table is PRACTITIONERS
    )


# -- the input schemas' limits, without pydantic -------------------------------------------------


def _json_constraints(node: dict[str, Any], path: str = "") -> set[tuple[str, str, Any]]:
    """The constraints pydantic's JSON schema lists for one field, whole numbers' exclusive
    bounds as inclusive ones (how the importer reads them)."""
    found: set[tuple[str, str, Any]] = set()
    for option in node.get("anyOf", [node]):
        for word in ("minLength", "maxLength", "pattern", "minItems", "maxItems"):
            if word in option and not (word in ("minLength", "minItems") and option[word] == 0):
                found.add((path, word.replace("Items", "Length"), option[word]))
        for word, shift in (("minimum", 0), ("exclusiveMinimum", 1)):
            if word in option:
                found.add((path, "minimum", option[word] + shift))
        for word, shift in (("maximum", 0), ("exclusiveMaximum", -1)):
            if word in option:
                found.add((path, "maximum", option[word] + shift))
        if "items" in option:
            found |= _json_constraints(option["items"], path + "items.")
    return found


def _limit_constraints(limit: Limit, path: str = "") -> set[tuple[str, str, Any]]:
    found: set[tuple[str, str, Any]] = set()
    if limit.min_length:
        found.add((path, "minLength", limit.min_length))
    for word, value in (
        ("maxLength", limit.max_length),
        ("pattern", limit.pattern),
        ("minimum", limit.minimum),
        ("maximum", limit.maximum),
    ):
        if value is not None:
            found.add((path, word, value))
    if limit.item is not None:
        found |= _limit_constraints(limit.item, path + "items.")
    return found


def _outside(limit: Limit) -> list[Any]:
    """Values just past each of ``limit``'s bounds."""
    if limit.item is not None:
        return [[value] for value in _outside(limit.item)] + ([[]] if limit.min_length else [])
    values: list[Any] = []
    if limit.type is str:
        if limit.min_length:
            values.append("9" * (limit.min_length - 1))
        if limit.max_length is not None:
            values.append("9" * (limit.max_length + 1))
        if limit.pattern is not None:
            values.append("9" * 5)
    if limit.minimum is not None:
        values.append(limit.minimum - 1)
    if limit.maximum is not None:
        values.append(limit.maximum + 1)
    return values


def _at_the_bounds(limit: Limit) -> list[Any]:
    """Values on each of ``limit``'s bounds, which both accept."""
    if limit.item is not None:
        return [[value] for value in _at_the_bounds(limit.item)]
    values: list[Any] = []
    if limit.type is str and limit.pattern is None:
        values += ["9" * limit.min_length] if limit.min_length else []
        values += ["9" * limit.max_length] if limit.max_length is not None else []
    values += [bound for bound in (limit.minimum, limit.maximum) if bound is not None]
    return values


def _cell(value: Any) -> str:
    return ";".join(value) if isinstance(value, list) else str(value)


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_the_importer_refuses_what_the_input_schema_refuses_without_asking_it(table: str) -> None:
    from roadcert.migration.reader import Row

    checker = CHECKERS[table]()
    schema = checker.schema
    properties = schema.model_json_schema()["properties"]
    # Every constraint the schema sets on a field the export fills is one the importer checks.
    assert checker.limits, table
    for name, limit in checker.limits.items():
        assert _limit_constraints(limit) == _json_constraints(properties[name]), name

    row = dict(province().rows(table)[0])
    clean = checker.check(Row(2, dict(row)), KeySet())
    assert clean.problems == []
    values = clean.values

    def schema_refuses(name: str, value: Any) -> bool:
        data = {n: v for n, v in values.items() if v is not None and n in checker.schema_fields}
        data.update(dict.fromkeys(checker.placeholders, 1))
        try:
            schema.model_validate({**data, name: value})
        except ValidationError as exc:
            return any(e["loc"][0] == name for e in exc.errors())
        return False

    for name, limit in checker.limits.items():
        header = checker.header_of[name]
        # Each constraint gives a value past it (a field without any is checked for its type).
        assert len(_outside(limit)) >= len(_limit_constraints(limit)), name
        for bad in _outside(limit):
            assert schema_refuses(name, bad), (name, bad)
            assert not checker.within_limits({**values, name: bad}), (name, bad)
            if _cell(bad):  # an empty cell is 必填项为空 before any limit
                checked = checker.check(Row(2, {**row, header: _cell(bad)}), KeySet())
                rules = [(h, r) for h, r, _reason, _value in checked.problems]
                assert len(rules) == 1 and rules[0][0] == header, (name, bad, rules)
                assert rules[0][1].startswith("schema."), (name, bad, rules)
        for good in _at_the_bounds(limit):
            assert not schema_refuses(name, good), (name, good)
            assert checker.within_limits({**values, name: good}), (name, good)


def test_a_schema_constraint_the_importer_cannot_check_stops_it_at_once() -> None:
    class Even(BaseModel):
        seats: int = Field(multiple_of=2)

    with pytest.raises(TypeError, match="seats"):
        limits_of(Even, ["seats"])


def test_cell_parsing_remembers_values_without_sharing_lists_between_rows() -> None:
    from roadcert.migration.reader import Row

    checker = CHECKERS["vehicles"]()
    row = dict(province().rows("vehicles")[0])
    row["经营范围"] = "道路普通货物运输；02101"
    first = checker.check(Row(2, dict(row)), KeySet())
    second = checker.check(Row(3, {**row, "道路运输证号": "X2", "车牌号码": "吉A00002"}), KeySet())
    assert first.values["business_scopes"] == second.values["business_scopes"] == ["02101"] * 2
    first.values["business_scopes"].append("01000")
    assert second.values["business_scopes"] == ["02101", "02101"]
    # A refused cell is refused again from memory, with the same words.
    bad = [checker.check(Row(n, {**row, "有效期起": " 2024-02-30 "}), KeySet()) for n in (4, 5)]
    assert [p[1:] for b in bad for p in b.problems] == [
        ("date.invalid", "不存在的日期“2024-02-30”", "2024-02-30")
    ] * 2
