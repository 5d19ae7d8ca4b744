"""Survey rounds read back: the rounds, the open one, the published versions a round may
use, and the progress board (who answered, its approval, its deadline, staff
participation). Changing rounds is services/rounds.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlite_utils import Database

from surveyapp.model import N_
from surveyapp.readmodels import approval_states, deadlines
from surveyapp.refusals import NotFound
from surveyapp.store import departments as department_store
from surveyapp.store import rounds as round_store

ROUND_STATUSES = ("draft", "open", "closed")
RESPONSE_STATUSES = ("not_started", "draft", "submitted", "reopened")
ROUND_NOT_FOUND = N_("調査回 %(id)s が見つかりません。")


@dataclass(frozen=True)
class Round:
    id: int
    fiscal_year: int
    questionnaire_id: str
    version: str
    status: str
    opens_on: str | None
    closes_on: str | None
    created_at: str
    approval_required: bool = True  # 所属長 approval (DESIGN.md §10)
    attachments_allowed: bool = False  # the forms accept evidence attachments (§13)

    @classmethod
    def from_row(cls, row: dict) -> Round:
        values = {name: row[name] for name in cls.__dataclass_fields__ if name in row}
        return cls(**{**values, "approval_required": bool(row.get("approval_required", 1)),
                      "attachments_allowed": bool(row.get("attachments_allowed"))})

    def as_dict(self) -> dict:
        # Every field is a plain value: a shallow copy is what dataclasses.asdict would
        # give, without its recursive deep copy (a tenth of a ms on each staff answer).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ProgressRow:
    """One 所属's progress in a round."""

    bureau_code: str
    bureau_name: str
    code: str
    name: str
    headcount: int
    status: str                 # one of RESPONSE_STATUSES
    updated_at: str | None      # last save of the department response
    updated_by: str | None      # login of whoever saved it last
    submitted_at: str | None
    staff_submitted: int
    staff_rate: float | None    # staff_submitted / headcount; None when headcount is 0
    # DESIGN.md §10: approval_states.STATUSES, the decision, the 所属's own deadline
    state: str = "not_started"
    approved_at: str | None = None
    approved_by: str | None = None  # login of the approver
    response_id: int | None = None
    deadline: deadlines.Deadline | None = None
    overdue: bool = False       # past its deadline and neither submitted nor approved


@dataclass(frozen=True)
class ProgressTotals:
    units: int
    by_status: dict[str, int]
    headcount: int
    staff_submitted: int
    staff_rate: float | None
    submitted_rate: float | None   # 所属 that submitted / all 所属
    by_state: dict[str, int] | None = None  # approval_states.STATUSES -> 所属
    overdue: int = 0


def get_round(db: Database, round_id: int) -> Round | None:
    row = round_store.get_round(db, round_id)
    return None if row is None else Round.from_row(row)


def require_round(db: Database, round_id: int) -> Round:
    """The round; raises `NotFound` when there is none."""
    found = get_round(db, round_id)
    if found is None:
        raise NotFound(ROUND_NOT_FOUND, id=round_id)
    return found


def list_rounds(db: Database) -> list[Round]:
    return [Round.from_row(row) for row in round_store.list_rounds(db)]


def current_open_round(db: Database, questionnaire_id: str | None = None) -> Round | None:
    """The open round (of one questionnaire, or the newest open one of any)."""
    open_rounds = round_store.list_open_rounds(db, questionnaire_id)
    return Round.from_row(open_rounds[0]) if open_rounds else None


def list_published_versions(db: Database) -> list[dict]:
    """Questionnaire versions a round may use: {questionnaire_id, version, fiscal_year,
    title, ...}."""
    return round_store.list_published_versions(db)


def progress(db: Database, round_id: int, bureau_code: str | None = None,
             today: date | None = None) -> list[ProgressRow]:
    """Every 所属 valid in the round's fiscal year (optionally of one 部局), in tree order,
    with its approval state and its deadline as of `today` (Japan; default now)."""
    current = require_round(db, round_id)
    bureau_names = {row["code"]: row["name"] for row in department_store.list_bureaus(db)}
    responses = {row["department_code"]: row
                 for row in round_store.department_responses(db, round_id)}
    staff = round_store.staff_submissions(db, round_id)
    states = approval_states.round_statuses(db, round_id)
    default, extended = deadlines.deadlines_of_round(db, round_id)
    today = today or deadlines.local_today()
    return [with_approval(progress_row(unit, bureau_names, responses.get(unit["code"]),
                                       staff.get(unit["code"], 0)),
                          states.get(unit["code"]), extended.get(unit["code"], default),
                          today)
            for unit in department_store.list_units(db, bureau_code, current.fiscal_year)]


def with_approval(row: ProgressRow, state: dict | None, deadline: deadlines.Deadline,
                  today: date) -> ProgressRow:
    state = state or {"status": "not_started"}
    return replace(row, state=state["status"], approved_at=state.get("approved_at"),
                   approved_by=state.get("approved_by_login"),
                   response_id=state.get("response_id"), deadline=deadline,
                   overdue=(state["status"] in approval_states.UNSUBMITTED
                            and deadline.overdue(today)))


def filtered(rows: list[ProgressRow], state: str = "", overdue_only: bool = False
             ) -> list[ProgressRow]:
    """The board's filters: one approval state (`""` = every one), and overdue only."""
    return [row for row in rows if (not state or row.state == state)
            and (row.overdue or not overdue_only)]


def progress_row(unit: dict, bureau_names: dict[str, str], response: dict | None,
                 staff_submitted: int) -> ProgressRow:
    response = response or {}
    headcount = unit["headcount"]
    return ProgressRow(
        bureau_code=unit["parent_code"], bureau_name=bureau_names.get(unit["parent_code"], ""),
        code=unit["code"], name=unit["name"], headcount=headcount,
        status=response.get("status", "not_started"),
        updated_at=response.get("updated_at"), updated_by=response.get("updated_by_login"),
        submitted_at=response.get("submitted_at"), staff_submitted=staff_submitted,
        staff_rate=staff_submitted / headcount if headcount else None)


def progress_totals(rows: list[ProgressRow]) -> ProgressTotals:
    by_status = dict.fromkeys(RESPONSE_STATUSES, 0)
    by_state = dict.fromkeys(approval_states.STATUSES, 0)
    for row in rows:
        by_status[row.status] += 1
        by_state[row.state] += 1
    headcount = sum(row.headcount for row in rows)
    staff_submitted = sum(row.staff_submitted for row in rows)
    return ProgressTotals(
        units=len(rows), by_status=by_status, headcount=headcount,
        staff_submitted=staff_submitted,
        staff_rate=staff_submitted / headcount if headcount else None,
        submitted_rate=by_status["submitted"] / len(rows) if rows else None,
        by_state=by_state, overdue=sum(row.overdue for row in rows))
