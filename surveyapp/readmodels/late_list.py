"""The list of late 所属 with their contacts, as a CSV (DESIGN.md §10): for bodies that
run no mail relay, the central office phones or writes to them instead.

`which="overdue"`: 所属 past their own deadline (the round's, or an extension) whose
self-check is neither submitted nor approved; `which="unsubmitted"`: every 所属 whose
self-check is neither, late or not. One row per 所属, its department users in the
last columns. Text cells are formula-neutralised by `exports.csv_chunks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from surveyapp import exports
from surveyapp.model import N_
from surveyapp.readmodels import approval_states, deadlines
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Invalid
from surveyapp.store import approvals as approval_store
from surveyapp.store import departments as department_store

HEADER = ("bureau_code", "bureau_name", "department_code", "department_name", "status",
          "closes_on", "extended", "days_overdue", "extension_reason", "contacts",
          "emails", "approvers")
WHICH = ("overdue", "unsubmitted")


@dataclass(frozen=True)
class LateUnit:
    bureau_code: str
    bureau_name: str
    code: str
    name: str
    status: str
    deadline: deadlines.Deadline
    users: tuple[dict, ...]

    def row(self, today: date) -> tuple:
        left = self.deadline.days_left(today)
        return (self.bureau_code, self.bureau_name, self.code, self.name, self.status,
                self.deadline.closes_on.isoformat() if self.deadline.closes_on else "",
                "yes" if self.deadline.extended else "no",
                -left if left is not None and left < 0 else 0, self.deadline.reason,
                "; ".join(contact(user) for user in self.users),
                "; ".join(user["email"] for user in self.users if user["email"]),
                "; ".join(contact(user) for user in self.users if user["approver"]))


def contact(user: dict) -> str:
    return f"{user['display_name']} ({user['login']})" if user["display_name"] \
        else user["login"]


def late_units(db: Database, round_id: int, today: date,
               which: str = "overdue") -> list[LateUnit]:
    if which not in WHICH:
        raise Invalid(N_("一覧の種類が正しくありません。"))
    fiscal_year = round_reads.require_round(db, round_id).fiscal_year
    default, extended = deadlines.deadlines_of_round(db, round_id)
    statuses = approval_states.round_statuses(db, round_id)
    users = approval_store.users_by_department(db)
    bureaus = {row["code"]: row["name"] for row in department_store.list_bureaus(db)}
    found = []
    for unit in department_store.list_units(db, None, fiscal_year):
        status = statuses.get(unit["code"], {"status": "not_started"})["status"]
        deadline = extended.get(unit["code"], default)
        late = which == "unsubmitted" or deadline.overdue(today)
        if status in approval_states.UNSUBMITTED and late:
            found.append(LateUnit(unit["parent_code"], bureaus.get(unit["parent_code"], ""),
                                  unit["code"], unit["name"], status, deadline,
                                  tuple(users.get(unit["code"], []))))
    return found


def csv_chunks(db: Database, round_id: int, today: date,
               which: str = "overdue") -> Iterator[bytes]:
    units = late_units(db, round_id, today, which)
    return exports.csv_chunks(HEADER, (unit.row(today) for unit in units))
