"""The staff survey through HTTP: link management, the anonymous form, codes, limits."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from surveyapp.services import staff
from surveyapp.web.views import staff as staff_views
from tests.test_staff_fixtures import (
    DEPARTMENT,
    OTHER_DEPARTMENT,
    complete_answers,
    database_bytes,
    definition,
    seed_published,
    set_round_status,
    token_in,
)

ADDRESS = "203.0.113.77"
AGENT = "StaffBrowser/9.9 (identifying-agent-xyz)"


@pytest.fixture
def round_id(db) -> int:
    return seed_published(db)


@pytest.fixture
def token(db, round_id) -> str:
    return staff.issue_link(db, round_id, DEPARTMENT, user_id=None)


def checked(page: str, name: str) -> list[str]:
    """Values of the checked inputs named `name` (attribute order does not matter)."""
    tags = re.findall(r"<input[^>]*>", page)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in tags
            if f'name="{name}"' in tag and " checked" in tag]


def issue_via_web(client, round_id, code=DEPARTMENT, **form):
    return client.post(f"/staff/{round_id}/{code}/link", data=form)


def test_department_user_issues_own_link_and_sees_it_once(client, db, round_id, make_user,
                                                          login_as):
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    response = issue_via_web(client, round_id)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = token_in(response.data)
    assert client.get(f"/s/{token}").status_code == 200
    assert token.encode() not in client.get(f"/staff/{round_id}/{DEPARTMENT}").data


def test_department_user_of_another_unit_cannot_see_or_rotate_the_link(
        client, db, round_id, token, make_user, login_as):
    make_user("other", "department", OTHER_DEPARTMENT)
    login_as(client, "other")
    assert client.get(f"/staff/{round_id}/{DEPARTMENT}").status_code == 404
    assert issue_via_web(client, round_id).status_code == 404
    assert staff.find_link(db, token) is not None


def test_department_user_cannot_generate_codes_or_see_the_overview(
        client, round_id, make_user, login_as):
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    assert client.post(f"/staff/{round_id}/{DEPARTMENT}/codes",
                       data={"count": "3"}).status_code == 404
    assert client.get(f"/staff/{round_id}").status_code == 404


def test_rotation_through_the_web_invalidates_the_old_link(client, round_id, token,
                                                           make_user, login_as):
    make_user("admin")
    login_as(client, "admin")
    new = token_in(issue_via_web(client, round_id, replace="yes").data)
    assert client.get(f"/s/{token}").status_code == 410
    assert client.get(f"/s/{new}").status_code == 200


def test_reissuing_asks_first_and_says_the_old_link_stops_working(client, db, round_id,
                                                                 token, make_user, login_as):
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    unit_page = client.get(f"/staff/{round_id}/{DEPARTMENT}").text
    assert f"/staff/{round_id}/{DEPARTMENT}/link/reissue" in unit_page
    unconfirmed = issue_via_web(client, round_id)
    assert unconfirmed.status_code == 303
    assert unconfirmed.location.endswith(f"/staff/{round_id}/{DEPARTMENT}/link/reissue")
    assert staff.find_link(db, token) is not None  # nothing changed yet
    confirmation = client.get(unconfirmed.location)
    assert confirmation.status_code == 200 and "すぐに使えなくなります" in confirmation.text
    assert 'name="replace" value="yes"' in confirmation.text


def test_the_first_link_needs_no_confirmation(client, round_id, make_user, login_as):
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    assert client.get(f"/staff/{round_id}/{DEPARTMENT}/link/reissue").status_code == 303
    assert token_in(issue_via_web(client, round_id).data)


def test_a_replaced_link_gets_a_410_page_that_says_what_happened(client, db, round_id, token):
    staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    for path in (f"/s/{token}", f"/s/{token}/thanks"):
        page = client.get(path)
        assert page.status_code == 410 and "新しいリンクを発行したため" in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
    client.post("/lang", data={"lang": "en"})
    assert "new link" in client.get(f"/s/{token}").text


def test_unknown_token_is_404(client, round_id):
    assert client.get(f"/s/{staff.new_token()}").status_code == 404
    assert client.get("/s/short").status_code == 404


def test_staff_form_shows_only_staff_questions(client, db, token):
    page = client.get(f"/s/{token}").data.decode()
    questionnaire = definition(db)
    assert all(f'name="q_{q.id}"' in page for q in questionnaire.questions_for("staff"))
    assert not any(f'name="q_{q.id}"' in page
                   for q in questionnaire.questions_for("department"))


def test_submission_stores_no_identity(client, db, token):
    response = client.post(f"/s/{token}", data=complete_answers(definition(db)),
                           environ_base={"REMOTE_ADDR": ADDRESS},
                           headers={"User-Agent": AGENT})
    assert response.status_code == 303
    [row] = list(db["responses"].rows)
    assert (row["audience"], row["status"]) == ("staff", "submitted")
    assert row["updated_by"] is None and row["submitted_by"] is None
    assert {h["changed_by"] for h in db["answer_history"].rows} == {None}
    stored = database_bytes(db)
    assert ADDRESS.encode() not in stored and b"identifying-agent-xyz" not in stored


def test_logged_in_user_submitting_staff_form_stays_anonymous(client, db, token,
                                                               make_user, login_as):
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    client.post(f"/s/{token}", data=complete_answers(definition(db)))
    [row] = list(db["responses"].rows)
    assert row["updated_by"] is None and row["submitted_by"] is None


def test_anonymous_pages_keep_nothing_about_the_person_in_the_session(client, db, token):
    client.post(f"/s/{token}", data=complete_answers(definition(db)))
    with client.session_transaction() as session:
        assert set(session) <= {"csrf_token", "_remember"}


def test_thanks_page_shows_quiz_answers_and_explanations(client, db, token):
    response = client.post(f"/s/{token}", data=complete_answers(definition(db)),
                           follow_redirects=True)
    quiz = definition(db).question("POL-03")
    correct = next(c for c in quiz.choices if c.correct)
    assert correct.label.ja in response.data.decode()
    assert quiz.explanation.ja in response.data.decode()


def test_incomplete_submission_is_refused_with_a_message_and_keeps_input(client, db, token):
    answers = complete_answers(definition(db))
    del answers["q_POL-01"]
    response = client.post(f"/s/{token}", data=answers)
    assert response.status_code == 400
    assert "回答を送信できませんでした" in response.data.decode()
    assert checked(response.data.decode(), "q_POL-02") == ["yes"]
    assert db["responses"].count == 0


def test_closed_round_is_refused(client, db, round_id, token):
    set_round_status(db, round_id, "closed")
    assert "回答を受け付けていません" in client.get(f"/s/{token}").data.decode()
    response = client.post(f"/s/{token}", data=complete_answers(definition(db)))
    assert response.status_code == 403
    assert db["responses"].count == 0


def test_unit_page_shows_count_rate_and_anonymity_note(client, db, round_id, token,
                                                       make_user, login_as):
    client.post(f"/s/{token}", data=complete_answers(definition(db)))
    make_user("unit", "department", DEPARTMENT)
    login_as(client, "unit")
    page = client.get(f"/staff/{round_id}/{DEPARTMENT}").data.decode()
    assert "5.0%" in page  # 1 of 20
    assert "5件以上" in page


def test_admin_overview_lists_every_unit_with_its_count(client, db, round_id, token,
                                                       make_user, login_as):
    client.post(f"/s/{token}", data=complete_answers(definition(db)))
    make_user("admin")
    login_as(client, "admin")
    page = client.get(f"/staff/{round_id}").data.decode()
    assert "総務課" in page and "人事課" in page and "5.0%" in page


# --- one-time codes ----------------------------------------------------------------


def generate_via_web(client, round_id, count=3) -> list[str]:
    page = client.post(f"/staff/{round_id}/{DEPARTMENT}/codes",
                       data={"count": str(count)}).data.decode()
    return [code.replace("-", "") for code in
            re.findall(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", page)]


def test_admin_generates_printable_codes_shown_once(client, round_id, make_user, login_as):
    make_user("admin")
    login_as(client, "admin")
    codes = generate_via_web(client, round_id, 4)
    assert len(set(codes)) == 4
    page = client.get(f"/staff/{round_id}/{DEPARTMENT}").data.decode()
    assert not any(code[:5] in page for code in codes)


def test_link_asks_for_a_code_once_codes_exist(client, db, round_id, token):
    staff.generate_codes(db, round_id, DEPARTMENT, 2, user_id=None)
    page = client.get(f"/s/{token}").data.decode()
    assert 'name="code"' in page and 'name="q_POL-01"' not in page


def test_code_opens_the_form_once(client, db, round_id):
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    form = client.post("/s/code", data={"code": staff.format_code(code).lower()})
    assert 'name="q_POL-01"' in form.data.decode()
    answers = {**complete_answers(definition(db)), "staff_code": code}
    assert client.post("/s/code/answer", data=answers).status_code == 303
    assert client.post("/s/code/answer", data=answers).status_code == 400
    assert client.post("/s/code", data={"code": code}).status_code == 400
    assert db["responses"].count == 1


def test_code_response_stores_no_identity(client, db, round_id):
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    client.post("/s/code/answer", data={**complete_answers(definition(db)),
                                        "staff_code": code},
                environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT})
    [row] = list(db["responses"].rows)
    assert row["department_code"] == DEPARTMENT and row["updated_by"] is None
    assert ADDRESS.encode() not in database_bytes(db)


def test_wrong_code_gets_a_clear_message(client, round_id):
    response = client.post("/s/code", data={"code": "AAAAA-AAAAA"})
    assert response.status_code == 400
    assert "回答コードが正しくないか" in response.data.decode()


# --- rate limits -------------------------------------------------------------------


@pytest.fixture
def limited_config(app_config, monkeypatch):
    app_config.update(RATELIMIT_ENABLED=True, STAFF_RATE_LIMIT="3 per minute")
    monkeypatch.setattr(staff_views, "STAFF_CODE_RATE_LIMIT", "2 per minute")
    return app_config


def test_staff_link_is_rate_limited_per_link(limited_config, client, db, round_id, token):
    for _ in range(3):
        assert client.get(f"/s/{token}").status_code == 200
    response = client.get(f"/s/{token}")
    assert response.status_code == 429
    assert "アクセスが短時間に集中" in response.data.decode()
    other = staff.issue_link(db, round_id, OTHER_DEPARTMENT, user_id=None)
    assert client.get(f"/s/{other}").status_code == 200


def test_code_guessing_is_throttled_per_address(limited_config, client, round_id):
    for _ in range(2):
        assert client.post("/s/code", data={"code": staff.new_code()}).status_code == 400
    assert client.post("/s/code", data={"code": staff.new_code()}).status_code == 429


# --- fuzzing -----------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(["q_POL-01", "q_POL-03", "q_POL-05", "q_PWD-01", "q_INC-02",
                               "q_TRN-02", "q_PWD-05", "staff_code", "code", "csrf_token", "x"])
VALUES = st.one_of(st.sampled_from(["yes", "no", "a", "c", "unknown", ""]),
                   st.text(max_size=300))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(FIELD_NAMES, VALUES), max_size=25))
def test_staff_form_post_never_fails_with_500(client, token, fields):
    for path in (f"/s/{token}", "/s/code", "/s/code/answer"):
        response = client.post(path, data=MultiDict(fields))
        assert response.status_code in (303, 400, 403), response.status_code


def test_staff_form_post_needs_the_csrf_token(client, db, token):
    client.application.config["WTF_CSRF_ENABLED"] = True
    answers = complete_answers(definition(db))
    assert client.post(f"/s/{token}", data=answers).status_code == 400
    page = client.get(f"/s/{token}").data.decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/s/{token}", data={**answers, "csrf_token": csrf}).status_code == 303


def test_every_problem_of_a_submission_is_reported_at_once(client, db, token):
    answers = {**complete_answers(definition(db)), "q_POL-02": "maybe"}
    del answers["q_POL-01"]
    page = client.post(f"/s/{token}", data=answers).data.decode()
    assert 'href="#question-POL-01"' in page and 'href="#question-POL-02"' in page


def test_auditor_and_anonymous_visitor_cannot_manage_links(client, round_id, make_user,
                                                            login_as):
    assert client.get(f"/staff/{round_id}/{DEPARTMENT}").status_code == 302
    make_user("auditor", "auditor")
    login_as(client, "auditor")
    assert client.get(f"/staff/{round_id}/{DEPARTMENT}").status_code == 404
    assert issue_via_web(client, round_id).status_code == 404


def test_questionnaire_without_staff_questions_takes_no_staff_responses(
        client, db, token, monkeypatch):
    department_only = replace(definition(db), sections=definition(db).sections_for(
        "department"), _by_id={})
    monkeypatch.setattr(staff_views, "_definition", lambda db, round_id: department_only)
    assert client.get(f"/s/{token}").status_code == 403
    assert client.post(f"/s/{token}", data={}).status_code == 403
    assert db["responses"].count == 0
