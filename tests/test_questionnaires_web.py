"""Admin pages for questionnaire definitions: list, read-only view, publish by upload."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from surveyapp.services import questionnaires as service

DEFINITIONS = Path(__file__).parent / "fixtures" / "definitions"
VALID = DEFINITIONS / "valid"


@pytest.fixture
def admin(client, make_user, login_as):
    make_user("kikaku", "admin")
    login_as(client, "kikaku")
    return client


@pytest.fixture
def auditor(client, make_user, login_as):
    make_user("kansa", "auditor")
    login_as(client, "kansa")
    return client


def upload(client, path: Path, name: str | None = None):
    return post_file(client, path.read_bytes(), name or path.name)


def post_file(client, data: bytes, name: str):
    # Encoded in memory: the test client would spool a large body to a temporary file
    # and leave it open.
    boundary, body = encode_multipart(
        MultiDict({"definition": FileStorage(io.BytesIO(data), name)}))
    return client.post("/questionnaires/publish", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_admin_publishes_by_upload_and_sees_the_version_listed(admin):
    response = upload(admin, VALID / "2020.1.yaml")
    assert response.status_code == 200
    assert "公開しました" in response.text
    listing = admin.get("/questionnaires/")
    assert "demo-check" in listing.text and "令和2年度 (2020)" in listing.text


def test_upload_with_errors_lists_every_error_with_its_line(admin):
    response = upload(admin, DEFINITIONS / "unknown_type_and_key.yaml")
    assert response.status_code == 422
    assert "unknown_type_and_key.yaml:57:" in response.text
    assert "unknown_type_and_key.yaml:58:" in response.text
    assert "公開しませんでした" in response.text


def test_upload_success_shows_warnings(admin, db):
    service.publish(db, (VALID / "2020.1.yaml").read_bytes(), "2020.1.yaml")
    response = upload(admin, VALID / "2021.1.yaml")
    assert response.status_code == 200
    assert "警告" in response.text and "重みが変わりました" in response.text


def test_upload_of_changed_bytes_under_a_published_version_is_refused(admin, db):
    service.publish(db, (VALID / "2020.1.yaml").read_bytes(), "2020.1.yaml")
    response = upload(admin, DEFINITIONS / "relevant_forward_reference.yaml")
    assert response.status_code == 422
    edited = (VALID / "2020.1.yaml").read_bytes() + b"# edited\n"
    response = post_file(admin, edited, "2020.1.yaml")
    assert response.status_code == 409 and "公開済みの版は変更できません" in response.text


def test_upload_needs_a_yaml_file(admin):
    response = post_file(admin, b"x", "notes.txt")
    assert response.status_code == 400 and ".yaml" in response.text


def test_view_renders_sections_questions_choices_and_lineage(admin, db):
    service.publish(db, (VALID / "2020.1.yaml").read_bytes(), "2020.1.yaml")
    service.publish(db, (VALID / "2021.1.yaml").read_bytes(), "2021.1.yaml")
    page = admin.get("/questionnaires/demo-check/2020.1").text
    for expected in ("PWD-05", "パスワード設定は県の基準", "該当なし（集計から除外）",
                     "{SYS-00} == &#39;yes&#39;", "指摘22", "確認日", "正解",
                     "akita-taisakukijun#password@2020", "重点フォロー"):
        assert expected in page, expected
    newer = admin.get("/questionnaires/demo-check/2021.1").text
    assert "2020.1 IDM-02: 分割" in newer and "厳密には比較不可" in newer
    assert "2問に分割" in newer


def test_auditor_reads_list_view_and_source_but_cannot_publish(auditor, db):
    service.publish(db, (VALID / "2020.1.yaml").read_bytes(), "2020.1.yaml")
    assert auditor.get("/questionnaires/").status_code == 200
    assert "定義ファイルを公開する" not in auditor.get("/questionnaires/").text
    assert auditor.get("/questionnaires/demo-check/2020.1").status_code == 200
    source = auditor.get("/questionnaires/demo-check/2020.1/source")
    assert source.data == (VALID / "2020.1.yaml").read_bytes()
    assert auditor.get("/questionnaires/publish").status_code == 404
    assert upload(auditor, VALID / "2020.1.yaml").status_code == 404


def test_department_users_get_404(client, make_user, login_as):
    make_user("somu", "department", "K0101")
    login_as(client, "somu")
    assert client.get("/questionnaires/").status_code == 404


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/questionnaires/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_version_is_404(admin):
    assert admin.get("/questionnaires/demo-check/1999.1").status_code == 404
    assert admin.get("/questionnaires/demo-check/1999.1/source").status_code == 404


def test_nav_shows_questionnaires_to_admins(admin):
    assert 'href="/questionnaires/"' in admin.get("/").text


def test_upload_over_one_mebibyte_is_rejected_with_a_message(admin):
    response = upload(admin, DEFINITIONS / "too_large.yaml")
    assert response.status_code == 422 and "大きすぎます" in response.text


def test_alias_bomb_upload_is_rejected(admin):
    response = upload(admin, DEFINITIONS / "alias_bomb.yaml")
    assert response.status_code == 422 and "エイリアス" in response.text
