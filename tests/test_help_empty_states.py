"""Empty list pages say so and name the next step, instead of showing an empty table."""

from __future__ import annotations

import pytest

from surveyapp.services import rounds

EMPTY_FOR_ADMIN = {
    "/rounds/": "「調査回を作成する」から作成します",
    "/self-check": "調査回を作成して受付を開始する",
    "/followups/": "得点が基準点を下回った所属がここに表示されます",
    "/staff/": "職員アンケートの回答用リンクを発行できます",
    "/questionnaires/": "「定義ファイルを公開する」から",
    "/departments/": "「CSV から取り込む」で部局と所属を登録してください",
    "/scorecards/": "所属ごとのスコアカードがここに表示されます",
    "/exports/": "回答データと得点をダウンロードできます",
    "/results/": "結果を集計するには、次の順に準備してください",
}


@pytest.fixture
def admin_client(client, make_user, login_as):
    make_user("emptyadmin", "admin")
    login_as(client, "emptyadmin")
    return client


@pytest.mark.parametrize("path", EMPTY_FOR_ADMIN)
def test_an_empty_list_page_tells_the_admin_the_next_step(admin_client, path):
    text = admin_client.get(path).get_data(as_text=True)
    assert 'class="empty-state"' in text
    assert EMPTY_FOR_ADMIN[path] in text


def test_an_empty_round_list_tells_auditors_who_creates_rounds(client, make_user, login_as):
    make_user("emptyauditor", "auditor")
    login_as(client, "emptyauditor")
    text = client.get("/rounds/").get_data(as_text=True)
    assert "情報企画課が調査回を作成して受付を開始すると" in text


def test_a_department_sees_a_message_while_every_round_is_in_preparation(
        client, db, make_user, login_as):
    make_user("emptydept", "department", "K0101")
    db["questionnaire_versions"].insert({
        "questionnaire_id": "q", "version": "1", "fiscal_year": 2021, "title": "q",
        "source": b"x", "sha256": "0" * 64, "canonical_json": "{}",
        "published_at": "2021-04-01T00:00:00+00:00"})
    rounds.create_round(db, 2021, "q", "1")
    login_as(client, "emptydept")
    text = client.get("/self-check").get_data(as_text=True)
    assert "受付中の調査回はまだありません" in text
