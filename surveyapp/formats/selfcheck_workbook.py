"""The self-check as an Excel workbook (the file format of the Excel round trip): writing
the form a 所属 downloads and reading back the one it uploads, with no database.

The workbook has one row per department question (section, id, text, how to answer,
the current answer, the evidence note, where the proof is kept and the date it is from),
then one row block per information system the 所属 answers for (DESIGN.md §12): a
heading row naming the system, and a row per system question whose id cell reads
`<question id>@<system code>`; and a very hidden sheet naming the round, the 所属, the
response and its version, and holding the answers as downloaded; all of it is signed
with an HMAC of the app's secret key, so a file of another 所属 or round, or with
edited metadata, is refused (`Invalid`). An upload is only read (openpyxl read-only,
formulas never evaluated; a formula cell is an invalid cell)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from surveyapp import audiences, exports, question_types
from surveyapp import evidence as evidence_rules
from surveyapp.formats.attachments import zip_entries
from surveyapp.model import (
    N_,
    AnswerValue,
    Message,
    Question,
    Questionnaire,
    Translate,
)
from surveyapp.refusals import Invalid

if TYPE_CHECKING:
    from openpyxl import Workbook

T = TypeVar("T")

# Form 2 added the evidence's location and date (DESIGN.md §13); a form 1 file is
# refused as from another environment (download it again).
FORMAT_ID = "surveyapp-selfcheck-form-2"
FORM_SHEET = "自己点検"
META_SHEET = "ファイル情報"
HEADER = (N_("分野"), N_("設問ID"), N_("設問"), N_("回答のしかた"), N_("回答"), N_("根拠・メモ"),
          N_("根拠の保管場所"), N_("根拠の日付（yyyy-mm-dd）"))
WIDTHS = (16, 12, 60, 40, 30, 40, 30, 16)
ID_COLUMN, ANSWER_COLUMN, EVIDENCE_COLUMN, LOCATION_COLUMN, DATE_COLUMN = 2, 5, 6, 7, 8
EVIDENCE_COLUMNS = (EVIDENCE_COLUMN, LOCATION_COLUMN, DATE_COLUMN)
ORIGINAL_WIDTH = 6  # ORIGINAL, question id, value, note, location, date
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024  # a zip bomb stops here
MAX_ROWS = 2000
META_KEYS = ("format", "round_id", "department_code", "response_id", "version",
             "questionnaire_id", "questionnaire_version")
ORIGINAL = "downloaded"  # metadata rows holding an answer as it was downloaded
FORM_AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)
SYSTEM_AUDIENCE = audiences.SYSTEM.name
SYSTEM_MARK = "@"  # row key of a system question: <question id>@<system code>
SYSTEM_HEADING = N_("情報システム")


@dataclass(frozen=True)
class SheetBlock:
    """One system's block of the workbook: its code, the heading text, its answers."""

    code: str
    title: str
    answers: Mapping
    evidence: Mapping


def row_key(question_id: str, system_code: str | None = None) -> str:
    return question_id if system_code is None else f"{question_id}{SYSTEM_MARK}{system_code}"


def split_key(key: str) -> tuple[str, str | None]:
    """(question id, system code or None) of a row key."""
    question_id, mark, system_code = key.partition(SYSTEM_MARK)
    return question_id, (system_code if mark else None)


# --- the form's metadata ------------------------------------------------------------


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

    def checksum(self, key: bytes, originals: Mapping[str, tuple[str, ...]]) -> str:
        """HMAC over the metadata and the answers as downloaded."""
        content = json.dumps(sorted(originals.items()), ensure_ascii=False)
        signed = f"{self.signed_text()}|{content}".encode()
        return hmac.new(key, signed, hashlib.sha256).hexdigest()


# --- writing the form ---------------------------------------------------------------


def build_form(questionnaire: Questionnaire, meta: FormMeta, answers: Mapping,
               evidence: Mapping, key: bytes, lang: str = "ja",
               translate: Translate = str, blocks: Sequence[SheetBlock] = ()) -> bytes:
    """The workbook: answer and evidence cells editable, everything else protected."""
    from openpyxl import Workbook  # imported where used (tests/test_startup.py)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = FORM_SHEET
    _form_header(sheet, translate)
    _question_rows(sheet, questionnaire, FORM_AUDIENCE, answers, evidence, lang, translate)
    for block in blocks:
        _block_heading(sheet, block, translate)
        _question_rows(sheet, questionnaire, SYSTEM_AUDIENCE, block.answers, block.evidence,
                       lang, translate, block.code)
    sheet.protection.sheet = True
    _meta_sheet(workbook, meta, key, originals(questionnaire, answers, evidence, blocks))
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


def _question_rows(sheet, questionnaire: Questionnaire, audience: str, answers: Mapping,
                   evidence: Mapping, lang: str, translate: Translate,
                   system_code: str | None = None) -> None:
    for section in questionnaire.sections_for(audience):
        for question in section.questions:
            sheet.append(form_row(question, section.title.get(lang), answers.get(question.id),
                                  evidence.get(question.id), lang, translate, system_code))
            _unlock_answer_cells(sheet, question)


def _block_heading(sheet, block: SheetBlock, translate: Translate) -> None:
    """A system's heading row: nothing to fill in, its id cell empty (never read)."""
    from openpyxl.styles import Font

    sheet.append([exports.xlsx_value(item) for item in (
        translate(Message(SYSTEM_HEADING)), None, f"{block.code} {block.title}")])
    for column in range(1, len(HEADER) + 1):
        sheet.cell(sheet.max_row, column).font = Font(bold=True)


def form_row(question: Question, section_title: str, value: AnswerValue | None,
             found, lang: str, translate: Translate = str,
             system_code: str | None = None) -> list:
    """One question's row; `found` its evidence (an AnswerEvidence, or a note);
    `system_code` names a system block's row."""
    hint = question_types.of(question).input_hint(question, lang)
    note, location, day = evidence_rules.texts(found)
    return [*(exports.xlsx_value(item) for item in (
        section_title, row_key(question.id, system_code), question.text.get(lang),
        translate(hint) if hint else hint, answer_text(question, value, lang), note or None,
        location or None)),
        date.fromisoformat(day) if day else None]


def _unlock_answer_cells(sheet, question: Question) -> None:
    from openpyxl.styles import Alignment, Protection

    row = sheet.max_row
    for column in range(1, len(HEADER) + 1):
        sheet.cell(row, column).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.cell(row, DATE_COLUMN).number_format = "yyyy-mm-dd"
    editable = [ANSWER_COLUMN] + (list(EVIDENCE_COLUMNS) if question.evidence != "none" else [])
    for column in editable:
        sheet.cell(row, column).protection = Protection(locked=False)


def originals(questionnaire: Questionnaire, answers: Mapping, evidence: Mapping,
              blocks: Sequence[SheetBlock] = ()) -> dict[str, tuple[str, str, str, str]]:
    """{row key: (stored value text, note, location, date)} of the department questions
    and of each block's, without the control characters a workbook cannot hold (so a
    download reads back equal)."""
    found = _texts(questionnaire.questions_for(FORM_AUDIENCE), answers, evidence)
    for block in blocks:
        found.update(_texts(questionnaire.questions_for(SYSTEM_AUDIENCE), block.answers,
                            block.evidence, block.code))
    return found


def _texts(questions: Sequence[Question], answers: Mapping, evidence: Mapping,
           system_code: str | None = None) -> dict[str, tuple[str, str, str, str]]:
    return {row_key(q.id, system_code): (
        exports.clean_text(stored_text(q, answers.get(q.id))),
        *(exports.clean_text(text) for text in evidence_rules.texts(evidence.get(q.id))))
        for q in questions}


def stored_text(question: Question, value: AnswerValue | None) -> str:
    """A value as the database stores it; "" for no answer."""
    return "" if value is None else question_types.of(question).to_text(value)


def _meta_sheet(workbook: Workbook, meta: FormMeta, key: bytes,
                downloaded: Mapping[str, tuple[str, ...]]) -> None:
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


# --- reading an upload --------------------------------------------------------------


def check_package(data: bytes, filename: str) -> None:
    """Refuse what is not a plain .xlsx workbook of a sensible size, before parsing."""
    if not filename.lower().endswith(".xlsx"):
        raise Invalid(N_("Excel ブック（.xlsx）を選んでください。"
                               "マクロ付きブック（.xlsm）や .xls、CSV は使えません。"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid(N_("ファイルが大きすぎます（上限 %(kb)d KB）。"),
                            kb=MAX_UPLOAD_BYTES // 1024)
    entries = zip_entries(data, filename, MAX_UNPACKED_BYTES)
    names = {entry.filename.lower() for entry in entries}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise Invalid(N_("マクロを含むファイルは受け付けません。"
                               "ダウンロードした .xlsx に記入してください。"))


def read_workbook(data: bytes, key: bytes) -> tuple[FormMeta, dict, list[tuple]]:
    """The checked metadata, the answers as downloaded, and the form rows."""
    return read_package(data, lambda workbook: (*_read_meta(workbook, key),
                                                _read_rows(workbook)),
                        N_("Excel ブック（.xlsx）として読み取れませんでした。"
                           "ダウンロードした様式に記入してください。"))


def read_package(data: bytes, read: Callable[[Workbook], T], damaged: str) -> T:
    """`read(workbook)` of an upload opened read-only (formulas are never evaluated); a
    file openpyxl cannot read is refused with the msgid `damaged`."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            return read(workbook)
        finally:
            workbook.close()
    except Invalid:
        raise
    except Exception:  # a damaged file can fail anywhere inside openpyxl
        raise Invalid(damaged) from None


def _read_meta(workbook, key: bytes) -> tuple[FormMeta, dict[str, tuple[str, ...]]]:
    if META_SHEET not in workbook.sheetnames or FORM_SHEET not in workbook.sheetnames:
        raise Invalid(N_("このツールからダウンロードした自己点検の様式ではありません。"))
    rows = [[_meta_value(value) for value in (*row, *(None,) * ORIGINAL_WIDTH)[:ORIGINAL_WIDTH]]
            for row in workbook[META_SHEET].iter_rows(max_row=MAX_ROWS, max_col=ORIGINAL_WIDTH,
                                                      values_only=True)]
    found = {str(row[0]): row[1] for row in rows if row[0] not in (None, ORIGINAL)}
    downloaded = {str(row[1]): tuple(str(text or "") for text in row[2:])
                  for row in rows if row[0] == ORIGINAL}
    try:
        meta = FormMeta(int(found["round_id"]), str(found["department_code"]),
                        int(found["response_id"]), int(found["version"]),
                        str(found["questionnaire_id"]), str(found["questionnaire_version"]))
    except (KeyError, TypeError, ValueError):
        raise Invalid(N_("様式のファイル情報が読み取れません。"
                               "もう一度ダウンロードしてください。")) from None
    if found.get("format") != FORMAT_ID or not hmac.compare_digest(
            str(found.get("checksum", "")), meta.checksum(key, downloaded)):
        raise Invalid(N_("様式のファイル情報が改変されているか、別の環境のファイルです。"
                               "もう一度ダウンロードしてください。"))
    return meta, downloaded


def _meta_value(value: object) -> object:
    return exports.unneutralise(value) if isinstance(value, str) else value


def _read_rows(workbook) -> list[tuple]:
    return sheet_rows(workbook[FORM_SHEET], len(HEADER), MAX_ROWS,
                      N_("行が多すぎます。ダウンロードした様式に記入してください。"))


def sheet_rows(sheet, width: int, limit: int, too_many: str) -> list[tuple]:
    """The rows under the heading, each `width` cells long; `Invalid(too_many)` past
    `limit` rows, so a huge sheet is refused before it is read whole."""
    rows = []
    for row in sheet.iter_rows(min_row=2, max_col=width):
        if len(rows) >= limit:
            raise Invalid(too_many)
        rows.append(tuple(row) + (None,) * (width - len(row)))
    return rows


def cell_text(cell) -> str:
    """A cell as the text a web form would have sent; formulas are refused."""
    value = None if cell is None else cell.value
    if cell is not None and getattr(cell, "data_type", None) == "f":
        raise Invalid(N_("数式は使えません。値を直接入力してください。"))
    if value is None:
        return ""
    if isinstance(value, bool):
        raise Invalid(N_("TRUE / FALSE は回答として使えません。"))
    if isinstance(value, int | float):
        return question_types.format_number(float(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return exports.unneutralise(value)
    raise Invalid(N_("この形式の値は読み取れません。文字か数値で入力してください。"))
