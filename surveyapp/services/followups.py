"""Follow-ups of the audit items, changed: the findings' thresholds and the improvement
items (改善計画) with their append-only history. Reading them (the follow-up lists,
items, movements) is readmodels/followup_lists.py.

Every state change is one `BEGIN IMMEDIATE` transaction that writes the change and its
history together. Refused input raises `refusals.Invalid` whose
`errors` carry a message per field, so the web layer can put each next to its input.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_, Message, Questionnaire
from surveyapp.readmodels.aggregate import (
    load_round,
    valid_in,
)
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.followup_lists import (
    STATUSES,
    Item,
    get_item,
    known_findings,
    round_followups,
)
from surveyapp.readmodels.system_followups import allowed_systems
from surveyapp.readmodels.system_results import round_systems
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import audit
from surveyapp.services import rounds as round_service
from surveyapp.store import departments as department_store
from surveyapp.store import followups as followup_store

MAX_OWNER_LENGTH = 100
MAX_NOTES_LENGTH = 2000
MAX_QUESTIONS = 40
DEPARTMENT_FIELDS = ("system_code", "owner", "due_on", "status", "notes")
ADMIN_FIELDS = ("question_ids", *DEPARTMENT_FIELDS)
ITEM_CONFLICT = N_("あなたが編集している間に、他の人がこの改善計画を保存しました。"
                   "あなたの入力は下に残っています。保存された内容と見比べてから、"
                   "もう一度保存してください。")


# --- thresholds ------------------------------------------------------------------------


THRESHOLD_RANGE = N_("基準点は0から100までの数値で入力してください（%(text)s）。")


def parse_threshold(text: str) -> float:
    """A score from 0 to 100 typed by a person (full-width digits accepted)."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise Invalid(THRESHOLD_RANGE, text=cleaned) from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise Invalid(THRESHOLD_RANGE, text=cleaned)
    return value


def set_thresholds(db: Database, typed: Mapping[str, str], default: float,
                   user_id: int | None) -> list[str]:
    """Store every finding's typed threshold at once (empty = use the setting).

    Raises `Invalid` (nothing stored) when any value is bad; returns the findings
    whose threshold changed. Each change is audit-logged with its old and new value.
    """
    findings = known_findings(db)
    wanted, errors = {}, {}
    for finding in findings:
        try:
            text = (typed.get(finding) or "").strip()
            wanted[finding] = parse_threshold(text) if text else None
        except Invalid as error:
            errors[finding] = Message.of(error)
    if errors:
        raise Invalid(errors=errors)
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


# --- improvement items -----------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    """What a person typed; `clean_item` turns it into stored values or errors."""

    finding: str = ""
    question_ids: tuple[str, ...] = ()
    owner: str = ""
    due_on: str = ""
    status: str = "not_started"
    notes: str = ""
    system_code: str = ""  # the information system the item is about; "" for none


def typed_text(value: str | None, limit: int, label: str, errors: dict, name: str) -> str:
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


def clean_item(questionnaire: Questionnaire, raw: ItemInput,
               systems: Mapping[str, str] | None = None) -> dict:
    """Stored values of an item from typed input; raises `Invalid`. `systems` are the
    codes (-> names) of the systems the item may name (none when not given)."""
    errors: dict[str, str] = {}
    if raw.finding not in questionnaire.findings:
        errors["finding"] = Message(N_("指摘・意見を一覧から選んでください。"))
    system_code = (raw.system_code or "").strip() or None
    if system_code is not None and system_code not in (systems or {}):
        errors["system_code"] = Message(N_("この所属の情報システムから選んでください。"))
    values = {
        "finding": raw.finding, "system_code": system_code,
        "question_ids": clean_question_ids(questionnaire, raw.finding, raw.question_ids,
                                           errors),
        "owner": typed_text(raw.owner, MAX_OWNER_LENGTH, N_("担当者"), errors, "owner"),
        "notes": typed_text(raw.notes, MAX_NOTES_LENGTH, N_("メモ"), errors, "notes"),
        "status": raw.status,
        "due_on": _due_date(raw.due_on, errors)}
    if raw.status not in STATUSES:
        errors["status"] = Message(N_("状況を一覧から選んでください。"))
    if errors:
        raise Invalid(errors=errors)
    return values


def _due_date(text: str | None, errors: dict) -> str | None:
    try:
        return round_service.parse_date(unicodedata.normalize("NFKC", text or ""), N_("期限"))
    except Invalid as error:
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
        raise Invalid(errors={"department_code": Message(N_("所属が見つかりません。"))})
    if not valid_in(department, fiscal_year):
        raise Invalid(errors={"department_code": Message(
            N_("この所属はこの年度の調査対象ではありません。"))})
    return department


def create_item(db: Database, round_id: int, department_code: str, raw: ItemInput,
                user_id: int | None) -> int:
    """A new item of a 所属 in a round; its initial values are the first history rows.

    Raises `NotFound` (no such round) or `Invalid`.
    """
    round_, questionnaire = load_round(db, round_id)
    values = clean_item(questionnaire, raw, item_systems(db, round_id, department_code))
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
    for name in ("finding", *ADMIN_FIELDS):  # system_code with them
        new = history_text(values[name])
        if new is not None:
            followup_store.insert_history(db, item_id, (name, None, new), user_id, at)
    return item_id


def item_systems(db: Database, round_id: int, department_code: str) -> dict[str, str]:
    """{code: name} of the systems an item of the 所属 in the round may name."""
    return allowed_systems(round_systems(db, round_id), department_code)


def create_from_entry(db: Database, round_id: int, department_code: str, finding: str,
                      anonymity_min: int, default: float, user_id: int | None,
                      system_code: str | None = None) -> tuple[int, bool]:
    """「改善計画を作成」 on a follow-up list entry: (item id, whether it is new).

    Prefilled with the entry's questions below the threshold; with `system_code`, the
    entry is that system's (of the 所属) and the item names it. When the 所属 already has
    an item for the finding (and system) in the round, that item is returned instead, so
    a double click never makes two. Raises `Invalid` when the entry is not on the list.
    """
    followups = round_followups(db, round_id, anonymity_min, default, [department_code])
    found = next((f for f in followups.lists if f.finding == finding), None)
    entries = (found.entries if not system_code else
               [e for e in found.systems if e.code == system_code]) if found else []
    entry = next(iter(entries), None)
    if entry is None:
        raise Invalid(errors={"finding": Message(
            N_("この所属は%(finding)sのフォローアップ対象ではありません。"), finding=finding)})
    raw = ItemInput(finding=finding, question_ids=entry.question_ids,
                    system_code=system_code or "")
    values = clean_item(followups.scores.questionnaire, raw,
                        item_systems(db, round_id, department_code))
    with store.transaction(db):
        existing = [row for row in followup_store.list_items(
            db, {"round_id": round_id, "finding": finding,
                 "department_codes": [department_code]})
            if row["system_code"] == (system_code or None)]
        if existing:
            return existing[0]["id"], False
        return insert_item(db, round_id, department_code, values, user_id), True


def update_item(db: Database, item_id: int, expected_version: int, raw: ItemInput,
                user_id: int | None, fields: Sequence[str] = DEPARTMENT_FIELDS) -> Item:
    """Change the item's `fields` from `raw`; one history row per changed field.

    Raises `NotFound`, `Invalid` or `Conflict` (the item changed after the caller loaded
    `expected_version`; `current` is the stored item; nothing is written).
    """
    with store.transaction(db):
        current = get_item(db, item_id)
        if current.version != expected_version:
            raise Conflict(ITEM_CONFLICT, current=current)
        questionnaire = get_definition(db, current.questionnaire_id,
                                       current.questionnaire_version)
        systems = item_systems(db, current.round_id, current.department_code)
        if current.system_code:  # the system it names stays allowed if it moved on
            systems[current.system_code] = current.system_name or ""
        values = clean_item(questionnaire, _merged_input(current, raw, fields), systems)
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
                       current.due_on or "", current.status, current.notes,
                       current.system_code or "")
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
