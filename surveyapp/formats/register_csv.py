"""Reading a register kept as CSV (the departments, the information systems), with no
database: the encoding (UTF-8 with or without BOM, else Shift_JIS as Excel saves it;
UTF-16, broken UTF-8 and characters nobody can see are refused at their line), the
records with their line numbers, the header, the cells every register shares, and
each record read into its register's row by the register's own `parse_row`. What a
row refers to and what importing would change is services/csv_import.py.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from surveyapp.model import N_, Message
from surveyapp.refusals import Invalid

MAX_ROWS = 10_000
MAX_NAME_LENGTH = 100
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 1900, 2999
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
INTEGER_PATTERN = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")



@dataclass(frozen=True)
class Rejection:
    line: int
    code: str | None
    reason: str


@dataclass
class Parsed:
    rows: list = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    bad_codes: set[str] = field(default_factory=set)

    def reject_where(self, problem: Callable[[Any], str]) -> None:
        """Move each row `problem` finds fault with (a non-empty reason) to `rejected`."""
        valid = []
        for row in self.rows:
            reason = problem(row)
            if reason:
                self.rejected.append(Rejection(row.line, row.code, reason))
            else:
                valid.append(row)
        self.rows = valid


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


def read_header(cells: list[str], required: tuple[str, ...],
                optional: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """(column names, problems of the header line, one message each)."""
    columns = tuple(cell.strip().lower() for cell in cells)
    missing = [name for name in required if name not in columns]
    unknown = [name for name in columns if name not in required + optional]
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


# ---------------------------------------------------------------- cells

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


def check_validity(valid_from: int | None, valid_to: int | None) -> None:
    """Validity years (fiscal years, both ends included) must not run backwards."""
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise Invalid(N_("有効期間の終わり（valid_to %(end)s）が"
                         "始まり（valid_from %(start)s）より前です"),
                      end=valid_to, start=valid_from)


# ---------------------------------------------------------------- the whole file

# (line, {column: cell}, stored rows by code) -> the register's row; raises Invalid
RowParser = Callable[[int, dict[str, str], Mapping[str, dict]], Any]


def parse_rows(records: list[tuple[int, list[str]]], columns: tuple[str, ...],
               stored: Mapping[str, dict], parse_row: RowParser) -> Parsed:
    parsed, first_line = Parsed(), {}
    for line, cells in records:
        try:
            row = parse_record(line, cells, columns, stored, parse_row)
        except Invalid as error:
            parsed.rejected.append(Rejection(line, code_of(cells, columns), Message.of(error)))
            parsed.bad_codes.add(code_of(cells, columns) or "")
            continue
        if row.code in first_line:
            parsed.rejected.append(Rejection(line, row.code, Message(
                N_("コード %(code)s が%(line)d行目と重複しています"), code=row.code,
                line=first_line[row.code])))
            continue
        first_line[row.code] = line
        parsed.rows.append(row)
    return parsed


def parse_record(line: int, cells: list[str], columns: tuple[str, ...],
                 stored: Mapping[str, dict], parse_row: RowParser):
    """One data record -> the register's row; `Invalid` with the reason."""
    if len(cells) != len(columns):
        raise Invalid(N_("列の数（%(cells)d）がヘッダー（%(columns)d）と合いません"),
                      cells=len(cells), columns=len(columns))
    return parse_row(line, dict(zip(columns, cells, strict=True)), stored)


def code_of(cells: list[str], columns: tuple[str, ...]) -> str | None:
    position = columns.index("code")
    return normalise_code(cells[position]) if position < len(cells) else None


def kept_values(cell: Mapping[str, str], stored_row: Mapping | None,
                parsers: Mapping[str, Callable[[str], object]]) -> dict:
    """Optional columns from the file, each read by its parser; a column absent from
    the header keeps the stored value."""
    kept = stored_row or {}
    return {name: parse(cell[name]) if name in cell else kept.get(name)
            for name, parse in parsers.items()}


def codes_on_cycles(merged: Mapping[str, Mapping], link: str) -> set[str]:
    """Codes whose `link` chain leads back to themselves; each code has at most one
    link, so one walk per code, never revisiting a walked code, finds them all."""
    on_cycle: set[str] = set()
    finished: set[str] = set()
    for start in merged:
        path: list[str] = []
        position: dict[str, int] = {}
        code = start
        while code in merged and code not in finished and code not in position:
            position[code] = len(path)
            path.append(code)
            code = merged[code][link]
        if code in position:
            on_cycle.update(path[position[code]:])
        finished.update(path)
    return on_cycle


def check_size(records: list[tuple[int, list[str]]]) -> None:
    if len(records) - 1 > MAX_ROWS:
        line = records[MAX_ROWS + 1][0]
        raise Invalid(N_("行数が上限（%(max)s行）を超えています。"
                         "ファイルを分けて取り込んでください"), line=line, max=f"{MAX_ROWS:,}")


