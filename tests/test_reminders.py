"""services.reminders and `surveyapp reminders send` against a real SMTP server on
loopback (DESIGN.md §10): the schedule, deadlines extended per 所属, the once-a-day
rule, a server that refuses or is down, and mails that reach only who should get them."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli
from surveyapp.mail import MailSettings
from surveyapp.readmodels import deadlines as deadline_reads
from surveyapp.refusals import Invalid, Locked, NotFound
from surveyapp.services import approvals, deadlines, mail_texts, reminders, rounds
from surveyapp.services import responses as responses_service
from surveyapp.store import reminders as reminder_store
from surveyapp.store import users as user_store
from tests import closed_network
from tests.smtp_server import body_of, closed_port, smtp_server
from tests.test_approvals import approver
from tests.test_responses import publish_form

CLOSES = date(2021, 7, 30)           # a Friday
SEVEN_BEFORE = date(2021, 7, 23)     # Friday
SATURDAY_AFTER, MONDAY_AFTER = date(2021, 7, 31), date(2021, 8, 2)
SCHEDULE = reminders.Schedule((14, 7, 1))


def with_email(db, make_user, login, code, role="department"):
    user = make_user(login, role, code)
    user_store.set_contact(db, user["id"], f"{login}@example.lg.jp", False)
    return user_store.get_user(db, user["id"])


@pytest.fixture
def round_world(db, make_user):
    """Round (closes 2021-07-30) open; U1 not started (clerk1, chief1), U2 draft (clerk2),
    U3 submitted by clerk3 (chief3 approves), U4 not started without any address; an
    inactive U1 user with an address."""
    setup = publish_form(db)
    with store.transaction(db):
        db.execute("UPDATE rounds SET closes_on = ? WHERE id = ?",
                   (CLOSES.isoformat(), setup.round_id))
    setup.clerk1 = with_email(db, make_user, "clerk1", "U1")
    setup.chief1 = approver(db, make_user, "chief1", "U1")
    gone = with_email(db, make_user, "retired1", "U1")
    user_store.set_active(db, gone["id"], False)
    setup.clerk2 = with_email(db, make_user, "clerk2", "U2")
    responses_service.get_or_create_department_response(db, setup.round_id, "U2",
                                                        setup.clerk2["id"])
    setup.clerk3 = with_email(db, make_user, "clerk3", "U3")
    setup.chief3 = approver(db, make_user, "chief3", "U3")
    u3 = responses_service.get_or_create_department_response(db, setup.round_id, "U3",
                                                            setup.clerk3["id"])
    responses_service.submit(db, u3["id"], 1, {"SYS-00": "no"}, {}, setup.clerk3["id"])
    setup.u3 = u3["id"]
    make_user("silent4", "department", "U4")
    setup.admin = make_user("admin1", "admin")
    return setup


@pytest.fixture
def server():
    with smtp_server(refuse_recipients=set()) as running:
        yield running


def settings_of(server_or_port) -> MailSettings:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    return MailSettings.from_config({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TIMEOUT": 5,
        "MAIL_FROM": "jisyutenken@pref.example.lg.jp",
        "MAIL_BASE_URL": "https://survey.pref.example.lg.jp"})


def run(db, world, server_or_port, today, **kwargs):
    return reminders.send_due(db, world.round_id, settings_of(server_or_port), SCHEDULE,
                              today=today, **kwargs)


def sent(report) -> set[tuple[str, str]]:
    return {(o.notice.kind, o.notice.target) for o in report.outcomes if o.result == "sent"}


# --- the schedule ------------------------------------------------------------------

def test_seven_days_before_the_deadline_every_unsubmitted_department_is_reminded(
        db, round_world, server):
    report = run(db, round_world, server, SEVEN_BEFORE)
    assert {k for k, t in sent(report) if k == "before_close"} == {"before_close"}
    reminded = {t for k, t in sent(report) if k == "before_close"}
    assert reminded == {"department:U1", "department:U2"}


def test_a_submitted_department_is_not_reminded(db, round_world, server):
    run(db, round_world, server, SEVEN_BEFORE)
    assert not any(r.startswith("clerk3") for r in server.recipients())


def test_a_day_not_in_the_schedule_sends_no_reminder(db, round_world, server):
    report = run(db, round_world, server, date(2021, 7, 22))  # 8 days before, Thursday
    assert {k for k, _t in sent(report)} <= {"approval"}


def test_after_the_deadline_reminders_go_every_weekday(db, round_world, server):
    assert "overdue" in {k for k, _t in sent(run(db, round_world, server, MONDAY_AFTER))}


def test_no_overdue_reminder_on_a_weekend(db, round_world, server):
    report = run(db, round_world, server, SATURDAY_AFTER)
    assert report.outcomes == []


def test_a_reminder_goes_to_every_active_user_of_the_department_and_nobody_else(
        db, round_world, server):
    run(db, round_world, server, SEVEN_BEFORE)
    by_target = {message["To"]: message for message in server.messages}
    assert set(by_target) >= {"chief1@example.lg.jp, clerk1@example.lg.jp",
                              "clerk2@example.lg.jp"}
    assert "retired1@example.lg.jp" not in server.recipients()


def test_a_department_without_addresses_is_reported_and_logged_as_failed(
        db, round_world, server):
    report = run(db, round_world, server, SEVEN_BEFORE)
    [missing] = [o for o in report.outcomes if o.result == "no_address"]
    assert missing.notice.target == "department:U4"
    assert [e["status"] for e in reminder_store.log_of_round(db, round_world.round_id)
            if e["target"] == "department:U4"] == ["failed"]


def test_a_department_without_addresses_is_logged_once_a_day(db, round_world, server):
    run(db, round_world, server, SEVEN_BEFORE)
    again = run(db, round_world, server, SEVEN_BEFORE)
    assert "department:U4" in {o.notice.target for o in again.outcomes
                               if o.result == "no_address"}
    assert [e["target"] for e in reminder_store.log_of_round(db, round_world.round_id)
            ].count("department:U4") == 1


def test_an_address_added_the_same_day_gets_the_reminder(db, round_world, server, make_user):
    run(db, round_world, server, SEVEN_BEFORE)
    with_email(db, make_user, "clerk4", "U4")
    assert ("before_close", "department:U4") in sent(run(db, round_world, server, SEVEN_BEFORE))


def test_approvers_get_a_notice_for_a_waiting_submission_but_not_the_submitter(
        db, round_world, server):
    report = run(db, round_world, server, SEVEN_BEFORE)
    assert ("approval", f"user:{round_world.chief3['id']}") in sent(report)
    approval_mails = [m for m in server.messages if "承認をお願いします" in m["Subject"]]
    assert [m["To"] for m in approval_mails] == ["chief3@example.lg.jp"]


def test_an_approved_department_gets_nothing(db, round_world, server):
    approvals.approve(db, round_world.u3, round_world.chief3["id"],
                      responses_service.get_response(db, round_world.u3)["version"])
    report = run(db, round_world, server, SEVEN_BEFORE)
    assert not any(t.endswith(("U3", str(round_world.chief3["id"])))
                   for _k, t in sent(report))


def test_a_returned_department_is_reminded_and_its_submitter_told_once(
        db, round_world, server):
    approvals.return_for_changes(db, round_world.u3, round_world.chief3["id"],
                                 responses_service.get_response(db, round_world.u3)["version"],
                                 "根拠を追記してください")
    first = sent(run(db, round_world, server, SEVEN_BEFORE))
    assert ("returned", f"user:{round_world.clerk3['id']}") in first
    assert ("before_close", "department:U3") in first
    returned_mail = next(m for m in server.messages if "差戻し" in m["Subject"])
    assert returned_mail["To"] == "clerk3@example.lg.jp"
    assert "根拠を追記してください" in body_of(returned_mail)
    later = sent(run(db, round_world, server, date(2021, 7, 29)))
    assert ("returned", f"user:{round_world.clerk3['id']}") not in later


# --- extensions --------------------------------------------------------------------

def test_an_extended_department_is_reminded_on_its_own_dates(db, round_world, server):
    deadlines.extend(db, round_world.round_id, "U1", "2021-08-04", "システム更改のため",
                     round_world.admin["id"])  # 12 days after SEVEN_BEFORE
    seven_before_round = {t for k, t in sent(run(db, round_world, server, SEVEN_BEFORE))}
    assert "department:U1" not in seven_before_round
    assert "department:U2" in seven_before_round
    assert ("before_close", "department:U1") in sent(
        run(db, round_world, server, date(2021, 7, 28)))  # 7 days before its own date
    monday = sent(run(db, round_world, server, MONDAY_AFTER))
    assert ("overdue", "department:U2") in monday and ("overdue", "department:U1") not in monday
    assert ("overdue", "department:U1") in sent(run(db, round_world, server, date(2021, 8, 5)))


def test_an_extension_needs_a_later_date_and_a_reason(db, round_world):
    with pytest.raises(Invalid):
        deadlines.extend(db, round_world.round_id, "U1", "2021-07-30", "理由", None)
    with pytest.raises(Invalid):
        deadlines.extend(db, round_world.round_id, "U1", "2021-08-06", " ", None)
    with pytest.raises(Invalid):
        deadlines.extend(db, round_world.round_id, "U1", "8月6日", "理由", None)
    with pytest.raises(NotFound):
        deadlines.extend(db, round_world.round_id, "TEST-BU", "2021-08-06", "理由", None)


def test_an_extension_is_audit_logged_and_shown_as_the_departments_deadline(db, round_world):
    from surveyapp.store import audit as audit_store

    deadlines.extend(db, round_world.round_id, "U1", "2021-08-06", "システム更改のため",
                     round_world.admin["id"])
    deadline = deadline_reads.department_deadline(db, round_world.round_id, "U1")
    assert deadline.extended and deadline.closes_on == date(2021, 8, 6)
    assert deadline.days_left(CLOSES) == 7 and not deadline.overdue(date(2021, 8, 6))
    assert deadline.overdue(date(2021, 8, 7))
    [entry] = audit_store.list_entries(db, "deadline.extend")
    assert "2021-07-30" in entry["detail"] and "システム更改のため" in entry["detail"]


# --- at most once a day; failures are retried -----------------------------------------

def test_a_second_run_the_same_day_sends_nothing(db, round_world, server):
    first = run(db, round_world, server, SEVEN_BEFORE)
    count = len(server.messages)
    second = run(db, round_world, server, SEVEN_BEFORE)
    assert sent(second) == set() and len(server.messages) == count
    assert second.count("already_sent") == first.count("sent")


def test_the_next_scheduled_day_sends_again(db, round_world, server):
    run(db, round_world, server, SEVEN_BEFORE)
    assert ("before_close", "department:U1") in sent(
        run(db, round_world, server, date(2021, 7, 29)))


def test_a_refused_message_is_not_recorded_as_sent_and_goes_on_the_next_run(db, round_world):
    with smtp_server(refuse_recipients={"clerk2@example.lg.jp"}) as refusing:
        report = run(db, round_world, refusing, SEVEN_BEFORE)
    [failure] = [o for o in report.outcomes if o.result == "failed"]
    assert failure.notice.target == "department:U2" and "550" in failure.detail
    assert not reminder_store.is_taken(db, round_world.round_id, "before_close",
                                       "department:U2", SEVEN_BEFORE.isoformat())
    with smtp_server() as accepting:
        again = run(db, round_world, accepting, SEVEN_BEFORE)
    assert sent(again) == {("before_close", "department:U2")}
    assert accepting.recipients() == ["clerk2@example.lg.jp"]


def test_a_server_that_is_down_fails_every_message_and_they_all_go_later(db, round_world):
    down = run(db, round_world, closed_port(), SEVEN_BEFORE)
    assert down.failed == len(down.outcomes) - down.count("no_address") > 0
    assert all("接続できません" in o.detail for o in down.outcomes if o.result == "failed")
    with smtp_server() as back:
        again = run(db, round_world, back, SEVEN_BEFORE)
    assert again.count("sent") == down.failed


def test_a_claim_left_by_a_killed_run_goes_again_later(db, round_world, server, monkeypatch):
    with store.transaction(db):
        reminder_store.claim(db, {"round_id": round_world.round_id, "kind": "before_close",
                                  "target": "department:U2", "department_code": "U2",
                                  "user_id": None, "day": SEVEN_BEFORE.isoformat(),
                                  "recipients": "", "sent_by": None})
    assert ("before_close", "department:U2") not in sent(
        run(db, round_world, server, SEVEN_BEFORE))
    monkeypatch.setattr(reminders, "STALE_CLAIM", reminders.timedelta(0))
    assert ("before_close", "department:U2") in sent(run(db, round_world, server, SEVEN_BEFORE))


def test_a_dry_run_sends_and_records_nothing(db, round_world, server):
    report = run(db, round_world, server, SEVEN_BEFORE, dry_run=True)
    assert report.count("would_send") >= 3 and server.messages == []
    assert reminder_store.log_of_round(db, round_world.round_id) == []


# --- what the mails say -----------------------------------------------------------------

def test_a_reminder_names_department_round_deadline_status_and_link(db, round_world, server):
    run(db, round_world, server, SEVEN_BEFORE)
    mail = next(m for m in server.messages if m["To"] == "clerk2@example.lg.jp")
    text = body_of(mail)
    assert "テストU2（U2）" in text and "テスト用自己点検" in text and "令和3年度" in text
    assert "2021年7月30日（金）　あと7日" in text and "作成中（下書き）" in text
    assert f"https://survey.pref.example.lg.jp/rounds/{round_world.round_id}/self-check/U2" \
        in text
    assert "提出期限のお知らせ" in mail["Subject"]


def test_an_overdue_reminder_says_how_late(db, round_world, server):
    run(db, round_world, server, MONDAY_AFTER)
    text = body_of(next(m for m in server.messages if m["To"] == "clerk2@example.lg.jp"))
    assert "期限を3日過ぎています" in text


def test_mails_name_no_host_but_the_tool_itself(db, round_world, server):
    approvals.return_for_changes(db, round_world.u3, round_world.chief3["id"],
                                 responses_service.get_response(db, round_world.u3)["version"],
                                 "直してください")
    run(db, round_world, server, SEVEN_BEFORE)
    assert len(server.messages) >= 3
    for message in server.messages:
        foreign = [ref for ref in closed_network.text_references(body_of(message))
                   if not ref.startswith("https://survey.pref.example.lg.jp/")]
        assert foreign == [], message["Subject"]


def test_the_mail_links_are_the_web_pages(app):
    urls = app.url_map.bind("survey.pref.example.lg.jp")
    assert urls.match(mail_texts.FORM_PATH.format(round_id=3, code="U1"))[0] == \
        "responses.form"
    assert urls.match(mail_texts.RESPONSE_PATH.format(response_id=5))[0] == "responses.view"


# --- notices right after a submission or a return -------------------------------------

def test_a_submission_notifies_the_approvers_at_once_and_the_scheduled_run_not_again(
        db, round_world, server):
    report = reminders.notify_submitted(db, round_world.u3, settings_of(server), SCHEDULE)
    assert sent(report) == {("approval", f"user:{round_world.chief3['id']}")}
    today = deadline_reads.local_today()
    later = reminders.send_due(db, round_world.round_id, settings_of(server), SCHEDULE,
                               today=today)
    assert ("approval", f"user:{round_world.chief3['id']}") not in sent(later)


def test_a_return_notifies_the_submitter_at_once(db, round_world, server):
    approvals.return_for_changes(db, round_world.u3, round_world.chief3["id"],
                                 responses_service.get_response(db, round_world.u3)["version"],
                                 "直してください")
    report = reminders.notify_returned(db, round_world.u3, settings_of(server), SCHEDULE)
    assert sent(report) == {("returned", f"user:{round_world.clerk3['id']}")}
    assert server.recipients() == ["clerk3@example.lg.jp"]


def test_notices_are_skipped_when_mail_is_off(db, round_world):
    off = MailSettings.from_config({})
    assert reminders.notify_submitted(db, round_world.u3, off, SCHEDULE).outcomes == []


# --- refusals -----------------------------------------------------------------------

def test_sending_needs_an_open_round(db, round_world, server):
    rounds.close_round(db, round_world.round_id)
    with pytest.raises(Locked):
        run(db, round_world, server, SEVEN_BEFORE)


def test_sending_needs_complete_settings(db, round_world):
    incomplete = MailSettings.from_config({"SMTP_HOST": "127.0.0.1"})
    with pytest.raises(reminders.Refusal, match="MAIL_FROM"):
        reminders.send_due(db, round_world.round_id, incomplete, SCHEDULE, today=SEVEN_BEFORE)


@pytest.mark.parametrize("text, days", [("14,7,1", (14, 7, 1)), ("1, 7", (7, 1)),
                                        ("", ()), ("0", (0,))])
def test_reminder_days_are_parsed(text, days):
    assert reminders.parse_days(text) == days


@pytest.mark.parametrize("text", ["7,x", "-1", "400", "１４"])
def test_bad_reminder_days_are_refused(text):
    with pytest.raises(Invalid):
        reminders.parse_days(text)


# --- the command --------------------------------------------------------------------

@pytest.fixture
def command(app, round_world, monkeypatch, instance_path):
    def invoke(port, *args):
        for name, value in settings_env(port).items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(cli, ["--instance", str(instance_path), "reminders",
                                        "send", *args])
    return invoke


def settings_env(port: int) -> dict[str, str]:
    return {"SURVEYAPP_SMTP_HOST": "127.0.0.1", "SURVEYAPP_SMTP_PORT": str(port),
            "SURVEYAPP_SMTP_TIMEOUT": "5",
            "SURVEYAPP_MAIL_FROM": "jisyutenken@pref.example.lg.jp",
            "SURVEYAPP_MAIL_BASE_URL": "https://survey.pref.example.lg.jp"}


def test_the_command_prints_a_line_per_message_and_a_summary(command, round_world, server):
    result = command(server.port, "--round", str(round_world.round_id), "--today",
                     SEVEN_BEFORE.isoformat())
    lines = result.output.splitlines()
    assert sum(line.startswith("送信 / sent") for line in lines) == len(server.messages) >= 3
    assert any(line.startswith("宛先なし / no_address\tbefore_close\tU4") for line in lines)
    assert lines[-1].startswith(f"round {round_world.round_id}: 送信 {len(server.messages)}件")
    assert "宛先なし 1件" in lines[-1]
    assert result.exit_code == 0, result.output  # no address is reported, not a failure


def test_the_command_sends_nothing_the_second_time(command, round_world, server):
    command(server.port, "--today", SEVEN_BEFORE.isoformat())
    count = len(server.messages)
    again = command(server.port, "--today", SEVEN_BEFORE.isoformat())
    assert len(server.messages) == count
    assert "送信済みのため省略" in again.output


def test_the_command_exits_1_when_the_server_is_down(command, round_world):
    result = command(closed_port(), "--round", str(round_world.round_id), "--today",
                     SEVEN_BEFORE.isoformat())
    assert result.exit_code == 1
    assert "次回の実行で再送します" in result.output


def test_the_command_dry_run_sends_nothing(command, round_world, server):
    result = command(server.port, "--dry-run", "--today", SEVEN_BEFORE.isoformat())
    assert result.exit_code == 0, result.output
    assert "送信予定（試行）" in result.output and server.messages == []


def test_the_command_refuses_a_bad_day(command, server):
    result = command(server.port, "--today", "2021/07/23")
    assert result.exit_code == 1 and "yyyy-mm-dd" in result.output
