"""Department pages: the tree, and the CSV import's upload -> preview -> confirm."""

import io
from pathlib import Path

import pytest

from surveyapp import store
from surveyapp.services import departments as department_service
from surveyapp.store import departments as department_store
from tests.conftest import FIXTURES

CSV_DIR = FIXTURES / "departments"


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


def upload(client, data: bytes):
    return client.post("/departments/import", content_type="multipart/form-data",
                       data={"csv_file": (io.BytesIO(data), "departments.csv")})


def fingerprint_of(db, data: bytes) -> str:
    return department_service.plan_import(db, data).fingerprint


def valid_csv() -> bytes:
    return (CSV_DIR / "valid_cp932.csv").read_bytes()


def test_admin_sees_the_department_tree(admin, db):
    department_service.apply_import(db, department_service.plan_import(db, valid_csv()))
    page = admin.get("/departments/").get_data(as_text=True)
    assert page.index("総務部") < page.index("人事給与課") < page.index("企画部")
    assert "CSV から取り込む" in page


def test_auditor_sees_the_tree_without_the_import_link(auditor):
    response = auditor.get("/departments/")
    assert response.status_code == 200
    assert "CSV から取り込む" not in response.get_data(as_text=True)


def test_auditor_cannot_reach_the_import_page(auditor):
    assert auditor.get("/departments/import").status_code == 404
    assert upload(auditor, valid_csv()).status_code == 404


def test_department_user_gets_404_on_department_pages(client, make_user, login_as):
    make_user("k1", "department", "K-TEST")
    login_as(client, "k1")
    assert client.get("/departments/").status_code == 404
    assert client.get("/departments/import").status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get("/departments/").status_code == 302


def test_upload_shows_a_preview_and_writes_nothing(admin, db):
    response = upload(admin, valid_csv())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "追加: 7 件" in page and "この内容で取り込む" in page and "Shift_JIS" in page
    assert department_store.list_departments(db) == []


def test_confirm_applies_the_previewed_file_and_logs_who_did_it(admin, db):
    upload(admin, valid_csv())
    response = admin.post("/departments/import/confirm",
                          data={"fingerprint": fingerprint_of(db, valid_csv())})
    assert response.status_code == 302
    assert len(department_store.list_departments(db)) == 7
    entry = store.rows(db, "SELECT * FROM audit_log WHERE action = 'departments.import'")[0]
    assert entry["user_id"] is not None


def test_preview_of_a_bad_file_lists_rejected_lines_and_offers_no_confirm(admin):
    response = upload(admin, (CSV_DIR / "bad.csv").read_bytes())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "取り込めない行: 11 件" in page and "親の部局 B99 が見つかりません" in page
    assert "この内容で取り込む" not in page


def test_confirm_after_the_table_changed_shows_the_new_preview(admin, db):
    upload(admin, valid_csv())
    stale = fingerprint_of(db, valid_csv())
    head = "code,name,parent_code,headcount\nB01,総務局,,\n".encode()
    department_service.apply_import(db, department_service.plan_import(db, head))
    response = admin.post("/departments/import/confirm", data={"fingerprint": stale})
    assert response.status_code == 409
    assert "変更: 1 件" in response.get_data(as_text=True)
    assert len(department_store.list_departments(db)) == 1


def test_confirm_without_a_pending_upload_writes_nothing(admin, db):
    response = admin.post("/departments/import/confirm", data={"fingerprint": "x"},
                          follow_redirects=True)
    assert "もう一度アップロード" in response.get_data(as_text=True)
    assert department_store.list_departments(db) == []


def test_cancel_discards_the_pending_upload(admin, app):
    upload(admin, valid_csv())
    admin.post("/departments/import/cancel")
    folder = Path(app.instance_path) / "uploads" / "departments"
    assert list(folder.glob("*.csv")) == []


def test_upload_without_a_file_is_400_with_a_message(admin):
    response = admin.post("/departments/import", data={})
    assert response.status_code == 400
    assert "CSV ファイルを選んでください" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/departments/import", "/departments/import/confirm"])
def test_import_posts_need_a_csrf_token(app, make_user, login_as, path):
    make_user("admin1", "admin")
    client = app.test_client()
    login_as(client, "admin1")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(path, data={}).status_code == 400
