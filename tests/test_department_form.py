"""The department self-check form pages: draft, resume, conflict, errors, submit,
autosave, 所属 scope, closed rounds, reopen and the history page."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from surveyapp.evidence import AnswerEvidence
from surveyapp.services import responses as service
from surveyapp.services import rounds
from surveyapp.store import audit as audit_store
from surveyapp.web import forms
from tests.test_responses import publish_form


@pytest.fixture
def setup(db, make_user):
    return department_form_survey(db, make_user)


def department_form_survey(db, make_user):
    """The published form of tests/test_responses.py with a 所属 user, a colleague, a
    user of another 所属, an admin, an auditor, and the form's URL."""
    survey = publish_form(db)
    survey.user = make_user("unit1", "department", "U1")
    survey.colleague = make_user("unit1b", "department", "U1")
    survey.stranger = make_user("unit2", "department", "U2")
    survey.admin = make_user("admin1", "admin")
    survey.auditor = make_user("auditor1", "auditor")
    survey.url = f"/rounds/{survey.round_id}/self-check/U1"
    return survey


@pytest.fixture
def unit(client, setup, login_as):
    login_as(client, "unit1")
    return client


def page(client, url):
    response = client.get(url, follow_redirects=True)
    return response, response.get_data(as_text=True)


def current_version(db, setup):
    return service.find_department_response(db, setup.round_id, "U1")["version"]


def post(client, setup, data, url=None, version=1):
    return client.post(url or setup.url, data={"version": str(version), **data})


def test_form_shows_sections_required_marks_and_evidence(unit, setup):
    response, html = page(unit, setup.url)
    assert response.status_code == 200
    assert "<legend>パスワード</legend>" in html
    assert "（必須）" in html
    assert 'name="e_PWD-05"' in html and "確認日" in html


def test_form_links_the_excel_round_trip(unit, setup):
    _response, html = page(unit, setup.url)
    assert f"{setup.url}/form.xlsx".replace("/rounds/", "/exports/rounds/") in html


def test_relevance_expression_is_rendered_as_json_data(unit, setup):
    _response, html = page(unit, setup.url)
    match = re.search(r"data-relevant='([^']*)'", html)
    assert json.loads(match.group(1).replace("&#34;", '"')) == {
        "op": "==", "ref": "SYS-00", "values": ["yes"]}


def test_form_page_has_no_inline_script(unit, setup):
    _response, html = page(unit, setup.url)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html and "onclick" not in html


def test_draft_saved_and_resumed(unit, setup):
    response = post(unit, setup, {"action": "draft", "q_SYS-00": "yes", "q_NOTE-01": "メモ"})
    assert response.status_code == 302
    _response, html = page(unit, setup.url)
    assert re.search(r'checked[^>]*value="yes"|value="yes"[^>]*checked', html)
    assert "メモ" in html and "下書きを保存しました" in html


def test_version_conflict_gives_the_input_back_with_a_message(unit, db, setup):
    page(unit, setup.url)
    service.save_draft(db, service.find_department_response(db, setup.round_id, "U1")["id"],
                       1, {"NOTE-01": "同僚の記入"}, {}, setup.colleague["id"])
    response = post(unit, setup, {"action": "draft", "q_NOTE-01": "私の記入"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "他の人がこの回答を保存しました" in html
    assert "私の記入" in html and "同僚の記入" in html
    assert service.load_answers(db, 1)[0]["NOTE-01"] == "同僚の記入"


def test_after_a_conflict_the_shown_version_saves(unit, db, setup):
    page(unit, setup.url)
    service.save_draft(db, 1, 1, {"NOTE-01": "同僚の記入"}, {}, setup.colleague["id"])
    post(unit, setup, {"action": "draft", "q_NOTE-01": "私の記入"})
    response = post(unit, setup, {"action": "draft", "q_NOTE-01": "私の記入"}, version=2)
    assert response.status_code == 302
    assert service.load_answers(db, 1)[0]["NOTE-01"] == "私の記入"


def test_invalid_value_rerenders_with_summary_and_everything_typed(unit, setup):
    page(unit, setup.url)
    response = post(unit, setup, {"action": "draft", "q_CNT-01": "十二人",
                                  "q_NOTE-01": "残したい文"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in html and 'href="#q_CNT-01"' in html
    assert "数値を半角数字で入力してください" in html
    assert "十二人" in html and "残したい文" in html


def test_valid_answers_are_kept_when_another_field_is_invalid(unit, db, setup):
    page(unit, setup.url)
    post(unit, setup, {"action": "draft", "q_CNT-01": "abc", "q_NOTE-01": "残したい文"})
    assert service.load_answers(db, 1)[0] == {"NOTE-01": "残したい文"}


def test_submit_with_missing_required_answer_lists_it(unit, setup):
    page(unit, setup.url)
    response = post(unit, setup, {"action": "submit", "q_SYS-00": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#q_PWD-05-0"' in html and "この設問は回答が必要です" in html


def complete(extra=None):
    return {"q_SYS-00": "yes", "q_PWD-05": "done", "e_PWD-05": "2021-06-01",
            "ed_PWD-05": "2021-06-01", **(extra or {})}


def test_submit_goes_to_confirmation_and_confirm_locks(unit, db, setup):
    page(unit, setup.url)
    response = post(unit, setup, {"action": "submit", **complete()})
    html = response.get_data(as_text=True)
    assert "提出内容の確認" in html and 'name="e_PWD-05" value="2021-06-01"' in html
    assert service.find_department_response(db, setup.round_id, "U1")["status"] == "draft"
    confirmed = post(unit, setup, complete(), url=setup.url + "/confirm",
                     version=current_version(db, setup))
    assert confirmed.status_code == 302
    assert service.find_department_response(db, setup.round_id, "U1")["status"] == "submitted"


def submit_via_web(client, db, setup):
    page(client, setup.url)
    post(client, setup, {"action": "submit", **complete()})
    post(client, setup, complete(), url=setup.url + "/confirm",
         version=current_version(db, setup))


def test_saving_after_submit_is_refused_and_input_kept(unit, db, setup):
    submit_via_web(unit, db, setup)
    response = post(unit, setup, {"action": "draft", "q_NOTE-01": "後から"},
                    version=current_version(db, setup))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "提出済みのため変更できません" in html and "後から" in html


def test_submitted_form_url_shows_the_result(unit, db, setup):
    submit_via_web(unit, db, setup)
    _response, html = page(unit, setup.url)
    assert "総合得点" in html and "提出済み" in html


def test_result_shows_scores_and_quiz_explanation(unit, db, setup):
    page(unit, setup.url)
    post(unit, setup, {"action": "submit", **complete({"q_QZ-01": "a"})})
    post(unit, setup, complete({"q_QZ-01": "a"}), url=setup.url + "/confirm",
         version=current_version(db, setup))
    _response, html = page(unit, "/responses/1")
    assert "必要なときに使える状態を保つことが可用性です。" in html
    assert "指摘22" in html and "重点フォロー" in html


def test_autosave_endpoint_saves_and_returns_the_new_version(unit, db, setup):
    page(unit, setup.url)
    response = post(unit, setup, {"q_NOTE-01": "自動"}, url=setup.url + "/autosave")
    body = response.get_json()
    assert response.status_code == 200 and body["version"] == 2
    assert body["message"].startswith("自動保存しました ")
    assert service.load_answers(db, 1)[0]["NOTE-01"] == "自動"


def test_autosave_answers_the_time_saved_as_iso_8601_with_the_offset(unit, setup):
    page(unit, setup.url)
    body = post(unit, setup, {"q_NOTE-01": "x"}, url=setup.url + "/autosave").get_json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", body["saved_at"])


def test_autosave_conflict_answers_409_json(unit, db, setup):
    page(unit, setup.url)
    service.save_draft(db, 1, 1, {"NOTE-01": "同僚"}, {}, setup.colleague["id"])
    response = post(unit, setup, {"q_NOTE-01": "自動"}, url=setup.url + "/autosave")
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"


def test_autosave_reports_invalid_fields_without_saving_them(unit, db, setup):
    page(unit, setup.url)
    body = post(unit, setup, {"q_CNT-01": "x", "q_NOTE-01": "ok"},
                url=setup.url + "/autosave").get_json()
    assert "q_CNT-01" in body["errors"]
    assert service.load_answers(db, 1)[0] == {"NOTE-01": "ok"}


def test_form_page_carries_autosave_settings(unit, setup):
    _response, html = page(unit, setup.url)
    assert 'data-autosave-seconds="20"' in html and 'aria-live="polite"' in html
    assert f'data-autosave-url="{setup.url}/autosave"' in html


def test_another_departments_form_is_404(client, setup, login_as):
    login_as(client, "unit2")
    assert client.get(setup.url).status_code == 404
    assert post(client, setup, {"action": "draft"}).status_code == 404
    assert post(client, setup, {}, url=setup.url + "/autosave").status_code == 404


def test_another_departments_response_view_is_404(client, db, setup, login_as):
    service.get_or_create_department_response(db, setup.round_id, "U1", setup.user["id"])
    login_as(client, "unit2")
    assert client.get("/responses/1").status_code == 404


def test_admin_views_any_response_read_only(client, db, setup, login_as):
    service.get_or_create_department_response(db, setup.round_id, "U1", setup.user["id"])
    login_as(client, "admin1")
    response, html = page(client, setup.url)
    assert response.status_code == 200 and "回答内容" in html
    assert 'id="self-check-form"' not in html
    assert post(client, setup, {"action": "draft"}).status_code == 404


def test_round_not_open_shows_a_clear_message(unit, db, setup):
    rounds.close_round(db, setup.round_id)
    response, html = page(unit, setup.url)
    assert response.status_code == 200
    assert "この調査回は現在回答を受け付けていません" in html


def test_round_closed_while_editing_keeps_the_input(unit, db, setup):
    page(unit, setup.url)
    rounds.close_round(db, setup.round_id)
    response = post(unit, setup, {"action": "draft", "q_NOTE-01": "締切後の入力"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "回答を受け付けていません" in html and "締切後の入力" in html


def test_reopen_requires_a_reason_and_is_audit_logged(client, db, setup, login_as):
    login_as(client, "unit1")
    submit_via_web(client, db, setup)
    client.post("/logout")
    login_as(client, "admin1")
    client.post("/responses/1/reopen", data={"reason": " "})
    assert service.get_response(db, 1)["status"] == "submitted"
    client.post("/responses/1/reopen", data={"reason": "記入誤りの訂正"})
    assert service.get_response(db, 1)["status"] == "reopened"
    assert audit_store.list_entries(db, action="response.reopen")


def test_reopen_form_is_not_for_auditors(client, db, setup, login_as):
    login_as(client, "unit1")
    submit_via_web(client, db, setup)
    client.post("/logout")
    login_as(client, "auditor1")
    assert "再開の理由" not in page(client, "/responses/1")[1]
    assert client.post("/responses/1/reopen", data={"reason": "x"}).status_code == 404


def test_history_page_lists_changes_newest_first(unit, setup):
    page(unit, setup.url)
    post(unit, setup, {"action": "draft", "q_SYS-00": "yes"})
    post(unit, setup, {"action": "draft", "q_SYS-00": "no"}, version=2)
    _response, html = page(unit, "/self-check/history")
    assert html.index("いいえ") < html.index("（未回答）")


def test_history_page_of_a_department_user_is_their_own(client, db, setup, login_as):
    response = service.get_or_create_department_response(db, setup.round_id, "U1", None)
    service.save_draft(db, response["id"], 1, {"NOTE-01": "U1の秘密"}, {}, setup.user["id"])
    login_as(client, "unit2")
    assert "U1の秘密" not in page(client, "/self-check/history?department=U1")[1]


def test_history_page_rejects_a_bad_date_clearly(unit, setup):
    response, html = page(unit, "/self-check/history?from=2021-13-99")
    assert response.status_code == 200 and "yyyy-mm-dd" in html


def test_index_links_the_open_round(unit, setup):
    _response, html = page(unit, "/self-check")
    assert setup.url in html


def test_index_names_each_round_by_its_year_and_questionnaire_title(unit, setup):
    _response, html = page(unit, "/self-check")
    assert f"<td>令和3年度 (2021) {setup.q.title.ja}（版 1）</td>" in html


def test_field_builders_cover_exactly_the_question_types():
    from surveyapp import question_types
    from surveyapp.web import question_widgets

    assert set(question_widgets.BUILDERS) == set(question_types.REGISTRY)


field_names = st.one_of(
    st.sampled_from(["q_SYS-00", "q_PWD-05", "e_PWD-05", "el_PWD-05", "ed_PWD-05",
                     "ear_PWD-05", "confirm_PWD", "confirm_shown", "q_CNT-01", "q_DAY-01",
                     "q_MC-01", "q_QZ-01", "q_NOTE-01", "version", "action", "csrf_token"]),
    st.text(max_size=12))
form_posts = st.lists(st.tuples(field_names, st.text(max_size=60)), max_size=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=form_posts, target=st.sampled_from(["", "/autosave", "/confirm"]))
def test_fuzzed_form_posts_never_cause_a_server_error(unit, setup, pairs, target):
    page(unit, setup.url)
    response = unit.post(setup.url + target, data=MultiDict(pairs))
    assert response.status_code < 500


def test_ids_beyond_the_database_range_are_404(unit, setup):
    assert unit.get("/responses/99999999999999999999999").status_code == 404
    assert unit.get("/rounds/99999999999999999999/self-check/U1").status_code == 404


def test_quiz_explanation_is_not_shown_before_submission(unit, setup):
    page(unit, setup.url)
    assert "可用性です。" not in page(unit, "/responses/1")[1]


stored_values = st.fixed_dictionaries({}, optional={
    "SYS-00": st.sampled_from(["yes", "no"]), "PWD-06": st.sampled_from(["done", "na"]),
    "MC-01": st.sampled_from([("lock",), ("lock", "shred")]),
    "CNT-01": st.sampled_from(["12", "-3", "1.5"]), "DAY-01": st.just("2021-04-01"),
    "NOTE-01": st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1,
                       max_size=30).map(str.strip).filter(bool)})


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=stored_values)
def test_stored_answers_read_back_unchanged_through_the_form(app, setup, answers):
    with app.test_request_context():
        data = forms.formdata_for(answers, {"PWD-06": AnswerEvidence(
            "台帳", "文書管理システム", "2021-04-01")})
        read, evidence, errors = forms.read_answers(data, setup.q, "department")
        form = forms.build_form_class(setup.q, "department")(formdata=data)
        from_form = forms.read_answers(form, setup.q, "department")[0]
    assert errors == {}
    assert {k: v for k, v in read.items() if v is not None} == answers
    assert from_form == read
    assert evidence["PWD-06"] == AnswerEvidence("台帳", "文書管理システム", "2021-04-01")
