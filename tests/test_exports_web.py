"""Download pages: streamed CSV/XLSX, file names (RFC 5987), role and 所属 rules."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

import openpyxl
import pytest

from surveyapp.services import responses as response_service
from surveyapp.store import audit as audit_store
from tests.test_exports import CONTRACT_COLUMNS
from tests.test_responses import publish_form


@pytest.fixture
def setup(db, make_user):
    survey = publish_form(db)
    survey.user = make_user("unit1", "department", "U1")
    make_user("unit2", "department", "U2")
    make_user("admin1", "admin")
    make_user("auditor1", "auditor")
    response_id = response_service.get_or_create_department_response(
        db, survey.round_id, "U1", survey.user["id"])["id"]
    response_service.save_draft(db, response_id, 1, {"SYS-00": "yes", "NOTE-01": "@SUM(1)"},
                                {}, survey.user["id"])
    response_service.submit_staff_response(db, survey.round_id, "U1", survey.q,
                                           {"ST-01": "no"})
    return survey


def logged_in(client, login_as, login):
    login_as(client, login)
    return client


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def test_admin_downloads_the_round_answers_as_csv(client, login_as, setup):
    response = logged_in(client, login_as, "admin1").get(
        f"/exports/rounds/{setup.round_id}/answers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 4
    rows = csv_rows(response)
    assert rows[0] == CONTRACT_COLUMNS
    assert {row[6] for row in rows[1:]} == {"department", "staff"}
    assert "'@SUM(1)" in [row[12] for row in rows]


def test_file_name_is_japanese_per_rfc_5987_with_an_ascii_fallback(client, login_as, setup):
    response = logged_in(client, login_as, "admin1").get(
        f"/exports/rounds/{setup.round_id}/scores.xlsx")
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert f'filename="scores_fy2021-round{setup.round_id}.xlsx"' in header
    encoded = re.search(r"filename\*=UTF-8''(\S+)", header).group(1)
    assert unquote(encoded) == "得点_2021年度.xlsx"
    assert header.isascii()


def test_fallback_file_name_keeps_only_plain_characters():
    from surveyapp.web.views.exports import content_disposition

    header = content_disposition("回答_\"x\".csv", 'answers_"x"\r\n.csv')
    assert header == ("attachment; filename=\"answers__x___.csv\"; "
                      "filename*=UTF-8''%E5%9B%9E%E7%AD%94_%22x%22.csv")


def test_auditor_downloads_scores_as_xlsx_with_a_japanese_sheet(client, login_as, setup):
    response = logged_in(client, login_as, "auditor1").get(
        f"/exports/rounds/{setup.round_id}/scores.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["得点", "項目説明"]
    assert [row[0] for row in workbook["得点"].iter_rows(min_row=2, values_only=True)] == [
        "U1", "U2"]


def test_department_user_gets_only_its_own_department_rows(client, login_as, setup):
    response = logged_in(client, login_as, "unit2").get(
        f"/exports/rounds/{setup.round_id}/answers.csv")
    assert csv_rows(response)[1:] == []
    response = client.get(f"/exports/rounds/{setup.round_id}/scores.csv")
    assert [row[0] for row in csv_rows(response)[1:]] == ["U2"]


def test_department_user_never_gets_staff_rows(client, login_as, setup):
    response = logged_in(client, login_as, "unit1").get(
        f"/exports/rounds/{setup.round_id}/departments/U1/answers.csv")
    assert {row[6] for row in csv_rows(response)[1:]} == {"department"}


def test_another_departments_file_is_404(client, login_as, setup):
    response = logged_in(client, login_as, "unit2").get(
        f"/exports/rounds/{setup.round_id}/departments/U1/answers.xlsx")
    assert response.status_code == 404


def test_admin_gets_one_departments_staff_rows_too(client, login_as, setup):
    response = logged_in(client, login_as, "admin1").get(
        f"/exports/rounds/{setup.round_id}/departments/U1/answers.csv")
    assert {row[6] for row in csv_rows(response)[1:]} == {"department", "staff"}


def test_unknown_round_or_department_is_404(client, login_as, setup):
    logged_in(client, login_as, "admin1")
    assert client.get("/exports/rounds/999/answers.csv").status_code == 404
    assert client.get(f"/exports/rounds/{setup.round_id}/departments/NOPE/scores.csv"
                      ).status_code == 404
    assert client.get(f"/exports/rounds/{setup.round_id}/answers.pdf").status_code == 404


def test_all_rounds_answers_download(client, login_as, setup):
    response = logged_in(client, login_as, "auditor1").get("/exports/all/answers.xlsx")
    worksheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["回答"]
    assert worksheet.max_row == 4 and worksheet.freeze_panes == "A2"


def test_downloads_are_written_to_the_audit_log(client, login_as, setup, db):
    logged_in(client, login_as, "auditor1").get(
        f"/exports/rounds/{setup.round_id}/answers.csv").get_data()
    (entry,) = audit_store.list_entries(db, action="exports.download")
    assert entry["target_id"] == str(setup.round_id)


def test_anonymous_visitors_are_sent_to_log_in(client, setup):
    response = client.get(f"/exports/rounds/{setup.round_id}/answers.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_index_lists_rounds_with_download_links_and_no_inline_script(client, login_as, setup):
    html = logged_in(client, login_as, "admin1").get("/exports/").get_data(as_text=True)
    assert f"/exports/rounds/{setup.round_id}/answers.csv" in html
    assert "/exports/all/answers.xlsx" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [] and " style=" not in html


def test_index_offers_the_excel_form_to_department_users(client, login_as, setup):
    html = logged_in(client, login_as, "unit1").get("/exports/").get_data(as_text=True)
    assert f"/exports/rounds/{setup.round_id}/self-check/U1/form.xlsx" in html


def test_round_results_page_links_to_the_downloads(client, login_as, setup):
    html = logged_in(client, login_as, "auditor1").get(
        f"/results/rounds/{setup.round_id}/").get_data(as_text=True)
    assert f"/exports/rounds/{setup.round_id}/scores.xlsx" in html
