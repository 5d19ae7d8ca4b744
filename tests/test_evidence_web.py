"""The evidence of DESIGN.md §13 on the department form and its pages: location and
date beside the note, attachments uploaded with a save (each bad file refused with a
Japanese message while the rest of the form is saved and nothing unreferenced stays on
disk), downloads that are never inline and follow the answer's access, the request
size limits, CSRF, autosave and conflicts with the new fields, and the round setting."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import pytest

from surveyapp import create_app, migrations, store
from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels import rounds as round_reads
from surveyapp.services import attachments, rounds
from surveyapp.services import responses as service
from surveyapp.store import attachments as attachment_store
from tests.test_attachments import PDF
from tests.test_department_form import current_version, department_form_survey, page, post

EXECUTABLE = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode"


@pytest.fixture
def setup(db, make_user, instance_path):
    survey = department_form_survey(db, make_user)
    rounds.set_attachments(db, survey.round_id, True)
    survey.blobs = attachments.Blobs.of_instance(instance_path)
    return survey


@pytest.fixture
def unit(client, setup, login_as):
    login_as(client, "unit1")
    page(client, setup.url)  # creates the draft (version 1)
    return client


def upload(client, setup, files: dict, data: dict | None = None, url: str | None = None):
    """A draft save carrying `files` {field: [(name, bytes)]}, multipart as a browser."""
    fields = {"version": str(current_version_of(setup)), "action": "draft", **(data or {})}
    for name, items in files.items():
        fields[name] = [(io.BytesIO(content), filename) for filename, content in items]
    return client.post(url or setup.url, data=fields, content_type="multipart/form-data")


def current_version_of(setup) -> int:
    database = store.connect(setup.database)
    try:
        return service.find_department_response(database, setup.round_id, "U1")["version"]
    finally:
        database.close()


@pytest.fixture(autouse=True)
def remember_database(setup, app):
    setup.database = app.config["DATABASE"]


def files_on_disk(setup) -> set[str]:
    root = setup.blobs.root
    return {path.name for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def stored_files(db) -> set[str]:
    return {row["sha256"] for row in attachment_store.all_files(db)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bomb_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("xl/workbook.xml", "<workbook/>")
        package.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024),
                         compresslevel=9)
    return out.getvalue()


# --- location and date ----------------------------------------------------------------------


def test_the_form_asks_for_location_date_and_files(unit, setup):
    _response, html = page(unit, setup.url)
    assert 'name="el_PWD-05"' in html and 'name="ed_PWD-05"' in html
    assert re.search(r'name="ed_PWD-05"[^>]*type="date"|type="date"[^>]*name="ed_PWD-05"', html)
    assert 'name="ea_PWD-05"' in html and 'enctype="multipart/form-data"' in html
    assert "（必須: メモまたは保管場所と、日付）" in html
    assert 'name="ea_SYS-00"' not in html  # a question without evidence


def test_location_and_date_are_saved_and_shown_again(unit, db, setup):
    post(unit, setup, {"action": "draft", "q_SYS-00": "yes", "el_PWD-05": "文書管理システム 第3号",
                       "ed_PWD-05": "2021-06-30"})
    _answers, evidence = service.load_answers(db, 1)
    assert evidence["PWD-05"] == AnswerEvidence(None, "文書管理システム 第3号", "2021-06-30")
    _response, html = page(unit, setup.url)
    assert 'value="文書管理システム 第3号"' in html and 'value="2021-06-30"' in html


@pytest.mark.parametrize("typed, message", [
    ("2099-01-01", "未来の日付です"), ("2021-02-30", "日付として読み取れません"),
    ("きのう", "日付として読み取れません")])
def test_a_bad_date_is_refused_and_the_rest_of_the_form_saved(unit, db, setup, typed, message):
    response = post(unit, setup, {"action": "draft", "q_SYS-00": "yes", "q_NOTE-01": "保存される",
                                  "e_PWD-05": "台帳で確認", "ed_PWD-05": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'href="#ed_PWD-05"' in html and "PWD-05 （根拠の日付）" in html
    assert 'value="台帳で確認"' in html  # what was typed stays on screen
    answers, evidence = service.load_answers(db, 1)
    assert answers["NOTE-01"] == "保存される" and "PWD-05" not in evidence


def test_required_evidence_asks_for_a_date_on_submission(unit, setup):
    response = post(unit, setup, {"action": "submit", "q_SYS-00": "yes", "q_PWD-05": "done",
                                  "e_PWD-05": "台帳で確認"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "根拠の日付の入力が必要です" in html


def test_the_confirmation_page_carries_location_and_date(unit, db, setup):
    data = {"q_SYS-00": "yes", "q_PWD-05": "done", "el_PWD-05": "第3号",
            "ed_PWD-05": "2021-06-30"}
    html = post(unit, setup, {"action": "submit", **data}).get_data(as_text=True)
    assert 'name="el_PWD-05" value="第3号"' in html
    assert 'name="ed_PWD-05" value="2021-06-30"' in html
    confirmed = post(unit, setup, data, url=setup.url + "/confirm",
                     version=current_version(db, setup))
    assert confirmed.status_code == 302
    _response, view = page(unit, "/responses/1")
    assert "保管場所: 第3号" in view and "日付: 2021-06-30" in view


def test_autosave_saves_location_and_date(unit, db, setup):
    body = post(unit, setup, {"el_PWD-06": "共有フォルダ", "ed_PWD-06": "2021-05-01"},
                url=setup.url + "/autosave").get_json()
    assert body["version"] == 2
    assert service.load_answers(db, 1)[1]["PWD-06"] == AnswerEvidence(
        None, "共有フォルダ", "2021-05-01")


def test_autosave_reports_a_bad_date_without_saving_it(unit, db, setup):
    body = post(unit, setup, {"ed_PWD-06": "2099-12-31", "q_NOTE-01": "ok"},
                url=setup.url + "/autosave").get_json()
    assert "ed_PWD-06" in body["errors"] and "未来の日付" in body["errors"]["ed_PWD-06"]
    assert service.load_answers(db, 1) == ({"NOTE-01": "ok"}, {})


def test_a_conflict_shows_the_other_persons_location_and_date(unit, db, setup):
    service.save_draft(db, 1, 1, {}, {"PWD-06": AnswerEvidence(None, "同僚の台帳", "2021-04-01")},
                       setup.colleague["id"])
    response = post(unit, setup, {"action": "draft", "el_PWD-06": "私の台帳"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "保管場所: 同僚の台帳 / 日付: 2021-04-01" in html and 'value="私の台帳"' in html


# --- attachments ------------------------------------------------------------------------------


def test_an_uploaded_file_is_saved_listed_and_downloadable(unit, db, setup):
    response = upload(unit, setup, {"ea_PWD-06": [("確認記録.pdf", PDF)]})
    assert response.status_code == 302
    _response, html = page(unit, setup.url)
    [link] = attachment_store.current_links(db, 1)
    assert f'href="/attachments/{link["id"]}"' in html and "確認記録.pdf" in html
    assert files_on_disk(setup) == {sha(PDF)}


def test_a_download_is_an_attachment_never_inline(unit, db, setup):
    upload(unit, setup, {"ea_PWD-06": [("確認記録.pdf", PDF)]})
    [link] = attachment_store.current_links(db, 1)
    response = unit.get(f"/attachments/{link['id']}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%A2%BA" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name, content, message", [
    ("見積書.pdf", EXECUTABLE, "中身は拡張子の示す PDF ではありません（実行ファイル）"),
    ("空.pdf", b"", "空のファイル（0バイト）"),
    ("../../etc/passwd.pdf", PDF, "フォルダの区切り"),
    ("報告\u202efdp.exe", PDF, "制御文字"),
    ("集計.xlsx", None, "ZIP爆弾の疑い"),
    ("大きい.pdf", PDF + b"\x00" * 2048, "大きすぎます")])
def test_a_bad_file_is_refused_the_rest_is_saved_and_nothing_stays_on_disk(
        unit, db, setup, app, name, content, message):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024 if name == "大きい.pdf" else 10 * 1024 * 1024
    content = zip_bomb_xlsx() if content is None else content
    response = upload(unit, setup, {"ea_PWD-06": [(name, content)],
                                    "ea_PWD-05": [("良い.pdf", PDF)]},
                      {"q_NOTE-01": "ほかの入力", "el_PWD-06": "台帳"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert "添付できなかったファイルがあります" in html and 'href="#ea_PWD-06"' in html
    answers, evidence = service.load_answers(db, 1)
    assert answers["NOTE-01"] == "ほかの入力" and evidence["PWD-06"].location == "台帳"
    assert stored_files(db) == files_on_disk(setup) == {sha(PDF)}
    assert list(setup.blobs.tmp.iterdir()) == []


def test_a_file_in_a_round_without_attachments_is_refused(unit, db, setup):
    rounds.set_attachments(db, setup.round_id, False)
    _response, html = page(unit, setup.url)
    assert 'name="ea_PWD-05"' not in html and "multipart/form-data" not in html
    response = upload(unit, setup, {"ea_PWD-05": [("a.pdf", PDF)]}, {"q_NOTE-01": "残る"})
    assert response.status_code == 422
    assert "この調査回では添付ファイルを受け付けていません" in response.get_data(as_text=True)
    assert service.load_answers(db, 1)[0]["NOTE-01"] == "残る"
    assert files_on_disk(setup) == set()


def test_removing_an_attachment_keeps_it_for_the_history(unit, db, setup):
    upload(unit, setup, {"ea_PWD-06": [("旧.pdf", PDF)]})
    [link] = attachment_store.current_links(db, 1)
    post(unit, setup, {"action": "draft", "ear_PWD-06": str(link["id"])},
         version=current_version(db, setup))
    assert attachment_store.current_links(db, 1) == []
    _response, history = page(unit, "/self-check/history")
    assert "<del>" in history and "旧.pdf" in history
    assert unit.get(f"/attachments/{link['id']}").data == PDF


def test_a_file_larger_than_the_usual_request_limit_goes_with_the_form(unit, db, setup, app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    big = PDF + b"\x00" * (200 * 1024)
    assert upload(unit, setup, {"ea_PWD-06": [("大.pdf", big)]}).status_code == 302
    assert files_on_disk(setup) == {sha(big)}
    elsewhere = unit.post("/account/password", data={"x": "y" * (100 * 1024)})
    assert elsewhere.status_code == 413


def test_a_save_above_the_form_limit_answers_413_with_the_limit(unit, db, setup, app):
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024, ATTACHMENT_REQUEST_MAX_BYTES=32 * 1024)
    response = upload(unit, setup, {"ea_PWD-06": [("大.pdf", PDF + b"\x00" * (64 * 1024))]})
    assert response.status_code == 413
    assert "48 KB" in response.get_data(as_text=True)
    assert files_on_disk(setup) == set()


def test_the_form_tells_the_browser_the_limits(unit, setup):
    _response, html = page(unit, setup.url)
    assert 'data-max-bytes="10485760"' in html and 'data-request-max-bytes="52428800"' in html
    assert "1ファイル 10 MB まで" in html


def test_an_upload_without_the_csrf_token_is_refused(tmp_path, setup, db):
    """With CSRF on (the test config turns it off), a multipart save without the token
    is refused and stores nothing."""
    service.get_or_create_department_response(db, setup.round_id, "U1", setup.user["id"])
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "csrf"),
                      "SECRET_KEY": "csrf-test", "RATELIMIT_ENABLED": False,
                      "DATABASE": setup.database})
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    client.post("/login", data={"login": "unit1", "password": "correct horse battery staple",
                                "csrf_token": token})
    response = upload(client, setup, {"ea_PWD-06": [("a.pdf", PDF)]})
    assert response.status_code == 400
    assert attachment_store.current_links(db, 1) == []
    assert not (tmp_path / "csrf" / "attachments").exists()


# --- who may download -----------------------------------------------------------------------


@pytest.fixture
def attached(unit, db, setup):
    upload(unit, setup, {"ea_PWD-06": [("確認記録.pdf", PDF)]})
    [link] = attachment_store.current_links(db, 1)
    return link["id"]


@pytest.mark.parametrize("login, allowed", [("unit1b", True), ("admin1", True),
                                            ("auditor1", True), ("unit2", False)])
def test_an_attachment_follows_the_answers_access(client, attached, login_as, login, allowed):
    client.post("/logout")
    login_as(client, login)
    response = client.get(f"/attachments/{attached}")
    assert response.status_code == (200 if allowed else 404)


def test_an_anonymous_visitor_is_sent_to_log_in(client, attached):
    client.post("/logout")
    response = client.get(f"/attachments/{attached}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_attachment_is_404(unit):
    assert unit.get("/attachments/999").status_code == 404
    assert unit.get("/attachments/99999999999999999999999").status_code == 404


def test_auditors_fetch_a_file_by_the_sha256_of_the_export(client, attached, login_as):
    assert client.get(f"/attachments/sha256/{sha(PDF)}").status_code == 404  # 所属 user
    client.post("/logout")
    login_as(client, "auditor1")
    assert client.get(f"/attachments/sha256/{sha(PDF)}").data == PDF
    assert client.get(f"/attachments/sha256/{'0' * 64}").status_code == 404
    assert client.get("/attachments/sha256/../../etc/passwd").status_code == 404


def test_a_download_is_audit_logged(client, attached, login_as, db):
    client.get(f"/attachments/{attached}")
    from surveyapp.store import audit as audit_store
    assert audit_store.list_entries(db, action="attachments.download")


# --- the round setting and the storage page --------------------------------------------------


def test_an_admin_turns_attachments_off_and_on(client, setup, login_as, db):
    login_as(client, "admin1")
    _response, html = page(client, f"/rounds/{setup.round_id}/")
    assert "添付を受け付けないようにする" in html
    client.post(f"/rounds/{setup.round_id}/attachments", data={"attachments": "off"})
    assert not round_reads.require_round(db, setup.round_id).attachments_allowed
    client.post(f"/rounds/{setup.round_id}/attachments", data={"attachments": "on"})
    assert round_reads.require_round(db, setup.round_id).attachments_allowed


def test_a_round_is_created_with_or_without_attachments(client, setup, login_as, db):
    login_as(client, "admin1")
    versions = {v["version"]: v["id"] for v in round_reads.list_published_versions(db)}
    client.post("/rounds/new", data={"fiscal_year": "2022", "version_id": versions["1"],
                                     "attachments": "on"})
    client.post("/rounds/new", data={"fiscal_year": "2023", "version_id": versions["1"]})
    made = {r.fiscal_year: r.attachments_allowed for r in round_reads.list_rounds(db)}
    assert (made[2022], made[2023]) == (True, False)


def test_the_storage_page_shows_the_total_size(client, attached, login_as):
    client.post("/logout")
    login_as(client, "admin1")
    _response, html = page(client, "/admin/storage")
    assert "合計の容量" in html and f"{len(PDF)} bytes" in html and "一致" in html
    client.post("/logout")
    login_as(client, "auditor1")
    assert client.get("/admin/storage").status_code == 404


def test_migrations_leave_existing_rounds_without_attachments(tmp_path):
    database = store.connect(tmp_path / "fresh.sqlite3")
    migrations.apply(database)
    assert database["rounds"].columns_dict["attachments_allowed"] is int
