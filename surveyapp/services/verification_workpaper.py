"""The audit workpaper (監査調書, DESIGN.md §9): the sample's answers out to Excel, the
auditors' verdicts back in.

The sheet `検証` has one row per listed answer of each sampled 所属 and the header
`department_code, question_id, question_text, self_value, self_evidence, verdict,
verified_value, note`, then `proof_location` (where the proof was seen) and
`system_code` (an information system's answers, §12; empty for the 所属's own). Only
the verdict, verified value, note and proof location cells are editable; verdicts
recorded so far are filled in, so exporting and importing again changes nothing. A very
hidden sheet names the round and holds every row's key with the self-reported value as
exported, signed with an HMAC of the app's secret key.

An import is read like the self-check's Excel answers (`excel_roundtrip`: the package
checks, formulas refused, nothing evaluated) and works the same way: `preview` lists
what would change and every invalid cell as `検証!G12: reason`, and `apply` records
all of it in one transaction or nothing. Rows are found by their key, not their place,
so sorting the sheet is harmless; a row whose key was not exported (a changed question
id, a 所属 not in the sample) is an error, as is an answer that changed since export.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from sqlite_utils import Database

from surveyapp import exports, question_types
from surveyapp.model import N_, Message
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels.verification import VERDICT_LABELS, VERDICTS
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import excel_roundtrip as roundtrip
from surveyapp.services import verification
from surveyapp.services.messages import Translate

FORMAT_ID = "surveyapp-verification-workpaper-1"
SHEET = "検証"
META_SHEET = "ファイル情報"
GUIDE_SHEET = "記入方法"
HEADER = ("department_code", "question_id", "question_text", "self_value", "self_evidence",
          "verdict", "verified_value", "note", "proof_location", "system_code")
LETTERS = dict(zip(HEADER, "ABCDEFGHIJ", strict=True))
WIDTHS = (12, 12, 60, 14, 36, 14, 16, 40, 30, 12)
EDITABLE = ("verdict", "verified_value", "note", "proof_location")
MAX_ROWS = 20000
ROW = "row"  # metadata rows holding an exported row's key and self-reported value
LIST_LIMIT = 250  # Excel's limit for a list of a data validation is 255 characters
GUIDE = (
    N_("「検証」シートの1行が、標本に入った所属の回答1件です。"),
    N_("verdict（判定）: confirmed（確認済み）、discrepancy（相違）、unverifiable（確認不能）"
       "のどれかを入力します。日本語の表示名でも構いません。"),
    N_("verified_value（確認した値）: 相違のときだけ、現地で確認した実際の値を選択肢の値"
       "（例: partial）か表示名で入力します。複数選ぶときは「;」で区切ります。"),
    N_("note（メモ）と proof_location（根拠を確認した場所: 台帳名、文書番号、フォルダなど）"
       "は自由に記入できます。"),
    N_("判定を空欄にした行は取り込みません。所属コード・設問ID・自己申告の列は変えないで"
       "ください。行の並べ替えは構いません。"),
    N_("取り込むと、変わる判定と誤りのあるセルを表示します。誤りが1つでもあれば何も記録"
       "しません。"),
)

ExportedKey = tuple[str, str, str]  # (所属, question id, system code or "")

if TYPE_CHECKING:  # openpyxl is imported where it is used (tests/test_startup.py)
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation


# --- export ----------------------------------------------------------------------------


def checksum(key: bytes, round_id: int, questionnaire: tuple[str, str],
             rows: Mapping[ExportedKey, str]) -> str:
    """HMAC over the round, the questionnaire version and every exported row."""
    content = json.dumps([FORMAT_ID, round_id, list(questionnaire),
                          sorted([*k, v] for k, v in rows.items())], ensure_ascii=False)
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


def build_workpaper(db: Database, round_id: int, key: bytes, anonymity_min: int,
                    lang: str = "ja", translate: Translate = str) -> bytes:
    """The workpaper of the round's sample; `Invalid` when the sample is empty."""
    from openpyxl import Workbook

    found = figures.round_verification(db, round_id, anonymity_min)
    if not found.departments:
        raise Invalid(N_("標本に所属がありません。先に抽出してください。"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    _header(sheet)
    exported: dict[ExportedKey, str] = {}
    for department in found.departments:
        for line in department.lines:
            sheet.append([exports.xlsx_value(value) for value in row_values(line, lang)])
            exported[exported_key(line)] = line.self_text
    _editable_cells(sheet)
    _validations(sheet, [line for d in found.departments for line in d.lines])
    _guide(workbook, translate)
    questionnaire = (found.questionnaire.id, found.questionnaire.version)
    _meta(workbook, round_id, questionnaire, exported, key)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def file_names(fiscal_year: int) -> tuple[str, str]:
    """The download's name (Japanese) and its ASCII fallback."""
    return f"監査調書_{fiscal_year}年度.xlsx", f"workpaper_fy{fiscal_year}.xlsx"


def exported_key(line: figures.AnswerLine) -> ExportedKey:
    return (line.code, line.question.id, line.system_code or "")


def row_values(line: figures.AnswerLine, lang: str) -> list:
    verdict = line.verdict or {}
    return [line.code, line.question.id, line.question.text.get(lang), line.self_text,
            line.evidence or None, verdict.get("verdict"), verdict.get("verified_value"),
            verdict.get("note") or None, verdict.get("proof_location") or None,
            line.system_code]


def _header(sheet) -> None:
    from openpyxl.styles import Font

    sheet.append(list(HEADER))
    for index, width in enumerate(WIDTHS, start=1):
        sheet.cell(1, index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
    sheet.freeze_panes = "C2"


def _editable_cells(sheet) -> None:
    """The auditor's four columns are unlocked; the sheet is protected, filters allowed."""
    from openpyxl.styles import Alignment, Protection

    editable = {HEADER.index(name) + 1 for name in EDITABLE}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.column in editable:
                cell.protection = Protection(locked=False)
    sheet.auto_filter.ref = sheet.dimensions
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False  # False = allowed: auditors filter by 所属
    sheet.protection.sort = False


def _validations(sheet, lines: Sequence[figures.AnswerLine]) -> None:
    """Drop-down lists: the verdicts, and each choice question's values (a warning
    only, so a label typed by hand still goes in; the import checks every cell)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    last = len(lines) + 1
    if last < 2:
        return
    verdicts = DataValidation(type="list", formula1=f'"{",".join(VERDICTS)}"',
                              allow_blank=True, errorStyle="warning")
    verdicts.add(f"{LETTERS['verdict']}2:{LETTERS['verdict']}{last}")
    sheet.add_data_validation(verdicts)
    by_choices: dict[str, DataValidation] = {}
    for row, line in enumerate(lines, start=2):
        values = [choice.value for choice in line.question.choices]
        listed = ",".join(values)
        if not values or len(listed) > LIST_LIMIT or any(set(v) & set(',"') for v in values):
            continue
        if listed not in by_choices:
            by_choices[listed] = DataValidation(type="list", formula1=f'"{listed}"',
                                                allow_blank=True, errorStyle="warning")
            sheet.add_data_validation(by_choices[listed])
        by_choices[listed].add(f"{LETTERS['verified_value']}{row}")


def _guide(workbook: Workbook, translate: Translate) -> None:
    from openpyxl.styles import Alignment

    sheet = workbook.create_sheet(GUIDE_SHEET)
    sheet.column_dimensions["A"].width = 100
    for text in GUIDE:
        sheet.append([translate(Message(text))])
        sheet.cell(sheet.max_row, 1).alignment = Alignment(wrap_text=True)


def _meta(workbook: Workbook, round_id: int, questionnaire: tuple[str, str],
          exported: Mapping[ExportedKey, str], key: bytes) -> None:
    sheet = workbook.create_sheet(META_SHEET)
    rows = [("format", FORMAT_ID), ("round_id", round_id),
            ("questionnaire_id", questionnaire[0]), ("questionnaire_version", questionnaire[1]),
            ("checksum", checksum(key, round_id, questionnaire, exported)),
            *((ROW, *row_key, text) for row_key, text in exported.items())]
    for row in rows:
        sheet.append([exports.xlsx_value(value) for value in row])
    sheet.protection.sheet = True
    sheet.sheet_state = "veryHidden"


# --- reading an import -------------------------------------------------------------------


@dataclass(frozen=True)
class CellProblem:
    cell: str  # 検証!G12
    department_code: str
    question_id: str
    value: str
    reason: str  # a Message: the web layer shows it in the chosen language

    def __str__(self) -> str:
        return f"{self.cell}: {self.reason}"


@dataclass(frozen=True)
class VerdictChange:
    department_code: str
    department_name: str
    question_id: str
    system_code: str | None
    text: str
    self_value: str  # stored text, as exported
    old_verdict: str | None
    old_value: str | None
    verdict: str
    verified_value: str | None  # stored text
    note: str
    proof_location: str
    base_version: int  # the stored verdict's version the change was read against (0: none)


@dataclass
class WorkpaperPreview:
    round_id: int
    sha256: str
    rows: int = 0  # rows with a key that were read
    changes: list[VerdictChange] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    seen: set[ExportedKey] = field(default_factory=set)

    def problem(self, column: str, row: int, key: tuple[str, str], value: object,
                reason: str) -> None:
        self.problems.append(CellProblem(f"{SHEET}!{LETTERS[column]}{row}", key[0], key[1],
                                         _shown(value), reason))


def preview(db: Database, data: bytes, filename: str, key: bytes, round_id: int,
            anonymity_min: int, lang: str = "ja") -> WorkpaperPreview:
    """What importing the file would record, and its invalid cells; writes nothing.
    Raises `Invalid` when the file as a whole cannot be used."""
    _check_package(data, filename)
    meta, exported, rows = read_workbook(data, key)
    if meta["round_id"] != round_id:
        raise Invalid(N_("別の調査回の調書です。この調査回の調書を書き出して記入してください。"))
    found = figures.round_verification(db, round_id, anonymity_min)
    result = WorkpaperPreview(round_id, hashlib.sha256(data).hexdigest())
    for number, cells in enumerate(rows, start=2):
        read_row(result, found, exported, number, cells, lang)
    return result


def _check_package(data: bytes, filename: str) -> None:
    try:
        roundtrip.check_package(data, filename)
    except roundtrip.UploadRefused as refused:
        raise Invalid(refused.message, **refused.params) from None


def read_workbook(data: bytes, key: bytes) -> tuple[dict, dict[ExportedKey, str], list]:
    """The checked metadata, the exported rows {key: self value}, and the sheet's rows."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            meta, exported = _read_meta(workbook, key)
            rows = _read_rows(workbook)
        finally:
            workbook.close()
    except Refusal:
        raise
    except Exception:  # a damaged file can fail anywhere inside openpyxl
        raise Invalid(N_("Excel ブック（.xlsx）として読み取れませんでした。"
                         "書き出した調書に記入してください。")) from None
    return meta, exported, rows


def _read_meta(workbook, key: bytes) -> tuple[dict, dict[ExportedKey, str]]:
    if META_SHEET not in workbook.sheetnames or SHEET not in workbook.sheetnames:
        raise Invalid(N_("このツールから書き出した監査調書ではありません。"))
    rows = [[_text(value) for value in (*row, None, None, None, None, None)[:5]]
            for row in workbook[META_SHEET].iter_rows(max_row=MAX_ROWS + 10, max_col=5,
                                                      values_only=True)]
    found = {row[0]: row[1] for row in rows if row[0] and row[0] != ROW}
    exported = {(row[1], row[2], row[3]): row[4] for row in rows if row[0] == ROW}
    try:
        meta = {"round_id": int(found["round_id"]),
                "questionnaire": (found["questionnaire_id"], found["questionnaire_version"])}
    except (KeyError, TypeError, ValueError):
        raise Invalid(N_("調書のファイル情報が読み取れません。"
                         "もう一度書き出してください。")) from None
    expected = checksum(key, meta["round_id"], meta["questionnaire"], exported)
    if found.get("format") != FORMAT_ID or not hmac.compare_digest(
            found.get("checksum", ""), expected):
        raise Invalid(N_("調書のファイル情報が改変されているか、別の環境のファイルです。"
                         "もう一度書き出してください。"))
    return meta, exported


def _text(value: object) -> str:
    return "" if value is None else exports.unneutralise(str(value))


def _read_rows(workbook) -> list[tuple]:
    rows = []
    for row in workbook[SHEET].iter_rows(min_row=2, max_col=len(HEADER)):
        if len(rows) >= MAX_ROWS:
            raise Invalid(N_("行が多すぎます。書き出した調書に記入してください。"))
        rows.append(tuple(row) + (None,) * (len(HEADER) - len(row)))
    return rows


def read_row(result: WorkpaperPreview, found: figures.RoundVerification,
             exported: Mapping[ExportedKey, str], number: int, cells: tuple,
             lang: str) -> None:
    """Check one row; add its change or its problems to `result`."""
    cell = dict(zip(HEADER, cells, strict=True))
    key = (_plain(cell["department_code"]), _plain(cell["question_id"]),
           _plain(cell["system_code"]))
    typed = {name: _typed(result, number, key, name, cell[name]) for name in EDITABLE}
    if not key[0] and not key[1]:
        if any(typed.values()):
            result.problem("department_code", number, key[:2], "",
                           Message(N_("所属コードと設問IDのない行には記入できません。")))
        return
    line = _exported_line(result, found, exported, number, key)
    if line is None or None in typed.values():
        return
    given = _given(result, number, key, line, typed)
    if given is not None:
        _change(result, found.department(key[0]), line, given, number)


def _typed(result: WorkpaperPreview, number: int, key: tuple, name: str, cell) -> str | None:
    """The cell's text as typed (None, and a problem, for a formula or the like)."""
    try:
        return roundtrip.cell_text(cell).strip()
    except (Refusal, ValueError) as problem:
        result.problem(name, number, key[:2], _cell_value(cell), Message.of(problem))
        return None


def _exported_line(result: WorkpaperPreview, found: figures.RoundVerification,
                   exported: Mapping[ExportedKey, str], number: int,
                   key: ExportedKey) -> figures.AnswerLine | None:
    """The answer the row stands for, when the row is one that was exported as is."""
    department = found.department(key[0])
    if department is None:
        result.problem("department_code", number, key[:2], key[0], Message(
            N_("所属 %(code)s は標本に入っていません。"), code=key[0]))
        return None
    line = department.line(key[1], key[2] or None)
    if key not in exported or line is None:
        result.problem("question_id", number, key[:2], key[1], Message(
            N_("設問ID %(id)s はこの所属の調書の行にありません。"
               "書き出した調書の所属コードと設問IDは変えないでください。"), id=key[1]))
        return None
    if key in result.seen:
        result.problem("question_id", number, key[:2], key[1],
                       Message(N_("同じ所属・設問の行が2つあります。")))
        return None
    result.seen.add(key)
    result.rows += 1
    if exported[key] != line.self_text:
        result.problem("self_value", number, key[:2], exported[key], Message(
            N_("書き出した後に所属の回答が変わりました（現在: %(now)s）。"
               "調書を書き出し直してください。"), now=line.self_text))
        return None
    return line


def _given(result: WorkpaperPreview, number: int, key: ExportedKey,
           line: figures.AnswerLine, typed: Mapping[str, str]
           ) -> verification.VerdictInput | None:
    """The row's verdict; None when it has none or has a problem (then recorded)."""
    if not typed["verdict"]:
        if any(typed[name] for name in EDITABLE):
            result.problem("verdict", number, key[:2], "",
                           Message(N_("判定を入力してください。")))
        return None
    verdict = verdict_code(typed["verdict"])
    found_value = None
    try:
        found_value = (verification.parse_found(line.question, typed["verified_value"])
                       if typed["verified_value"] else None)
    except ValueError as problem:
        result.problem("verified_value", number, key[:2], typed["verified_value"],
                       Message.of(problem))
        return None
    given = verification.VerdictInput(line.question.id, verdict or typed["verdict"],
                                      found_value, typed["note"], typed["proof_location"],
                                      line.system_code)
    problems = verification.verdict_problems(line.question, given, line.value)
    for name, reason in problems.items():
        result.problem(name, number, key[:2], typed[name], reason)
    return None if problems else given


def verdict_code(text: str) -> str | None:
    """A verdict from its code or its Japanese label; None when it is neither."""
    wanted = unicodedata.normalize("NFKC", text).strip()
    for code in VERDICTS:
        if wanted.casefold() == code or wanted == unicodedata.normalize(
                "NFKC", VERDICT_LABELS[code]):
            return code
    return None


def _change(result: WorkpaperPreview, department: figures.SampledDepartment,
            line: figures.AnswerLine, given: verification.VerdictInput, number: int) -> None:
    stored = line.verdict or {}
    found_text = (None if given.verified_value is None
                  else question_types.of(line.question).to_text(given.verified_value))
    new = (given.verdict, found_text, given.note, given.proof_location)
    old = tuple(stored.get(name) for name in ("verdict", "verified_value", "note",
                                              "proof_location"))
    if new == old:
        return
    if department.finalised:
        result.problem("verdict", number, (line.code, line.question.id), given.verdict,
                       Message(N_("この所属の検証は確定済みのため、判定を変えられません。")))
        return
    result.changes.append(VerdictChange(
        line.code, department.name, line.question.id, line.system_code,
        line.question.text.get("ja"), line.self_text, old[0], old[1], *new,
        stored.get("version", 0)))


def _plain(cell) -> str:
    """A key cell's text (所属 code, question id, system code), as typed."""
    value = _cell_value(cell)
    text = "" if value is None else exports.unneutralise(str(value))
    return unicodedata.normalize("NFKC", text).strip()


def _cell_value(cell) -> object:
    return None if cell is None else cell.value


def _shown(value: object, limit: int = 80) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- applying --------------------------------------------------------------------------


def apply(db: Database, result: WorkpaperPreview, user_id: int | None,
          anonymity_min: int) -> int:
    """Record every previewed change in one transaction; returns how many changed.

    Refused (`Invalid`) while any cell is invalid; `Conflict` when a verdict or an
    answer changed after the preview (nothing is recorded then).
    """
    if result.problems:
        raise Invalid(N_("誤りのあるセルがあるため取り込めません。"
                         "修正してもう一度取り込んでください。"))
    found = figures.round_verification(db, result.round_id, anonymity_min)
    changes = [_recorded(found, change) for change in result.changes]
    return verification.record_verdicts(db, result.round_id, changes, user_id, {
        "file_sha256": result.sha256, "rows": result.rows})


def _recorded(found: figures.RoundVerification, change: VerdictChange
              ) -> tuple[figures.AnswerLine, verification.VerdictInput, int]:
    department = found.department(change.department_code)
    line = department.line(change.question_id, change.system_code) if department else None
    if line is None or line.self_text != change.self_value:
        raise Conflict(N_("確認画面を表示した後に、標本または所属の回答が変わりました。"
                          "何も記録していません。調書を書き出し直してください。"))
    kind = question_types.of(line.question)
    found_value = (None if change.verified_value is None
                   else kind.from_text(line.question, change.verified_value))
    return line, verification.VerdictInput(
        change.question_id, change.verdict, found_value, change.note,
        change.proof_location, change.system_code), change.base_version


# --- previews kept between the upload and the confirmation -----------------------------


def preview_to_json(result: WorkpaperPreview) -> dict:
    return {"round_id": result.round_id, "sha256": result.sha256, "rows": result.rows,
            "changes": [asdict(change) for change in result.changes],
            "problems": [{**asdict(p), "reason": roundtrip.message_to_json(p.reason)}
                         for p in result.problems]}


def preview_from_json(data: Mapping) -> WorkpaperPreview:
    return WorkpaperPreview(
        data["round_id"], data["sha256"], data["rows"],
        [VerdictChange(**change) for change in data["changes"]],
        [CellProblem(**{**p, "reason": roundtrip.message_from_json(p["reason"])})
         for p in data["problems"]])


class PendingWorkpapers(roundtrip.PendingUploads):
    """Workpaper previews waiting for confirmation (see `PendingUploads`)."""

    encode = staticmethod(preview_to_json)
    decode = staticmethod(preview_from_json)
