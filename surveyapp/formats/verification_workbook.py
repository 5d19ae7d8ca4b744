"""The audit workpaper (監査調書, DESIGN.md §9) as an Excel workbook: writing it and
reading back the filled-in file, with no database.

The sheet `検証` has one row per listed answer of each sampled 所属 and the header
`department_code, question_id, question_text, self_value, self_evidence, verdict,
verified_value, note`, then `proof_location` (where the proof was seen) and
`system_code` (an information system's answers, §12; empty for the 所属's own). Only
the verdict, verified value, note and proof location cells are editable (drop-down
lists offer the verdicts and each choice question's values, as a warning only). A very
hidden sheet names the round and holds every row's key with the self-reported value as
exported, signed with an HMAC of the app's secret key; a sheet `記入方法` says how to fill
it in. An upload is read as the self-check's is (`selfcheck_workbook`: the package
checks, read-only, formulas never evaluated).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveyapp import exports
from surveyapp.formats.selfcheck_workbook import (
    MAX_UPLOAD_BYTES,
    cell_text,
    check_package,
    read_package,
    sheet_rows,
)
from surveyapp.model import N_, Message, Translate
from surveyapp.refusals import Invalid

if TYPE_CHECKING:  # openpyxl is imported where it is used (tests/test_startup.py)
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

# An upload is checked, and its cells read, as the self-check's are; the service and
# the upload view take these two from here.
__all__ = ["MAX_UPLOAD_BYTES", "cell_text"]

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


@dataclass(frozen=True)
class WorkpaperRow:
    """One answer's row as written: the HEADER values, and the choice values its
    verified_value cell offers (empty for free input)."""

    values: tuple
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> ExportedKey:
        return (self.values[0], self.values[1], self.values[-1] or "")

    @property
    def self_value(self) -> str:
        return self.values[HEADER.index("self_value")]


def cell_ref(column: str, row: int) -> str:
    """`検証!G12`: how every error names its cell."""
    return f"{SHEET}!{LETTERS[column]}{row}"


def file_names(fiscal_year: int) -> tuple[str, str]:
    """The download's name (Japanese) and its ASCII fallback."""
    return f"監査調書_{fiscal_year}年度.xlsx", f"workpaper_fy{fiscal_year}.xlsx"


def checksum(key: bytes, round_id: int, questionnaire: tuple[str, str],
             rows: Mapping[ExportedKey, str]) -> str:
    """HMAC over the round, the questionnaire version and every exported row."""
    content = json.dumps([FORMAT_ID, round_id, list(questionnaire),
                          sorted([*k, v] for k, v in rows.items())], ensure_ascii=False)
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


def build(rows: Sequence[WorkpaperRow], round_id: int, questionnaire: tuple[str, str],
          verdicts: Sequence[str], key: bytes, translate: Translate = str) -> bytes:
    """The workbook of `rows` for round `round_id` of questionnaire (id, version);
    `verdicts` are what the verdict column's drop-down offers."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    _header(sheet)
    for row in rows:
        sheet.append([exports.xlsx_value(value) for value in row.values])
    _editable_cells(sheet)
    _validations(sheet, rows, verdicts)
    _guide(workbook, translate)
    _meta(workbook, round_id, questionnaire, {row.key: row.self_value for row in rows}, key)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


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


def _validations(sheet, rows: Sequence[WorkpaperRow], verdicts: Sequence[str]) -> None:
    """Drop-down lists: the verdicts, and each choice question's values (a warning
    only, so a label typed by hand still goes in; the import checks every cell)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    last = len(rows) + 1
    if last < 2:
        return
    listing = DataValidation(type="list", formula1=f'"{",".join(verdicts)}"',
                             allow_blank=True, errorStyle="warning")
    listing.add(f"{LETTERS['verdict']}2:{LETTERS['verdict']}{last}")
    sheet.add_data_validation(listing)
    by_choices: dict[str, DataValidation] = {}
    for number, row in enumerate(rows, start=2):
        values = row.choices
        listed = ",".join(values)
        if not values or len(listed) > LIST_LIMIT or any(set(v) & set(',"') for v in values):
            continue
        if listed not in by_choices:
            by_choices[listed] = DataValidation(type="list", formula1=f'"{listed}"',
                                                allow_blank=True, errorStyle="warning")
            sheet.add_data_validation(by_choices[listed])
        by_choices[listed].add(f"{LETTERS['verified_value']}{number}")


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


# --- reading --------------------------------------------------------------------------


def read_workbook(data: bytes, filename: str, key: bytes
                  ) -> tuple[dict, dict[ExportedKey, str], list[tuple]]:
    """The checked metadata, the exported rows {key: self value}, and the sheet's rows
    (each a tuple of cells, HEADER long); `Invalid` when the file cannot be used."""
    check_package(data, filename)
    return read_package(data, lambda workbook: (*_read_meta(workbook, key),
                                                _read_rows(workbook)),
                        N_("Excel ブック（.xlsx）として読み取れませんでした。"
                           "書き出した調書に記入してください。"))


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
    return sheet_rows(workbook[SHEET], len(HEADER), MAX_ROWS,
                      N_("行が多すぎます。書き出した調書に記入してください。"))


