"""Answering the self-check offline in Excel: download the form, fill it, upload it.
The workbook itself (writing it, reading an upload back) is formats/selfcheck_workbook.py.

An upload is compared three ways: a question counts as changed only when the file
differs from what was downloaded, so answers someone saved on the web in the meantime
are kept, not overwritten with the file's stale copy. `preview` lists per question what
would change (old -> new) and which cells are invalid and why. Nothing is written until
the user confirms; `apply` then goes through `self_check.save_form`, so the answer
history and the version check apply as for the web form. The rows of a system block
(`<question id>@<system code>`, DESIGN.md §12) go to that system's block of the form,
for the systems whose block may still change. When someone else changed the
same question after the download, the preview marks it and applying needs an explicit
"overwrite"; a save between preview and apply makes `save_draft` raise `Conflict`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlite_utils import Database

from surveyapp import evidence as evidence_rules
from surveyapp import question_types
from surveyapp.evidence import AnswerEvidence, InvalidEvidence
from surveyapp.formats.selfcheck_workbook import (
    ANSWER_COLUMN,
    DATE_COLUMN,
    EVIDENCE_COLUMN,
    FORM_AUDIENCE,
    ID_COLUMN,
    LOCATION_COLUMN,
    SYSTEM_AUDIENCE,
    FormMeta,
    SheetBlock,
    answer_text,
    build_form,
    cell_text,
    check_package,
    originals,
    read_workbook,
    row_key,
    split_key,
    stored_text,
)
from surveyapp.model import (
    N_,
    AnswerValue,
    Message,
    Question,
    Questionnaire,
    Translate,
)
from surveyapp.refusals import Invalid, NotFound
from surveyapp.services import responses, self_check

PENDING_MAX_AGE_SECONDS = 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True)
class Change:
    question_id: str
    section_id: str
    text: str
    old: str
    new: str
    old_evidence: str  # note, location and date on one line
    new_evidence: str
    conflict: bool = False  # someone else changed this question after the download
    system_code: str = ""  # the system block the row belongs to; "" for the 所属's own


@dataclass(frozen=True)
class CellProblem:
    cell: str
    question_id: str
    value: str
    reason: str  # a Message: the web layer shows it in the chosen language


@dataclass
class Preview:
    meta: FormMeta
    base_version: int  # the stored version the changes were compared with
    changes: list[Change] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    answers: dict[str, AnswerValue | None] = field(default_factory=dict)
    evidence: dict[str, AnswerEvidence | None] = field(default_factory=dict)
    systems: dict[str, tuple[dict, dict]] = field(default_factory=dict)  # code -> block's
    seen: set[str] = field(default_factory=set)  # row keys read so far
    blocks: frozenset[str] = frozenset()  # the system blocks the upload may change

    def target(self, system_code: str | None) -> tuple[dict, dict]:
        """(answers, evidence) a row's change goes into."""
        if system_code is None:
            return self.answers, self.evidence
        return self.systems.setdefault(system_code, ({}, {}))

    @property
    def saved_since_download(self) -> bool:
        return self.base_version != self.meta.version

    @property
    def conflict(self) -> bool:
        """A change would overwrite what someone else saved after the download."""
        return any(change.conflict for change in self.changes)


# --- the downloadable form ------------------------------------------------------------


def form_for_download(db: Database, round_id: int, department_code: str,
                      user_id: int | None, key: bytes, lang: str = "ja",
                      translate: Translate = str) -> bytes:
    """The 所属's form with its current answers; creates the draft on first use.

    Raises `Locked` (the round is not open) or `NotFound` like the web form.
    """
    response = responses.get_or_create_department_response(db, round_id, department_code,
                                                           user_id)
    questionnaire = responses.definition_for(db, response)
    answers, evidence = responses.load_answers(db, response["id"], questionnaire)
    meta = FormMeta(round_id, department_code, response["id"], response["version"],
                    questionnaire.id, questionnaire.version)
    return build_form(questionnaire, meta, answers, evidence, key, lang, translate,
                      sheet_blocks(db, response, questionnaire))


def sheet_blocks(db: Database, response: Mapping,
                 questionnaire: Questionnaire) -> list[SheetBlock]:
    """The form's system blocks that may still change, as workbook row blocks."""
    return [SheetBlock(block.code, block.system["name"], block.answers, block.evidence)
            for block in self_check.blocks_of(db, response, questionnaire)
            if block.editable]


# --- preview ------------------------------------------------------------------------------


def preview(db: Database, data: bytes, filename: str, key: bytes, round_id: int,
            department_code: str, lang: str = "ja") -> Preview:
    """What the upload would change, and its invalid cells; writes nothing."""
    check_package(data, filename)
    meta, downloaded, rows = read_workbook(data, key)
    if (meta.round_id, meta.department_code) != (round_id, department_code):
        raise Invalid(N_("別の所属または別の調査回の様式です。"
                               "この所属・調査回の様式をダウンロードして記入してください。"))
    response = _editable_response(db, meta)
    questionnaire = responses.definition_for(db, response)
    stored, notes = responses.load_answers(db, response["id"], questionnaire)
    blocks = sheet_blocks(db, response, questionnaire)
    states = {"downloaded": downloaded,
              "stored": originals(questionnaire, stored, notes, blocks)}
    result = Preview(meta, response["version"],
                     blocks=frozenset(block.code for block in blocks))
    for row_number, cells in enumerate(rows, start=2):
        _preview_row(result, questionnaire, row_number, cells, states, lang)
    return result


def _editable_response(db: Database, meta: FormMeta) -> dict:
    """The response the file was made for, while it may change; otherwise the file
    cannot be used (Invalid, like every other reason to refuse the upload)."""
    try:
        response = responses.get_response(db, meta.response_id)
    except NotFound:
        response = None
    if response is None or (response["round_id"], response["department_code"]) != (
            meta.round_id, meta.department_code):
        raise Invalid(N_("様式に対応する回答が見つかりません。"
                               "もう一度ダウンロードしてください。"))
    if response["status"] not in responses.EDITABLE:
        raise Invalid(N_("この自己点検は提出済みのため、Excel から変更できません。"
                               "修正が必要な場合は情報企画課に再開を依頼してください。"))
    if response["round_status"] != "open":
        raise Invalid(N_("この調査回は現在回答を受け付けていません。"))
    return response


def _preview_row(result: Preview, questionnaire: Questionnaire, row_number: int,
                 cells: tuple, states: Mapping, lang: str) -> None:
    question_cell = cells[ID_COLUMN - 1]
    key = _plain(question_cell.value if question_cell is not None else None)
    if not key:
        return
    question_id, system_code = split_key(key)
    question = questionnaire.question(question_id)
    audience = FORM_AUDIENCE if system_code is None else SYSTEM_AUDIENCE
    if question is None or question.audience != audience or (
            system_code is not None and system_code not in result.blocks):
        result.problems.append(CellProblem(f"B{row_number}", key, key,
                                           Message(N_("この設問IDは様式にありません。"))))
        return
    if key in result.seen:
        result.problems.append(CellProblem(f"B{row_number}", key, key,
                                           Message(N_("同じ設問の行が2つあります。"))))
        return
    result.seen.add(key)
    _compare(result, question, row_number, cells, states, lang, system_code)


def _compare(result: Preview, question: Question, row_number: int, cells: tuple,
             states: Mapping, lang: str, system_code: str | None = None) -> None:
    """Record the row's change: what the file changed since the download, applied to
    what is stored now. Values compare as stored text, evidence part by part as text."""
    problems = len(result.problems)
    key = row_key(question.id, system_code)
    value = read_answer(result, question, f"E{row_number}", cells[ANSWER_COLUMN - 1], lang,
                        key)
    found = read_evidence(result, question, row_number, cells, key)
    if len(result.problems) > problems:
        return
    mine = (stored_text(question, value), *evidence_rules.texts(found))
    before = states["downloaded"].get(key, ("",) * len(mine))
    now = states["stored"].get(key, ("",) * len(mine))
    wanted = tuple(m if m != b else n for m, b, n in zip(mine, before, now, strict=True))
    if wanted == now:
        return
    answers, evidence = result.target(system_code)
    if wanted[0] != now[0]:
        answers[question.id] = value
    if wanted[1:] != now[1:]:
        evidence[question.id] = AnswerEvidence(*(text or None for text in wanted[1:])) or None
    conflict = any(w != n and n != b for w, b, n in zip(wanted, before, now, strict=True))
    result.changes.append(Change(
        question.id, question.section_id, question.text.get(lang),
        _shown_text(question, now[0], lang), _shown_text(question, wanted[0], lang),
        _evidence_line(now[1:]), _evidence_line(wanted[1:]), conflict, system_code or ""))


def _evidence_line(parts: tuple[str, ...]) -> str:
    """Note, location and date as the preview shows them: "note / location / date"."""
    return " / ".join(part for part in parts if part)


def _shown_text(question: Question, text: str, lang: str) -> str:
    value = question_types.of(question).from_text(question, text) if text else None
    return answer_text(question, value, lang)


def _plain(value: object) -> str:
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def read_answer(result: Preview, question: Question, ref: str, cell,
                lang: str = "ja", key: str | None = None) -> AnswerValue | None:
    """The cell's value as a stored answer; None (and a problem, named by the row's
    `key`) when invalid."""
    try:
        return question_types.of(question).from_cell(question, cell_text(cell), lang)
    except (Invalid, ValueError) as problem:
        # Invalid and question_types.InvalidAnswer (a ValueError) carry their msgid
        # (without the question id)
        result.problems.append(CellProblem(ref, key or question.id, _shown(cell),
                                           Message.of(problem)))
        return None


def read_evidence(result: Preview, question: Question, row_number: int,
                  cells: tuple, key: str | None = None) -> AnswerEvidence | None:
    """The row's note (F), location (G) and date (H); None (and a problem per bad
    cell) when one cannot be stored. `key`: the row's (a system block's row key)."""
    checks = ((EVIDENCE_COLUMN, "F", evidence_rules.MAX_NOTE_LENGTH),
              (LOCATION_COLUMN, "G", evidence_rules.MAX_LOCATION_LENGTH),
              (DATE_COLUMN, "H", None))
    parts, fine = [], True
    for column, letter, limit in checks:
        cell = cells[column - 1]
        try:
            parts.append(_evidence_part(question, cell, limit))
        except (Invalid, InvalidEvidence) as problem:
            result.problems.append(CellProblem(f"{letter}{row_number}", key or question.id,
                                               _shown(cell), Message.of(problem)))
            fine = False
    return AnswerEvidence(*parts) if fine else None


def _evidence_part(question: Question, cell, limit: int | None) -> str | None:
    text = cell_text(cell).strip()
    if text and question.evidence == "none":
        raise Invalid(N_("この設問には根拠を記入できません。"))
    if limit is None:
        return evidence_rules.parse_date(text)
    return evidence_rules.clean_text(text, limit)


def _shown(cell, limit: int = 80) -> str:
    value = None if cell is None else cell.value
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- applying -----------------------------------------------------------------------------


def apply(db: Database, preview_result: Preview, user_id: int | None,
          overwrite: bool = False) -> responses.SaveResult:
    """Write the previewed changes as one draft save.

    Refused while cells are invalid. When the response was saved after the download,
    `overwrite` must be True (the user saw the warning); a save after the preview
    still raises `Conflict`.
    """
    if preview_result.problems:
        raise Invalid(N_("誤りのあるセルがあるため反映できません。"
                               "修正してもう一度アップロードしてください。"))
    if preview_result.conflict and not overwrite:
        raise Invalid(N_("ダウンロードした後に他の人が変更した設問があります。"
                               "内容を確認し、上書きすることを選んでください。"))
    return self_check.save_form(db, preview_result.meta.response_id,
                                preview_result.base_version, preview_result.answers,
                                preview_result.evidence, preview_result.systems, user_id)


# --- previews kept between the upload and the confirmation -------------------------------


def preview_to_json(result: Preview) -> dict:
    return {"meta": asdict(result.meta), "base_version": result.base_version,
            "changes": [asdict(c) for c in result.changes],
            "problems": [{**asdict(p), "reason": message_to_json(p.reason)}
                         for p in result.problems],
            "answers": _values_to_json(result.answers),
            "evidence": _evidence_to_json(result.evidence),
            "systems": {code: [_values_to_json(answers), _evidence_to_json(evidence)]
                        for code, (answers, evidence) in result.systems.items()},
            "blocks": sorted(result.blocks)}


def _evidence_to_json(evidence: Mapping) -> dict:
    return {k: list(evidence_rules.texts(v)) for k, v in evidence.items()}


def preview_from_json(data: Mapping) -> Preview:
    return Preview(FormMeta(**data["meta"]), data["base_version"],
                   [Change(**c) for c in data["changes"]],
                   [CellProblem(**{**p, "reason": message_from_json(p["reason"])})
                    for p in data["problems"]],
                   _values_from_json(data["answers"]), _evidence_from_json(data["evidence"]),
                   {code: (_values_from_json(answers), _evidence_from_json(evidence))
                    for code, (answers, evidence) in data.get("systems", {}).items()},
                   blocks=frozenset(data.get("blocks", ())))


def _values_to_json(answers: Mapping) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()}


def _values_from_json(data: Mapping) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def _evidence_from_json(data: Mapping) -> dict:
    return {k: _evidence_record(v) for k, v in data.items()}


def _evidence_record(value: list | str | None) -> AnswerEvidence | None:
    """[note, location, date]; a note alone in a preview kept before DESIGN.md §13."""
    if not isinstance(value, list):
        return evidence_rules.as_record(value) or None
    return AnswerEvidence(*(text or None for text in value)) or None


def message_to_json(message: str) -> dict | str:
    """A cell's reason kept with its msgid, so a stored preview still translates."""
    if isinstance(message, Message):
        return {"message": message.message, "params": message.params}
    return message


def message_from_json(data: dict | str) -> str:
    return Message(data["message"], **data["params"]) if isinstance(data, dict) else data


class PendingUploads:
    """Previews waiting for confirmation, one JSON file each, named by a random token.

    Only the token travels (in the session); files older than a day are swept away.
    Another upload that previews before it writes (the verification workpaper) keeps
    its previews the same way with its own `encode` and `decode`.
    """

    encode = staticmethod(preview_to_json)
    decode = staticmethod(preview_from_json)

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def save(self, owner: Mapping, result: object) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sweep()
        token = secrets.token_urlsafe(24)
        payload = {"owner": dict(owner), "preview": self.encode(result)}
        self._path(token).write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
        return token

    def load(self, token: str | None, owner: Mapping) -> object | None:
        """The preview saved under `token`, only for the same owner (user, round, 所属)."""
        path = self._path(token) if token and TOKEN.fullmatch(token) else None
        if path is None or not path.is_file():
            return None
        payload = json.loads(path.read_text("utf-8"))
        return self.decode(payload["preview"]) if payload["owner"] == dict(owner) else None

    def discard(self, token: str | None) -> None:
        if token and TOKEN.fullmatch(token):
            self._path(token).unlink(missing_ok=True)

    def sweep(self, now: float | None = None) -> None:
        limit = (now or time.time()) - PENDING_MAX_AGE_SECONDS
        for path in self._files():
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)

    def _files(self) -> Iterator[Path]:
        return self.folder.glob("*.json") if self.folder.is_dir() else iter(())

    def _path(self, token: str) -> Path:
        return self.folder / f"{token}.json"
