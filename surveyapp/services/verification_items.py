"""Improvement items from verification (DESIGN.md §9): a discrepancy on a question
tagged with findings opens an improvement item for that 所属 and finding, or is added
to its open one (an item of the round that is not done).

Runs inside `verification.finalise`'s transaction. A new item carries
`source = 'verification'`; an item that was already open gets the questions and a note
line added, each change in its history as for any edit. `verification_item_links`
remembers which discrepancy went into which item, so finalising again (after an admin
reopened the 所属) adds each discrepancy once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import question_types, store
from surveyapp.model import Question, Questionnaire, fiscal_year_label
from surveyapp.readmodels.followup_lists import Item
from surveyapp.services import followups
from surveyapp.store import followups as followup_store
from surveyapp.store import verification as verification_store

SOURCE = "verification"


@dataclass(frozen=True)
class ItemChanges:
    opened: tuple[int, ...] = ()
    extended: tuple[int, ...] = ()


@dataclass(frozen=True)
class Discrepancy:
    verdict_id: int
    question: Question
    self_value: str | None
    verified_value: str

    def note_line(self, fiscal_year: int) -> str:
        """What the item's notes say about it (stored text, in Japanese)."""
        return (f"{fiscal_year_label(fiscal_year)} 監査検証の相違: {self.question.id} "
                f"自己申告「{self._shown(self.self_value)}」→ "
                f"確認「{self._shown(self.verified_value)}」")

    def _shown(self, text: str | None) -> str:
        if text is None:
            return "（未回答）"
        kind = question_types.of(self.question)
        return kind.to_cell(self.question, kind.from_text(self.question, text))


@dataclass(frozen=True)
class Target:
    """Where the discrepancies go: a round's 所属 and its questionnaire."""

    round_id: int
    fiscal_year: int
    code: str
    questionnaire: Questionnaire


def open_items(db: Database, target: Target, recorded: Sequence[Mapping],
               user_id: int | None) -> ItemChanges:
    """Open or extend one item per finding of the 所属's discrepancies not yet in one."""
    opened, extended = [], []
    for finding, found in discrepancies_by_finding(db, target.questionnaire,
                                                   recorded).items():
        item_id, new = _item_for(db, target, finding, found, user_id)
        (opened if new else extended).append(item_id)
        for discrepancy in found:
            verification_store.link_item(db, discrepancy.verdict_id, item_id, store.now())
    return ItemChanges(tuple(opened), tuple(extended))


def discrepancies_by_finding(db: Database, questionnaire: Questionnaire,
                             recorded: Sequence[Mapping]) -> dict[str, list[Discrepancy]]:
    """{finding: its discrepancies not linked to an item yet}, in the definition's order;
    only findings an item may name (those the questionnaire scores)."""
    rows = [row for row in recorded if row["verdict"] == "discrepancy"]
    linked = verification_store.linked_verdicts(db, [row["id"] for row in rows])
    grouped: dict[str, list[Discrepancy]] = {f: [] for f in questionnaire.findings}
    for row in rows:
        question = questionnaire.question(row["question_id"])
        if question is None or row["id"] in linked:
            continue
        for finding in question.findings:
            if finding in grouped:
                grouped[finding].append(Discrepancy(row["id"], question, row["self_value"],
                                                    row["verified_value"]))
    return {finding: found for finding, found in grouped.items() if found}


def _item_for(db: Database, target: Target, finding: str, found: Sequence[Discrepancy],
              user_id: int | None) -> tuple[int, bool]:
    """(item id, whether it is new): the 所属's open item on the finding, extended."""
    items = followup_store.list_items(db, {"round_id": target.round_id, "finding": finding,
                                           "department_codes": [target.code]})
    current = next((Item.from_row(row) for row in items
                    if row["status"] != "done"), None)
    lines = [discrepancy.note_line(target.fiscal_year) for discrepancy in found]
    wanted = [d.question.id for d in found]
    if current is None:
        raw = followups.ItemInput(finding=finding, question_ids=tuple(wanted),
                                  notes=_notes("", lines))
        values = followups.clean_item(target.questionnaire, raw)
        return followups.insert_item(db, target.round_id, target.code,
                                     {**values, "source": SOURCE}, user_id), True
    raw = followups.ItemInput(
        finding=finding, question_ids=(*current.question_ids, *wanted),
        owner=current.owner, due_on=current.due_on or "", status=current.status,
        notes=_notes(current.notes, lines))
    followups.update_item(db, current.id, current.version, raw, user_id,
                          fields=followups.ADMIN_FIELDS)
    return current.id, False


def _notes(existing: str, lines: Sequence[str]) -> str:
    """`existing` with the new lines below it, as many as the notes field holds (the
    links and the history keep every discrepancy whatever the notes can show)."""
    text = existing.rstrip()
    for line in lines:
        longer = f"{text}\n{line}" if text else line
        if len(longer) > followups.MAX_NOTES_LENGTH:
            break
        text = longer
    return text
