"""The help page: open to everyone, linked in the header, explains roles, answering,
anonymity, the scoring formula, the audit items and comparability in both languages."""

from __future__ import annotations

import pytest

from surveyapp.services import questionnaires as questionnaire_service

SHIPPED = ("2020.1", "2021.1")


@pytest.fixture
def published(db, app):
    folder = app.config["QUESTIONNAIRES_DIR"] + "/infosec-selfcheck"
    for version in SHIPPED:
        path = f"{folder}/{version}.yaml"
        with open(path, "rb") as source:
            questionnaire_service.publish(db, source.read(), path)
    return db


def page(client, lang=None) -> str:
    if lang:
        client.post("/lang", data={"lang": lang})
    response = client.get("/help")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_help_page_is_open_without_logging_in(client):
    assert "得点の計算" in page(client)


def test_help_is_linked_in_the_header_for_anonymous_visitors(client):
    assert 'href="/help"' in client.get("/login").get_data(as_text=True)


def test_help_is_linked_in_the_header_for_logged_in_users(client, make_user, login_as):
    make_user("helpdept", "department", "K0101")
    login_as(client, "helpdept")
    assert 'href="/help"' in client.get("/").get_data(as_text=True)


def test_help_states_the_anonymity_minimum_from_the_settings(app, client):
    app.config["ANONYMITY_MIN_RESPONSES"] = 7
    assert "n &lt; 7" in page(client)


def test_help_gives_the_scoring_formula(client):
    text = page(client)
    assert "r = s / m" in text
    assert "100 × Σ w·r / Σ w" in text


def test_help_lists_every_audit_item_with_its_title(client):
    text = page(client)
    for item, title in (("指摘6", "情報セキュリティの自己点検の実施状況"),
                        ("指摘21", "定期的なID付与状況の見直し"),
                        ("指摘22", "パスワードの設定"),
                        ("意見17", "情報セキュリティポリシーの浸透状況の把握"),
                        ("意見18", "情報セキュリティ監査の実施状況"),
                        ("意見19", "情報セキュリティに関する教育・研修"),
                        ("意見20", "サーバ室の入退室管理"),
                        ("意見28", "パスワードの管理")):
        assert f"{item}</th><td>{title}" in text


def test_help_shows_the_bands_of_the_newest_published_questionnaire(client, published):
    text = page(client)
    assert "令和3年度 情報セキュリティ自己点検" in text
    for band, minimum in (("A 良好", "90"), ("C 要改善", "50"), ("D 重点フォロー", "0")):
        assert f"{band}</th><td>{minimum}</td>" in text


def test_help_without_a_published_questionnaire_says_where_bands_come_from(client):
    assert "区分とその下限は調査票ごとに定義されます" in page(client)


def test_help_page_is_in_english_after_switching(client, published):
    text = page(client, "en")
    assert "How scores are calculated" in text
    assert "A Good</th>" in text
    assert "得点の計算" not in text
