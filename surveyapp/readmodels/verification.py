"""Audit verification as the pages, the workpaper and the API read it (DESIGN.md §9).

For one round: the plan, the sample with the reason each 所属 is in it, each sampled
所属's answers beside the auditors' verdicts, and its figures: confirmed, discrepancies,
unverifiable, reliability = confirmed / (confirmed + discrepancies), the self score
(§4's overall) and the verified score (the same formula with each discrepancy's value
found in place of the reported one, `scoring.verified_scores`), also per section and
finding. Prefecture figures count finalised 所属 only: what an auditor is still
working on is nobody's result yet. Year over year: a 所属's reliability history.

Answers are listed per audience that a 所属's own form holds (`LISTED_AUDIENCES`); an
answer is keyed by (question id, system code), the system code being None for the
所属's own answers (§12's system answers carry theirs). Nothing here writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import audiences, question_types, scoring
from surveyapp.evidence import Proof
from surveyapp.model import N_, AnswerValue, Question, Questionnaire, Scores
from surveyapp.readmodels import aggregate, kept, results_view
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.answers import proofs, stored_answers
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.followup_lists import Item
from surveyapp.store import responses as response_store
from surveyapp.store import score_changes
from surveyapp.store import verification as verification_store

VERDICTS = ("confirmed", "discrepancy", "unverifiable")
VERDICT_LABELS = {"confirmed": N_("確認済み"), "discrepancy": N_("相違"),
                  "unverifiable": N_("確認不能")}
# In the order a draw applies them (sampling favours low reliability first).
RISK_REASONS = ("low_reliability", "lowest_score", "largest_rise", "missing_evidence",
                "never_sampled")
REASON_LABELS = {
    "low_reliability": N_("前回の検証で信頼度が低い"),
    "lowest_score": N_("総合得点が低い"),
    "largest_rise": N_("前回の調査回からの上昇が大きい"),
    "missing_evidence": N_("根拠の記入がない「実施」回答が多い"),
    "never_sampled": N_("これまで検証の対象になっていない"),
    "random": N_("無作為抽出"),
    "manual": N_("手動で追加"),
}
# Department responses a sample draws from: submitted, approved or not (approval,
# DESIGN.md §10, leaves the response's status `submitted` and adds a decision; a returned
# one is a draft again until it is submitted anew).
VERIFIABLE_STATUSES = ("submitted",)
LISTED_AUDIENCES = (audiences.DEPARTMENT.name,)

AnswerKey = tuple[str, str | None]  # (question id, system code)


@dataclass(frozen=True)
class Counts:
    confirmed: int = 0
    discrepancies: int = 0
    unverifiable: int = 0

    @classmethod
    def of(cls, verdicts: Iterable[str]) -> Counts:
        found = list(verdicts)
        return cls(found.count("confirmed"), found.count("discrepancy"),
                   found.count("unverifiable"))

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.confirmed + other.confirmed,
                      self.discrepancies + other.discrepancies,
                      self.unverifiable + other.unverifiable)

    @property
    def recorded(self) -> int:
        return self.confirmed + self.discrepancies + self.unverifiable

    @property
    def reliability(self) -> float | None:
        return scoring.reliability(self.confirmed, self.discrepancies)


@dataclass(frozen=True)
class AnswerLine:
    """One answer of a sampled 所属 with the auditors' verdict on it (None: not yet)."""

    code: str
    question: Question
    system_code: str | None
    value: AnswerValue
    evidence: Proof | None  # note, location, date, attachment names (DESIGN.md §13)
    verdict: Mapping | None

    @property
    def key(self) -> AnswerKey:
        return (self.question.id, self.system_code)

    @property
    def self_text(self) -> str:
        """The reported value as stored (a choice value; several joined by ';')."""
        return question_types.of(self.question).to_text(self.value)

    @property
    def found(self) -> AnswerValue | None:
        """The value the auditors found, when they recorded a discrepancy."""
        text = self.verdict["verified_value"] if self.verdict else None
        return None if text is None else question_types.of(self.question).from_text(
            self.question, text)


@dataclass(frozen=True)
class SampledDepartment:
    code: str
    name: str
    bureau_code: str | None
    sample: Mapping  # the sample row: reason, detail, note, who added it, finalised_at ...
    lines: tuple[AnswerLine, ...]
    counts: Counts
    self_scores: Scores
    verified_scores: Scores
    sections: Mapping[str, Counts]
    findings: Mapping[str, Counts]

    @property
    def reason(self) -> str:
        return self.sample["reason"]

    @property
    def detail(self) -> dict:
        return json.loads(self.sample["detail"] or "{}")

    @property
    def finalised(self) -> bool:
        return self.sample["finalised_at"] is not None

    @property
    def unchecked(self) -> int:
        return sum(1 for line in self.lines if line.verdict is None)

    @property
    def reliability(self) -> float | None:
        return self.counts.reliability

    @property
    def self_score(self) -> float | None:
        return self.self_scores.overall

    @property
    def verified_score(self) -> float | None:
        return self.verified_scores.overall

    @property
    def gap(self) -> float | None:
        """self − verified: how far the self-report overstated the 所属 (in points)."""
        if self.self_score is None or self.verified_score is None:
            return None
        return self.self_score - self.verified_score

    def line(self, question_id: str, system_code: str | None = None) -> AnswerLine | None:
        return next((line for line in self.lines if line.key == (question_id, system_code)),
                    None)


@dataclass(frozen=True)
class PartFigure:
    """A section or finding over the finalised 所属: verdicts and mean scores."""

    counts: Counts
    self_score: float | None
    verified_score: float | None
    n: int  # finalised 所属 with a self score on it


@dataclass(frozen=True)
class RoundVerification:
    round: round_reads.Round
    questionnaire: Questionnaire
    plan: Mapping | None
    departments: tuple[SampledDepartment, ...]
    removed: tuple[Mapping, ...] = ()
    draws: tuple[Mapping, ...] = ()
    sections: Mapping[str, PartFigure] = field(default_factory=dict)
    findings: Mapping[str, PartFigure] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "none" if self.plan is None else self.plan["status"]

    @property
    def finalised(self) -> tuple[SampledDepartment, ...]:
        return tuple(d for d in self.departments if d.finalised)

    @property
    def counts(self) -> Counts:
        """Prefecture-wide: the sum over the finalised 所属."""
        return sum((d.counts for d in self.finalised), Counts())

    @property
    def reliability(self) -> float | None:
        """Σ confirmed / Σ (confirmed + discrepancies) over the finalised 所属."""
        return self.counts.reliability

    @property
    def gaps(self) -> list[float]:
        """(self − verified) of each finalised 所属 that has both scores."""
        return [d.gap for d in self.finalised if d.gap is not None]

    @property
    def mean_gap(self) -> float | None:
        gaps = self.gaps
        return math.fsum(gaps) / len(gaps) if gaps else None

    def department(self, code: str) -> SampledDepartment | None:
        return next((d for d in self.departments if d.code == code), None)


# --- lookups -------------------------------------------------------------------------------


def plans(db: Database) -> list[dict]:
    """Every round's plan with its sample size and finalised 所属."""
    return verification_store.list_plans(db)


def candidate_codes(db: Database, round_id: int) -> list[str]:
    """所属 whose department response of the round may be sampled."""
    return verification_store.candidate_codes(db, round_id, VERIFIABLE_STATUSES)


def verdict_history(db: Database, round_id: int, code: str) -> list[dict]:
    """Every verdict recorded on a 所属's answers in a round, oldest first."""
    return verification_store.verdict_history(db, round_id, code)


@dataclass(frozen=True)
class ItemDiscrepancy:
    """A verification discrepancy behind an improvement item, as its page shows it."""

    fiscal_year: int
    question_id: str
    question_text: str
    reported: str  # the self-reported answer as a person reads it (choice labels)
    found: str  # the value the auditors found, the same way
    note: str
    proof_location: str


def item_discrepancies(db: Database, item: Item, lang: str = "ja") -> list[ItemDiscrepancy]:
    """The discrepancies that opened or extended an improvement item (§9)."""
    questionnaire = get_definition(db, item.questionnaire_id, item.questionnaire_version)
    found = []
    for row in verification_store.item_discrepancies(db, item.id):
        question = questionnaire.question(row["question_id"])
        if question is not None:
            found.append(ItemDiscrepancy(
                row["fiscal_year"], question.id, question.text.get(lang),
                _shown(question, row["self_value"], lang),
                _shown(question, row["verified_value"], lang), row["note"],
                row["proof_location"]))
    return found


def _shown(question: Question, text: str | None, lang: str) -> str:
    if text is None:
        return ""
    kind = question_types.of(question)
    return kind.to_cell(question, kind.from_text(question, text), lang)


# --- one round ------------------------------------------------------------------------


def round_verification(db: Database, round_id: int, anonymity_min: int) -> RoundVerification:
    """The round's verification. Raises `NotFound` for an unknown round.

    Kept like the round's scores (readmodels/kept.py): a verdict, a sample change or a
    submission of a sampled 所属 recomputes that 所属 only, a write about any other 所属
    nothing. The lines show a reopened 所属's draft answers, which no score change
    records, so the figures are also keyed on the versions of the sampled responses."""
    stamp = verification_store.sampled_response_versions(db, round_id)
    return kept.kept_round(
        db, round_id, ("verification", anonymity_min, stamp),
        lambda: _round_verification(db, round_id, anonymity_min),
        lambda found, codes: _round_verification(db, round_id, anonymity_min,
                                                  _unchanged(found, codes)))


def _unchanged(found: RoundVerification, codes: set[str]) -> dict[str, SampledDepartment]:
    """The sampled 所属 of `found` none of `codes` touched (none after a change of the
    plan or the draws, whose figures are the round's)."""
    if score_changes.NO_DEPARTMENT in codes:
        return {}
    return {d.code: d for d in found.departments if d.code not in codes}


def _round_verification(db: Database, round_id: int, anonymity_min: int,
                        kept_departments: Mapping[str, SampledDepartment] | None = None,
                        ) -> RoundVerification:
    kept_departments = kept_departments or {}
    samples = verification_store.samples(db, round_id)
    if samples:
        scores = aggregate.round_scores(db, round_id, anonymity_min)
        round_, questionnaire = scores.round, scores.questionnaire
        verdicts = _verdicts_by_code(verification_store.verdicts(db, round_id))
        departments = tuple(
            kept_departments.get(row["department_code"]) or sampled_department(
                db, scores, row, verdicts.get(row["department_code"], {}))
            for row in samples)
    else:  # nothing to score: the round's scores are not needed
        (round_, questionnaire), departments = aggregate.load_round(db, round_id), ()
    finalised = [d for d in departments if d.finalised]
    return RoundVerification(
        round_, questionnaire, verification_store.get_plan(db, round_id), departments,
        tuple(verification_store.removed_samples(db, round_id)),
        tuple(verification_store.list_draws(db, round_id)),
        {s.id: part_figure(finalised, lambda d, k=s.id: d.sections.get(k, Counts()),
                           lambda scores, k=s.id: scores.sections.get(k))
         for s in questionnaire.sections},
        {f: part_figure(finalised, lambda d, k=f: d.findings.get(k, Counts()),
                        lambda scores, k=f: scores.findings.get(k))
         for f in results_view.ordered_findings(questionnaire.findings)})


def _verdicts_by_code(found: Iterable[Mapping]) -> dict[str, dict[AnswerKey, Mapping]]:
    by_code: dict[str, dict[AnswerKey, Mapping]] = {}
    for row in found:
        key = (row["question_id"], row["system_code"])
        by_code.setdefault(row["department_code"], {})[key] = row
    return by_code


def sampled_department(db: Database, scores: aggregate.RoundScores, sample: Mapping,
                       verdicts: Mapping[AnswerKey, Mapping]) -> SampledDepartment:
    questionnaire, code = scores.questionnaire, sample["department_code"]
    answers, evidence = department_answers(db, scores.round.id, code, questionnaire)
    lines = answer_lines(questionnaire, code, answers, evidence, verdicts)
    result = scores.department(code)
    unit_ratios = result.ratios if result else {}
    found = {line.question.id: line.found for line in lines
             if line.found is not None and line.system_code is None}
    recorded = [line for line in lines if line.verdict is not None]
    return SampledDepartment(
        code, sample["department_name"], sample["bureau_code"], sample, lines,
        Counts.of(line.verdict["verdict"] for line in recorded),
        scoring.scores_from_ratios(questionnaire, unit_ratios),
        scoring.verified_scores(questionnaire, unit_ratios, answers, found),
        _counts_by(recorded, lambda q: (q.section_id,)),
        _ordered(_counts_by(recorded, lambda q: q.findings)))


def department_lines(db: Database, round_id: int, code: str,
                     questionnaire: Questionnaire) -> tuple[AnswerLine, ...]:
    """One 所属's listed answers with the verdicts on them (what recording one verdict
    needs, without scoring the round)."""
    answers, evidence = department_answers(db, round_id, code, questionnaire)
    verdicts = _verdicts_by_code(verification_store.verdicts(db, round_id, code))
    return answer_lines(questionnaire, code, answers, evidence, verdicts.get(code, {}))


def department_answers(db: Database, round_id: int, code: str,
                       questionnaire: Questionnaire) -> tuple[dict, dict[str, Proof]]:
    """The 所属's department response's answers and their evidence: note, where the
    proof is kept, its date and the attachments' names (empty without a response)."""
    response = response_store.find_department_response(db, round_id, code)
    if response is None:
        return {}, {}
    answers, _ = stored_answers(db, response["id"], questionnaire)
    return answers, proofs(db, response["id"])


def answer_lines(questionnaire: Questionnaire, code: str, answers: Mapping,
                 evidence: Mapping, verdicts: Mapping[AnswerKey, Mapping]
                 ) -> tuple[AnswerLine, ...]:
    """Each given, relevant answer of the listed audiences, in the definition's order."""
    lines = []
    for question in questionnaire.questions:
        value = answers.get(question.id)
        if (question.audience in LISTED_AUDIENCES and not question_types.is_empty(value)
                and question.is_relevant(answers)):
            lines.append(AnswerLine(code, question, None, value, evidence.get(question.id),
                                    verdicts.get((question.id, None))))
    return tuple(lines)


def _counts_by(lines: Sequence[AnswerLine], keys_of) -> dict[str, Counts]:
    grouped: dict[str, list[str]] = {}
    for line in lines:
        for key in keys_of(line.question):
            grouped.setdefault(key, []).append(line.verdict["verdict"])
    return {key: Counts.of(found) for key, found in grouped.items()}


def _ordered(by_finding: dict[str, Counts]) -> dict[str, Counts]:
    return {f: by_finding[f] for f in results_view.ordered_findings(by_finding)}


def part_figure(finalised: Sequence[SampledDepartment], counts_of, score_of) -> PartFigure:
    counts = sum((counts_of(d) for d in finalised), Counts())
    pairs = [(score_of(d.self_scores), score_of(d.verified_scores)) for d in finalised]
    pairs = [(mine, found) for mine, found in pairs if mine is not None]
    return PartFigure(counts, mean(mine for mine, _ in pairs),
                      mean(found for _, found in pairs if found is not None), len(pairs))


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def finalised_result(db: Database, round_id: int, code: str,
                     anonymity_min: int) -> SampledDepartment | None:
    """The 所属's verification in the round once the auditors finalised it, else None
    (what a department user may see)."""
    found = round_verification(db, round_id, anonymity_min).department(code)
    return found if found is not None and found.finalised else None


# The results table's verification filter: which 所属 each value keeps.
FILTERS = {
    "sampled": lambda d: True,
    "finalised": lambda d: d.finalised,
    "discrepancy": lambda d: d.counts.discrepancies > 0,
}


def filtered_codes(found: RoundVerification, wanted: str | None) -> frozenset[str] | None:
    """The 所属 a `FILTERS` value keeps; None (every 所属) for anything else."""
    keep = FILTERS.get(wanted or "")
    return None if keep is None else frozenset(d.code for d in found.departments if keep(d))
