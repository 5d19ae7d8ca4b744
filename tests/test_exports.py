"""readmodels.export_sheets and `surveyapp export`: columns, values, scopes, anonymity."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from click.testing import CliRunner

from surveyapp import clock
from surveyapp import exports as writers
from surveyapp.cli import cli
from surveyapp.readmodels import export_sheets as exports
from surveyapp.refusals import Invalid, NotFound, Refusal
from surveyapp.services import responses as response_service
from tests.test_responses import publish_form

CONTRACT_COLUMNS = [
    "fiscal_year", "round_id", "questionnaire_id", "version", "department_code",
    "department_name", "audience", "response_id", "status", "submitted_at", "section_id",
    "question_id", "value", "score", "max_score", "evidence",
    # §12 appended system_code, §13 the evidence after it.
    "system_code", "evidence_location", "evidence_date", "attachments",
]


@pytest.fixture
def survey(db, make_user):
    setup = publish_form(db)
    setup.user = make_user("unit1", "department", "U1")
    make_user("unit2", "department", "U2")
    setup.response_id = response_service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.user["id"])["id"]
    response_service.save_draft(
        db, setup.response_id, 1,
        {"SYS-00": "yes", "PWD-05": "na", "MC-01": ("lock", "shred"), "NOTE-01": "=1+1"},
        {"PWD-05": "2021-05-01"}, setup.user["id"])
    for _ in range(2):
        response_service.submit_staff_response(db, setup.round_id, "U1", setup.q,
                                               {"ST-01": "yes"})
    return setup


def rows_by_question(sheet) -> dict[str, dict]:
    return {row[11]: dict(zip(sheet.header, row, strict=True)) for row in sheet.rows}


def first_row(sheet) -> dict:
    return dict(zip(sheet.header, sheet.rows[0], strict=True))


def test_answers_columns_are_the_contract_in_order(db, survey):
    assert list(exports.answers_sheet(db, survey.round_id).header) == CONTRACT_COLUMNS


def test_answers_export_has_one_row_per_answer(db, survey):
    found = rows_by_question(exports.answers_sheet(db, survey.round_id))
    assert set(found) == {"SYS-00", "PWD-05", "MC-01", "NOTE-01", "ST-01"}


def test_multi_choice_values_are_joined_with_semicolons(db, survey):
    assert rows_by_question(exports.answers_sheet(db, survey.round_id))["MC-01"]["value"] == (
        "lock;shred")


def test_not_applicable_answer_has_an_empty_score_but_its_max(db, survey):
    row = rows_by_question(exports.answers_sheet(db, survey.round_id))["PWD-05"]
    assert (row["value"], row["score"], row["max_score"]) == ("na", None, 4.0)
    assert row["evidence"] == "2021-05-01" and row["section_id"] == "PWD"


def test_department_row_names_the_round_and_the_department(db, survey):
    row = rows_by_question(exports.answers_sheet(db, survey.round_id))["SYS-00"]
    assert (row["fiscal_year"], row["round_id"], row["questionnaire_id"], row["version"],
            row["department_code"], row["department_name"], row["audience"],
            row["status"]) == (2021, survey.round_id, "form-test", "1", "U1", "テストU1",
                               "department", "draft")


def test_staff_rows_carry_only_the_day_of_submission(db, survey):
    staff = [row for row in exports.answers_sheet(db, survey.round_id).rows
             if row[6] == "staff"]
    assert len(staff) == 2
    assert all(type(row[9]) is date for row in staff)


def test_department_scope_leaves_out_staff_rows_and_other_departments(db, survey):
    scope = exports.Scope.for_user("department", "U2")
    assert list(exports.answers_sheet(db, survey.round_id, scope).rows) == []
    own = exports.Scope.for_user("department", "U1")
    audiences = {row[6] for row in exports.answers_sheet(db, survey.round_id, own).rows}
    assert audiences == {"department"}


def test_every_round_is_exported_without_a_round(db, survey):
    assert len(list(exports.answers_sheet(db, None).rows)) == 6


def test_unknown_round_is_not_found(db, survey):
    with pytest.raises(NotFound):
        exports.answers_sheet(db, 999)
    with pytest.raises(NotFound):
        exports.scores_sheet(db, 999, 5)


def test_scores_have_one_row_per_department_with_sections_and_findings(db, survey):
    sheet = exports.scores_sheet(db, survey.round_id, 2)
    assert list(sheet.header) == [*exports.SCORE_COLUMNS, "SCR", "PWD", "MISC", "STF",
                                  "指摘22", *exports.APPROVAL_COLUMNS,
                                  *exports.BASIS_COLUMNS]
    assert [row[0] for row in sheet.rows] == ["U1", "U2"]


def test_scores_leave_out_staff_items_below_the_anonymity_minimum(db, survey):
    below, at = (first_row(exports.scores_sheet(db, survey.round_id, minimum))
                 for minimum in (3, 2))
    assert below["STF"] is None and at["STF"] == 100.0
    assert below["staff_responses"] == 2


def test_department_user_scores_hold_only_its_own_row(db, survey):
    scope = exports.Scope.for_user("department", "U2")
    assert [row[0] for row in exports.scores_sheet(db, survey.round_id, 5, scope).rows] == [
        "U2"]


def test_scope_refuses_an_unknown_role():
    with pytest.raises(Refusal):
        exports.Scope.for_user("staff", None)


def test_scores_need_a_round(db):
    with pytest.raises(Invalid):
        exports.sheet_for(db, "scores", None, 5)


def test_file_names_are_japanese_with_an_ascii_fallback(db, survey):
    from surveyapp.readmodels import rounds as round_reads

    round_ = round_reads.get_round(db, survey.round_id)
    assert exports.file_names("answers", "csv", round_, "U1") == (
        "回答データ_2021年度_U1.csv", f"answers_fy2021-round{survey.round_id}_U1.csv")
    assert exports.file_names("scores", "xlsx", None) == ("得点_全年度.xlsx",
                                                          "scores_all-rounds.xlsx")


@pytest.fixture
def invoke(instance_path, monkeypatch):
    """invoke(*args) -> `surveyapp export ...` against the test instance."""
    # --instance sets this variable; registering it first makes monkeypatch restore it.
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    return lambda *args: CliRunner().invoke(
        cli, ["--instance", str(instance_path), "export", *args])


def test_cli_writes_the_answers_csv(invoke, survey, tmp_path):
    out = tmp_path / "answers.csv"
    result = invoke("--round", str(survey.round_id), "--what", "answers",
                    "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == CONTRACT_COLUMNS
    assert [row[12] for row in rows if row[11] == "NOTE-01"] == ["'=1+1"]


def test_cli_writes_the_scores_xlsx(invoke, survey, tmp_path):
    out = tmp_path / "scores.xlsx"
    result = invoke("--round", str(survey.round_id), "--what", "scores",
                    "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    worksheet = openpyxl.load_workbook(out)["得点"]
    assert worksheet["A1"].value == "所属コード" and worksheet.freeze_panes == "A2"


def test_cli_exports_are_in_the_audit_log(invoke, survey, tmp_path, db):
    invoke("--round", str(survey.round_id), "--what", "scores", "--out",
           str(tmp_path / "scores.csv"))
    [entry] = db.query("SELECT user_id, target_id, detail FROM audit_log "
                       "WHERE action = 'exports.download'")
    assert entry["user_id"] is None and entry["target_id"] == str(survey.round_id)
    assert '"what": "scores"' in entry["detail"] and '"format": "csv"' in entry["detail"]


def test_cli_refuses_scores_without_a_round(invoke, survey, tmp_path):
    result = invoke("--what", "scores", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "調査回" in result.output



# --- for people and for programs ------------------------------------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
DEPARTMENT_ROW = {"fiscal_year": 2021, "round_id": 1, "questionnaire_id": "q", "version": "1",
                  "department_code": "U1", "department_name": "テストU1",
                  "audience": "department", "response_id": 1, "status": "submitted",
                  "submitted_at": "2021-06-30T05:05:09.123456+00:00", "question_id": "A-1",
                  "value": "yes", "score": 1.0, "max_score": 1.0, "evidence": None,
                  "evidence_location": None, "evidence_date": None, "attachments": None}


@pytest.mark.parametrize("what", ["answers", "scores"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_column_has_a_japanese_heading_and_a_note(db, survey, what, fmt):
    sheet = exports.sheet_for(db, what, survey.round_id, 2, fmt=fmt)
    for name in sheet.header:
        assert JAPANESE.search(sheet.label(name)), name
        assert name in sheet.notes, name


def test_csv_keeps_the_contract_field_names_and_xlsx_shows_the_japanese_headings(
        db, survey):
    sheet = exports.sheet_for(db, "scores", survey.round_id, 2, fmt="csv")
    header = next(csv.reader(io.StringIO(
        b"".join(exports.chunks(sheet, "csv")).decode("utf-8-sig"))))
    assert header == list(sheet.header) and header[:2] == ["code", "name"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(exports.chunks(
        exports.sheet_for(db, "scores", survey.round_id, 2, fmt="xlsx"), "xlsx"))))
    assert [cell.value for cell in workbook["得点"][1]][:2] == ["所属コード", "所属名"]


def test_xlsx_guide_sheet_maps_every_heading_to_its_field_name(db, survey):
    sheet = exports.sheet_for(db, "answers", survey.round_id, 2, fmt="xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(exports.chunks(sheet, "xlsx"))))
    assert workbook.sheetnames == ["回答", "項目説明"]
    guide = [[cell.value for cell in row] for row in workbook["項目説明"].iter_rows(min_row=2)]
    assert [row[3] for row in guide] == CONTRACT_COLUMNS
    headings = [cell.value for cell in workbook["回答"][1]]
    assert [row[2] for row in guide] == headings


def test_xlsx_scores_have_no_never_scored_section(db, survey):
    people = exports.sheet_for(db, "scores", survey.round_id, 2, fmt="xlsx")
    programs = exports.sheet_for(db, "scores", survey.round_id, 2, fmt="csv")
    assert "SCR" in programs.header and "SCR" not in people.header


def test_audit_item_columns_follow_the_catalogue_order(db, survey):
    from surveyapp.findings import ordered_findings

    sheet = exports.sheet_for(db, "scores", survey.round_id, 2)
    items = [name for name in sheet.header if re.fullmatch(r"(指摘|意見)\d+", name)]
    assert items and items == ordered_findings(reversed(items))


def test_submitted_at_is_iso_8601_with_the_offset_in_csv():
    row = exports.answer_row(DEPARTMENT_ROW, "A")
    text = b"".join(writers.csv_chunks(exports.ANSWER_COLUMNS, [row])).decode("utf-8-sig")
    assert ",2021-06-30T14:05:09+09:00," in text


def test_submitted_at_is_a_real_excel_date_and_time_in_japan_time():
    row = exports.answer_row(DEPARTMENT_ROW, "A")
    out = io.BytesIO()
    writers.write_xlsx(out, [writers.Sheet("回答", exports.ANSWER_COLUMNS, [row])])
    cell = openpyxl.load_workbook(out)["回答"]["J2"]
    assert cell.value == datetime(2021, 6, 30, 14, 5, 9) and cell.is_date


def test_timezone_setting_moves_every_exported_timestamp():
    try:
        clock.use_zone("UTC")
        assert exports.answer_row(DEPARTMENT_ROW, "A")[9].isoformat() == \
            "2021-06-30T05:05:09+00:00"
    finally:
        clock.use_zone(clock.DEFAULT_ZONE)


def test_xlsx_guide_names_the_zone_of_its_timestamps(db, survey):
    try:
        clock.use_zone("Europe/Paris")
        sheet = exports.sheet_for(db, "answers", survey.round_id, 2, fmt="xlsx")
        assert sheet.notes["submitted_at"].startswith("Europe/Paris の時刻")
    finally:
        clock.use_zone(clock.DEFAULT_ZONE)


def test_an_unknown_timezone_is_refused_with_its_name():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        clock.use_zone("Mars/Olympus")
