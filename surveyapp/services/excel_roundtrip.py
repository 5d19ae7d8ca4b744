"""Answering the self-check offline in Excel: download the form, fill it, upload it.

The downloaded workbook has one row per department question (section, id, text, how to
answer, the current answer, the evidence note) and a very hidden sheet naming the round,
the 所属, the response and its version, and holding the answers as downloaded; all of
it is signed with an HMAC of the app's secret key, so a file of another 所属 or round,
or with edited metadata, is refused.

An upload is only read (openpyxl read-only, formulas never evaluated; a formula cell is
an invalid cell) and compared three ways: a question counts as changed only when the
file differs from what was downloaded, so answers someone saved on the web in the
meantime are kept, not overwritten with the file's stale copy. `preview` lists per
question what would change (old -> new) and which cells are invalid and why. Nothing is
written until the user confirms; `apply` then goes through `responses.save_draft`, so
the answer history and the version check apply as for the web form. When someone else
changed the same question after the download, the preview marks it and applying needs
an explicit "overwrite"; a save between preview and apply makes `save_draft` raise
`Conflict`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
import time
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from surveyapp import audiences, exports, question_types
from surveyapp.model import AnswerValue, Question, Questionnaire
from surveyapp.services import responses
from surveyapp.services.messages import N_, Message, Refused, Translate

if TYPE_CHECKING:
    from openpyxl import Workbook

FORMAT_ID = "surveyapp-selfcheck-form-1"
FORM_SHEET = "自己点検"
META_SHEET = "ファイル情報"
HEADER = (N_("分野"), N_("設問ID"), N_("設問"), N_("回答のしかた"), N_("回答"), N_("根拠・メモ"))
WIDTHS = (16, 12, 60, 40, 30, 40)
ID_COLUMN, ANSWER_COLUMN, EVIDENCE_COLUMN = 2, 5, 6
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024  # a zip bomb stops here
MAX_ROWS = 2000
META_KEYS = ("format", "round_id", "department_code", "response_id", "version",
             "questionnaire_id", "questionnaire_version")
ORIGINAL = "downloaded"  # metadata rows holding an answer as it was downloaded
PENDING_MAX_AGE_SECONDS = 24 * 3600
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
FORM_AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)


class UploadRefused(Exception):
    """The file as a whole cannot be used. Like `messages.Refused` (not a ValueError,
    so cell-level ValueErrors never swallow it): `message` is a Japanese msgid that
    `params` fill, and the web layer translates it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class FormMeta:
    round_id: int
    department_code: str
    response_id: int
    version: int
    questionnaire_id: str
    questionnaire_version: str

    def signed_text(self) -> str:
        return "|".join(str(value) for value in (FORMAT_ID, *asdict(self).values()))

    def checksum(self, key: bytes, originals: Mapping[str, tuple[str, str]]) -> str:
        """HMAC over the metadata and the answers as downloaded."""
        content = json.dumps(sorted(originals.items()), ensure_ascii=False)
        signed = f"{self.signed_text()}|{content}".encode()
        return hmac.new(key, signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Change:
    question_id: str
    section_id: str
    text: str
    old: str
    new: str
    old_evidence: str
    new_evidence: str
    conflict: bool = False  # someone else changed this question after the download


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
    evidence: dict[str, str | None] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # question ids read so far

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

    Raises `responses.RoundNotOpen` / `responses.NotFound` like the web form.
    """
    response = responses.get_or_create_department_response(db, round_id, department_code,
                                                           user_id)
    questionnaire = responses.definition_for(db, response)
    answers, evidence = responses.load_answers(db, response["id"], questionnaire)
    meta = FormMeta(round_id, department_code, response["id"], response["version"],
                    questionnaire.id, questionnaire.version)
    return build_form(questionnaire, meta, answers, evidence, key, lang, translate)



def build_form(questionnaire: Questionnaire, meta: FormMeta, answers: Mapping,
               evidence: Mapping, key: bytes, lang: str = "ja",
               translate: Translate = str) -> bytes:
    """The workbook: answer and evidence cells editable, everything else protected."""
    from openpyxl import Workbook  # imported where used (tests/test_startup.py)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = FORM_SHEET
    _form_header(sheet, translate)
    for section in questionnaire.sections_for(FORM_AUDIENCE):
        for question in section.questions:
            sheet.append(form_row(question, section.title.get(lang), answers.get(question.id),
                                  evidence.get(question.id), lang, translate))
            _unlock_answer_cells(sheet, question)
    sheet.protection.sheet = True
    _meta_sheet(workbook, meta, key, originals(questionnaire, answers, evidence))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _form_header(sheet, translate: Translate = str) -> None:
    from openpyxl.styles import Font

    sheet.append([translate(Message(title)) for title in HEADER])
    for index, width in enumerate(WIDTHS, start=1):
        sheet.cell(1, index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
    sheet.freeze_panes = "A2"


def form_row(question: Question, section_title: str, value: AnswerValue | None,
             note: str | None, lang: str, translate: Translate = str) -> list:
    hint = question_types.of(question).input_hint(question, lang)
    return [exports.xlsx_value(item) for item in (
        section_title, question.id, question.text.get(lang), translate(hint) if hint else hint,
        answer_text(question, value, lang), note or None)]


def _unlock_answer_cells(sheet, question: Question) -> None:
    from openpyxl.styles import Alignment, Protection

    row = sheet.max_row
    for column in range(1, len(HEADER) + 1):
        sheet.cell(row, column).alignment = Alignment(wrap_text=True, vertical="top")
    editable = [ANSWER_COLUMN] + ([EVIDENCE_COLUMN] if question.evidence != "none" else [])
    for column in editable:
        sheet.cell(row, column).protection = Protection(locked=False)


def originals(questionnaire: Questionnaire, answers: Mapping,
              evidence: Mapping) -> dict[str, tuple[str, str]]:
    """{question id: (stored value text, evidence)} of the department questions, without
    the control characters a workbook cannot hold (so a download reads back equal)."""
    return {q.id: (exports.clean_text(_stored_text(q, answers.get(q.id))),
                   exports.clean_text(evidence.get(q.id) or ""))
            for q in questionnaire.questions_for(FORM_AUDIENCE)}


def _stored_text(question: Question, value: AnswerValue | None) -> str:
    return "" if value is None else question_types.of(question).to_text(value)


def _meta_sheet(workbook: Workbook, meta: FormMeta, key: bytes,
                downloaded: Mapping[str, tuple[str, str]]) -> None:
    sheet = workbook.create_sheet(META_SHEET)
    values = (FORMAT_ID, *asdict(meta).values())
    rows = [*zip(META_KEYS, values, strict=True), ("checksum", meta.checksum(key, downloaded)),
            *((ORIGINAL, question_id, *texts) for question_id, texts in downloaded.items())]
    for row in rows:  # stored text may start with "=": never a formula, here neither
        sheet.append([exports.xlsx_value(value) for value in row])
    sheet.protection.sheet = True
    sheet.sheet_state = "veryHidden"


def answer_text(question: Question, value: AnswerValue | None, lang: str = "ja") -> str:
    """A stored value as the form shows it: choice labels joined by ';', else the text."""
    return question_types.of(question).to_cell(question, value, lang)


# --- reading an upload ------------------------------------------------------------------


def check_package(data: bytes, filename: str) -> None:
    """Refuse what is not a plain .xlsx workbook of a sensible size, before parsing."""
    if not filename.lower().endswith(".xlsx"):
        raise UploadRefused(N_("Excel ブック（.xlsx）を選んでください。"
                               "マクロ付きブック（.xlsm）や .xls、CSV は使えません。"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(N_("ファイルが大きすぎます（上限 %(kb)d KB）。"),
                            kb=MAX_UPLOAD_BYTES // 1024)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise UploadRefused(N_("Excel ブック（.xlsx）として読み取れませんでした。")) from None
    names = {entry.filename.lower() for entry in entries}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise UploadRefused(N_("マクロを含むファイルは受け付けません。"
                               "ダウンロードした .xlsx に記入してください。"))
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise UploadRefused(N_("ファイルの中身が大きすぎます。"))


def read_workbook(data: bytes, key: bytes) -> tuple[FormMeta, dict, list[tuple]]:
    """The checked metadata, the answers as downloaded, and the form rows."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            meta, downloaded = _read_meta(workbook, key)
            rows = _read_rows(workbook)
        finally:
            workbook.close()
    except UploadRefused:
        raise
    except Exception:  # a damaged file can fail anywhere inside openpyxl
        raise UploadRefused(N_("Excel ブック（.xlsx）として読み取れませんでした。"
                               "ダウンロードした様式に記入してください。")) from None
    return meta, downloaded, rows


def _read_meta(workbook, key: bytes) -> tuple[FormMeta, dict[str, tuple[str, str]]]:
    if META_SHEET not in workbook.sheetnames or FORM_SHEET not in workbook.sheetnames:
        raise UploadRefused(N_("このツールからダウンロードした自己点検の様式ではありません。"))
    rows = [[_meta_value(value) for value in (*row, None, None, None, None)[:4]]
            for row in workbook[META_SHEET].iter_rows(max_row=MAX_ROWS, max_col=4,
                                                      values_only=True)]
    found = {str(row[0]): row[1] for row in rows if row[0] not in (None, ORIGINAL)}
    downloaded = {str(row[1]): (str(row[2] or ""), str(row[3] or ""))
                  for row in rows if row[0] == ORIGINAL}
    try:
        meta = FormMeta(int(found["round_id"]), str(found["department_code"]),
                        int(found["response_id"]), int(found["version"]),
                        str(found["questionnaire_id"]), str(found["questionnaire_version"]))
    except (KeyError, TypeError, ValueError):
        raise UploadRefused(N_("様式のファイル情報が読み取れません。"
                               "もう一度ダウンロードしてください。")) from None
    if found.get("format") != FORMAT_ID or not hmac.compare_digest(
            str(found.get("checksum", "")), meta.checksum(key, downloaded)):
        raise UploadRefused(N_("様式のファイル情報が改変されているか、別の環境のファイルです。"
                               "もう一度ダウンロードしてください。"))
    return meta, downloaded


def _meta_value(value: object) -> object:
    return exports.unneutralise(value) if isinstance(value, str) else value


def _read_rows(workbook) -> list[tuple]:
    rows = []
    for row in workbook[FORM_SHEET].iter_rows(min_row=2, max_col=len(HEADER)):
        if len(rows) >= MAX_ROWS:
            raise UploadRefused(N_("行が多すぎます。ダウンロードした様式に記入してください。"))
        rows.append(tuple(row) + (None,) * (len(HEADER) - len(row)))
    return rows


# --- preview ------------------------------------------------------------------------------


def preview(db: Database, data: bytes, filename: str, key: bytes, round_id: int,
            department_code: str, lang: str = "ja") -> Preview:
    """What the upload would change, and its invalid cells; writes nothing."""
    check_package(data, filename)
    meta, downloaded, rows = read_workbook(data, key)
    if (meta.round_id, meta.department_code) != (round_id, department_code):
        raise UploadRefused(N_("別の所属または別の調査回の様式です。"
                               "この所属・調査回の様式をダウンロードして記入してください。"))
    response = _editable_response(db, meta)
    questionnaire = responses.definition_for(db, response)
    stored, notes = responses.load_answers(db, response["id"], questionnaire)
    states = {"downloaded": downloaded,
              "stored": originals(questionnaire, stored, notes)}
    result = Preview(meta, response["version"])
    for row_number, cells in enumerate(rows, start=2):
        _preview_row(result, questionnaire, row_number, cells, states, lang)
    return result


def _editable_response(db: Database, meta: FormMeta) -> dict:
    try:
        response = responses.get_response(db, meta.response_id)
    except responses.NotFound:
        response = None
    if response is None or (response["round_id"], response["department_code"]) != (
            meta.round_id, meta.department_code):
        raise UploadRefused(N_("様式に対応する回答が見つかりません。"
                               "もう一度ダウンロードしてください。"))
    if response["status"] not in responses.EDITABLE:
        raise UploadRefused(N_("この自己点検は提出済みのため、Excel から変更できません。"
                               "修正が必要な場合は情報企画課に再開を依頼してください。"))
    if response["round_status"] != "open":
        raise UploadRefused(N_("この調査回は現在回答を受け付けていません。"))
    return response


def _preview_row(result: Preview, questionnaire: Questionnaire, row_number: int,
                 cells: tuple, states: Mapping, lang: str) -> None:
    question_cell = cells[ID_COLUMN - 1]
    question_id = _plain(question_cell.value if question_cell is not None else None)
    if not question_id:
        return
    question = questionnaire.question(question_id)
    if question is None or question.audience != FORM_AUDIENCE:
        result.problems.append(CellProblem(f"B{row_number}", question_id, question_id,
                                           Message(N_("この設問IDは様式にありません。"))))
        return
    if question_id in result.seen:
        result.problems.append(CellProblem(f"B{row_number}", question_id, question_id,
                                           Message(N_("同じ設問の行が2つあります。"))))
        return
    result.seen.add(question_id)
    _compare(result, question, row_number, cells, states, lang)


def _compare(result: Preview, question: Question, row_number: int, cells: tuple,
             states: Mapping, lang: str) -> None:
    """Record the row's change: what the file changed since the download, applied to
    what is stored now. Values compare as stored text, evidence as text."""
    problems = len(result.problems)
    value = read_answer(result, question, f"E{row_number}", cells[ANSWER_COLUMN - 1], lang)
    note = read_evidence(result, question, f"F{row_number}", cells[EVIDENCE_COLUMN - 1])
    if len(result.problems) > problems:
        return
    mine = (_stored_text(question, value), note or "")
    before = states["downloaded"].get(question.id, ("", ""))
    now = states["stored"].get(question.id, ("", ""))
    wanted = tuple(m if m != b else n for m, b, n in zip(mine, before, now, strict=True))
    if wanted == now:
        return
    if wanted[0] != now[0]:
        result.answers[question.id] = value
    if wanted[1] != now[1]:
        result.evidence[question.id] = note
    conflict = any(w != n and n != b for w, b, n in zip(wanted, before, now, strict=True))
    result.changes.append(Change(
        question.id, question.section_id, question.text.get(lang),
        _shown_text(question, now[0], lang), _shown_text(question, wanted[0], lang),
        now[1], wanted[1], conflict))


def _shown_text(question: Question, text: str, lang: str) -> str:
    value = question_types.of(question).from_text(question, text) if text else None
    return answer_text(question, value, lang)


def _plain(value: object) -> str:
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def read_answer(result: Preview, question: Question, ref: str, cell,
                lang: str = "ja") -> AnswerValue | None:
    """The cell's value as a stored answer; None (and a problem) when invalid."""
    try:
        return question_types.of(question).from_cell(question, cell_text(cell), lang)
    except ValueError as problem:
        # InvalidAnswer and Refused carry their msgid (without the question id)
        result.problems.append(CellProblem(ref, question.id, _shown(cell),
                                           Message.of(problem)))
        return None


def cell_text(cell) -> str:
    """A cell as the text a web form would have sent; formulas are refused."""
    value = None if cell is None else cell.value
    if cell is not None and getattr(cell, "data_type", None) == "f":
        raise Refused(N_("数式は使えません。値を直接入力してください。"))
    if value is None:
        return ""
    if isinstance(value, bool):
        raise Refused(N_("TRUE / FALSE は回答として使えません。"))
    if isinstance(value, int | float):
        return question_types.format_number(float(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return exports.unneutralise(value)
    raise Refused(N_("この形式の値は読み取れません。文字か数値で入力してください。"))


def read_evidence(result: Preview, question: Question, ref: str, cell) -> str | None:
    try:
        text = cell_text(cell).strip()
    except ValueError as problem:
        result.problems.append(CellProblem(ref, question.id, _shown(cell),
                                           Message.of(problem)))
        return None
    reason = _evidence_problem(question, text)
    if reason:
        result.problems.append(CellProblem(ref, question.id, _shown(cell), reason))
        return None
    return text or None


def _evidence_problem(question: Question, text: str) -> Message | None:
    if text and question.evidence == "none":
        return Message(N_("この設問には根拠・メモを記入できません。"))
    if len(text) > responses.MAX_EVIDENCE_LENGTH:
        return Message(N_("根拠・メモは%(n)d文字以内で入力してください。"),
                       n=responses.MAX_EVIDENCE_LENGTH)
    if "\x00" in text:
        return Message(N_("使用できない文字が含まれています。"))
    return None


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
    still raises `responses.Conflict`.
    """
    if preview_result.problems:
        raise UploadRefused(N_("誤りのあるセルがあるため反映できません。"
                               "修正してもう一度アップロードしてください。"))
    if preview_result.conflict and not overwrite:
        raise UploadRefused(N_("ダウンロードした後に他の人が変更した設問があります。"
                               "内容を確認し、上書きすることを選んでください。"))
    return responses.save_draft(db, preview_result.meta.response_id,
                                preview_result.base_version, preview_result.answers,
                                preview_result.evidence, user_id)


# --- previews kept between the upload and the confirmation -------------------------------


def preview_to_json(result: Preview) -> dict:
    return {"meta": asdict(result.meta), "base_version": result.base_version,
            "changes": [asdict(c) for c in result.changes],
            "problems": [{**asdict(p), "reason": message_to_json(p.reason)}
                         for p in result.problems],
            "answers": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in result.answers.items()},
            "evidence": result.evidence}


def preview_from_json(data: Mapping) -> Preview:
    return Preview(FormMeta(**data["meta"]), data["base_version"],
                   [Change(**c) for c in data["changes"]],
                   [CellProblem(**{**p, "reason": message_from_json(p["reason"])})
                    for p in data["problems"]],
                   {k: tuple(v) if isinstance(v, list) else v
                    for k, v in data["answers"].items()},
                   dict(data["evidence"]))


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
