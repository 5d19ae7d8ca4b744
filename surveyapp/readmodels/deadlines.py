"""Deadlines read back (DESIGN.md §10): a round's `closes_on`, or a 所属's own later date
when an admin extended it with a reason (services/deadlines.py extends). Reminders and
the overdue mark follow the 所属's date.

Days are calendar days of the TIMEZONE setting (Japan unless set otherwise, see
surveyapp/clock.py), wherever the server's clock is set. A deadline day is the last day
to submit; the day after it the 所属 is overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from surveyapp import clock
from surveyapp.model import N_
from surveyapp.readmodels.approval_states import status_of
from surveyapp.refusals import NotFound
from surveyapp.store import approvals as approval_store
from surveyapp.store import reminders as reminder_store
from surveyapp.store import rounds as round_store


def local_today(now: datetime | None = None) -> date:
    """Today in the TIMEZONE setting's zone (the pages' and reminders' "today"; tests
    set it here)."""
    return clock.today(now)


def time_text(stamp: str | None) -> str:
    """A stored UTC timestamp as local time, 2026-07-01 14:05 (mails, the PDF)."""
    moment = clock.local_time(stamp)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


@dataclass(frozen=True)
class Deadline:
    """A 所属's deadline in a round; `closes_on` is None when the round has none."""

    closes_on: date | None
    round_closes_on: date | None
    reason: str = ""           # why it was extended ("" when it was not)

    @property
    def extended(self) -> bool:
        return self.closes_on != self.round_closes_on

    def days_left(self, today: date) -> int | None:
        """0 on the deadline day, negative once it has passed, None without one."""
        return None if self.closes_on is None else (self.closes_on - today).days

    def overdue(self, today: date) -> bool:
        return self.closes_on is not None and today > self.closes_on


def parse_day(text: str | date | None) -> date | None:
    if isinstance(text, date) or text is None:
        return text
    try:
        return date.fromisoformat(text) if len(text.strip()) == 10 else None
    except ValueError:
        return None


def deadline_of(round_row: Mapping, extension: Mapping | None) -> Deadline:
    """`round_row` has `closes_on`; `extension` is a deadline_extensions row or None."""
    closes = parse_day(round_row["closes_on"])
    if extension is None:
        return Deadline(closes, closes)
    return Deadline(parse_day(extension["closes_on"]), closes, extension["reason"])


def deadlines_of_round(db: Database, round_id: int) -> tuple[Deadline, dict[str, Deadline]]:
    """The round's own deadline, and the 所属 codes that have another one."""
    round_row = round_store.get_round(db, round_id)
    if round_row is None:
        raise NotFound(N_("調査回 %(id)d が見つかりません"), id=round_id)
    extended = {code: deadline_of(round_row, row)
                for code, row in reminder_store.extensions_of_round(db, round_id).items()}
    return deadline_of(round_row, None), extended


def department_deadline(db: Database, round_id: int, code: str) -> Deadline:
    round_row = round_store.get_round(db, round_id)
    if round_row is None:
        raise NotFound(N_("調査回 %(id)d が見つかりません"), id=round_id)
    return deadline_of(round_row, reminder_store.get_extension(db, round_id, code))


@dataclass(frozen=True)
class UnitDeadline:
    """A 所属's deadline in one open round, with the state of its self-check."""

    round_id: int
    fiscal_year: int
    questionnaire_id: str
    deadline: Deadline
    status: str                # services.approvals.STATUSES
    days_left: int | None
    response_id: int | None

    @property
    def done(self) -> bool:
        return self.status in ("submitted", "approved")


def unit_deadlines(db: Database, code: str, today: date) -> list[UnitDeadline]:
    """The 所属's deadline in every open round (the banner on its pages)."""
    found = []
    for round_row in round_store.list_open_rounds(db):
        deadline = deadline_of(round_row, reminder_store.get_extension(db, round_row["id"],
                                                                       code))
        state = approval_store.department_state(db, round_row["id"], code)
        status = status_of(state["status"], state["decision"]) if state else "not_started"
        found.append(UnitDeadline(round_row["id"], round_row["fiscal_year"],
                                  round_row["questionnaire_id"], deadline, status,
                                  deadline.days_left(today), state["id"] if state else None))
    return found
