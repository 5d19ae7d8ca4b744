"""Reminders and notices by mail, and their log (DESIGN.md §10).

What is due on a day (`due`) for one open round:

- `before_close`: on each of REMINDER_DAYS_BEFORE_CLOSE days before a 所属's deadline
  (the round's `closes_on`, or its extension), to the active department users of every
  所属 whose self-check is neither submitted nor approved (not started, draft, returned);
- `overdue`: every weekday (Monday to Friday) after that deadline, to the same;
- `approval`: on weekdays, to each approver of a 所属 whose submission waits for a
  decision (not the submitter, unless ALLOW_SELF_APPROVAL), one mail per approver;
- `returned`: to the submitter of a returned submission, until one such mail went out
  after the return.

A 所属 reminder is one mail to all the 所属's addresses; the key of the once-a-day rule
is (round, 所属 or user, kind, day), claimed in the log before the mail goes out
(`store.reminders.claim`). A mail the server did not take is logged as failed, reported,
and is due again on the next run. The web sends `approval` right after a submission and
`returned` right after a return (`notify_submitted`, `notify_returned`), through the
same log, so the scheduled run of that day does not send them twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from surveyapp import mail as mailing
from surveyapp import store
from surveyapp.mail import Mail, MailSettings
from surveyapp.model import N_
from surveyapp.readmodels import approval_states, deadlines
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Invalid, Locked, Refusal
from surveyapp.services import mail_texts
from surveyapp.store import approvals as approval_store
from surveyapp.store import departments as department_store
from surveyapp.store import reminders as reminder_store
from surveyapp.store import rounds as round_store

RESULT_TEXT = {"sent": "送信", "failed": "失敗", "already_sent": "送信済みのため省略",
               "no_address": "宛先なし", "would_send": "送信予定（試行）"}
# A claim older than this whose run never finished (killed mid-send) may go again.
STALE_CLAIM = timedelta(minutes=30)


@dataclass(frozen=True)
class Schedule:
    days_before: tuple[int, ...] = (14, 7, 1)
    allow_self: bool = False

    @classmethod
    def from_config(cls, config: Mapping) -> Schedule:
        return cls(parse_days(str(config.get("REMINDER_DAYS_BEFORE_CLOSE", "14,7,1"))),
                   bool(config.get("ALLOW_SELF_APPROVAL", False)))


def parse_days(text: str) -> tuple[int, ...]:
    """"14,7,1" -> (14, 7, 1); each a whole number of days, 0 (the deadline day) to 365."""
    days = []
    for part in text.replace("、", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not (part.isascii() and part.isdigit() and int(part) <= 365):
            raise Invalid(N_("REMINDER_DAYS_BEFORE_CLOSE は 0〜365 の日数をカンマで区切って"
                             "書いてください（例: 14,7,1）: %(text)s"), text=text)
        days.append(int(part))
    return tuple(sorted(set(days), reverse=True))


@dataclass(frozen=True)
class Notice:
    """One mail that is due: its kind, whom it is for (the log's key) and its text."""

    kind: str
    round_id: int
    target: str                # department:<code> or user:<id>
    department_code: str
    user_id: int | None
    day: str                   # the Japanese calendar day it is due on, yyyy-mm-dd
    mail: Mail


@dataclass(frozen=True)
class Outcome:
    notice: Notice
    result: str                # sent | failed | already_sent | no_address | would_send
    detail: str = ""

    def line(self) -> str:
        """One line for the command's output: result, kind, 所属 or user, addresses."""
        notice = self.notice
        to = ", ".join(notice.mail.recipients) or "-"
        text = (f"{RESULT_TEXT[self.result]} / {self.result}\t{notice.kind}\t"
                f"{notice.department_code}\t{notice.target}\t{to}")
        return f"{text}\t{self.detail}" if self.detail else text


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(outcome.result == result for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def summary(self) -> str:
        counts = {result: self.count(result) for result in RESULT_TEXT}
        japanese = "、".join(f"{RESULT_TEXT[r]} {n}件" for r, n in counts.items() if n)
        english = ", ".join(f"{n} {r}" for r, n in counts.items() if n)
        return f"{japanese or '対象なし'} / {english or 'nothing due'}"


# --- what is due ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RoundFacts:
    round: round_reads.Round
    label: str
    default: deadlines.Deadline
    extended: dict[str, deadlines.Deadline]

    def deadline(self, code: str) -> deadlines.Deadline:
        return self.extended.get(code, self.default)


def round_facts(db: Database, round_id: int) -> RoundFacts:
    found = round_reads.require_round(db, round_id)
    version = round_store.get_published_version(db, found.questionnaire_id, found.version)
    default, extended = deadlines.deadlines_of_round(db, round_id)
    label = mail_texts.round_label(found.fiscal_year, version["title"] if version else "")
    return RoundFacts(found, label, default, extended)


def context(facts: RoundFacts, unit: Mapping, status: str, today: date) -> mail_texts.Context:
    deadline = facts.deadline(unit["code"])
    return mail_texts.Context(
        round_id=facts.round.id, round_label=facts.label,
        approval_required=facts.round.approval_required, code=unit["code"],
        unit_name=unit["name"], closes_on=deadline.closes_on, extended=deadline.extended,
        status=status, today=today)


def due(db: Database, round_id: int, today: date, settings: MailSettings,
        schedule: Schedule) -> list[Notice]:
    """Every mail due on `today` for the round (whether sent already or not)."""
    facts = round_facts(db, round_id)
    states = {row["department_code"]: row
              for row in approval_store.response_states(db, round_id)}
    users = approval_store.users_by_department(db)
    notices = []
    for unit in department_store.list_units(db, None, facts.round.fiscal_year):
        state = states.get(unit["code"])
        status = approval_states.status_of(state["status"] if state else None,
                                     state["decision"] if state else None)
        ctx = context(facts, unit, status, today)
        notices += unit_notices(db, settings, schedule, ctx, state,
                                users.get(unit["code"], []))
    return notices


def unit_notices(db: Database, settings: MailSettings, schedule: Schedule,
                 ctx: mail_texts.Context, state: Mapping | None,
                 users: list[dict]) -> list[Notice]:
    found = []
    kind = reminder_kind(ctx, schedule)
    if kind:
        found.append(unit_reminder(settings, ctx, users, kind))
    if ctx.status == "submitted" and ctx.approval_required and ctx.today.weekday() < 5:
        found += approval_notices(settings, schedule, ctx, state, users)
    if ctx.status == "returned":
        found += returned_notices(db, settings, ctx, state, users)
    return found


def reminder_kind(ctx: mail_texts.Context, schedule: Schedule) -> str | None:
    if ctx.status not in approval_states.UNSUBMITTED or ctx.closes_on is None:
        return None
    left = (ctx.closes_on - ctx.today).days
    if left in schedule.days_before:
        return "before_close"
    if left < 0 and ctx.today.weekday() < 5:
        return "overdue"
    return None


def notice(kind: str, ctx: mail_texts.Context, target: str, user_id: int | None,
           mail: Mail) -> Notice:
    return Notice(kind, ctx.round_id, target, ctx.code, user_id, ctx.today.isoformat(), mail)


def unit_reminder(settings: MailSettings, ctx: mail_texts.Context, users: list[dict],
                  kind: str) -> Notice:
    recipients = mailing.addresses([user["email"] for user in users])
    mail = mail_texts.reminder(settings, ctx, recipients, overdue=kind == "overdue")
    return notice(kind, ctx, f"department:{ctx.code}", None, mail)


def approval_notices(settings: MailSettings, schedule: Schedule, ctx: mail_texts.Context,
                     state: Mapping, users: list[dict]) -> list[Notice]:
    submitter = next((u for u in users if u["id"] == state["submitted_by"]), None)
    submitter_name = person(submitter) if submitter else "—"
    found = []
    for user in users:
        if not user["approver"] or (user["id"] == state["submitted_by"]
                                    and not schedule.allow_self):
            continue
        mail = mail_texts.approval_waiting(
            settings, ctx, mailing.addresses([user["email"]]), person(user), state["id"],
            submitter_name, deadlines.time_text(state["submitted_at"]))
        found.append(notice("approval", ctx, f"user:{user['id']}", user["id"], mail))
    return found


def returned_notices(db: Database, settings: MailSettings, ctx: mail_texts.Context,
                     state: Mapping, users: list[dict]) -> list[Notice]:
    decision = approval_store.get_decision(db, state["approval_id"])
    submitter = next((u for u in users if u["id"] == decision["submitted_by"]), None)
    if submitter is None:  # deactivated or moved away since: nobody to tell
        return []
    target = f"user:{submitter['id']}"
    last = reminder_store.last_sent_at(db, ctx.round_id, "returned", target)
    if last is not None and last >= decision["decided_at"]:
        return []
    approver = decision["decided_by_name"] or decision["decided_by_login"]
    mail = mail_texts.returned(settings, ctx, mailing.addresses([submitter["email"]]),
                               person(submitter), approver,
                               deadlines.time_text(decision["decided_at"]),
                               decision["comment"])
    return [notice("returned", ctx, target, submitter["id"], mail)]


def person(user: Mapping) -> str:
    return user["display_name"] or user["login"]


# --- sending ---------------------------------------------------------------------------------

def check_settings(settings: MailSettings) -> None:
    """Refuse to send with settings that cannot work (one line naming each fault)."""
    if not settings.enabled:
        raise Refusal(N_("SMTP_HOST が空のため、メールは送信しません。"))
    problems = settings.problems()
    if problems:
        raise Refusal(N_("メールの設定が不完全です: %(problems)s"),
                      problems="; ".join(problems))


def send(db: Database, notices: Iterable[Notice], settings: MailSettings, *,
         dry_run: bool = False, sent_by: int | None = None,
         on_outcome: Callable[[Outcome], None] | None = None) -> Report:
    """Send each notice not yet sent on its day, one SMTP connection for all."""
    report = Report()
    with mailing.Mailer(settings) as mailer:
        for item in notices:
            outcome = (preview(db, item) if dry_run
                       else send_one(db, mailer, item, sent_by))
            report.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return report


def preview(db: Database, item: Notice) -> Outcome:
    if reminder_store.is_taken(db, item.round_id, item.kind, item.target, item.day):
        return Outcome(item, "already_sent")
    return Outcome(item, "would_send" if item.mail.recipients else "no_address")


def send_one(db: Database, mailer: mailing.Mailer, item: Notice,
             sent_by: int | None) -> Outcome:
    if not item.mail.recipients and reminder_store.logged_without_address(
            db, item.round_id, item.kind, item.target, item.day):
        # Logged once a day: a run every few minutes would add a line each time. Once an
        # address is added, the same day's next run sends (a failed line blocks nothing).
        return Outcome(item, "no_address", NO_ADDRESS)
    with store.transaction(db):
        reminder_store.release_stale(db, stamp_before(STALE_CLAIM))
        entry = reminder_store.claim(db, {
            "round_id": item.round_id, "kind": item.kind, "target": item.target,
            "department_code": item.department_code, "user_id": item.user_id,
            "day": item.day, "recipients": ", ".join(item.mail.recipients),
            "sent_by": sent_by})
    if entry is None:
        return Outcome(item, "already_sent")
    outcome = deliver(mailer, item)
    with store.transaction(db):
        reminder_store.finish(db, entry, "sent" if outcome.result == "sent" else "failed",
                              outcome.detail)
    return outcome


NO_ADDRESS = "宛先のメールアドレスが登録されていません"


def deliver(mailer: mailing.Mailer, item: Notice) -> Outcome:
    if not item.mail.recipients:
        return Outcome(item, "no_address", NO_ADDRESS)
    try:
        refused = mailer.send(item.mail)
    except mailing.MailError as error:
        return Outcome(item, "failed", str(error))
    detail = "; ".join(f"{a} {reply}" for a, reply in refused.items())
    return Outcome(item, "sent", f"一部の宛先を拒否されました: {detail}" if detail else "")


def stamp_before(age: timedelta) -> str:
    return (datetime.now(UTC) - age).isoformat(timespec="microseconds")


# --- the entry points -------------------------------------------------------------------------

def open_round(db: Database, round_id: int) -> round_reads.Round:
    found = round_reads.require_round(db, round_id)
    if found.status != "open":
        raise Locked(N_("調査回 %(id)d は受付中ではないため、督促は送りません。"), id=round_id)
    return found


def open_round_ids(db: Database) -> list[int]:
    return [row["id"] for row in round_store.list_open_rounds(db)]


def send_due(db: Database, round_id: int, settings: MailSettings, schedule: Schedule, *,
             today: date | None = None, dry_run: bool = False, sent_by: int | None = None,
             on_outcome: Callable[[Outcome], None] | None = None) -> Report:
    """`surveyapp reminders send` and "send now": what is due today for an open round."""
    open_round(db, round_id)
    if not dry_run:
        check_settings(settings)
    today = today or deadlines.local_today()
    return send(db, due(db, round_id, today, settings, schedule), settings,
                dry_run=dry_run, sent_by=sent_by, on_outcome=on_outcome)


def notify(db: Database, response_id: int, kind: str, settings: MailSettings,
           schedule: Schedule, today: date | None = None) -> Report:
    """Send the `kind` notices (approval | returned) about one response right away;
    nothing when mail is off or incomplete (the scheduled run reports that)."""
    state = approval_store.response_state(db, response_id)
    if not settings.enabled or settings.problems() or state is None:
        return Report()
    today = today or deadlines.local_today()
    facts = round_facts(db, state["round_id"])
    unit = department_store.get_department(db, state["department_code"])
    status = approval_states.status_of(state["status"], state["decision"])
    ctx = context(facts, unit, status, today)
    users = approval_store.department_users(db, state["department_code"])
    if kind == "approval" and status == "submitted" and ctx.approval_required:
        items = approval_notices(settings, schedule, ctx, state, users)
    elif kind == "returned" and status == "returned":
        items = returned_notices(db, settings, ctx, state, users)
    else:
        items = []
    return send(db, items, settings)


def notify_submitted(db: Database, response_id: int, settings: MailSettings,
                     schedule: Schedule) -> Report:
    return notify(db, response_id, "approval", settings, schedule)


def notify_returned(db: Database, response_id: int, settings: MailSettings,
                    schedule: Schedule) -> Report:
    return notify(db, response_id, "returned", settings, schedule)

