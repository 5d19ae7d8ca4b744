"""The `answers` and `scores` exports (DESIGN.md §7) as tables for `surveyapp.exports`.

`answers` is long format, one row per answer, across questionnaire versions (one round
or every round), streamed from SQL. `scores` has one row per 所属 of one round.

Who sees what (`Scope`): admins and auditors export everything; a department user
exports its own 所属 only, and in the answers export only its own department response,
never individual staff rows. Even with at least ANONYMITY_MIN_RESPONSES staff answers,
single rows (free text, the day of answering) let the 所属's manager, who knows who
answered when, recognise colleagues; the 所属's staff figures reach it aggregated, in the
scores export and on the results pages, and only above the minimum.

Staff rows carry no identity: no user, and `submitted_at` is cut to the Japanese
calendar day, so a time of day cannot be matched to a person.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import audiences, exports
from surveyapp.model import N_, Questionnaire
from surveyapp.readmodels import aggregate, approval_states, deadlines
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.response_history import local_time
from surveyapp.refusals import Invalid, Refusal
from surveyapp.store import exports as export_store

FORMATS = ("csv", "xlsx")
WHATS = ("answers", "scores")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# DESIGN.md §7, then §12's `system_code` (empty outside the system audience) and §13's
# evidence: where the proof is kept, its date, the attachments' sha256 joined by ';'.
ANSWER_COLUMNS = (
    "fiscal_year", "round_id", "questionnaire_id", "version", "department_code",
    "department_name", "audience", "response_id", "status", "submitted_at", "section_id",
    "question_id", "value", "score", "max_score", "evidence", "system_code",
    "evidence_location", "evidence_date", "attachments",
)
SCORE_COLUMNS = (
    "code", "name", "bureau_code", "bureau_name", "submitted", "staff_responses",
    "headcount", "response_rate", "overall", "band",
)
# Appended after the findings (new columns go at the end): the 所属's status
# (approval_states.STATUSES), when and by whom it was approved, and its deadline.
APPROVAL_COLUMNS = ("status", "approved_at", "approved_by", "closes_on")
SHEET_TITLES = {"answers": "回答", "scores": "得点"}
FILE_LABELS = {"answers": "回答データ", "scores": "得点"}
ANSWER_WIDTHS = {"department_name": 24, "submitted_at": 22, "value": 24, "evidence": 40,
                 "evidence_location": 30, "evidence_date": 12, "attachments": 40}
XLSX_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Scope:
    """What one export may contain: every 所属 (None) or one, with or without staff rows."""

    department_code: str | None = None
    with_staff: bool = True

    @classmethod
    def for_user(cls, role: str, department_code: str | None) -> Scope:
        if role in ("admin", "auditor"):
            return cls()
        if role == "department" and department_code:
            return cls(department_code, with_staff=False)
        raise Refusal(N_("この出力は許可されていません"))


EVERYTHING = Scope()


# --- answers ----------------------------------------------------------------------


def answers_sheet(db: Database, round_id: int | None, scope: Scope = EVERYTHING
                  ) -> exports.Sheet:
    """The answers of one round (None: every round) as a lazily read sheet."""
    if round_id is not None:
        round_reads.require_round(db, round_id)
    return exports.Sheet(SHEET_TITLES["answers"], ANSWER_COLUMNS,
                         answer_rows(db, round_id, scope), widths=ANSWER_WIDTHS)


def answer_rows(db: Database, round_id: int | None, scope: Scope) -> Iterator[list]:
    sections = SectionIndex(db)
    for row in export_store.iter_answers(db, round_id, scope.department_code,
                                         scope.with_staff):
        yield answer_row(row, sections.section_of(row))


def answer_row(row: dict, section_id: str | None) -> list:
    submitted_at = row["submitted_at"]
    if audiences.lookup(row["audience"]).anonymous and submitted_at:  # the day only
        submitted_at = local_time(submitted_at).date().isoformat()
    values = {"system_code": None, **row, "submitted_at": submitted_at,
              "section_id": section_id}
    return [values[column] for column in ANSWER_COLUMNS]


class SectionIndex:
    """question id -> section id per questionnaire version, each definition read once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.known: dict[tuple[str, str], dict[str, str]] = {}

    def section_of(self, row: dict) -> str | None:
        key = (row["questionnaire_id"], row["version"])
        if key not in self.known:
            self.known[key] = section_ids(get_definition(self.db, *key))
        return self.known[key].get(row["question_id"])


def section_ids(questionnaire: Questionnaire) -> dict[str, str]:
    return {q.id: q.section_id for q in questionnaire.questions}


# --- scores -----------------------------------------------------------------------


def scores_sheet(db: Database, round_id: int, anonymity_min: int,
                 scope: Scope = EVERYTHING) -> exports.Sheet:
    """One row per 所属 of the round (only the scope's 所属), sections then findings,
    then its approval and deadline (APPROVAL_COLUMNS, DESIGN.md §10)."""
    scores = aggregate.round_scores(db, round_id, anonymity_min)
    questionnaire = scores.questionnaire
    sections = [section.id for section in questionnaire.sections]
    header = [*SCORE_COLUMNS, *sections, *questionnaire.findings, *APPROVAL_COLUMNS]
    bureaus = {bureau.code: bureau.name for bureau in scores.bureaus}
    states = approval_states.round_statuses(db, round_id)
    default, extended = deadlines.deadlines_of_round(db, round_id)
    rows = [[*score_row(result, bureaus, sections, questionnaire.findings),
             *approval_cells(states.get(result.code), extended.get(result.code, default))]
            for result in scores.departments
            if scope.department_code in (None, result.code)]
    formats = {name: "0.0" for name in ("overall", *sections, *questionnaire.findings)}
    formats["response_rate"] = "0.0%"
    return exports.Sheet(SHEET_TITLES["scores"], header, rows, widths={"name": 24},
                         formats=formats)


def score_row(result: aggregate.DepartmentResult, bureaus: dict[str, str],
              sections: list[str], findings: tuple[str, ...]) -> list:
    return [result.code, result.name, result.parent_code, bureaus.get(result.parent_code),
            result.submitted, result.staff_responses, result.headcount,
            result.response_rate, result.overall, result.band.id if result.band else None,
            *(result.sections.get(s) for s in sections),
            *(result.findings.get(f) for f in findings)]


def approval_cells(state: dict | None, deadline: deadlines.Deadline) -> list:
    state = state or {"status": "not_started", "approved_at": None,
                      "approved_by_login": None}
    return [state["status"], state["approved_at"], state["approved_by_login"],
            deadline.closes_on.isoformat() if deadline.closes_on else None]


# --- files ------------------------------------------------------------------------


def sheet_for(db: Database, what: str, round_id: int | None, anonymity_min: int,
              scope: Scope = EVERYTHING) -> exports.Sheet:
    if what == "answers":
        return answers_sheet(db, round_id, scope)
    if what == "scores" and round_id is not None:
        return scores_sheet(db, round_id, anonymity_min, scope)
    raise Invalid(N_("得点の出力には調査回の指定が必要です"))


def chunks(sheet: exports.Sheet, fmt: str) -> Iterator[bytes]:
    """The file's bytes in pieces; an XLSX is assembled in a temporary file first (a
    zip cannot be streamed row by row), never in memory."""
    if fmt == "csv":
        yield from exports.csv_chunks(sheet.header, sheet.rows)
        return
    with tempfile.TemporaryFile() as spool:
        exports.write_xlsx(spool, [sheet])
        spool.seek(0)
        while piece := spool.read(XLSX_CHUNK):
            yield piece


def write_file(out, sheet: exports.Sheet, fmt: str) -> None:
    """Write the whole file to an open binary file."""
    if fmt not in FORMATS:
        raise Invalid(N_("形式は %(formats)s のどちらかです: %(format)s"),
                      formats=" / ".join(FORMATS), format=fmt)
    if fmt == "xlsx":
        exports.write_xlsx(out, [sheet])
    else:
        exports.write_csv(out, sheet.header, sheet.rows)


def file_names(what: str, fmt: str, round_: round_reads.Round | None,
               department_code: str | None = None) -> tuple[str, str]:
    """(Japanese file name, ASCII fallback), e.g. 回答データ_2021年度_0302.csv."""
    year = f"{round_.fiscal_year}年度" if round_ else "全年度"
    ascii_year = f"fy{round_.fiscal_year}-round{round_.id}" if round_ else "all-rounds"
    unit = f"_{department_code}" if department_code else ""
    japanese = f"{FILE_LABELS[what]}_{year}{unit}.{fmt}"
    fallback = f"{what}_{ascii_year}{unit if unit.isascii() else ''}.{fmt}"
    return japanese, fallback


