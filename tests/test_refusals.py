"""One refusal convention (surveyapp/refusals.py): a kind, a msgid and its parameters,
answered by the web in web/errors.py and by the command line in cli.py."""

import pytest

from surveyapp.model import N_, Message
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound, Refusal, Unavailable
from surveyapp.web.errors import refusal_status

ROUND_CLOSED = N_("調査回 %(id)d は受付中ではないため締め切れません")


@pytest.fixture
def app(app):
    def refuse(kind: str):
        kinds = {"missing": NotFound(), "changed": Conflict(current={"version": 2}),
                 "closed": Locked(ROUND_CLOSED, id=7)}
        raise kinds[kind]

    app.add_url_rule("/test-refused/<kind>", "test_refused", refuse)
    app.add_url_rule("/api/test-refused/<kind>", "api_test_refused", refuse)
    return app


def test_a_refusal_is_its_filled_japanese_text_and_keeps_msgid_and_params():
    refusal = Locked(ROUND_CLOSED, id=7)
    assert str(refusal) == "調査回 7 は受付中ではないため締め切れません"
    assert (refusal.message, refusal.params) == (ROUND_CLOSED, {"id": 7})


def test_a_refusal_without_a_message_says_what_its_kind_says():
    assert str(Invalid()) == "入力内容を確認してください。"
    assert str(NotFound()) == "ページが見つかりません。"


@pytest.mark.parametrize(("refusal", "status"), [
    (NotFound(), 404), (Conflict(), 409), (Locked(), 409), (Invalid(), 400),
    (Invalid(errors={"q_A": Message(N_("この設問は回答が必要です。"))}), 422),
    (Denied(), 403), (Unavailable(), 503), (Refusal(), 400)])
def test_each_kind_answers_with_its_http_status(refusal, status):
    assert refusal_status(refusal) == status


def test_a_refusal_no_view_catches_gets_the_error_page_of_its_status(client):
    assert client.get("/test-refused/missing").status_code == 404
    assert "ページが見つかりません" in client.get("/test-refused/missing").text
    assert client.get("/test-refused/changed").status_code == 409


def test_a_refusal_under_the_api_is_json_with_its_translated_message(client):
    response = client.get("/api/test-refused/closed")
    assert (response.status_code, response.json) == (
        409, {"error": "調査回 7 は受付中ではないため締め切れません"})
    client.set_cookie("lang", "en")
    assert client.get("/api/test-refused/closed").json == {
        "error": "Round 7 is not open, so it cannot be closed."}
