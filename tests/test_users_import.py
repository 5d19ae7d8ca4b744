"""Users CSV (DESIGN.md §10): email addresses and approver flags of local accounts in
bulk, all or nothing, every problem with its line; the CLI and the admin page."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from surveyapp.cli import cli
from surveyapp.services import users_import
from surveyapp.store import audit as audit_store
from surveyapp.store import users as user_store


@pytest.fixture
def people(db, make_user):
    return {"clerk": make_user("clerk", "department", "U1"),
            "chief": make_user("chief", "department", "U1"),
            "boss": make_user("boss", "admin")}


def user(db, login):
    return user_store.get_user_by_login(db, login)


GOOD = (b"login,email,approver\n"
        b"clerk,clerk@example.lg.jp,no\n"
        b"chief,chief@example.lg.jp,yes\n")


def test_a_good_file_sets_addresses_and_flags(db, people):
    plan = users_import.apply_import(db, GOOD, people["boss"]["id"])
    assert plan.ok and len(plan.changes) == 3
    assert user(db, "chief")["email"] == "chief@example.lg.jp" and user(db, "chief")["approver"]
    assert user(db, "clerk")["email"] == "clerk@example.lg.jp" and not user(db, "clerk")["approver"]


def test_the_import_is_audit_logged(db, people):
    users_import.apply_import(db, GOOD, people["boss"]["id"])
    [entry] = audit_store.list_entries(db, "users.import")
    detail = json.loads(entry["detail"])
    assert ["chief", "approver", False, True] in detail["changes"] and detail["rows"] == 2


def test_shift_jis_from_excel_is_read(db, people):
    data = "login,email\nclerk,clerk@example.lg.jp\n".encode("cp932")
    assert users_import.plan_import(db, data).ok


@pytest.mark.parametrize("row, reason", [
    ("nobody,a@example.lg.jp,no", "アカウントがありません"),
    ("clerk,not-an-address,no", "形式が正しくありません"),
    ("boss,boss@example.lg.jp,yes", "承認者"),
    ("clerk,clerk@example.lg.jp,maybe", "yes か no"),
    (",x@example.lg.jp,no", "login が空"),
])
def test_a_bad_row_is_rejected_with_its_line_and_nothing_is_written(db, people, row, reason):
    data = f"login,email,approver\nchief,chief@example.lg.jp,yes\n{row}\n".encode()
    plan = users_import.apply_import(db, data)
    [rejection] = plan.rejected
    assert rejection.line == 3 and reason in rejection.reason
    assert user(db, "chief")["email"] == "" and not user(db, "chief")["approver"]


def test_a_login_twice_is_rejected(db, people):
    plan = users_import.plan_import(db, b"login,email\nclerk,a@x.lg.jp\nCLERK,b@x.lg.jp\n")
    assert [r.line for r in plan.rejected] == [3]


@pytest.mark.parametrize("head", ["email,approver", "login,phone", "login", "login,email,email"])
def test_a_bad_header_is_rejected(db, people, head):
    plan = users_import.plan_import(db, f"{head}\nclerk,x\n".encode())
    assert not plan.ok and plan.rejected[0].line == 1


def test_a_directory_account_is_refused(db, people):
    user_store.make_directory_account(db, people["clerk"]["id"])
    plan = users_import.plan_import(db, b"login,email\nclerk,c@example.lg.jp\n")
    assert "ディレクトリ" in plan.rejected[0].reason


def test_an_empty_email_cell_clears_and_an_empty_approver_cell_keeps(db, people):
    user_store.set_contact(db, people["chief"]["id"], "old@example.lg.jp", True)
    users_import.apply_import(db, b"login,email,approver\nchief,,\n")
    assert user(db, "chief")["email"] == "" and user(db, "chief")["approver"]


def test_an_unreadable_file_is_rejected(db, people):
    assert not users_import.plan_import(db, b"\xff\xfe\x00garbage\x81").ok
    assert not users_import.plan_import(db, b"").ok


# --- the command line and the page ---------------------------------------------------------

def test_the_command_imports_and_reports(instance_path, db, people, tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    path = tmp_path / "users.csv"
    path.write_bytes(GOOD)
    dry = CliRunner().invoke(cli, ["--instance", str(instance_path), "users", "import",
                                   str(path), "--dry-run"])
    assert dry.exit_code == 0 and "変更 changes: 3" in dry.output
    assert user(db, "chief")["email"] == ""
    done = CliRunner().invoke(cli, ["--instance", str(instance_path), "users", "import",
                                    str(path)])
    assert done.exit_code == 0 and user(db, "chief")["approver"]


def test_the_command_exits_1_on_a_rejected_row(instance_path, people, tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    path = tmp_path / "users.csv"
    path.write_bytes(b"login,email\nnobody,x@example.lg.jp\n")
    result = CliRunner().invoke(cli, ["--instance", str(instance_path), "users", "import",
                                      str(path)])
    assert result.exit_code == 1 and "2行目" in result.output


def upload(client, data: bytes, action: str):
    return client.post("/admin/users/import", data={
        "action": action, "csv_file": (io.BytesIO(data), "users.csv")},
        content_type="multipart/form-data")


def test_the_page_checks_then_applies(client, db, people, login_as):
    login_as(client, "boss")
    assert client.get("/admin/users/import").status_code == 200
    checked = upload(client, GOOD, "check")
    assert checked.status_code == 200 and "chief@example.lg.jp" in checked.text
    assert user(db, "chief")["email"] == ""
    applied = upload(client, GOOD, "apply")
    assert applied.status_code == 200 and "書き込みました" in applied.text
    assert user(db, "chief")["approver"]


def test_the_page_shows_rejections_with_422(client, db, people, login_as):
    login_as(client, "boss")
    reply = upload(client, b"login,email\nnobody,x@example.lg.jp\n", "apply")
    assert reply.status_code == 422 and "nobody" in reply.text


def test_the_page_is_for_admins_only(client, people, login_as):
    login_as(client, "clerk")
    assert client.get("/admin/users/import").status_code == 404
    assert upload(client, GOOD, "apply").status_code == 404


def test_a_checked_file_is_applied_without_choosing_it_again(client, db, people, login_as):
    login_as(client, "boss")
    checked = upload(client, GOOD, "check")
    assert 'action="/admin/users/import/confirm"' in checked.text
    assert user(db, "chief")["email"] == ""
    applied = client.post("/admin/users/import/confirm")
    assert applied.status_code == 200 and "書き込みました" in applied.text
    assert user(db, "chief")["approver"]


def test_a_checked_file_is_applied_once(client, db, people, login_as):
    login_as(client, "boss")
    upload(client, GOOD, "check")
    client.post("/admin/users/import/confirm")
    again = client.post("/admin/users/import/confirm", follow_redirects=True)
    assert "もう一度アップロードしてください" in again.text


def test_cancelling_a_checked_file_writes_nothing_and_deletes_it(client, db, people, login_as,
                                                                 instance_path):
    login_as(client, "boss")
    upload(client, GOOD, "check")
    folder = instance_path / "uploads" / "users"
    assert len(list(folder.iterdir())) == 1
    cancelled = client.post("/admin/users/import/cancel", follow_redirects=True)
    assert "何も書き込んでいません" in cancelled.text
    assert list(folder.iterdir()) == [] and user(db, "chief")["email"] == ""


def test_a_rejected_file_is_not_kept_for_confirmation(client, db, people, login_as):
    login_as(client, "boss")
    reply = upload(client, b"login,email\nnobody,x@example.lg.jp\n", "check")
    assert reply.status_code == 422 and "users/import/confirm" not in reply.text
