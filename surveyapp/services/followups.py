"""Follow-ups of the audit items: who falls below the threshold, improvement items
(改善計画) with their append-only history, whether the score moved next year, and the
「前年度の改善状況」 block of the next round's department form.

The lists are computed from `aggregate.round_scores`, so they always agree with the
results pages. Every state change is one `BEGIN IMMEDIATE` transaction that writes the
change and its history together. Validation errors carry Japanese messages per field
(`InvalidInput.errors`), so the web layer can put each next to its input.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import lineage, store
from surveyapp.model import Questionnaire
from surveyapp.services import audit
from surveyapp.services import rounds as round_service
from surveyapp.services.aggregate import (
    RoundScores,
    load_round,
    predecessor_codes,
    round_scores,
    valid_in,
)
from surveyapp.services.compare import Change
from surveyapp.services.messages import N_, Message, Refused
from surveyapp.services.questionnaires import get_definition, list_versions
from surveyapp.store import departments as department_store
from surveyapp.store import followups as followup_store
from surveyapp.store import responses as response_store

STATUSES = ("not_started", "in_progress", "done")
# 意見17/18/19 are the follow-ups the design card says the scores must drive; the
# other audit items the questionnaire measures come after them (AUDIT_CONTEXT.md).
PRIORITY_FINDINGS = ("意見17", "意見18", "意見19")
FINDING_ORDER = (*PRIORITY_FINDINGS, "指摘6", "指摘21", "指摘22", "意見20", "意見28")
MOVE_POINTS = 1.0  # a change of less than one point either way counts as 横ばい
MAX_OWNER_LENGTH = 100
MAX_NOTES_LENGTH = 2000
MAX_QUESTIONS = 40
EDITABLE_RESPONSES = ("draft", "reopened")
DEPARTMENT_FIELDS = ("owner", "due_on", "status", "notes")
ADMIN_FIELDS = ("question_ids", *DEPARTMENT_FIELDS)


class InvalidInput(ValueError):
    """Refused input; `errors` maps each form field to a Japanese message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class ItemNotFound(LookupError):
    """No improvement item with that id."""


class Conflict(Exception):
    """Someone changed the item after the caller loaded it; `current` is the stored item."""

    def __init__(self, current: Item) -> None:
        super().__init__(current.id)
        self.current = current


# --- thresholds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    finding: str
    value: float
    overridden: bool  # set on the admin page; otherwise the FOLLOWUP_THRESHOLD setting


def ordered_findings(findings: Iterable[str]) -> list[str]:
    """意見17, 意見18, 意見19 first, then the other audit items, then anything else."""
    unique = list(dict.fromkeys(findings))
    rank = {finding: index for index, finding in enumerate(FINDING_ORDER)}
    return sorted(unique, key=lambda f: (rank.get(f, len(rank)), unique.index(f)))


def known_findings(db: Database) -> list[str]:
    """The audit items of FINDING_ORDER and of every published questionnaire version."""
    found = list(FINDING_ORDER)
    for row in list_versions(db):
        found += get_definition(db, row["questionnaire_id"], row["version"]).findings
    return ordered_findings(found)


def thresholds(db: Database, default: float, findings: Iterable[str]) -> dict[str, Threshold]:
    """The effective threshold of each finding: the admin's value, else `default`."""
    stored = followup_store.thresholds(db)
    return {finding: Threshold(finding, stored.get(finding, float(default)),
                               finding in stored)
            for finding in findings}


THRESHOLD_RANGE = N_("基準点は0から100までの数値で入力してください（%(text)s）。")


def parse_threshold(text: str) -> float:
    """A score from 0 to 100 typed by a person (full-width digits accepted)."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise Refused(THRESHOLD_RANGE, text=cleaned) from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise Refused(THRESHOLD_RANGE, text=cleaned)
    return value


def set_thresholds(db: Database, typed: Mapping[str, str], default: float,
                   user_id: int | None) -> list[str]:
    """Store every finding's typed threshold at once (empty = use the setting).

    Raises `InvalidInput` (nothing stored) when any value is bad; returns the findings
    whose threshold changed. Each change is audit-logged with its old and new value.
    """
    findings = known_findings(db)
    wanted, errors = {}, {}
    for finding in findings:
        try:
            text = (typed.get(finding) or "").strip()
            wanted[finding] = parse_threshold(text) if text else None
        except Refused as error:
            errors[finding] = Message.of(error)
    if errors:
        raise InvalidInput(errors)
    with store.transaction(db):
        current = followup_store.thresholds(db)
        return [finding for finding in findings
                if _change_threshold(db, finding, current.get(finding), wanted[finding],
                                     default, user_id)]


def _change_threshold(db: Database, finding: str, old: float | None, new: float | None,
                      default: float, user_id: int | None) -> bool:
    if old == new:
        return False
    if new is None:
        followup_store.delete_threshold(db, finding)
    else:
        followup_store.upsert_threshold(db, finding, new, user_id, store.now())
    audit.record(db, user_id, "followups.threshold", "finding", finding, old=old, new=new,
                 default=default)
    return True


def threshold_rows(db: Database) -> dict[str, dict]:
    """{finding: stored row with updated_at and updated_by_login} of the set thresholds."""
    return {row["finding"]: row for row in followup_store.threshold_rows(db)}


# --- follow-up lists -------------------------------------------------------------------


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
class FindingFollowups:
    finding: str
    threshold: Threshold
    entries: tuple[FollowupEntry, ...]  # lowest score first
    n_scored: int  # 所属 with a score on the finding in the round
    n_listed: int  # every listed 所属, also when only some entries are shown

    @property
    def priority(self) -> bool:
        return self.finding in PRIORITY_FINDINGS


@dataclass(frozen=True)
class RoundFollowups:
    scores: RoundScores
    lists: tuple[FindingFollowups, ...]
    items: Mapping[tuple[str, str], tuple[int, ...]]  # (所属, finding) -> item ids

    @property
    def round(self) -> round_service.Round:
        return self.scores.round


def finding_gaps(questionnaire: Questionnaire, finding: str, ratios: Mapping[str, float],
                 threshold: float) -> tuple[QuestionGap, ...]:
    """The finding's scored questions whose `r` is below threshold / 100, lowest first."""
    limit = threshold / 100
    gaps = [QuestionGap(q.id, ratios[q.id]) for q in questionnaire.questions
            if finding in q.findings and q.scored and q.id in ratios
            and ratios[q.id] < limit]
    return tuple(sorted(gaps, key=lambda gap: gap.ratio))


def finding_followups(scores: RoundScores, finding: str,
                      threshold: Threshold) -> FindingFollowups:
    """The 所属 whose score on `finding` is below the threshold, lowest score first."""
    scored = [d for d in scores.departments if d.findings.get(finding) is not None]
    entries = [
        FollowupEntry(d.code, d.name, d.parent_code, d.findings[finding],
                      finding_gaps(scores.questionnaire, finding, d.ratios, threshold.value))
        for d in scored if d.findings[finding] < threshold.value]
    entries.sort(key=lambda entry: (entry.score, entry.code))
    return FindingFollowups(finding, threshold, tuple(entries), len(scored), len(entries))


def followup_lists(scores: RoundScores,
                   effective: Mapping[str, Threshold]) -> tuple[FindingFollowups, ...]:
    """One list per finding of the round's questionnaire, 意見17/18/19 first."""
    return tuple(finding_followups(scores, finding, effective[finding])
                 for finding in ordered_findings(scores.questionnaire.findings))


def _keep_entries(lists: Iterable[FindingFollowups],
                  keep: Callable[[FollowupEntry], bool]) -> tuple[FindingFollowups, ...]:
    """The same lists with fewer entries; the counts stay the round's."""
    return tuple(FindingFollowups(found.finding, found.threshold,
                                  tuple(entry for entry in found.entries if keep(entry)),
                                  found.n_scored, found.n_listed) for found in lists)


def only_departments(lists: Iterable[FindingFollowups],
                     codes: Collection[str]) -> tuple[FindingFollowups, ...]:
    return _keep_entries(lists, lambda entry: entry.code in codes)


def only_bureau(lists: Iterable[FindingFollowups], bureau: str) -> tuple[FindingFollowups, ...]:
    return _keep_entries(lists, lambda entry: entry.bureau_code == bureau)


def round_followups(db: Database, round_id: int, anonymity_min: int, default: float,
                    department_codes: Sequence[str] | None = None) -> RoundFollowups:
    """The round's follow-up lists; with `department_codes`, only those 所属's entries.

    Raises `aggregate.RoundNotFound` for an unknown round.
    """
    scores = round_scores(db, round_id, anonymity_min)
    effective = thresholds(db, default, scores.questionnaire.findings)
    lists = followup_lists(scores, effective)
    if department_codes is not None:
        lists = only_departments(lists, department_codes)
    return RoundFollowups(scores, lists, _item_keys(db, round_id, department_codes))


def _item_keys(db: Database, round_id: int, codes: Sequence[str] | None
               ) -> dict[tuple[str, str], tuple[int, ...]]:
    keys: dict[tuple[str, str], tuple[int, ...]] = {}
    for row in followup_store.list_items(db, {"round_id": round_id,
                                              "department_codes": codes}):
        key = (row["department_code"], row["finding"])
        keys[key] = (*keys.get(key, ()), row["id"])
    return keys


# --- improvement items -----------------------------------------------------------------


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

    @classmethod
    def from_row(cls, row: Mapping) -> Item:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["question_ids"] = tuple(json.loads(row["question_ids"]))
        return cls(**values)

    @property
    def is_open(self) -> bool:
        return self.status != "done"


@dataclass(frozen=True)
class ItemInput:
    """What a person typed; `clean_item` turns it into stored values or errors."""

    finding: str = ""
    question_ids: tuple[str, ...] = ()
    owner: str = ""
    due_on: str = ""
    status: str = "not_started"
    notes: str = ""


def get_item(db: Database, item_id: int) -> Item:
    row = followup_store.get_item(db, item_id)
    if row is None:
        raise ItemNotFound(item_id)
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


def _text(value: str | None, limit: int, label: str, errors: dict, name: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if "\x00" in text:
        errors[name] = Message(N_("%(label)sに使用できない文字が含まれています。"), label=label)
    elif len(text) > limit:
        errors[name] = Message(
            N_("%(label)sは%(limit)d文字以内で入力してください（現在 %(count)d文字）。"),
            label=label, limit=limit, count=len(text))
    return text


def clean_question_ids(questionnaire: Questionnaire, finding: str,
                       raw: Iterable[str], errors: dict) -> tuple[str, ...]:
    """Distinct ids of the finding's questions, in the definition's order."""
    wanted = {text.strip() for text in raw if text and text.strip()}
    tagged = [q.id for q in questionnaire.questions if finding in q.findings]
    unknown = sorted(wanted - set(tagged))
    if unknown:
        errors["question_ids"] = Message(
            N_("%(finding)s の設問ではありません: %(ids)s。一覧から選んでください。"),
            finding=finding, ids=", ".join(unknown)[:200])
    elif len(wanted) > MAX_QUESTIONS:
        errors["question_ids"] = Message(N_("設問は%(n)d問まで選べます。"), n=MAX_QUESTIONS)
    return tuple(question_id for question_id in tagged if question_id in wanted)


def clean_item(questionnaire: Questionnaire, raw: ItemInput) -> dict:
    """Stored values of an item from typed input; raises `InvalidInput`."""
    errors: dict[str, str] = {}
    if raw.finding not in questionnaire.findings:
        errors["finding"] = Message(N_("指摘・意見を一覧から選んでください。"))
    values = {
        "finding": raw.finding,
        "question_ids": clean_question_ids(questionnaire, raw.finding, raw.question_ids,
                                           errors),
        "owner": _text(raw.owner, MAX_OWNER_LENGTH, N_("担当者"), errors, "owner"),
        "notes": _text(raw.notes, MAX_NOTES_LENGTH, N_("メモ"), errors, "notes"),
        "status": raw.status,
        "due_on": _due_date(raw.due_on, errors)}
    if raw.status not in STATUSES:
        errors["status"] = Message(N_("状況を一覧から選んでください。"))
    if errors:
        raise InvalidInput(errors)
    return values


def _due_date(text: str | None, errors: dict) -> str | None:
    try:
        return round_service.parse_date(unicodedata.normalize("NFKC", text or ""), N_("期限"))
    except Refused as error:
        errors["due_on"] = Message.of(error)
        return None


def history_text(value: object) -> str | None:
    """A field value as the history stores it (question ids joined by ", ")."""
    if value is None or value == "":
        return None
    if isinstance(value, tuple | list):
        return ", ".join(value) or None
    return str(value)


def _department_in(db: Database, code: str, fiscal_year: int) -> dict:
    department = department_store.get_department(db, code)
    if department is None or department["parent_code"] is None:
        raise InvalidInput({"department_code": Message(N_("所属が見つかりません。"))})
    if not valid_in(department, fiscal_year):
        raise InvalidInput({"department_code": Message(
            N_("この所属はこの年度の調査対象ではありません。"))})
    return department


def create_item(db: Database, round_id: int, department_code: str, raw: ItemInput,
                user_id: int | None) -> int:
    """A new item of a 所属 in a round; its initial values are the first history rows.

    Raises `aggregate.RoundNotFound` or `InvalidInput`.
    """
    round_, questionnaire = load_round(db, round_id)
    values = clean_item(questionnaire, raw)
    with store.transaction(db):
        _department_in(db, department_code, round_.fiscal_year)
        return insert_item(db, round_id, department_code, values, user_id)


def insert_item(db: Database, round_id: int, department_code: str, values: dict,
                user_id: int | None) -> int:
    """Inside the caller's transaction: a new item from cleaned `values` (`clean_item`,
    plus `source` for one that verification opens); its values are its first history."""
    at = store.now()
    item_id = followup_store.insert_item(
        db, {**values, "round_id": round_id, "department_code": department_code},
        user_id, at)
    for name in ("finding", *ADMIN_FIELDS):
        new = history_text(values[name])
        if new is not None:
            followup_store.insert_history(db, item_id, (name, None, new), user_id, at)
    return item_id


def create_from_entry(db: Database, round_id: int, department_code: str, finding: str,
                      anonymity_min: int, default: float,
                      user_id: int | None) -> tuple[int, bool]:
    """「改善計画を作成」 on a follow-up list entry: (item id, whether it is new).

    Prefilled with the entry's questions below the threshold. When the 所属 already has
    an item for the finding in the round, that item is returned instead, so a double
    click never makes two. Raises `InvalidInput` when the 所属 is not on the list.
    """
    followups = round_followups(db, round_id, anonymity_min, default, [department_code])
    found = next((f for f in followups.lists if f.finding == finding), None)
    entry = next(iter(found.entries), None) if found else None
    if entry is None:
        raise InvalidInput({"finding": Message(
            N_("この所属は%(finding)sのフォローアップ対象ではありません。"), finding=finding)})
    raw = ItemInput(finding=finding, question_ids=entry.question_ids)
    values = clean_item(followups.scores.questionnaire, raw)
    with store.transaction(db):
        existing = followup_store.list_items(db, {"round_id": round_id, "finding": finding,
                                                  "department_codes": [department_code]})
        if existing:
            return existing[0]["id"], False
        return insert_item(db, round_id, department_code, values, user_id), True


def update_item(db: Database, item_id: int, expected_version: int, raw: ItemInput,
                user_id: int | None, fields: Sequence[str] = DEPARTMENT_FIELDS) -> Item:
    """Change the item's `fields` from `raw`; one history row per changed field.

    Raises `ItemNotFound`, `InvalidInput` or `Conflict` (the item changed after the
    caller loaded `expected_version`; nothing is written).
    """
    with store.transaction(db):
        current = get_item(db, item_id)
        if current.version != expected_version:
            raise Conflict(current)
        questionnaire = get_definition(db, current.questionnaire_id,
                                       current.questionnaire_version)
        values = clean_item(questionnaire, _merged_input(current, raw, fields))
        changes = _changes(current, values)
        if changes:
            at = store.now()
            followup_store.update_item(db, item_id, values, user_id, at)
            for change in changes:
                followup_store.insert_history(db, item_id, change, user_id, at)
    return get_item(db, item_id)


def _merged_input(current: Item, raw: ItemInput, fields: Sequence[str]) -> ItemInput:
    """`raw` for the editable fields, the stored values for the others."""
    stored = ItemInput(current.finding, current.question_ids, current.owner,
                       current.due_on or "", current.status, current.notes)
    return ItemInput(**{name: getattr(raw if name in fields else stored, name)
                        for name in ItemInput.__dataclass_fields__ if name != "finding"},
                     finding=current.finding)


def _changes(current: Item, values: Mapping) -> list[tuple[str, str | None, str | None]]:
    changes = []
    for name in ADMIN_FIELDS:
        old, new = history_text(getattr(current, name)), history_text(values[name])
        if old != new:
            changes.append((name, old, new))
    return changes


# --- did the score move? ---------------------------------------------------------------


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

    next_round: round_service.Round | None
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


def next_round(rounds: Sequence[round_service.Round],
               current: round_service.Round) -> round_service.Round | None:
    """The earliest later fiscal year's non-draft round of the same questionnaire."""
    later = [r for r in rounds if r.questionnaire_id == current.questionnaire_id
             and r.fiscal_year > current.fiscal_year and r.status != "draft"]
    return min(later, key=lambda r: r.fiscal_year, default=None)


def previous_round(db: Database, round_id: int) -> round_service.Round | None:
    """The latest earlier fiscal year's non-draft round of the same questionnaire (a
    round left in draft was never answered, so it has no items to follow up)."""
    current = round_service.get_round(db, round_id)
    if current is None:
        return None
    earlier = [r for r in round_service.list_rounds(db)
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
    rounds = round_service.list_rounds(db)
    departments = department_store.departments_by_code(db)
    return {item.id: _movement(cache, rounds, departments, item) for item in items}


def _movement(cache: _ScoreCache, rounds: Sequence[round_service.Round],
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


# --- 前年度の改善状況 on the next round's department form --------------------------------


@dataclass(frozen=True)
class PreviousYearEntry:
    """One open item of the previous round, as the next round's form shows it."""

    item: Item
    status: str | None  # the status reported on this form, else the item's own
    note: str
    reported: bool  # saved on this form at least once


def status_field(item_id: int) -> str:
    return f"prev_status_{item_id}"


def note_field(item_id: int) -> str:
    return f"prev_note_{item_id}"


def department_scope(db: Database, code: str) -> tuple[str, ...]:
    """`code` and every 所属 it replaced: whose improvement items it carries on."""
    # Only replaced 所属 can be predecessors; the form checks this on every submission.
    return predecessor_codes(department_store.replaced_departments(db), code)


def previous_year_entries(db: Database, round_id: int, code: str) -> list[PreviousYearEntry]:
    """Items of the previous round for `code` (and the 所属 it replaced) that are still
    open, plus those already reported on this round's form (which may now be done)."""
    previous = previous_round(db, round_id)
    if previous is None:
        return []
    items = list_items(db, round_id=previous.id, department_codes=department_scope(db, code))
    reports = followup_store.reports(db, round_id, [item.id for item in items])
    return [_entry(item, reports.get(item.id)) for item in items
            if item.is_open or item.id in reports]


def _entry(item: Item, report: Mapping | None) -> PreviousYearEntry:
    if report is None:
        return PreviousYearEntry(item, item.status, "", False)
    return PreviousYearEntry(item, report["status"] or item.status, report["note"], True)


def save_previous_year(db: Database, round_id: int, code: str, posted: Mapping[str, str],
                       user_id: int | None) -> dict[str, str]:
    """Store the block's posted status and progress note of each item, with the draft.

    Only items with a field in `posted` are touched, and a value that did not change is
    not written. A changed status also changes the item itself; both are recorded in the
    item's history with this round as the source. Returns {field: message} for values
    that could not be stored (the rest is stored). Writes nothing unless the 所属's
    department response of the round is still editable.
    """
    errors: dict[str, str] = {}
    with store.transaction(db):
        if not _form_editable(db, round_id, code):
            return errors
        at = store.now()
        for entry in previous_year_entries(db, round_id, code):
            if _was_posted(entry, posted):
                _save_entry(db, round_id, entry, _posted_values(entry, posted, errors),
                            user_id, at)
    return errors


def _form_editable(db: Database, round_id: int, code: str) -> bool:
    round_ = round_service.get_round(db, round_id)
    response = response_store.find_department_response(db, round_id, code)
    return (round_ is not None and round_.status == "open"
            and (response is None or response["status"] in EDITABLE_RESPONSES))


def _was_posted(entry: PreviousYearEntry, posted: Mapping[str, str]) -> bool:
    """A form loaded before the item existed carries no field of it: nothing to save."""
    item_id = entry.item.id
    return status_field(item_id) in posted or note_field(item_id) in posted


def _posted_values(entry: PreviousYearEntry, posted: Mapping[str, str],
                   errors: dict) -> tuple[str | None, str]:
    item_id = entry.item.id
    status = posted.get(status_field(item_id), entry.status)
    if status not in STATUSES:
        errors[status_field(item_id)] = Message(N_("改善計画の状況を選んでください。"))
        status = entry.status
    note = posted.get(note_field(item_id))
    if note is None:
        return status, entry.note
    local: dict[str, str] = {}
    cleaned = _text(note, MAX_NOTES_LENGTH, N_("進捗"), local, "note")
    if local:
        errors[note_field(item_id)] = local["note"]
        return status, entry.note
    return status, cleaned


def _save_entry(db: Database, round_id: int, entry: PreviousYearEntry,
                values: tuple[str | None, str], user_id: int | None, at: str) -> None:
    status, note = values
    if entry.reported and (status, note) == (entry.status, entry.note):
        return
    item = entry.item
    followup_store.upsert_report(db, item.id, round_id, status, note, user_id, at)
    if note != entry.note:
        followup_store.insert_history(db, item.id, ("progress_note", entry.note or None,
                                                    note or None), user_id, at, round_id)
    if status != item.status and (not entry.reported or status != entry.status):
        followup_store.update_item(db, item.id, {**_stored_values(item), "status": status},
                                   user_id, at)
        followup_store.insert_history(db, item.id, ("status", item.status, status),
                                      user_id, at, round_id)


def _stored_values(item: Item) -> dict:
    return {"finding": item.finding, "question_ids": item.question_ids, "owner": item.owner,
            "due_on": item.due_on, "status": item.status, "notes": item.notes}


def previous_year_errors(db: Database, round_id: int, code: str) -> dict[str, str]:
    """{field: message} for what the block still lacks before the form may be submitted:
    every item needs a saved status and a progress note."""
    errors = {}
    for entry in previous_year_entries(db, round_id, code):
        number = entry.item.id
        if not entry.reported or entry.status not in STATUSES:
            errors[status_field(number)] = Message(
                N_("前年度の改善計画 #%(id)d（%(finding)s）の状況を選んでください。"),
                id=number, finding=entry.item.finding)
        if not entry.note:
            errors[note_field(number)] = Message(
                N_("前年度の改善計画 #%(id)d（%(finding)s）の進捗を入力してください。"),
                id=number, finding=entry.item.finding)
    return errors
