"""The Excel round trip carries the evidence's location and date (DESIGN.md §13):
columns G and H, unlocked where the question takes evidence, read back three ways like
the other cells, each bad cell named."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from surveyapp.evidence import AnswerEvidence
from surveyapp.formats import selfcheck_workbook as workbook_format
from surveyapp.refusals import Invalid
from surveyapp.services import excel_roundtrip as roundtrip
from surveyapp.services import responses as response_service
from tests.test_roundtrip import download, preview, row_of, saved, stored, survey  # noqa: F401

LOCATION, DATE = workbook_format.LOCATION_COLUMN, workbook_format.DATE_COLUMN


def set_cells(workbook, question_id: str, **cells) -> bytes:
    sheet = workbook[workbook_format.FORM_SHEET]
    row = row_of(workbook, question_id)
    for column, value in cells.items():
        sheet.cell(row, {"location": LOCATION, "date": DATE,
                         "note": workbook_format.EVIDENCE_COLUMN}[column]).value = value
    return saved(workbook)


def test_the_form_has_location_and_date_columns_with_the_stored_values(db, survey):  # noqa: F811
    workbook = download(db, survey)
    sheet = workbook[workbook_format.FORM_SHEET]
    assert [cell.value for cell in sheet[1]][-2:] == ["根拠の保管場所", "根拠の日付（yyyy-mm-dd）"]
    row = row_of(workbook, "PWD-05")
    assert sheet.cell(row, DATE).value.date() == date(2021, 5, 1)
    assert sheet.cell(row, DATE).number_format == "yyyy-mm-dd"


def test_location_and_date_cells_are_open_only_where_evidence_is_taken(db, survey):  # noqa: F811
    workbook = download(db, survey)
    sheet = workbook[workbook_format.FORM_SHEET]
    for column in (LOCATION, DATE):
        assert not sheet.cell(row_of(workbook, "PWD-05"), column).protection.locked
        assert sheet.cell(row_of(workbook, "SYS-00"), column).protection.locked


def test_location_and_date_from_the_file_are_previewed_and_applied(db, survey):  # noqa: F811
    data = set_cells(download(db, survey), "PWD-06", location="文書管理システム 第12号",
                     date=datetime(2021, 7, 1))
    result = preview(db, survey, data)
    assert result.problems == []
    assert result.evidence == {"PWD-06": AnswerEvidence(None, "文書管理システム 第12号",
                                                       "2021-07-01")}
    [change] = result.changes
    assert change.new_evidence == "文書管理システム 第12号 / 2021-07-01"
    roundtrip.apply(db, result, survey.user["id"])
    assert stored(db, survey)[1]["PWD-06"].location == "文書管理システム 第12号"


def test_a_date_typed_as_text_is_read_too(db, survey):  # noqa: F811
    data = set_cells(download(db, survey), "PWD-06", date="2021/7/1")
    assert preview(db, survey, data).evidence["PWD-06"].date == "2021-07-01"


@pytest.mark.parametrize("cell, reason", [
    ("2099-01-01", "未来の日付"), ("来月", "日付として読み取れません"),
    (datetime(1999, 12, 31), "古すぎます")])
def test_a_bad_date_cell_is_named_with_the_reason(db, survey, cell, reason):  # noqa: F811
    result = preview(db, survey, set_cells(download(db, survey), "PWD-06", date=cell))
    [problem] = result.problems
    assert problem.cell == f"H{row_of(download(db, survey), 'PWD-06')}"
    assert reason in problem.reason


def test_a_location_on_a_question_without_evidence_is_refused(db, survey):  # noqa: F811
    workbook = download(db, survey)
    workbook[workbook_format.FORM_SHEET].protection.sheet = False
    result = preview(db, survey, set_cells(workbook, "SYS-00", location="台帳"))
    assert result.problems[0].cell.startswith("G") and "根拠を記入できません" in (
        result.problems[0].reason)


def test_a_location_saved_on_the_web_after_the_download_is_kept(db, survey):  # noqa: F811
    data = set_cells(download(db, survey), "PWD-06", note="Excel のメモ")
    response_service.save_draft(db, survey.response_id, 2, {},
                                {"PWD-06": AnswerEvidence(None, "Web の台帳", "2021-06-01")},
                                survey.user["id"])
    result = preview(db, survey, data)
    assert result.evidence["PWD-06"] == AnswerEvidence("Excel のメモ", "Web の台帳",
                                                       "2021-06-01")


def test_a_form_of_the_first_format_asks_for_a_new_download(db, survey):  # noqa: F811
    workbook = download(db, survey)
    meta = workbook[workbook_format.META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "format":
            row[1].value = "surveyapp-selfcheck-form-1"
    with pytest.raises(Invalid, match="もう一度ダウンロード"):
        preview(db, survey, saved(workbook))
