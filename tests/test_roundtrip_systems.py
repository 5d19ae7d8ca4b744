"""The Excel round trip with system blocks (DESIGN.md §12): one row block per system the
所属 answers for, read back into the same system's block of the form."""

from __future__ import annotations

import io

import openpyxl
import pytest

from surveyapp.formats import selfcheck_workbook as workbook_format
from surveyapp.services import excel_roundtrip as roundtrip
from surveyapp.services import self_check
from surveyapp.store import responses as response_store
from tests import systems_world

KEY = b"test-secret-key"


@pytest.fixture
def world(db):
    return systems_world.build(db)


def download(db, world, code="K1"):
    data = roundtrip.form_for_download(db, world.round_id, code, None, KEY)
    return openpyxl.load_workbook(io.BytesIO(data))


def ids(book) -> list:
    sheet = book[workbook_format.FORM_SHEET]
    return [sheet.cell(row, workbook_format.ID_COLUMN).value
            for row in range(2, sheet.max_row + 1)]


def fill(book, cells: dict) -> bytes:
    sheet = book[workbook_format.FORM_SHEET]
    for key, answer in cells.items():
        row = next(row for row in range(2, sheet.max_row + 1)
                   if sheet.cell(row, workbook_format.ID_COLUMN).value == key)
        sheet.cell(row, workbook_format.ANSWER_COLUMN).value = answer
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def block_answers(db, world, code="K1"):
    return {block.code: block.answers
            for block in self_check.blocks(db, world.round_id, 2026, code, world.questionnaire)}


def test_the_form_has_a_row_block_per_system(db, world):
    rows = ids(download(db, world))
    assert rows[:2] == ["DEP-00", "DEP-01"]
    assert "SPW-01@S1" in rows and "SCT-02@S4" in rows
    assert "SPW-00@S3" not in rows  # K2's system
    heading = rows.index("SPW-00@S1") - 1
    assert rows[heading] is None  # the heading row names the system, nothing to fill
    sheet = download(db, world)[workbook_format.FORM_SHEET]
    assert "S1 電子申請システム" in [cell.value for cell in sheet[heading + 2]]


def test_a_block_row_reads_back_into_its_systems_block(db, world):
    data = fill(download(db, world), {"DEP-00": "はい", "SPW-00@S2": "はい",
                                      "SPW-01@S2": "一部実施している"})
    result = roundtrip.preview(db, data, "form.xlsx", KEY, world.round_id, "K1")
    assert not result.problems
    assert {(c.system_code, c.question_id) for c in result.changes} == {
        ("", "DEP-00"), ("S2", "SPW-00"), ("S2", "SPW-01")}
    restored = roundtrip.preview_from_json(roundtrip.preview_to_json(result))
    saved = roundtrip.apply(db, restored, None)
    assert set(saved.changed) == {"DEP-00", "S2:SPW-00", "S2:SPW-01"}
    assert block_answers(db, world)["S2"] == {"SPW-00": "yes", "SPW-01": "partial"}
    assert block_answers(db, world)["S1"] == {}


def test_an_unchanged_file_with_blocks_changes_nothing(db, world):
    response = systems_world.department_response(db, world, "K1")
    self_check.save_form(db, response["id"], response["version"], {}, {},
                         {"S1": ({"SPW-00": "yes"}, {})}, None, world.questionnaire)
    data = fill(download(db, world), {})
    result = roundtrip.preview(db, data, "form.xlsx", KEY, world.round_id, "K1")
    assert (result.changes, result.problems) == ([], [])


def test_a_row_of_another_departments_system_is_invalid(db, world):
    book = download(db, world)
    sheet = book[workbook_format.FORM_SHEET]
    row = ids(book).index("SPW-00@S1") + 2
    sheet.cell(row, workbook_format.ID_COLUMN).value = "SPW-00@S3"  # protected, but
    sheet.cell(row, workbook_format.ANSWER_COLUMN).value = "はい"  # a file can be forged
    out = io.BytesIO()
    book.save(out)
    result = roundtrip.preview(db, out.getvalue(), "form.xlsx", KEY, world.round_id, "K1")
    assert [(p.cell, p.question_id) for p in result.problems] == [(f"B{row}", "SPW-00@S3")]
    assert response_store.find_system_response(db, world.round_id, "S3") is None


def test_a_department_question_with_a_system_mark_is_invalid(db, world):
    book = download(db, world)
    sheet = book[workbook_format.FORM_SHEET]
    row = ids(book).index("SPW-00@S1") + 2
    sheet.cell(row, workbook_format.ID_COLUMN).value = "DEP-00@S1"
    out = io.BytesIO()
    book.save(out)
    result = roundtrip.preview(db, out.getvalue(), "form.xlsx", KEY, world.round_id, "K1")
    assert [p.question_id for p in result.problems] == ["DEP-00@S1"]


def test_invalid_block_cells_are_listed(db, world):
    data = fill(download(db, world), {"SPW-01@S1": "たぶん"})
    result = roundtrip.preview(db, data, "form.xlsx", KEY, world.round_id, "K1")
    assert [p.question_id for p in result.problems] == ["SPW-01@S1"]
