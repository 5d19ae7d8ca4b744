"""Round pages: list, create form, open/close with confirmation, the progress board."""

import pytest

from surveyapp import store
from surveyapp.readmodels import rounds as round_reads
from surveyapp.services import departments as department_service
from surveyapp.services import rounds as round_service
from tests.conftest import publish_shipped

DEPARTMENTS_CSV = """code,name,parent_code,headcount
B01,総務部,,
K0101,総務課,B01,10
B02,企画部,,
K0201,情報政策課,B02,4
"""


@pytest.fixture
def published(db):
    publish_shipped(db)
    department_service.apply_import(
        db, department_service.plan_import(db, DEPARTMENTS_CSV.encode()))
    return db


@pytest.fixture
def round_id(published):
    return round_service.create_round(published, 2021, "infosec-selfcheck", "2021.1").id


@pytest.fixture
def admin(client, make_user, login_as):
    make_user("admin1", "admin")
    login_as(client, "admin1")
    return client


@pytest.fixture
def auditor(client, make_user, login_as):
    make_user("audit1", "auditor")
    login_as(client, "audit1")
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def test_admin_sees_rounds_with_the_japanese_fiscal_year(admin, round_id):
    page = text(admin.get("/rounds/"))
    assert "令和3年度 (2021)" in page and "準備中" in page and "受付開始" in page


def test_auditor_sees_the_list_without_actions(auditor, round_id):
    response = auditor.get("/rounds/")
    assert response.status_code == 200
    assert "受付開始" not in text(response) and "調査回を作成する" not in text(response)


def test_auditor_cannot_create_open_or_close(auditor, round_id):
    assert auditor.get("/rounds/new").status_code == 404
    assert auditor.post(f"/rounds/{round_id}/open").status_code == 404
    assert auditor.post(f"/rounds/{round_id}/close").status_code == 404


def test_department_user_gets_404_on_round_pages(client, make_user, login_as, round_id):
    make_user("k1", "department", "K0101")
    login_as(client, "k1")
    assert client.get("/rounds/").status_code == 404
    assert client.get(f"/rounds/{round_id}/").status_code == 404


def test_create_form_offers_published_versions(admin, published):
    page = text(admin.get("/rounds/new"))
    assert "情報セキュリティ自己点検・浸透状況アンケート（版 2021.1）" in page


def test_creating_a_round_redirects_to_its_progress_board(admin, published):
    version_id = next(published["questionnaire_versions"].rows)["id"]
    response = admin.post("/rounds/new", data={
        "fiscal_year": "2021", "version_id": str(version_id),
        "opens_on": "2021-06-01", "closes_on": "2021-07-31"})
    assert response.status_code == 302
    [created] = round_reads.list_rounds(published)
    assert (created.status, created.closes_on) == ("draft", "2021-07-31")
    assert response.headers["Location"].endswith(f"/rounds/{created.id}/")


def test_bad_dates_are_400_with_a_japanese_message(admin, published):
    version_id = next(published["questionnaire_versions"].rows)["id"]
    response = admin.post("/rounds/new", data={
        "fiscal_year": "2021", "version_id": str(version_id),
        "opens_on": "2021-07-01", "closes_on": "2021-06-01"})
    assert response.status_code == 400
    assert "締切日（2021-06-01）が開始日（2021-07-01）より前です" in text(response)


def test_unpublished_version_choice_is_400(admin, published):
    response = admin.post("/rounds/new", data={"fiscal_year": "2021", "version_id": "999"})
    assert response.status_code == 400
    assert "公開済みの調査票の版を選んでください" in text(response)


def test_opening_asks_for_confirmation_then_opens_and_logs_the_admin(admin, round_id, db):
    confirm = admin.get(f"/rounds/{round_id}/open")
    assert confirm.status_code == 200 and "受付を開始する" in text(confirm)
    response = admin.post(f"/rounds/{round_id}/open")
    assert response.status_code == 303
    assert round_reads.get_round(db, round_id).status == "open"
    entry = store.rows(db, "SELECT * FROM audit_log WHERE action = 'rounds.open'")[0]
    assert entry["user_id"] is not None


def test_reopening_a_closed_round_is_confirmed_as_a_reopen(admin, round_id, db):
    round_service.open_round(db, round_id)
    round_service.close_round(db, round_id)
    assert "受付を再開する" in text(admin.get(f"/rounds/{round_id}/open"))
    admin.post(f"/rounds/{round_id}/open")
    assert round_reads.get_round(db, round_id).status == "open"


def test_closing_a_draft_round_is_409_with_a_message(admin, round_id):
    response = admin.post(f"/rounds/{round_id}/close")
    assert response.status_code == 409
    assert "受付中ではないため締め切れません" in text(response)


def test_progress_board_shows_status_as_text_and_counts(admin, round_id, db):
    db["responses"].insert({"round_id": round_id, "department_code": "K0101",
                            "audience": "department", "status": "submitted",
                            "created_at": store.now(), "updated_at": store.now()})
    page = text(admin.get(f"/rounds/{round_id}/"))
    assert "提出済み" in page and "未着手" in page
    assert "50.0%" in page  # one of two 所属 submitted


def test_auditor_may_read_the_progress_board(auditor, round_id):
    assert auditor.get(f"/rounds/{round_id}/").status_code == 200


def test_progress_board_filters_by_bureau(admin, round_id):
    page = text(admin.get(f"/rounds/{round_id}/?bureau=B02"))
    assert "情報政策課" in page and "総務課" not in page


def test_unknown_bureau_filter_shows_every_unit(admin, round_id):
    page = text(admin.get(f"/rounds/{round_id}/?bureau=' OR 1=1"))
    assert "情報政策課" in page and "総務課" in page


def test_unknown_round_is_404(admin, published):
    assert admin.get("/rounds/999/").status_code == 404
    assert admin.get("/rounds/999/open").status_code == 404


def test_progress_board_links_a_started_self_check_to_its_answers(admin, round_id, db):
    db["responses"].insert({"round_id": round_id, "department_code": "K0101",
                            "audience": "department", "status": "draft",
                            "created_at": store.now(), "updated_at": store.now()})
    page = text(admin.get(f"/rounds/{round_id}/"))
    assert f'href="/rounds/{round_id}/self-check/K0101"' in page
    assert f'href="/rounds/{round_id}/self-check/K0201"' not in page
