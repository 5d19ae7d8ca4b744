"""The departments CSV (DESIGN.md §5) read into rows, with no database: the encoding
(UTF-8 with or without BOM, else Shift_JIS as Excel saves it), the header, and each
record checked and normalised on its own (full-width digits and codes accepted). What
a row refers to (parents, successors) and what importing would change is
services/departments.py."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from surveyapp.model import N_, Message
from surveyapp.refusals import Invalid

REQUIRED_COLUMNS = ("code", "name", "parent_code", "headcount")
OPTIONAL_COLUMNS = ("valid_from", "valid_to", "successor_code")
COMPARED_FIELDS = ("name", "parent_code", "headcount", "valid_from", "valid_to",
                   "successor_code")
MAX_ROWS = 10_000
MAX_NAME_LENGTH = 100
MAX_HEADCOUNT = 1_000_000
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 1900, 2999
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
INTEGER_PATTERN = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class DepartmentRow:
    """One department as it will be stored, with the file line it came from."""

    line: int
    code: str
    name: str
    parent_code: str | None
    headcount: int
    valid_from: int | None = None
    valid_to: int | None = None
    successor_code: str | None = None

    @property
    def is_bureau(self) -> bool:
        return self.parent_code is None

    def as_record(self) -> dict:
        return {name: getattr(self, name) for name in ("code", *COMPARED_FIELDS)}


# ---------------------------------------------------------------- decoding and reading

UNREADABLE = N_("文字コードを判別できません。UTF-8 または "
                "Shift_JIS（Excel の「CSV」形式）で保存してください。")
BROKEN_UTF8 = N_("UTF-8 として読めないバイト（%(bytes)s）があります。ファイルが壊れているか、"
                 "文字コードが混ざっています。UTF-8 または Shift_JIS で保存し直してください。")
UTF16 = N_("UTF-16 のファイル（Excel の「Unicode テキスト」）は読めません。"
           "「CSV UTF-8（コンマ区切り）」または「CSV（コンマ区切り）」で保存し直してください。")
INVISIBLE = N_("文字として表示できない文字（%(codepoint)s）があります。ファイルが壊れているか、"
               "文字コードが違います。UTF-8 または Shift_JIS で保存し直してください。")
# Private use (cp932 maps stray bytes A0, FD-FF and user-defined characters there),
# unassigned, surrogates; and the replacement and zero-width no-break characters.
INVISIBLE_CATEGORIES = {"Co", "Cn", "Cs"}
INVISIBLE_CHARACTERS = {"\ufffd", "\ufeff"}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-8 with or without BOM, else Shift_JIS (cp932).

    A file that is neither, or that decodes only into characters nobody can see (a
    UTF-8 file with stray bytes read as Shift_JIS), is refused at its line rather than
    imported with invisible names.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and is_utf16(data):
        raise Invalid(UTF16, line=1)
    if data.startswith(codecs.BOM_UTF8):
        return visible(strict_utf8(data, len(codecs.BOM_UTF8)), "UTF-8 (BOM)")
    try:
        return visible(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError as utf8_error:
        if not data[:utf8_error.start].isascii():  # UTF-8 so far: a broken UTF-8 file
            raise broken_utf8(data, utf8_error) from None
        try:
            return visible(data.decode("cp932"), "Shift_JIS")
        except UnicodeDecodeError:
            raise Invalid(UNREADABLE, line=line_at(data, utf8_error.start)) from None


def is_utf16(data: bytes) -> bool:
    try:
        data.decode("utf-16")
    except UnicodeDecodeError:
        return False
    return True


def strict_utf8(data: bytes, start: int) -> str:
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise broken_utf8(data[start:], error) from None


def broken_utf8(data: bytes, error: UnicodeDecodeError) -> Invalid:
    shown = " ".join(f"{byte:02X}" for byte in data[error.start:error.end])
    return Invalid(BROKEN_UTF8, line=line_at(data, error.start), bytes=shown)


def visible(text: str, encoding: str) -> tuple[str, str]:
    """(text, encoding) when every character can be seen, else refused at its line."""
    for offset, char in enumerate(text):
        if char in INVISIBLE_CHARACTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            raise Invalid(INVISIBLE, line=text.count("\n", 0, offset) + 1,
                          codepoint=f"U+{ord(char):04X}")
    return text, encoding


def line_at(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def read_records(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, cells) for every non-blank record of the CSV text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records, next_line = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((next_line, cells))
            next_line = reader.line_num + 1
    except csv.Error as error:
        raise Invalid(N_("CSV として読めません（%(error)s）"), line=next_line,
                      error=str(error)) from None
    return records


def read_header(cells: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """(column names, problems of the header line, one message each)."""
    columns = tuple(cell.strip().lower() for cell in cells)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    problems = []
    if missing:
        problems.append(Message(N_("ヘッダー: 必須の列がありません: %(columns)s。"),
                                columns=", ".join(missing)))
    if unknown:
        problems.append(Message(N_("ヘッダー: 不明な列があります: %(columns)s。"),
                                columns=", ".join(unknown)))
    if duplicated:
        problems.append(Message(N_("ヘッダー: 列名が重複しています: %(columns)s。"),
                                columns=", ".join(duplicated)))
    return columns, problems


# ---------------------------------------------------------------- one row

def normalise_code(raw: str) -> str | None:
    """Codes typed with full-width characters mean the same code."""
    text = unicodedata.normalize("NFKC", raw).strip()
    return text or None


def parse_code(raw: str, label: str) -> str | None:
    code = normalise_code(raw)
    if code is not None and not CODE_PATTERN.fullmatch(code):
        raise Invalid(N_("%(label)s「%(value)s」は英数字と _ . - の40文字以内で指定してください"),
                      label=label, value=raw.strip())
    return code


def parse_integer(raw: str, label: str, maximum: int) -> int | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    if text.startswith("-") and INTEGER_PATTERN.fullmatch(text[1:]):
        raise Invalid(N_("%(label)sに負の値は指定できません（%(value)s）"), label=label,
                      value=text)
    if not INTEGER_PATTERN.fullmatch(text):
        raise Invalid(N_("%(label)sは0以上の整数で指定してください（%(value)s）"), label=label,
                      value=raw.strip())
    value = int(text.replace(",", ""))
    if value > maximum:
        raise Invalid(N_("%(label)sが大きすぎます（%(value)s）"), label=label, value=text)
    return value


def parse_fiscal_year(raw: str, label: str) -> int | None:
    year = parse_integer(raw, label, LAST_FISCAL_YEAR)
    if year is not None and year < FIRST_FISCAL_YEAR:
        raise Invalid(N_("%(label)sは西暦の年度（例: 2021）で指定してください"), label=label)
    return year


def parse_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise Invalid(N_("名称（name）が空です"))
    if CONTROL_CHARACTERS.search(name):
        raise Invalid(N_("名称に改行や制御文字は使えません"))
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(N_("名称は%(n)d文字以内にしてください"), n=MAX_NAME_LENGTH)
    return name


def parse_row(line: int, cells: list[str], columns: tuple[str, ...],
              stored: dict[str, dict]) -> DepartmentRow:
    """One data record -> DepartmentRow; raises `Invalid` with the reason."""
    if len(cells) != len(columns):
        raise Invalid(N_("列の数（%(cells)d）がヘッダー（%(columns)d）と合いません"),
                      cells=len(cells), columns=len(columns))
    cell = dict(zip(columns, cells, strict=True))
    code = parse_code(cell["code"], N_("コード（code）"))
    if code is None:
        raise Invalid(N_("コード（code）が空です"))
    name = parse_name(cell["name"])
    parent_code = parse_code(cell["parent_code"], N_("親コード（parent_code）"))
    headcount = parse_integer(cell["headcount"], N_("人数（headcount）"), MAX_HEADCOUNT)
    if headcount is None and parent_code is not None:
        raise Invalid(N_("所属の人数（headcount）が空です"))
    optional = optional_fields(cell, stored.get(code))
    if (optional["valid_from"] is not None and optional["valid_to"] is not None
            and optional["valid_to"] < optional["valid_from"]):
        raise Invalid(N_("有効期間の終わり（valid_to %(end)s）が"
                         "始まり（valid_from %(start)s）より前です"),
                      end=optional["valid_to"], start=optional["valid_from"])
    return DepartmentRow(line, code, name, parent_code, headcount or 0, **optional)


def optional_fields(cell: dict[str, str], stored_row: dict | None) -> dict:
    """Optional columns from the file; absent columns keep the stored value."""
    kept = stored_row or {}
    values = {name: kept.get(name) for name in OPTIONAL_COLUMNS}
    if "valid_from" in cell:
        values["valid_from"] = parse_fiscal_year(cell["valid_from"],
                                                 N_("有効開始年度（valid_from）"))
    if "valid_to" in cell:
        values["valid_to"] = parse_fiscal_year(cell["valid_to"], N_("有効終了年度（valid_to）"))
    if "successor_code" in cell:
        values["successor_code"] = parse_code(cell["successor_code"],
                                              N_("後継コード（successor_code）"))
    return values


def code_of(cells: list[str], columns: tuple[str, ...]) -> str | None:
    position = columns.index("code")
    return normalise_code(cells[position]) if position < len(cells) else None


def check_size(records: list[tuple[int, list[str]]]) -> None:
    if len(records) - 1 > MAX_ROWS:
        line = records[MAX_ROWS + 1][0]
        raise Invalid(N_("行数が上限（%(max)s行）を超えています。"
                         "ファイルを分けて取り込んでください"), line=line, max=f"{MAX_ROWS:,}")
