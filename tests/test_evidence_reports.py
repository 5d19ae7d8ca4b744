"""Evidence where it is reported (DESIGN.md §13): the answers export's columns after
`system_code`, the scorecard's "実施している but no evidence" per section, and the
demo's evidence, attachments and carried-over answers."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime

import pytest

from surveyapp import migrations, store
from surveyapp.demo import cast
from surveyapp.demo import loader as demo
from surveyapp.evidence import AnswerEvidence
from surveyapp.formats.attachments import check_attachment
from surveyapp.readmodels import carry_over_figures, scorecards
from surveyapp.readmodels import export_sheets as exports
from surveyapp.services import attachments, rounds
from surveyapp.services import responses as service
from tests.conftest import QUESTIONNAIRES
from tests.test_responses import publish_form

PDF = b"%PDF-1.4\n%%EOF\n"
FORMULA = "=HYPERLINK(\"http://evil.example\")"


@pytest.fixture
def survey(db, make_user, instance_path):
    setup = publish_form(db)
    rounds.set_attachments(db, setup.round_id, True)
    setup.user = make_user("unit1", "department", "U1")
    setup.response_id = service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.user["id"])["id"]
    blobs = attachments.Blobs.of_instance(instance_path)
    files = {"PWD-05": [check_attachment("a.pdf", PDF, 1024),
                        check_attachment("b.pdf", PDF + b"2", 1024)]}
    with attachments.staged(db, blobs, files) as added:
        service.save_draft(db, setup.response_id, 1, {"SYS-00": "yes", "PWD-05": "done"},
                           {"PWD-05": AnswerEvidence("確認", FORMULA, "2021-06-30"),
                            "PWD-06": AnswerEvidence(date="2021-05-01")}, setup.user["id"],
                           files=attachments.Changes(blobs, added))
    return setup


def by_question(sheet) -> dict[str, dict]:
    return {row["question_id"]: row for row in
            (dict(zip(sheet.header, values, strict=True)) for values in sheet.rows)}


def test_the_answers_export_ends_with_system_code_and_the_evidence(db, survey):
    sheet = exports.answers_sheet(db, survey.round_id)
    assert list(sheet.header[-5:]) == ["evidence", "system_code", "evidence_location",
                                       "evidence_date", "attachments"]
    row = by_question(sheet)["PWD-05"]
    shas = [hashlib.sha256(data).hexdigest() for data in (PDF, PDF + b"2")]
    assert (row["system_code"], row["evidence_location"], row["evidence_date"],
            row["attachments"]) == (None, FORMULA, date(2021, 6, 30), ";".join(shas))


def test_an_answer_with_only_a_date_is_exported(db, survey):
    row = by_question(exports.answers_sheet(db, survey.round_id))["PWD-06"]
    assert (row["value"], row["evidence_date"]) == (None, date(2021, 5, 1))  # a real date


def test_the_evidence_date_is_a_real_date_in_the_xlsx(db, survey):
    import openpyxl

    out = io.BytesIO()
    exports.write_file(out, exports.sheet_for(db, "answers", survey.round_id, 2, fmt="xlsx"),
                       "xlsx")
    sheet = openpyxl.load_workbook(out)["回答"]
    headings = [cell.value for cell in sheet[1]]
    column = headings.index("根拠の日付")
    dates = {row[column].value for row in sheet.iter_rows(min_row=2) if row[column].value}
    assert datetime(2021, 6, 30) in dates and all(row[column].is_date for row in
                                                  sheet.iter_rows(min_row=2)
                                                  if row[column].value)


def test_a_location_is_formula_neutralised_in_the_csv(db, survey):
    out = io.BytesIO()
    exports.write_file(out, exports.answers_sheet(db, survey.round_id), "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    [pwd] = [row for row in rows if row["question_id"] == "PWD-05"]
    assert pwd["evidence_location"] == "'" + FORMULA and pwd["evidence_date"] == "2021-06-30"


# --- the demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evidence-demo")
    database = store.connect(folder / "demo.sqlite3")
    migrations.apply(database)
    summary = demo.load_demo(database, QUESTIONNAIRES, attachments_root=folder / "attachments")
    yield database, summary, folder
    database.close()


def test_the_demo_gives_many_answers_a_location_and_a_date(demo_db):
    database = demo_db[0]
    with_evidence = database.execute(
        "SELECT count(*) FROM answers WHERE evidence_location IS NOT NULL "
        "AND evidence_date IS NOT NULL").fetchone()[0]
    assert with_evidence >= 100


def test_the_demo_attaches_generated_pdfs_that_are_on_disk(demo_db):
    database, _summary, folder = demo_db
    links = list(database.query("SELECT answer_attachments.*, responses.department_code "
                                "FROM answer_attachments JOIN responses ON "
                                "responses.id = answer_attachments.response_id"))
    assert len(links) >= 10 and cast.DEPT_LOGIN_UNIT in {row["department_code"] for row in links}
    blobs = attachments.Blobs(folder / "attachments")
    for row in links:
        data = blobs.path(row["sha256"]).read_bytes()
        assert data.startswith(b"%PDF-") and check_attachment(row["filename"], data, len(data))
    assert list(blobs.tmp.iterdir()) == []


def test_the_demo_has_copied_and_confirmed_answers_in_the_carry_over_round(demo_db):
    database, summary, _folder = demo_db
    figures = carry_over_figures.round_carry_over(database, summary.round_ids[
        cast.CARRY_OVER_YEAR])
    assert figures.totals.reconfirmed > 0 and figures.totals.copied > 0
    assert figures.totals.changed > 0
    assert figures.department(cast.DEPT_LOGIN_UNIT) is not None


def test_the_demo_scorecards_count_full_marks_without_evidence(demo_db):
    database, summary, _folder = demo_db
    context = scorecards.round_context(database, summary.round_ids[2021], 5)
    counts = [row.undocumented for card in scorecards.cards_of_round(context)
              for row in card.sections if row.undocumented is not None]
    assert counts and any(counts) and not all(counts)


def test_a_card_counts_per_section_the_submitted_answers_without_evidence(demo_db):
    database, summary, _folder = demo_db
    round_id = summary.round_ids[2021]
    context = scorecards.round_context(database, round_id, 5)
    expected: dict[tuple[str, str], int] = {}
    questionnaire = context.scores.questionnaire
    for row in database.query(
            "SELECT p.department_code, a.question_id FROM answers a JOIN responses p "
            "ON p.id = a.response_id WHERE p.round_id = ? AND p.audience = 'department' "
            "AND p.status = 'submitted' AND a.max_score > 0 AND a.score = a.max_score "
            "AND a.evidence IS NULL AND a.evidence_location IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM answer_attachments l WHERE l.response_id = a.response_id "
            "AND l.question_id = a.question_id)", [round_id]):
        question = questionnaire.question(row["question_id"])
        if question.evidence != "none":
            key = (row["department_code"], question.section_id)
            expected[key] = expected.get(key, 0) + 1
    found = {(card.code, row.id): row.undocumented
             for card in scorecards.cards_of_round(context) for row in card.sections
             if row.undocumented}
    assert found == expected


def test_the_card_pdf_has_the_column(demo_db):
    database, summary, _folder = demo_db
    card = scorecards.build_scorecard(database, summary.round_ids[2021], "0101", 5)
    table = scorecards.section_table(card)
    assert table["columns"][-1] == "根拠なしの実施" and len(table["widths"]) == 6


def test_one_departments_carry_over_figures_equal_its_row_of_the_whole_round(demo_db):
    database, summary, _folder = demo_db
    round_id = summary.round_ids[cast.CARRY_OVER_YEAR]
    whole = carry_over_figures.round_carry_over(database, round_id)
    assert len(whole.departments) > 1
    for figures in whole.departments:
        alone = carry_over_figures.round_carry_over(database, round_id, figures.code)
        assert alone.departments == (figures,) and alone.previous == whole.previous
