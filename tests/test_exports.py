"""readmodels.export_sheets and `surveyapp export`: columns, values, scopes, anonymity."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from click.testing import CliRunner

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
    assert all(len(row[9]) == 10 and row[9][4] == "-" for row in staff)


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
                                  "指摘22", *exports.APPROVAL_COLUMNS]
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
    assert worksheet["A1"].value == "code" and worksheet.freeze_panes == "A2"


def test_cli_refuses_scores_without_a_round(invoke, survey, tmp_path):
    result = invoke("--what", "scores", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "調査回" in result.output

