"""A department user's home page, task first: each open round with the 所属's deadline
(the round's closing day, or the later day an admin extended it to) and the days left,
the state of the 所属's self-check, what is answered per section (answered and required
questions, only those the answers so far make relevant) and per information system
block, the staff survey's participation; the latest scores come second."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from surveyapp import audiences
from surveyapp.model import Questionnaire, Section
from surveyapp.question_types import is_empty
from surveyapp.readmodels import aggregate, deadlines, register
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.answers import Answers, parse_rows, stored_answers
from surveyapp.readmodels.definitions import get_definition
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store
from surveyapp.store import systems as system_store

AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)  # the questions the 所属 answers
SYSTEM = audiences.SYSTEM.name  # the questions of each system block (DESIGN.md §12)


@dataclass(frozen=True)
class SectionProgress:
    section: Section
    answered: int  # relevant questions with an answer
    total: int  # relevant questions
    required_answered: int
    required: int

    @property
    def complete(self) -> bool:
        return self.required_answered == self.required


@dataclass(frozen=True)
class SystemProgress:
    """One information system's block of the form: its required questions answered."""

    code: str
    name: str
    required_answered: int
    required: int

    @property
    def complete(self) -> bool:
        return self.required_answered == self.required


@dataclass(frozen=True)
class RoundTask:
    """One open round from the 所属's side."""

    round: round_reads.Round
    questionnaire: Questionnaire
    response: dict | None  # the department response, None before the first save
    sections: tuple[SectionProgress, ...]
    deadline: deadlines.Deadline  # the 所属's own (extended or the round's)
    days_left: int | None  # to the deadline (0: today, negative: past); None: no date
    staff_submitted: int
    headcount: int
    systems: tuple[SystemProgress, ...] = ()  # its blocks, in a round that asks per system

    @property
    def status(self) -> str:
        """not_started, draft, submitted or reopened."""
        return self.response["status"] if self.response else "not_started"

    @property
    def answered(self) -> int:
        return sum(s.answered for s in self.sections)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    @property
    def required_left(self) -> int:
        return sum(item.required - item.required_answered
                   for item in (*self.sections, *self.systems))


@dataclass(frozen=True)
class DepartmentHome:
    unit: dict
    tasks: tuple[RoundTask, ...]  # the open rounds, newest first
    latest: aggregate.HistoryEntry | None  # the newest round with figures
    latest_result: aggregate.DepartmentResult | None  # its row (None: predecessors')


def department_home(db: Database, code: str, today: date,
                    anonymity_min: int) -> DepartmentHome | None:
    """The home of 所属 `code` on `today` (a local date); None when it is no 所属."""
    unit = department_store.get_department(db, code)
    if unit is None:
        return None
    tasks = tuple(round_task(db, round_reads.Round.from_row(row), unit, today)
                  for row in round_store.list_open_rounds(db))
    history = aggregate.department_history(db, code, anonymity_min) or []
    scored = [entry for entry in history if entry.scores.overall is not None]
    latest = scored[-1] if scored else None
    return DepartmentHome(unit, tasks, latest, own_result(db, unit, latest, anonymity_min))


def own_result(db: Database, unit: dict, latest: aggregate.HistoryEntry | None,
               anonymity_min: int) -> aggregate.DepartmentResult | None:
    """The 所属's own row in the `latest` round (what its overall rests on), scored for
    this 所属 alone: the home is every department user's first page, and the whole
    round's scores are computed again after every save while a round is open. None
    when the figures are its predecessors'."""
    if latest is None or latest.codes != (unit["code"],):
        return None
    questionnaire = get_definition(db, latest.round.questionnaire_id, latest.round.version)
    (found,) = aggregate.score_departments(db, latest.round.id, questionnaire, [unit],
                                           anonymity_min)
    return found


def round_task(db: Database, current: round_reads.Round, unit: dict,
               today: date) -> RoundTask:
    questionnaire = get_definition(db, current.questionnaire_id, current.version)
    response = response_store.find_department_response(db, current.id, unit["code"])
    answers = stored_answers(db, response["id"], questionnaire)[0] if response else {}
    staff = round_store.staff_submissions(db, current.id).get(unit["code"], 0)
    deadline = deadlines.department_deadline(db, current.id, unit["code"])
    return RoundTask(current, questionnaire, response,
                     section_progress(questionnaire, answers), deadline,
                     deadline.days_left(today), staff, unit["headcount"] or 0,
                     system_progress(db, current, unit["code"], questionnaire, answers))


def section_progress(questionnaire: Questionnaire,
                     answers: Answers) -> tuple[SectionProgress, ...]:
    """Per section of the 所属's form: answered and required questions, counting only
    the questions the answers so far make relevant (as the form shows them)."""
    found = []
    for section in questionnaire.sections_for(AUDIENCE):
        relevant = [q for q in section.questions if q.is_relevant(answers)]
        done = [q for q in relevant if not is_empty(answers.get(q.id))]
        found.append(SectionProgress(
            section, len(done), len(relevant), sum(q.required for q in done),
            sum(q.required for q in relevant)))
    return tuple(found)


def system_progress(db: Database, current: round_reads.Round, code: str,
                    questionnaire: Questionnaire,
                    department: Answers) -> tuple[SystemProgress, ...]:
    """Per system block of the 所属's form (the systems it owns in the round's year and
    any whose answers it holds, as services/self_check.py `blocks`): required questions
    answered, with the 所属's answers as the `relevant` context."""
    if not questionnaire.questions_for(SYSTEM):
        return ()
    held = {row["system_code"]: row["id"]
            for row in response_store.find_system_responses(db, current.id, code)}
    systems = {row["code"]: row for row in register.owned_systems(db, code,
                                                                   current.fiscal_year)}
    systems.update({c: system_store.get_system(db, c) for c in held if c not in systems})
    rows: dict[int, list[dict]] = {response_id: [] for response_id in held.values()}
    for row in response_store.list_answers_of(db, list(held.values())):
        rows[row["response_id"]].append(row)
    found = []
    for system_code in sorted(systems):
        answers = parse_rows(questionnaire, rows[held[system_code]])[0] \
            if system_code in held else {}
        found.append(SystemProgress(system_code, systems[system_code]["name"],
                                    *required_progress(questionnaire, SYSTEM, answers,
                                                       department)))
    return tuple(found)


def required_progress(questionnaire: Questionnaire, audience: str, answers: Answers,
                      context: Answers | None = None) -> tuple[int, int]:
    """(answered, to answer) over `audience`'s relevant required questions; `context`:
    other answers `relevant` reads (a system block's 所属)."""
    known = {**(context or {}), **answers}
    needed = [q for q in questionnaire.questions_for(audience)
              if q.required and q.is_relevant(known)]
    return sum(not is_empty(answers.get(q.id)) for q in needed), len(needed)
