"""Follow-ups of the audit items, read: who falls below each finding's threshold in a
round (the lists), the improvement items (改善計画) with their history and reports, and
whether a finding's score moved in the next round. Changing thresholds and items is
services/followups.py; the 前年度の改善状況 block is services/previous_year.py.

The lists are computed from `aggregate.round_scores`, so they always agree with the
results pages."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import lineage
from surveyapp.findings import ordered_findings
from surveyapp.model import N_, Questionnaire
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels import system_results
from surveyapp.readmodels.aggregate import (
    RoundScores,
    predecessor_codes,
    round_scores,
    valid_in,
)
from surveyapp.readmodels.compare import Change
from surveyapp.readmodels.definitions import get_definition, list_versions
from surveyapp.refusals import NotFound
from surveyapp.store import departments as department_store
from surveyapp.store import followups as followup_store

STATUSES = ("not_started", "in_progress", "done")
# 意見17/18/19 are the follow-ups the design card says the scores must drive (marked
# as 重点 on the lists); the tool measures these eight items (AUDIT_CONTEXT.md).
PRIORITY_FINDINGS = ("意見17", "意見18", "意見19")
MEASURED_FINDINGS = ("指摘6", "指摘21", "指摘22", *PRIORITY_FINDINGS, "意見20", "意見28")
MOVE_POINTS = 1.0  # a change of less than one point either way counts as 横ばい
ITEM_NOT_FOUND = N_("改善計画 #%(id)d が見つかりません。")


# --- thresholds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    finding: str
    value: float
    overridden: bool  # set on the admin page; otherwise the FOLLOWUP_THRESHOLD setting


def known_findings(db: Database) -> list[str]:
    """The audit items the tool measures and of every published questionnaire version."""
    found = list(MEASURED_FINDINGS)
    for row in list_versions(db):
        found += get_definition(db, row["questionnaire_id"], row["version"]).findings
    return ordered_findings(found)


def thresholds(db: Database, default: float, findings: Iterable[str]) -> dict[str, Threshold]:
    """The effective threshold of each finding: the admin's value, else `default`."""
    stored = followup_store.thresholds(db)
    return {finding: Threshold(finding, stored.get(finding, float(default)),
                               finding in stored)
            for finding in findings}


def threshold_rows(db: Database) -> dict[str, dict]:
    """{finding: stored row with updated_at and updated_by_login} of the set thresholds."""
    return {row["finding"]: row for row in followup_store.threshold_rows(db)}


# --- follow-up lists ----------------------------------------------------------------


@dataclass(frozen=True)
class QuestionGap:
    """A question of the finding on which the 所属's `r` is below threshold / 100."""

    question_id: str
    ratio: float


@dataclass(frozen=True)
class FollowupEntry:
    code: str
    name: str
    bureau_code: str | None
    score: float
    gaps: tuple[QuestionGap, ...]  # lowest `r` first

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(gap.question_id for gap in self.gaps)


@dataclass(frozen=True)
class SystemEntry:
    """An information system whose own score on the finding is below the threshold
    (DESIGN.md §12): a 所属's score rolls its systems up (a mean), so a weak system can
    hide behind strong ones; these entries show it anyway."""

    code: str
    name: str
    owner_code: str
    owner_name: str
    bureau_code: str | None
    score: float
    gaps: tuple[QuestionGap, ...]  # lowest `r` first

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(gap.question_id for gap in self.gaps)


@dataclass(frozen=True)
class FindingFollowups:
    finding: str
    threshold: Threshold
    entries: tuple[FollowupEntry, ...]  # lowest score first
    n_scored: int  # 所属 with a score on the finding in the round
    n_listed: int  # every listed 所属, also when only some entries are shown
    systems: tuple[SystemEntry, ...] = ()  # systems below it (§12)

    @property
    def priority(self) -> bool:
        return self.finding in PRIORITY_FINDINGS


@dataclass(frozen=True)
class RoundFollowups:
    scores: RoundScores
    lists: tuple[FindingFollowups, ...]
    items: Mapping[tuple[str, str], tuple[int, ...]]  # (所属, finding) -> item ids
    system_items: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)

    @property
    def round(self) -> round_reads.Round:
        return self.scores.round


def finding_gaps(questionnaire: Questionnaire, finding: str, ratios: Mapping[str, float],
                 threshold: float) -> tuple[QuestionGap, ...]:
    """The finding's scored questions whose `r` is below threshold / 100, lowest first."""
    limit = threshold / 100
    gaps = [QuestionGap(q.id, ratios[q.id]) for q in questionnaire.questions
            if finding in q.findings and q.scored and q.id in ratios
            and ratios[q.id] < limit]
    return tuple(sorted(gaps, key=lambda gap: gap.ratio))


def finding_followups(scores: RoundScores, finding: str, threshold: Threshold,
                      systems: system_results.RoundSystems | None = None) -> FindingFollowups:
    """The 所属 whose score on `finding` is below the threshold, lowest score first
    (and the systems below it)."""
    scored = [d for d in scores.departments if d.findings.get(finding) is not None]
    entries = [
        FollowupEntry(d.code, d.name, d.parent_code, d.findings[finding],
                      finding_gaps(scores.questionnaire, finding, d.ratios, threshold.value))
        for d in scored if d.findings[finding] < threshold.value]
    entries.sort(key=lambda entry: (entry.score, entry.code))
    return FindingFollowups(finding, threshold, tuple(entries), len(scored), len(entries),
                            system_entries(systems, finding, threshold.value))


def system_entries(systems: system_results.RoundSystems | None, finding: str,
                   threshold: float) -> tuple[SystemEntry, ...]:
    """The submitted systems scored below `threshold` on `finding`, lowest first."""
    if systems is None:
        return ()
    entries = [
        SystemEntry(system.code, system.name, system.owner_code or "", system.owner_name,
                    system.bureau_code, system.scores.findings[finding],
                    finding_gaps(systems.questionnaire, finding, system.ratios, threshold))
        for system in systems.systems
        if system.submitted and system.scores.findings.get(finding) is not None
        and system.scores.findings[finding] < threshold]
    return tuple(sorted(entries, key=lambda entry: (entry.score, entry.code)))


def followup_lists(scores: RoundScores, effective: Mapping[str, Threshold],
                   systems: system_results.RoundSystems | None = None,
                   ) -> tuple[FindingFollowups, ...]:
    """One list per finding of the round's questionnaire, 意見17/18/19 first."""
    return tuple(finding_followups(scores, finding, effective[finding], systems)
                 for finding in ordered_findings(scores.questionnaire.findings))


def _keep_entries(lists: Iterable[FindingFollowups], keep: Callable[[str | None], bool],
                  bureau: bool = False) -> tuple[FindingFollowups, ...]:
    """The same lists with fewer entries (`keep` a 所属 code, or with `bureau` a 部局
    code; a system goes by its 所属); the counts stay the round's."""
    return tuple(FindingFollowups(
        found.finding, found.threshold,
        tuple(e for e in found.entries if keep(e.bureau_code if bureau else e.code)),
        found.n_scored, found.n_listed,
        tuple(s for s in found.systems if keep(s.bureau_code if bureau else s.owner_code)))
        for found in lists)


def only_departments(lists: Iterable[FindingFollowups],
                     codes: Collection[str]) -> tuple[FindingFollowups, ...]:
    return _keep_entries(lists, lambda code: code in codes)


def only_bureau(lists: Iterable[FindingFollowups], bureau: str) -> tuple[FindingFollowups, ...]:
    return _keep_entries(lists, lambda code: code == bureau, bureau=True)


def round_followups(db: Database, round_id: int, anonymity_min: int, default: float,
                    department_codes: Sequence[str] | None = None) -> RoundFollowups:
    """The round's follow-up lists; with `department_codes`, only those 所属's entries.

    Raises `NotFound` for an unknown round.
    """
    scores = round_scores(db, round_id, anonymity_min)
    effective = thresholds(db, default, scores.questionnaire.findings)
    lists = followup_lists(scores, effective, system_results.round_systems(db, round_id))
    if department_codes is not None:
        lists = only_departments(lists, department_codes)
    return RoundFollowups(scores, lists, *_item_keys(db, round_id, department_codes))


def _item_keys(db: Database, round_id: int, codes: Sequence[str] | None):
    """({(所属, finding): item ids}, {(system, finding): item ids}) of the round."""
    keys: dict[tuple[str, str], tuple[int, ...]] = {}
    systems: dict[tuple[str, str], tuple[int, ...]] = {}
    for row in followup_store.list_items(db, {"round_id": round_id,
                                              "department_codes": codes}):
        found, key = ((systems, (row["system_code"], row["finding"])) if row["system_code"]
                      else (keys, (row["department_code"], row["finding"])))
        found[key] = (*found.get(key, ()), row["id"])
    return keys, systems


# --- improvement items --------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: int
    round_id: int
    fiscal_year: int
    questionnaire_id: str
    questionnaire_version: str
    department_code: str
    department_name: str
    bureau_code: str | None
    finding: str
    system_code: str | None
    system_name: str | None
    question_ids: tuple[str, ...]
    owner: str
    due_on: str | None
    status: str
    notes: str
    version: int
    created_at: str
    created_by_login: str | None
    updated_at: str
    updated_by_login: str | None
    source: str = "followup"  # or "verification": opened by an audit discrepancy (§9)

    @classmethod
    def from_row(cls, row: Mapping) -> Item:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["question_ids"] = tuple(json.loads(row["question_ids"]))
        return cls(**values)

    @property
    def is_open(self) -> bool:
        return self.status != "done"


def get_item(db: Database, item_id: int) -> Item:
    row = followup_store.get_item(db, item_id)
    if row is None:
        raise NotFound(ITEM_NOT_FOUND, id=item_id)
    return Item.from_row(row)


def list_items(db: Database, round_id: int | None = None, finding: str | None = None,
               status: str | None = None, bureau_code: str | None = None,
               department_codes: Sequence[str] | None = None) -> list[Item]:
    """Items matching every given filter (None = any); newest round first."""
    filters = {"round_id": round_id, "finding": finding, "status": status,
               "bureau_code": bureau_code, "department_codes": department_codes}
    return [Item.from_row(row) for row in followup_store.list_items(db, filters)]


def item_history(db: Database, item_id: int) -> list[dict]:
    return followup_store.history(db, item_id)


def item_reports(db: Database, item_id: int) -> list[dict]:
    """What the 所属 reported about the item on later rounds' forms."""
    return followup_store.reports_for_item(db, item_id)


# --- did the score move? ------------------------------------------------------------


def marker(delta: float | None) -> str | None:
    """improved / flat / worsened for a change in points; None without a comparison."""
    if delta is None:
        return None
    if delta >= MOVE_POINTS:
        return "improved"
    if delta <= -MOVE_POINTS:
        return "worsened"
    return "flat"


@dataclass(frozen=True)
class Movement:
    """An item's finding score (and its questions' mean `r` as %) in its round and the
    following round of the same questionnaire."""

    next_round: round_reads.Round | None
    next_code: str | None  # the 所属 in the next round (a successor after a reorganisation)
    before: float | None
    after: float | None
    questions_before: float | None
    questions_after: float | None
    questions_comparable: bool  # every question maps to a same/reworded one next year

    @property
    def delta(self) -> float | None:
        return Change(self.before, self.after).delta

    @property
    def questions_delta(self) -> float | None:
        return Change(self.questions_before, self.questions_after).delta

    @property
    def marker(self) -> str | None:
        return marker(self.delta)

    @property
    def questions_marker(self) -> str | None:
        return marker(self.questions_delta)


def next_round(rounds: Sequence[round_reads.Round],
               current: round_reads.Round) -> round_reads.Round | None:
    """The earliest later fiscal year's non-draft round of the same questionnaire."""
    later = [r for r in rounds if r.questionnaire_id == current.questionnaire_id
             and r.fiscal_year > current.fiscal_year and r.status != "draft"]
    return min(later, key=lambda r: r.fiscal_year, default=None)


def previous_round(db: Database, round_id: int) -> round_reads.Round | None:
    """The latest earlier fiscal year's non-draft round of the same questionnaire (a
    round left in draft was never answered, so it has no items to follow up)."""
    current = round_reads.get_round(db, round_id)
    if current is None:
        return None
    earlier = [r for r in round_reads.list_rounds(db)
               if r.questionnaire_id == current.questionnaire_id
               and r.fiscal_year < current.fiscal_year and r.status != "draft"]
    return max(earlier, key=lambda r: r.fiscal_year, default=None)


def successor_in(departments: Mapping[str, Mapping], code: str, fiscal_year: int) -> str | None:
    """`code`, or the 所属 that replaced it, as it exists in `fiscal_year`."""
    seen = set()
    while code in departments and code not in seen:
        if valid_in(departments[code], fiscal_year):
            return code
        seen.add(code)
        code = departments[code]["successor_code"]
    return None


def mean_percent(ratios: Mapping[str, float], question_ids: Iterable[str]) -> float | None:
    """The unweighted mean `r` of the questions that have one, as a percentage."""
    found = [ratios[q] for q in question_ids if q in ratios]
    return 100 * math.fsum(found) / len(found) if found else None


@dataclass
class _ScoreCache:
    db: Database
    anonymity_min: int
    by_round: dict[int, RoundScores] = field(default_factory=dict)

    def get(self, round_id: int) -> RoundScores:
        if round_id not in self.by_round:
            self.by_round[round_id] = round_scores(self.db, round_id, self.anonymity_min)
        return self.by_round[round_id]


def movements(db: Database, items: Sequence[Item], anonymity_min: int) -> dict[int, Movement]:
    """{item id: Movement}; each round is scored once however many items it has."""
    cache = _ScoreCache(db, anonymity_min)
    rounds = round_reads.list_rounds(db)
    departments = department_store.departments_by_code(db)
    return {item.id: _movement(cache, rounds, departments, item) for item in items}


def _movement(cache: _ScoreCache, rounds: Sequence[round_reads.Round],
              departments: Mapping[str, Mapping], item: Item) -> Movement:
    before = cache.get(item.round_id)
    mine = before.department(item.department_code)
    following = next_round(rounds, before.round)
    code = following and successor_in(departments, item.department_code,
                                      following.fiscal_year)
    after = cache.get(following.id) if following and code else None
    theirs = after.department(code) if after else None
    later_ids, comparable = _later_ids(before.questionnaire, after, item.question_ids)
    return Movement(
        following, code or None,
        mine.findings.get(item.finding) if mine else None,
        theirs.findings.get(item.finding) if theirs else None,
        mean_percent(mine.ratios, item.question_ids) if mine else None,
        mean_percent(theirs.ratios, later_ids) if theirs else None, comparable)


def _later_ids(before: Questionnaire, after: RoundScores | None,
               question_ids: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The next version's questions that continue `question_ids` (through lineage)."""
    if after is None:
        return (), False
    matches = [m for m in lineage.match_questions(before, after.questionnaire)
               if set(m.from_ids) & set(question_ids)]
    continued = {from_id for m in matches for from_id in m.from_ids}
    comparable = all(m.comparable for m in matches) and set(question_ids) <= continued
    return tuple(m.to_id for m in matches), comparable


def department_scope(db: Database, code: str) -> tuple[str, ...]:
    """`code` and every 所属 it replaced: whose improvement items it carries on."""
    # Only replaced 所属 can be predecessors; the form checks this on every submission.
    return predecessor_codes(department_store.replaced_departments(db), code)
