"""The approval pages (DESIGN.md §10): the approval block on the response page, the
decision form and its refusals, the approval sheet PDF, an approver's home page, the
deadline banner, "send now", the late 所属 CSV and extending one 所属's deadline."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from surveyapp import store
from surveyapp.readmodels import approval_states
from surveyapp.readmodels import deadlines as deadline_reads
from surveyapp.services import deadlines
from surveyapp.services import responses as responses_service
from surveyapp.store import audit as audit_store
from surveyapp.store import reminders as reminder_store
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store
from tests.smtp_server import body_of, smtp_server
from tests.test_approvals import approver
from tests.test_responses import publish_form


@pytest.fixture
def mail_server():
    with smtp_server() as server:
        yield server


@pytest.fixture
def app_config(app_config, mail_server):
    return {**app_config, **mail_server.settings()}


@pytest.fixture
def world(db, make_user):
    """Round open (closes in 5 days); U1: clerk submitted, chief and deputy approve;
    U2's chief; an admin and an auditor."""
    setup = publish_form(db)
    setup.closes_on = deadline_reads.local_today() + timedelta(days=5)
    with store.transaction(db):
        db.execute("UPDATE rounds SET closes_on = ? WHERE id = ?",
                   (setup.closes_on.isoformat(), setup.round_id))
    setup.clerk = make_user("clerk", "department", "U1")
    user_store.set_contact(db, setup.clerk["id"], "clerk@example.lg.jp", False)
    setup.chief = approver(db, make_user, "chief", "U1")
    setup.deputy = approver(db, make_user, "deputy", "U1")
    setup.other_chief = approver(db, make_user, "chief2", "U2")
    setup.admin = make_user("admin1", "admin")
    setup.auditor = make_user("auditor1", "auditor")
    response = responses_service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.clerk["id"])
    setup.response_id = response["id"]
    responses_service.submit(db, setup.response_id, 1, {"SYS-00": "no"}, {},
                             setup.clerk["id"])
    setup.page = f"/responses/{setup.response_id}"
    return setup


def version(db, world) -> str:
    return str(response_store.get_response(db, world.response_id)["version"])


def decide(client, db, world, decision, comment="", version_text=None):
    return client.post(f"{world.page}/decision", data={
        "decision": decision, "comment": comment,
        "version": version_text or version(db, world)})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the response page and the decision form ---------------------------------------------------

def test_an_approver_sees_the_decision_form(client, world, login_as):
    login_as(client, "chief")
    html = text(client.get(world.page))
    assert "所属長の承認" in html and "承認待ち" in html
    assert 'name="decision" value="approved"' in html and 'value="returned"' in html


def test_a_clerk_sees_the_state_but_no_form(client, world, login_as):
    login_as(client, "clerk")
    html = text(client.get(world.page))
    assert "承認待ち" in html and 'name="decision"' not in html


def test_approving_shows_the_approval_and_that_the_answers_match(client, db, world, login_as):
    login_as(client, "chief")
    reply = decide(client, db, world, "approved", "確認しました")
    assert reply.status_code == 303
    html = text(client.get(world.page))
    assert "承認済み" in html and "確認しました" in html and "決裁時と一致しています" in html
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', html)
    assert 'name="decision"' not in html


def test_returning_unlocks_the_form_and_mails_the_submitter(client, db, world, login_as,
                                                              mail_server):
    login_as(client, "chief")
    assert decide(client, db, world, "returned", "根拠を書いてください").status_code == 303
    [mail] = mail_server.messages
    assert mail["To"] == "clerk@example.lg.jp" and "根拠を書いてください" in body_of(mail)
    client.post("/logout")
    login_as(client, "clerk")
    html = text(client.get(world.page))
    assert "差戻し" in html and "根拠を書いてください" in html and "回答を続ける" in html


def test_a_return_without_a_comment_comes_back_with_422(client, db, world, login_as):
    login_as(client, "chief")
    reply = decide(client, db, world, "returned", "   ")
    assert reply.status_code == 422 and "差戻しの理由" in text(reply)


def test_a_refused_decision_keeps_the_typed_comment(client, db, world, login_as):
    login_as(client, "chief")
    typed = "長すぎるコメント" * 300
    reply = decide(client, db, world, "approved", typed)
    assert reply.status_code == 422 and typed in text(reply)


def test_an_own_submission_is_refused_with_403(client, db, world, login_as, make_user):
    own = responses_service.get_or_create_department_response(db, world.round_id, "U2",
                                                             world.other_chief["id"])
    responses_service.submit(db, own["id"], 1, {"SYS-00": "no"}, {}, world.other_chief["id"])
    login_as(client, "chief2")
    html = text(client.get(f"/responses/{own['id']}"))
    assert "ご自身が提出した回答のため" in html and 'name="decision"' not in html
    reply = client.post(f"/responses/{own['id']}/decision",
                        data={"decision": "approved", "version": "2"})
    assert reply.status_code == 403


def test_with_allow_self_approval_an_approver_approves_their_own_submission(
        client, db, world, login_as, app):
    app.config["ALLOW_SELF_APPROVAL"] = True
    own = responses_service.get_or_create_department_response(db, world.round_id, "U2",
                                                             world.other_chief["id"])
    responses_service.submit(db, own["id"], 1, {"SYS-00": "no"}, {}, world.other_chief["id"])
    login_as(client, "chief2")
    assert 'name="decision"' in text(client.get(f"/responses/{own['id']}"))
    reply = client.post(f"/responses/{own['id']}/decision",
                        data={"decision": "approved", "version": "2"})
    assert reply.status_code == 303
    assert approval_states.approval_view(
        db, response_store.get_response(db, own["id"])).status == "approved"


def test_a_decided_submission_refuses_a_second_decision_with_409(client, db, world,
                                                                  login_as):
    login_as(client, "chief")
    decide(client, db, world, "approved")
    client.post("/logout")
    login_as(client, "deputy")
    reply = decide(client, db, world, "returned", "やはり差し戻します")
    assert reply.status_code == 409 and "すでに承認" in text(reply)
    assert "やはり差し戻します" in text(reply)


def test_a_stale_version_is_a_conflict(client, db, world, login_as):
    login_as(client, "chief")
    assert decide(client, db, world, "approved", version_text="1").status_code == 409


def test_another_departments_approver_gets_404(client, db, world, login_as):
    login_as(client, "chief2")
    assert client.get(world.page).status_code == 404
    assert decide(client, db, world, "approved").status_code == 404
    assert client.get(f"{world.page}/approval.pdf").status_code == 404


def test_an_unknown_decision_is_a_bad_request(client, db, world, login_as):
    login_as(client, "chief")
    assert decide(client, db, world, "maybe").status_code == 400


@pytest.mark.parametrize("login", ["admin1", "auditor1"])
def test_admins_and_auditors_cannot_decide(client, db, world, login_as, login):
    login_as(client, login)
    assert decide(client, db, world, "approved").status_code == 404


# --- the approval sheet -------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["clerk", "chief", "admin1", "auditor1"])
def test_the_approval_sheet_downloads_as_a_pdf(client, world, login_as, login):
    login_as(client, login)
    reply = client.get(f"{world.page}/approval.pdf")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    assert reply.data.startswith(b"%PDF-")
    assert "attachment" in reply.headers["Content-Disposition"]
    assert "no-store" in reply.headers["Cache-Control"]


# --- home page and deadline banner ---------------------------------------------------

def test_an_approvers_home_page_lists_what_waits(client, world, login_as):
    login_as(client, "chief")
    html = text(client.get("/"))
    assert "承認を待っている自己点検" in html and f'href="{world.page}#approval"' in html


def test_the_list_is_empty_once_approved(client, db, world, login_as):
    login_as(client, "chief")
    decide(client, db, world, "approved")
    assert "承認を待っている提出はありません" in text(client.get("/"))


def test_a_clerks_home_page_has_no_waiting_list(client, world, login_as):
    login_as(client, "clerk")
    assert "承認を待っている自己点検" not in text(client.get("/"))


def test_every_department_page_shows_the_deadline_with_days_left(client, db, world, login_as,
                                                                   make_user):
    make_user("clerk2", "department", "U2")
    login_as(client, "clerk2")
    for path in ("/self-check", "/help"):
        html = text(client.get(path))
        assert "自己点検の提出期限" in html and "あと5日" in html, path
    # The home page says it inside the round's task, not in a banner above it.
    home = text(client.get("/"))
    assert "自己点検の提出期限" not in home and "あと5日" in home


def test_the_form_and_the_response_page_state_the_deadline_once(client, db, world,
                                                                 login_as, make_user):
    login_as(client, "clerk")
    submitted = text(client.get(world.page))
    make_user("clerk2", "department", "U2")
    other = client.application.test_client()
    login_as(other, "clerk2")  # U2 has not submitted: its form opens
    form = text(other.get(f"/rounds/{world.round_id}/self-check/U2"))
    assert 'id="self-check-form"' in form and "テスト用自己点検" in submitted
    for html in (form, submitted):
        assert "自己点検の提出期限" not in html and html.count("提出期限") == 1


def test_the_banner_follows_an_extension(client, db, world, login_as, make_user):
    make_user("clerk2", "department", "U2")
    deadlines.extend(db, world.round_id, "U2", world.closes_on + timedelta(days=3), "事情",
                     world.admin["id"])
    login_as(client, "clerk2")
    html = text(client.get("/"))
    assert "あと8日" in html and "延長" in html


def test_a_submitted_department_sees_it_submitted(client, world, login_as):
    login_as(client, "clerk")
    assert "提出済み" in text(client.get("/"))


# --- send now, the late list, extensions ---------------------------------------------

def test_send_now_sends_the_approval_notice_and_logs_it(client, db, world, login_as,
                                                        mail_server, monkeypatch):
    monkeypatch.setattr(deadline_reads, "local_today", lambda now=None: date(2021, 7, 26))
    login_as(client, "admin1")
    reply = client.post(f"/rounds/{world.round_id}/reminders", follow_redirects=True)
    assert reply.status_code == 200 and "督促・通知メール: 送信 2件" in text(reply)
    assert sorted(mail_server.recipients()) == ["chief@example.lg.jp", "deputy@example.lg.jp"]
    log = reminder_store.log_of_round(db, world.round_id)
    assert {entry["kind"] for entry in log} == {"approval"}
    assert all(entry["sent_by"] == world.admin["id"] for entry in log)


def test_send_now_is_for_admins_only(client, world, login_as):
    login_as(client, "auditor1")
    assert client.post(f"/rounds/{world.round_id}/reminders").status_code == 404


def test_send_now_with_mail_off_says_so(client, world, login_as, app):
    app.config["SMTP_HOST"] = ""
    login_as(client, "admin1")
    reply = client.post(f"/rounds/{world.round_id}/reminders", follow_redirects=True)
    assert "SMTP_HOST" in text(reply)


def test_the_late_csv_lists_unsubmitted_departments_with_contacts(client, db, world, login_as,
                                                                  make_user):
    late = make_user("late3", "department", "U3")
    user_store.set_contact(db, late["id"], "late3@example.lg.jp", False)
    login_as(client, "auditor1")
    reply = client.get(f"/rounds/{world.round_id}/late.csv?which=unsubmitted")
    assert reply.status_code == 200 and reply.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert [row["department_code"] for row in rows] == ["U2", "U3"]
    assert rows[1]["emails"] == "late3@example.lg.jp" and rows[1]["days_overdue"] == "0"
    assert client.get(f"/rounds/{world.round_id}/late.csv").status_code == 200
    assert client.get(f"/rounds/{world.round_id}/late.csv?which=x").status_code == 404


def test_the_late_csv_neutralises_formulas(client, db, world, login_as, make_user):
    make_user("evil", "department", "U4", display_name="=HYPERLINK(\"x\")")
    login_as(client, "admin1")
    data = client.get(f"/rounds/{world.round_id}/late.csv?which=unsubmitted").data
    assert b"'=HYPERLINK" in data


def test_an_admin_extends_a_departments_deadline(client, db, world, login_as):
    login_as(client, "admin1")
    url = f"/rounds/{world.round_id}/deadlines/U2"
    assert client.get(url).status_code == 200
    new_day = (world.closes_on + timedelta(days=7)).isoformat()
    reply = client.post(url, data={"closes_on": new_day, "reason": "システム更改"})
    assert reply.status_code == 303
    assert deadline_reads.department_deadline(db, world.round_id, "U2").closes_on.isoformat() == \
        new_day
    assert audit_store.list_entries(db, "deadline.extend")


def test_a_bad_extension_keeps_what_was_typed(client, world, login_as):
    login_as(client, "admin1")
    reply = client.post(f"/rounds/{world.round_id}/deadlines/U2",
                        data={"closes_on": world.closes_on.isoformat(),
                              "reason": "理由はこれです"})
    assert reply.status_code == 422 and "理由はこれです" in text(reply)


def test_extension_pages_answer_404_for_others(client, world, login_as):
    login_as(client, "chief")
    assert client.get(f"/rounds/{world.round_id}/deadlines/U2").status_code == 404
    client.post("/logout")
    login_as(client, "admin1")
    assert client.get(f"/rounds/{world.round_id}/deadlines/NOPE").status_code == 404
    assert client.get(f"/rounds/{world.round_id}/deadlines/TEST-BU").status_code == 404
    assert client.get("/rounds/999/deadlines/U2").status_code == 404


def test_an_admin_turns_approval_off_and_on_for_a_round(client, db, world, login_as):
    login_as(client, "admin1")
    url = f"/rounds/{world.round_id}/approval"
    assert client.post(url, data={"required": "0"}).status_code == 303
    assert not db["rounds"].get(world.round_id)["approval_required"]
    assert client.post(url, data={"required": "1"}).status_code == 303
    assert db["rounds"].get(world.round_id)["approval_required"]
    assert client.post("/rounds/999/approval", data={"required": "1"}).status_code == 404


def test_only_admins_switch_approval(client, world, login_as):
    login_as(client, "chief")
    assert client.post(f"/rounds/{world.round_id}/approval",
                       data={"required": "0"}).status_code == 404


def test_a_returned_form_shows_the_comment_and_the_deadline(client, db, world, login_as):
    login_as(client, "chief")
    decide(client, db, world, "returned", "PWD-05 の根拠を書いてください")
    client.post("/logout")
    login_as(client, "clerk")
    html = text(client.get(f"/rounds/{world.round_id}/self-check/U1"))
    assert "所属長から差し戻されました" in html and "PWD-05 の根拠を書いてください" in html
    assert "提出期限" in html and "あと5日" in html


def test_a_submission_through_the_form_mails_the_approvers(client, db, world, login_as,
                                                           mail_server):
    login_as(client, "chief")
    decide(client, db, world, "returned", "直してください")
    client.post("/logout")
    login_as(client, "clerk")
    before = len(mail_server.messages)
    reply = client.post(f"/rounds/{world.round_id}/self-check/U1/confirm",
                        data={"version": version(db, world), "q_SYS-00": "no"})
    assert reply.status_code == 302, reply.status_code
    sent = mail_server.messages[before:]
    assert sorted(m["To"] for m in sent) == ["chief@example.lg.jp", "deputy@example.lg.jp"]
    assert all("承認をお願いします" in m["Subject"] for m in sent)


def test_an_admin_sees_the_departments_deadline_on_its_response(client, world, login_as):
    login_as(client, "admin1")
    assert "提出期限" in text(client.get(world.page))


# --- the progress board ---------------------------------------------------------------------

def test_the_board_shows_approval_deadline_and_overdue(client, db, world, login_as,
                                                       make_user, monkeypatch):
    make_user("clerk2", "department", "U2")
    responses_service.get_or_create_department_response(db, world.round_id, "U2", None)
    login_as(client, "chief")
    decide(client, db, world, "approved")
    client.post("/logout")
    monkeypatch.setattr(deadline_reads, "local_today",
                        lambda now=None: world.closes_on + timedelta(days=1))
    login_as(client, "auditor1")
    html = text(client.get(f"/rounds/{world.round_id}/"))
    u1 = html[html.index('id="unit-U1"'):html.index('id="unit-U2"')]
    u2 = html[html.index('id="unit-U2"'):]
    assert "承認済み" in u1 and "chief" in u1 and "期限超過" not in u1
    assert "期限超過" in u2.split("</tr>")[0]


def test_the_board_filters_by_state_and_overdue(client, db, world, login_as, make_user,
                                                 monkeypatch):
    responses_service.get_or_create_department_response(db, world.round_id, "U2", None)
    monkeypatch.setattr(deadline_reads, "local_today",
                        lambda now=None: world.closes_on + timedelta(days=1))
    login_as(client, "admin1")
    waiting = text(client.get(f"/rounds/{world.round_id}/?state=submitted"))
    assert 'id="unit-U1"' in waiting and 'id="unit-U2"' not in waiting
    late = text(client.get(f"/rounds/{world.round_id}/?overdue=1"))
    assert 'id="unit-U2"' in late and 'id="unit-U1"' not in late
    everything = text(client.get(f"/rounds/{world.round_id}/?state=bogus"))
    assert 'id="unit-U1"' in everything and 'id="unit-U2"' in everything


def test_the_board_shows_the_reminder_log_and_send_now(client, db, world, login_as,
                                                       monkeypatch):
    monkeypatch.setattr(deadline_reads, "local_today", lambda now=None: date(2021, 7, 26))
    login_as(client, "admin1")
    client.post(f"/rounds/{world.round_id}/reminders")
    html = text(client.get(f"/rounds/{world.round_id}/"))
    assert "今すぐ送信" in html and "送信記録" in html
    assert "承認依頼" in html and "chief@example.lg.jp" in html and "admin1" in html
    assert f"/rounds/{world.round_id}/late.csv?which=overdue" in html
    assert f"/rounds/{world.round_id}/deadlines/U1" in html


def test_auditors_see_the_log_but_no_send_now_nor_extension(client, world, login_as):
    login_as(client, "auditor1")
    html = text(client.get(f"/rounds/{world.round_id}/"))
    assert "送信記録" in html and "今すぐ送信" not in html
    assert "/deadlines/" not in html and "承認を不要にする" not in html


def test_the_new_round_page_asks_for_approval_by_default(client, db, world, login_as):
    login_as(client, "admin1")
    page = text(client.get("/rounds/new"))
    assert 'name="approval_required" type="checkbox" value="1" checked' in page
    version_id = db.execute("SELECT id FROM questionnaire_versions").fetchone()[0]
    for year, posted, expected in ((2030, {"approval_required": "1"}, 1), (2031, {}, 0)):
        reply = client.post("/rounds/new", data={"fiscal_year": str(year),
                                                 "version_id": str(version_id), **posted})
        assert reply.status_code == 302
        [row] = db.execute("SELECT approval_required FROM rounds WHERE fiscal_year = ?",
                           (year,)).fetchall()
        assert row[0] == expected


# --- the API ---------------------------------------------------------------------------------

def test_the_api_gives_each_departments_status_and_approval_time(client, db, world,
                                                                  login_as):
    responses_service.get_or_create_department_response(db, world.round_id, "U2", None)
    login_as(client, "chief")
    decide(client, db, world, "approved")
    client.post("/logout")
    login_as(client, "auditor1")
    body = client.get(f"/api/v1/rounds/{world.round_id}/scores").get_json()
    by_code = {d["code"]: d for d in body["departments"]}
    assert by_code["U1"]["status"] == "approved" and by_code["U1"]["submitted"] is True
    assert by_code["U1"]["approved_at"] == approval_states.approval_view(
        db, response_store.get_response(db, world.response_id)).current.decided_at
    assert (by_code["U2"]["status"], by_code["U2"]["approved_at"]) == ("draft", None)


def test_the_api_says_submitted_while_approval_waits_and_returned_after_a_return(
        client, db, world, login_as):
    login_as(client, "clerk")
    [mine] = client.get(f"/api/v1/rounds/{world.round_id}/scores").get_json()["departments"]
    assert (mine["status"], mine["submitted"], mine["approved_at"]) == ("submitted", True, None)
    client.post("/logout")
    login_as(client, "chief")
    decide(client, db, world, "returned", "直してください")
    [mine] = client.get(f"/api/v1/rounds/{world.round_id}/scores").get_json()["departments"]
    assert (mine["status"], mine["submitted"]) == ("returned", False)


# --- exports ---------------------------------------------------------------------------------

def test_the_scores_export_appends_status_approval_and_deadline(client, db, world, login_as):
    login_as(client, "chief")
    decide(client, db, world, "approved")
    client.post("/logout")
    login_as(client, "admin1")
    data = client.get(f"/exports/rounds/{world.round_id}/scores.csv").data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[-5:] == ["status", "approved_at", "approved_by", "closes_on",
                           "overall_basis"]
    assert header[:10] == ["code", "name", "bureau_code", "bureau_name", "submitted",
                           "staff_responses", "headcount", "response_rate", "overall", "band"]
    u1 = next(row for row in rows[1:] if row[0] == "U1")
    assert u1[-5] == "approved" and u1[-3] == "chief"
    assert u1[-2] == world.closes_on.isoformat() and u1[-4]
