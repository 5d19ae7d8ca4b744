"""Extending one 所属's deadline (DESIGN.md §10), with a reason, audit-logged. Reading
deadlines back is readmodels/deadlines.py."""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_
from surveyapp.readmodels.deadlines import Deadline, department_deadline, parse_day
from surveyapp.readmodels.rounds import Round, require_round
from surveyapp.refusals import Invalid, Locked, NotFound
from surveyapp.services import audit
from surveyapp.store import departments as department_store
from surveyapp.store import reminders as reminder_store

MAX_REASON_LENGTH = 500


def extend(db: Database, round_id: int, code: str, closes_on: str | date | None,
           reason: str | None, user_id: int | None) -> Deadline:
    """Give one 所属 a later deadline than the round's; the reason is required and goes
    to the audit log with the old and new dates. Extending again replaces the date."""
    reason = (reason or "").strip()
    new_day = _checked_day(closes_on)
    _check_reason(reason)
    with store.transaction(db):
        round_row = _extendable_round(db, round_id)
        _check_unit(db, code)
        if new_day <= parse_day(round_row.closes_on):
            raise Invalid(N_("延長後の締切日は、調査回の締切日（%(closes)s）より後の日にして"
                             "ください。"), errors={"closes_on": "not_later"},
                          closes=round_row.closes_on)
        before = department_deadline(db, round_id, code)
        reminder_store.put_extension(db, round_id, code, new_day.isoformat(), reason, user_id)
        audit.record(db, user_id, "deadline.extend", "department", code, round_id=round_id,
                     old_closes_on=before.closes_on.isoformat(),
                     new_closes_on=new_day.isoformat(), reason=reason)
    return department_deadline(db, round_id, code)


def _checked_day(value: str | date | None) -> date:
    day = parse_day(value.strip() if isinstance(value, str) else value)
    if day is None:
        raise Invalid(N_("延長後の締切日を yyyy-mm-dd の形式で入力してください。"),
                      errors={"closes_on": "format"})
    return day


def _check_reason(reason: str) -> None:
    if not reason:
        raise Invalid(N_("延長の理由を入力してください。"), errors={"reason": "required"})
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(N_("延長の理由は%(n)d文字以内で入力してください。"),
                      errors={"reason": "too_long"}, n=MAX_REASON_LENGTH)


def _extendable_round(db: Database, round_id: int) -> Round:
    round_row = require_round(db, round_id)
    if round_row.status == "closed":
        raise Locked(N_("受付を締め切った調査回の締切日は延長できません。"))
    if not round_row.closes_on:
        raise Locked(N_("この調査回には締切日がないため、延長できません。"))
    return round_row


def _check_unit(db: Database, code: str) -> None:
    department = department_store.get_department(db, code)
    if department is None or not department["parent_code"]:
        raise NotFound(N_("所属 %(code)s が見つかりません。"), code=code)
