"""Language choice and display filters: Japanese by default, English remembered by a
cookie across sessions, <html lang> following it, fiscal years and dates per language."""

from __future__ import annotations

import json
from datetime import date

import pytest

from surveyapp.model import fiscal_year_label
from surveyapp.refusals import Invalid
from surveyapp.web.i18n import date_label
from tests.conftest import publish_shipped


def html(response) -> str:
    return response.get_data(as_text=True)


def test_pages_are_japanese_by_default(client):
    text = html(client.get("/login"))
    assert '<html lang="ja">' in text
    assert "ログイン名" in text


def test_switching_to_english_shows_english_pages(client):
    client.post("/lang", data={"lang": "en"})
    text = html(client.get("/login"))
    assert '<html lang="en">' in text
    assert "Login name" in text
    assert "ログイン名" not in text


def test_english_is_remembered_by_the_cookie_in_a_new_session(app, client):
    client.post("/lang", data={"lang": "en"})
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    fresh = app.test_client()  # no session: only the remembered choice
    fresh.set_cookie("lang", cookie.value)
    text = html(fresh.get("/login"))
    assert '<html lang="en">' in text
    assert "Login name" in text


def test_switching_back_to_japanese_is_remembered_too(client):
    client.post("/lang", data={"lang": "en"})
    client.post("/lang", data={"lang": "ja"})
    assert client.get_cookie("lang").value == "ja"
    assert '<html lang="ja">' in html(client.get("/login"))


def test_an_unknown_language_falls_back_to_japanese(client):
    client.post("/lang", data={"lang": "fr"})
    assert '<html lang="ja">' in html(client.get("/login"))


def test_an_unknown_language_cookie_is_ignored(client):
    client.set_cookie("lang", "xx")
    assert '<html lang="ja">' in html(client.get("/login"))


def test_the_switch_returns_to_the_page_it_was_used_on(client):
    response = client.post("/lang", data={"lang": "en"},
                           headers={"Referer": "http://localhost/help"})
    assert response.headers["Location"].endswith("/help")


def test_the_switch_never_redirects_to_another_site(client):
    response = client.post("/lang", data={"lang": "en"},
                           headers={"Referer": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_the_login_required_message_follows_the_language(client):
    client.post("/lang", data={"lang": "en"})
    text = html(client.get("/rounds/", follow_redirects=True))
    assert "Please log in." in text


def test_error_pages_follow_the_language(client):
    client.post("/lang", data={"lang": "en"})
    assert "Page not found" in html(client.get("/no-such-page"))


def test_api_error_messages_follow_the_language(client):
    client.post("/lang", data={"lang": "en"})
    assert client.get("/api/v1/no-such-thing").get_json() == {"error": "Page not found."}


def test_fiscal_year_in_japanese_is_era_year_and_western_year():
    assert fiscal_year_label(2021) == "令和3年度 (2021)"


def test_fiscal_year_2019_is_the_first_reiwa_year():
    assert fiscal_year_label(2019) == "令和元年度 (2019)"
    assert fiscal_year_label(2018) == "平成30年度 (2018)"


def test_fiscal_year_in_english_leads_with_the_western_year():
    assert fiscal_year_label(2021, "en") == "FY2021 (Reiwa 3)"
    assert fiscal_year_label(2018, "en") == "FY2018 (Heisei 30)"


def test_missing_fiscal_year_shows_nothing():
    assert fiscal_year_label(None) == ""


def test_dates_in_japanese_use_year_month_day():
    assert date_label("2021-06-30") == "2021年6月30日"
    assert date_label(date(2021, 4, 1)) == "2021年4月1日"


def test_dates_in_english_use_the_month_name():
    assert date_label("2021-06-30", "en") == "Jun 30, 2021"


def test_a_missing_date_shows_nothing_and_other_text_stays_as_it_is():
    assert date_label(None) == ""
    assert date_label("未定") == "未定"


def test_templates_show_fiscal_years_through_the_filter(app, client):
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ 2021|fiscal_year }} {{ '2021-06-30'|jp_date }}")
        assert template.render() == "令和3年度 (2021) 2021年6月30日"


def test_service_refusals_are_translated_with_their_parameters(app):
    from surveyapp.model import N_
    from surveyapp.web.i18n import refusal_text

    refusal = Invalid(N_("%(label)sは yyyy-mm-dd の形式で入力してください（%(text)s）"),
                      label=N_("開始日"), text="2021/04/01")
    assert str(refusal) == "開始日は yyyy-mm-dd の形式で入力してください（2021/04/01）"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert refusal_text(refusal) == "Opening date: enter a date as yyyy-mm-dd (2021/04/01)."


def test_a_refused_round_change_is_flashed_in_english(client, db, make_user, login_as):
    from surveyapp.services import rounds

    publish_shipped(db)
    draft = rounds.create_round(db, 2021, "infosec-selfcheck", "2021.1")
    make_user("roundadmin", "admin")
    login_as(client, "roundadmin")
    client.post("/lang", data={"lang": "en"})
    response = client.post(f"/rounds/{draft.id}/close")
    assert response.status_code == 409
    assert f"Round {draft.id} is not open, so it cannot be closed." in response.get_data(
        as_text=True)


def test_a_collected_message_is_the_japanese_text_and_keeps_its_msgid():
    from surveyapp.model import N_, Message

    message = Message(N_("設問は%(n)d問まで選べます。"), n=40)
    assert message == "設問は40問まで選べます。"
    assert (message.message, message.params) == ("設問は%(n)d問まで選べます。", {"n": 40})


def test_follow_up_form_errors_are_shown_in_english(client, db, app, make_user, login_as):
    from surveyapp.services import questionnaires

    path = app.config["QUESTIONNAIRES_DIR"] + "/infosec-selfcheck/2020.1.yaml"
    with open(path, "rb") as source:
        questionnaires.publish(db, source.read(), path)
    make_user("thresholdadmin", "admin")
    login_as(client, "thresholdadmin")
    client.post("/lang", data={"lang": "en"})
    response = client.post("/followups/thresholds", data={"threshold_0": "abc"})
    assert response.status_code == 422
    assert "Enter a threshold from 0 to 100 (abc)." in response.get_data(as_text=True)


def test_a_refused_publication_is_explained_in_english(client, db, app, make_user, login_as):
    import io

    from surveyapp.services import questionnaires

    path = app.config["QUESTIONNAIRES_DIR"] + "/infosec-selfcheck/2020.1.yaml"
    with open(path, "rb") as source:
        original = source.read()
    questionnaires.publish(db, original, path)
    make_user("publishadmin", "admin")
    login_as(client, "publishadmin")
    client.post("/lang", data={"lang": "en"})
    response = client.post("/questionnaires/publish", content_type="multipart/form-data",
                           data={"definition": (io.BytesIO(original + b"\n# changed\n"),
                                                "2020.1.yaml")})
    assert response.status_code == 409
    assert "A published version cannot be changed" in response.get_data(as_text=True)


def test_rejected_department_rows_are_explained_in_english(client, make_user, login_as):
    import io

    make_user("importadmin", "admin")
    login_as(client, "importadmin")
    client.post("/lang", data={"lang": "en"})
    csv = b"code,name,parent_code,headcount\nK1,Section,B99,3\n"
    response = client.post("/departments/import", content_type="multipart/form-data",
                           data={"csv_file": (io.BytesIO(csv), "departments.csv")})
    assert "Parent bureau B99 not found" in response.get_data(as_text=True)


def shipped_2020(app):
    from surveyapp.questionnaires import load_file

    return load_file(app.config["QUESTIONNAIRES_DIR"] + "/infosec-selfcheck/2020.1.yaml")


def test_invalid_answers_are_explained_in_the_chosen_language(app):
    from surveyapp import question_types
    from surveyapp.web.i18n import refusal_text

    definition = shipped_2020(app)
    question = next(q for q in definition.questions if q.type == "single_choice")
    with pytest.raises(question_types.InvalidAnswer) as caught:
        question_types.of(question).coerce(question, ["done", "none"])
    refused = caught.value
    assert str(refused) == f"{question.id}: 回答は1つだけ入力してください。"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert refusal_text(refused) == "Enter only one answer."


def test_refused_stored_values_are_explained_in_the_chosen_language(app):
    from surveyapp.services import responses
    from surveyapp.web.i18n import translated_errors

    definition = shipped_2020(app)
    question = next(q for q in definition.questions if q.type == "single_choice")
    with pytest.raises(Invalid) as caught:
        responses.validate_values(definition, {question.id: "no-such-choice"})
    errors = caught.value.errors
    assert errors[f"q_{question.id}"].startswith(f"{question.id}: ")
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        english = translated_errors(errors)[f"q_{question.id}"]
    assert english.startswith(f"{question.id}: ")
    assert not any("\u3040" <= letter <= "\u9fff" for letter in english)


def test_round_dates_are_shown_as_japanese_dates_or_english_dates(client, db, make_user,
                                                                  login_as):
    from surveyapp.services import rounds

    publish_shipped(db)
    rounds.create_round(db, 2021, "infosec-selfcheck", "2021.1", "2021-06-01", "2021-06-30")
    make_user("datesadmin", "admin")
    login_as(client, "datesadmin")
    assert "2021年6月30日" in html(client.get("/rounds/"))
    client.post("/lang", data={"lang": "en"})
    page = html(client.get("/rounds/"))
    assert "Jun 30, 2021" in page and "FY2021 (Reiwa 3)" in page


def test_a_message_inside_a_message_is_translated_too(app):
    from surveyapp.model import N_, Message
    from surveyapp.web.i18n import refusal_text

    message = Message(N_("%(first)s または %(second)s"), first=Message(N_("文字列")),
                      second=Message(N_("整数")))
    assert message == "文字列 または 整数"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert refusal_text(message) == "a string or an integer"


def test_questionnaire_problems_stay_japanese_as_text_and_translate_on_the_web(app):
    from surveyapp.questionnaires import inspect_bytes
    from surveyapp.web.i18n import refusal_text

    problem = inspect_bytes(b"a: &x 1\n", "x.yaml").problems[0]
    assert str(problem) == "x.yaml:1: アンカー (&x) は使えません。値をそのまま書いてください"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert refusal_text(problem.message) == (
            "Anchors (&x) are not allowed. Write the value itself")


def test_lists_are_joined_with_the_separator_of_the_language(app):
    from surveyapp.web.i18n import joined

    with app.test_request_context():
        assert joined(["A", "B"]) == "A、B"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert joined(["A", "B"]) == "A, B"


def test_templates_get_full_width_punctuation_in_japanese_only(app):
    template = app.jinja_env.from_string("{{ punct.open }}0302{{ punct.close }}")
    with app.test_request_context():
        assert template.render() == "（0302）"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert template.render() == " (0302)"


def test_a_stored_excel_preview_keeps_its_cell_reasons_translatable():
    from surveyapp.formats import selfcheck_workbook
    from surveyapp.model import N_, Message
    from surveyapp.services import excel_roundtrip as roundtrip

    meta = selfcheck_workbook.FormMeta(1, "0302", 1, 1, "q", "1")
    reason = Message(N_("根拠・メモは%(n)d文字以内で入力してください。"), n=1000)
    preview = roundtrip.Preview(meta, 1, problems=[roundtrip.CellProblem("F2", "Q", "x", reason)])
    stored = roundtrip.preview_from_json(json.loads(json.dumps(
        roundtrip.preview_to_json(preview))))
    kept = stored.problems[0].reason
    assert (kept.message, kept.params) == (reason.message, reason.params)
