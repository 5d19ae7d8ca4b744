"""The Excel round-trip pages: download, upload, preview, confirm; scope and errors."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from surveyapp.formats import selfcheck_workbook
from surveyapp.services import responses as response_service
from surveyapp.services import rounds as round_service
from tests.test_responses import publish_form
from tests.test_roundtrip import row_of, saved


@pytest.fixture
def setup(db, make_user):
    survey = publish_form(db)
    make_user("unit1", "department", "U1")
    make_user("unit2", "department", "U2")
    make_user("admin1", "admin")
    survey.base = f"/exports/rounds/{survey.round_id}/self-check/U1"
    return survey


@pytest.fixture
def unit(client, login_as, setup):
    login_as(client, "unit1")
    return client


def downloaded(client, setup):
    response = client.get(f"{setup.base}/form.xlsx")
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.get_data()))


def filled(workbook, question_id, answer, note=None) -> bytes:
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    row = row_of(workbook, question_id)
    sheet.cell(row, selfcheck_workbook.ANSWER_COLUMN).value = answer
    if note is not None:
        sheet.cell(row, selfcheck_workbook.EVIDENCE_COLUMN).value = note
    return saved(workbook)


def upload(client, setup, data, filename="form.xlsx"):
    return client.post(f"{setup.base}/upload",
                       data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def stored_answers(db, setup):
    response = response_service.find_department_response(db, setup.round_id, "U1")
    return response_service.load_answers(db, response["id"])[0]


def test_form_download_has_a_japanese_file_name(unit, setup):
    header = unit.get(f"{setup.base}/form.xlsx").headers["Content-Disposition"]
    assert "filename*=UTF-8''%E8%87%AA%E5%B7%B1%E7%82%B9%E6%A4%9C" in header
    assert 'filename="selfcheck_fy2021_U1.xlsx"' in header


def test_upload_shows_the_preview_and_applies_nothing(unit, setup, db):
    response = upload(unit, setup, filled(downloaded(unit, setup), "PWD-06", "実施している"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "まだ何も保存していません" in html and "PWD-06" in html and "実施している" in html
    assert stored_answers(db, setup) == {}


def test_confirm_applies_the_previewed_changes(unit, setup, db):
    upload(unit, setup, filled(downloaded(unit, setup), "PWD-06", "done"))
    response = unit.post(f"{setup.base}/apply")
    assert response.status_code == 302
    assert stored_answers(db, setup) == {"PWD-06": "done"}
    assert unit.post(f"{setup.base}/apply").status_code == 302  # the preview is used up
    assert stored_answers(db, setup) == {"PWD-06": "done"}


def test_invalid_cells_are_shown_with_reasons_and_no_confirm_button(unit, setup):
    html = upload(unit, setup, filled(downloaded(unit, setup), "DAY-01", "昨日")
                  ).get_data(as_text=True)
    assert "誤りのあるセル" in html and "E6" in html and "yyyy-mm-dd" in html
    assert f"{setup.base}/apply" not in html


def test_apply_with_invalid_cells_is_refused(unit, setup, db):
    upload(unit, setup, filled(downloaded(unit, setup), "DAY-01", "昨日"))
    response = unit.post(f"{setup.base}/apply")
    assert response.status_code == 400 and stored_answers(db, setup) == {}


def test_conflict_on_the_same_question_asks_for_overwrite(unit, setup, db):
    data = filled(downloaded(unit, setup), "PWD-06", "done")
    response = response_service.find_department_response(db, setup.round_id, "U1")
    response_service.save_draft(db, response["id"], 1, {"PWD-06": "none"}, {}, None)
    html = upload(unit, setup, data).get_data(as_text=True)
    assert "ダウンロード時の版 1、現在の版 2" in html and "他の人が変更" in html
    assert 'name="overwrite"' in html
    assert unit.post(f"{setup.base}/apply").status_code == 400
    assert stored_answers(db, setup) == {"PWD-06": "none"}
    assert unit.post(f"{setup.base}/apply", data={"overwrite": "yes"}).status_code == 302
    assert stored_answers(db, setup) == {"PWD-06": "done"}


def test_save_between_preview_and_apply_is_reported(unit, setup, db):
    upload(unit, setup, filled(downloaded(unit, setup), "PWD-06", "done"))
    response = response_service.find_department_response(db, setup.round_id, "U1")
    response_service.save_draft(db, response["id"], 1, {"SYS-00": "no"}, {}, None)
    page = unit.post(f"{setup.base}/apply", follow_redirects=True).get_data(as_text=True)
    assert "他の人がこの回答を保存しました" in page
    assert "PWD-06" not in stored_answers(db, setup)


def test_submitted_response_upload_is_refused_clearly(unit, setup, db):
    data = filled(downloaded(unit, setup), "PWD-06", "done")
    response = response_service.find_department_response(db, setup.round_id, "U1")
    response_service.submit(db, response["id"], 1, {"SYS-00": "no"}, {}, None)
    reply = upload(unit, setup, data)
    assert reply.status_code == 400 and "提出済み" in reply.get_data(as_text=True)


def test_closed_round_form_download_says_whom_to_ask(unit, setup, db):
    round_service.close_round(db, setup.round_id)
    page = unit.get(f"{setup.base}/form.xlsx", follow_redirects=True).get_data(as_text=True)
    assert "現在回答を受け付けていません" in page and "情報企画課に確認してください" in page


def test_macro_workbook_name_is_refused(unit, setup):
    reply = upload(unit, setup, saved(downloaded(unit, setup)), filename="form.xlsm")
    assert reply.status_code == 400 and "マクロ付きブック" in reply.get_data(as_text=True)


def test_a_refused_upload_is_explained_in_the_chosen_language(unit, setup):
    unit.post("/lang", data={"lang": "en"})
    reply = upload(unit, setup, saved(downloaded(unit, setup)), filename="form.xlsm")
    assert reply.status_code == 400
    assert "Macro-enabled workbooks (.xlsm)" in reply.get_data(as_text=True)


def test_upload_without_a_file_is_refused(unit, setup):
    reply = unit.post(f"{setup.base}/upload", data={}, content_type="multipart/form-data")
    assert reply.status_code == 400 and "ファイルを選んでください" in reply.get_data(as_text=True)


def test_other_departments_form_pages_are_404(client, login_as, setup):
    login_as(client, "unit2")
    assert client.get(f"{setup.base}/form.xlsx").status_code == 404
    assert client.get(f"{setup.base}/upload").status_code == 404
    assert upload(client, setup, b"x").status_code == 404
    assert client.post(f"{setup.base}/apply").status_code == 404


def test_admin_does_not_fill_department_forms(client, login_as, setup):
    login_as(client, "admin1")
    assert client.get(f"{setup.base}/form.xlsx").status_code == 404


def test_another_departments_file_is_refused_on_upload(client, login_as, setup):
    login_as(client, "unit2")
    other = client.get(
        f"/exports/rounds/{setup.round_id}/self-check/U2/form.xlsx").get_data()
    client.post("/logout")
    login_as(client, "unit1")
    reply = upload(client, setup, other)
    assert reply.status_code == 400 and "別の所属" in reply.get_data(as_text=True)


def test_upload_page_has_no_inline_script(unit, setup):
    html = unit.get(f"{setup.base}/upload").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [] and " style=" not in html


CELL_VALUES = st.one_of(
    st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=True),
    st.booleans(), st.sampled_from(["=1+1", "@x", "done;none", "実施している", "2021-02-30"]))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=CELL_VALUES, note=CELL_VALUES,
       question=st.sampled_from(["SYS-00", "PWD-05", "CNT-01", "DAY-01", "MC-01", "NOTE-01"]))
def test_any_cell_value_gets_a_page_never_a_500(unit, setup, answer, note, question):
    workbook = downloaded(unit, setup)
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    row = row_of(workbook, question)
    try:
        sheet.cell(row, selfcheck_workbook.ANSWER_COLUMN).value = answer
        sheet.cell(row, selfcheck_workbook.EVIDENCE_COLUMN).value = note
    except IllegalCharacterError:  # openpyxl itself refuses control characters
        return
    response = upload(unit, setup, saved(workbook))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert unit.post(f"{setup.base}/apply").status_code in (302, 400)
