"""Results per information system (DESIGN.md §12): each system's section, overall and
finding scores, by §4 over its own answers, and the systems table of a round (filters
by hosting, criticality, ISMAP expiry and band).

A system counts once its 所属's department response is submitted (its block is
submitted with it). The systems of a round are those the register gives an owner in
the round's fiscal year, plus any system that has a block in the round (a system
retired since keeps its answers); a system without a block shows as not answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from surveyapp import audiences, clock, scoring
from surveyapp.model import Band, Questionnaire, Scores
from surveyapp.readmodels import aggregate, kept, register, results_view
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.store import departments as department_store
from surveyapp.store import results as result_store
from surveyapp.store import systems as system_store

Ratios = Mapping[str, float]
NO_SCORES = Scores(None, None, {}, {})


@dataclass(frozen=True)
class SystemResult:
    """One system in one round."""

    code: str
    name: str
    owner_code: str | None  # the 所属 that answers it (or owns it, before it answered)
    owner_name: str
    bureau_code: str | None
    row: dict  # the register row
    ismap_state: str  # readmodels.register.ISMAP_STATES key
    answered: bool  # has a block in the round
    submitted: bool  # its 所属's department response is submitted
    scores: Scores
    ratios: Ratios

    @property
    def overall(self) -> float | None:
        return self.scores.overall

    @property
    def band(self) -> Band | None:
        return self.scores.band


@dataclass(frozen=True)
class RoundSystems:
    round: round_reads.Round
    questionnaire: Questionnaire
    systems: tuple[SystemResult, ...]

    def of_department(self, code: str) -> tuple[SystemResult, ...]:
        return tuple(system for system in self.systems if system.owner_code == code)

    def system(self, code: str) -> SystemResult | None:
        return next((system for system in self.systems if system.code == code), None)


def rounds_asking_systems(db: Database) -> list[round_reads.Round]:
    """The rounds (not drafts) whose questionnaire asks per system, newest first."""
    return [round_ for round_ in round_reads.list_rounds(db)
            if round_.status != "draft" and get_definition(
                db, round_.questionnaire_id, round_.version).questions_for(
                    audiences.SYSTEM.name)]


def round_systems(db: Database, round_id: int, today: date | None = None) -> RoundSystems:
    """Every system of the round with its scores. Kept like the round's scores
    (readmodels/kept.py): after a write only the systems of the 所属 it touched are
    computed again."""
    today = today or clock.today()
    return kept.kept_round(
        db, round_id, ("round_systems", today.isoformat()),
        lambda: compute_round_systems(db, round_id, today),
        lambda found, codes: refreshed_round_systems(db, found, codes, today))


def compute_round_systems(db: Database, round_id: int, today: date) -> RoundSystems:
    round_, questionnaire = aggregate.load_round(db, round_id)
    return RoundSystems(round_, questionnaire,
                        tuple(systems_of_round(db, round_, questionnaire, today)))


def refreshed_round_systems(db: Database, found: RoundSystems, codes: set[str],
                            today: date) -> RoundSystems:
    """`found` with the systems the 所属 in `codes` answer (or own) computed again. A
    block that moves to another 所属 records both, and a change of the register the
    whole round, so no other system can have changed."""
    if not any(system.owner_code in codes for system in found.systems):
        return found
    fresh = {system.code: system for system in systems_of_round(
        db, found.round, found.questionnaire, today, codes)}
    return dataclasses.replace(found, systems=tuple(
        fresh.get(system.code, system) if system.owner_code in codes else system
        for system in found.systems))


def systems_of_round(db: Database, round_: round_reads.Round, questionnaire: Questionnaire,
                   today: date, codes: Iterable[str] | None = None) -> list[SystemResult]:
    """The round's systems, from the blocks of the 所属 in `codes` (None: of all)."""
    if not questionnaire.questions_for(audiences.SYSTEM.name):
        return []
    departments = department_store.departments_by_code(db)
    blocks = {row["system_code"]: row
              for row in result_store.system_responses(db, round_.id, codes)}
    ratios = {code: sets for systems in
              aggregate.system_ratio_sets(db, round_.id, questionnaire, codes).values()
              for code, sets in systems.items()}
    results = []
    for row in system_store.list_systems(db):
        owner = block_owner(row, blocks, departments, round_.fiscal_year)
        if owner is None and row["code"] not in blocks:
            continue  # neither owned that year nor answered
        results.append(system_result(questionnaire, row, owner, departments,
                                     blocks.get(row["code"]), ratios.get(row["code"], {}),
                                     today))
    return results


def block_owner(row: Mapping, blocks: Mapping[str, Mapping], departments: Mapping,
                fiscal_year: int) -> str | None:
    """The 所属 that answers the system: the one holding its block, else its owner that
    year when it is in use."""
    block = blocks.get(row["code"])
    if block is not None:
        return block["department_code"]
    if not aggregate.valid_in(row, fiscal_year):
        return None
    return register.owner_in(row["owner_code"], departments, fiscal_year)


def system_result(questionnaire: Questionnaire, row: dict, owner: str | None,
                  departments: Mapping[str, Mapping], block: Mapping | None,
                  ratios: Ratios, today: date) -> SystemResult:
    submitted = bool(block and block["submitted"])
    department = departments.get(owner) if owner else None
    return SystemResult(
        code=row["code"], name=row["name"], owner_code=owner,
        owner_name=department["name"] if department else "",
        bureau_code=department["parent_code"] if department else None, row=row,
        ismap_state=register.ismap_state(row, today), answered=block is not None,
        submitted=submitted,
        scores=scoring.scores_from_ratios(questionnaire, ratios) if submitted else NO_SCORES,
        ratios=ratios if submitted else {})


def section_means(systems: Iterable[SystemResult],
                  questionnaire: Questionnaire) -> dict[str, float | None]:
    """Per system section (and "overall"), the unweighted mean over the systems that
    have a figure: where one system stands against all."""
    keys = [section.id for section in questionnaire.sections_for(audiences.SYSTEM.name)]
    rolled = scoring.rollup(system.scores for system in systems if system.submitted)
    return {"overall": rolled.overall, **{key: rolled.sections.get(key) for key in keys}}


def system_findings(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The findings the system questions follow up, in definition order."""
    mine = {finding for question in questionnaire.questions_for(audiences.SYSTEM.name)
            if question.scored for finding in question.findings}
    return tuple(finding for finding in questionnaire.findings if finding in mine)


# --- the systems table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the systems table is narrowed to; empty strings match everything."""

    hosting: str = ""
    criticality: str = ""
    ismap: str = ""  # a readmodels.register.ISMAP_STATES key
    band: str = ""  # a band id, or "none" for systems without a score
    bureau: str = ""


def filtered(systems: Iterable[SystemResult], filters: Filters) -> list[SystemResult]:
    return [system for system in systems if matches(system, filters)]


def matches(system: SystemResult, filters: Filters) -> bool:
    band = system.band.id if system.band else "none"
    return all((
        not filters.hosting or system.row["hosting"] == filters.hosting,
        not filters.criticality or system.row["criticality"] == filters.criticality,
        not filters.ismap or system.ismap_state == filters.ismap,
        not filters.band or band == filters.band,
        not filters.bureau or system.bureau_code == filters.bureau,
    ))


SORT_KEYS = {
    "code": lambda system: system.code,
    "owner": lambda system: (system.owner_code or "", system.code),
    "overall": lambda system: (system.overall is None, system.overall or 0, system.code),
}


def sorted_systems(systems: Iterable[SystemResult], key: str) -> list[SystemResult]:
    return sorted(systems, key=SORT_KEYS.get(key, SORT_KEYS["code"]))


# --- the 所属's scorecard --------------------------------------------------------------------


def pdf_table(systems: Iterable[SystemResult]) -> dict | None:
    """The systems of a 所属 as a table of its scorecard PDF (Japanese, like the PDF)."""
    systems = tuple(systems)
    if not systems:
        return None
    return {"heading": "情報システム別得点", "columns": ["システム", "得点", "評価区分", "状況"],
            "widths": [0.5, 0.13, 0.2, 0.15],
            "rows": [[f"{system.code} {system.name}", results_view.score_text(system.overall),
                      f"{system.band.id} {system.band.label.ja}" if system.band else "—",
                      state_text(system)] for system in systems]}


def state_text(system: SystemResult) -> str:
    if system.submitted:
        return "提出済み"
    return "回答中" if system.answered else "未回答"
