"""Importing a register from CSV: parse, plan, then apply all-or-nothing (DESIGN.md §5,
§12). One engine for every register kept as CSV (departments, information systems);
what differs per register is a `CsvFormat`.

`plan_import` never writes: it reads the file against the current table and says what
would be added, changed, left alone and rejected (with the file's line numbers).
`apply_import` writes a plan only when nothing was rejected, in one transaction, after
checking that the table has not changed since the plan was made.

Columns missing from the header keep their stored value on existing rows (an old file
without the optional columns does not wipe them); an empty cell in a present column
clears the value. Rows absent from the file are kept: registered objects are
referenced by past responses, so one is retired by setting `valid_to`, never by deletion.

The file may be UTF-8 with or without BOM, or Shift_JIS (cp932) as Excel writes it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from surveyapp import store
from surveyapp.services import audit
from surveyapp.services.messages import N_, Message, Refused

MAX_ROWS = 10_000
MAX_NAME_LENGTH = 100
FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 1900, 2999
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
INTEGER_PATTERN = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Row(Protocol):
    """One object as it will be stored, with the file line it came from."""

    line: int
    code: str
    name: str

    def as_record(self) -> dict: ...


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class RowChange:
    row: Any  # a Row
    changes: tuple[FieldChange, ...]


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


@dataclass(frozen=True)
class Column:
    """A column of the preview's "added" table: the field, its heading (a msgid) and
    what an empty cell says (a msgid, or '' for nothing)."""

    field: str
    label: str
    empty: str = ""


@dataclass(frozen=True)
class CsvFormat:
    """What one register's CSV is: its columns, how a row is read and checked against
    the others, where rows are stored and what the audit log calls an import."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    compared: tuple[str, ...]  # stored fields a re-import may change
    # (line, {column: cell}, stored rows by code) -> Row; raises Refused with the reason
    parse_row: Callable[[int, dict[str, str], Mapping[str, dict]], Any]
    # (db, parsed rows, stored rows): moves rows with a bad reference to `rejected`
    check_references: Callable[[Database, Parsed, Mapping[str, dict]], None]
    stored: Callable[[Database], dict[str, dict]]
    upsert: Callable[[Database, Iterable[dict]], None]
    audit_action: str
    changed_since_preview: str  # msgid: the table changed between preview and apply
    preview_columns: tuple[Column, ...] = ()


@dataclass(frozen=True)
class ImportPlan:
    data: bytes = field(repr=False)
    encoding: str
    added: tuple = ()
    changed: tuple[RowChange, ...] = ()
    unchanged: tuple = ()
    rejected: tuple[Rejection, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Identifies what the plan would do; a preview confirms against it."""
        summary = repr((self.added, self.changed, self.unchanged, self.rejected))
        return hashlib.sha256(summary.encode()).hexdigest()


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
        raise Refused(UTF16, line=1)
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
            raise Refused(UNREADABLE, line=line_at(data, utf8_error.start)) from None


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


def broken_utf8(data: bytes, error: UnicodeDecodeError) -> Refused:
    shown = " ".join(f"{byte:02X}" for byte in data[error.start:error.end])
    return Refused(BROKEN_UTF8, line=line_at(data, error.start), bytes=shown)


def visible(text: str, encoding: str) -> tuple[str, str]:
    """(text, encoding) when every character can be seen, else refused at its line."""
    for offset, char in enumerate(text):
        if char in INVISIBLE_CHARACTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            raise Refused(INVISIBLE, line=text.count("\n", 0, offset) + 1,
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
        raise Refused(N_("CSV として読めません（%(error)s）"), line=next_line,
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
        raise Refused(N_("%(label)s「%(value)s」は英数字と _ . - の40文字以内で指定してください"),
                      label=label, value=raw.strip())
    return code


def parse_integer(raw: str, label: str, maximum: int) -> int | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    if text.startswith("-") and INTEGER_PATTERN.fullmatch(text[1:]):
        raise Refused(N_("%(label)sに負の値は指定できません（%(value)s）"), label=label,
                      value=text)
    if not INTEGER_PATTERN.fullmatch(text):
        raise Refused(N_("%(label)sは0以上の整数で指定してください（%(value)s）"), label=label,
                      value=raw.strip())
    value = int(text.replace(",", ""))
    if value > maximum:
        raise Refused(N_("%(label)sが大きすぎます（%(value)s）"), label=label, value=text)
    return value


def parse_fiscal_year(raw: str, label: str) -> int | None:
    year = parse_integer(raw, label, LAST_FISCAL_YEAR)
    if year is not None and year < FIRST_FISCAL_YEAR:
        raise Refused(N_("%(label)sは西暦の年度（例: 2021）で指定してください"), label=label)
    return year


def parse_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise Refused(N_("名称（name）が空です"))
    if CONTROL_CHARACTERS.search(name):
        raise Refused(N_("名称に改行や制御文字は使えません"))
    if len(name) > MAX_NAME_LENGTH:
        raise Refused(N_("名称は%(n)d文字以内にしてください"), n=MAX_NAME_LENGTH)
    return name


def check_validity(valid_from: int | None, valid_to: int | None) -> None:
    """Validity years (fiscal years, both ends included) must not run backwards."""
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise Refused(N_("有効期間の終わり（valid_to %(end)s）が"
                         "始まり（valid_from %(start)s）より前です"),
                      end=valid_to, start=valid_from)


# ---------------------------------------------------------------- the whole file

def parse_rows(records: list[tuple[int, list[str]]], columns: tuple[str, ...],
               stored: Mapping[str, dict], fmt: CsvFormat) -> Parsed:
    parsed, first_line = Parsed(), {}
    for line, cells in records:
        try:
            row = parse_record(line, cells, columns, stored, fmt)
        except ValueError as error:
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
                 stored: Mapping[str, dict], fmt: CsvFormat):
    """One data record -> the format's Row; Refused with a Japanese reason."""
    if len(cells) != len(columns):
        raise Refused(N_("列の数（%(cells)d）がヘッダー（%(columns)d）と合いません"),
                      cells=len(cells), columns=len(columns))
    return fmt.parse_row(line, dict(zip(columns, cells, strict=True)), stored)


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


def compare(rows: list, stored: Mapping[str, dict],
            compared: tuple[str, ...]) -> dict[str, list]:
    result: dict[str, list] = {"added": [], "changed": [], "unchanged": []}
    for row in rows:
        old = stored.get(row.code)
        if old is None:
            result["added"].append(row)
            continue
        changes = tuple(FieldChange(name, old[name], getattr(row, name))
                        for name in compared if old[name] != getattr(row, name))
        if changes:
            result["changed"].append(RowChange(row, changes))
        else:
            result["unchanged"].append(row)
    return result


def plan_import(db: Database, data: bytes, fmt: CsvFormat) -> ImportPlan:
    """What importing `data` would do; writes nothing."""
    plan = ImportPlan(data=data, encoding="")
    try:
        text, encoding = decode(data)
        records = read_records(text)
        if not records:
            raise Refused(N_("ファイルが空です"), line=1)
        columns, problems = read_header(records[0][1], fmt.required, fmt.optional)
        check_size(records)
    except Refused as error:
        return replace(plan, rejected=(file_rejection(error),))
    if problems:
        return replace(plan, rejected=tuple(Rejection(1, None, problem) for problem in problems))
    stored = fmt.stored(db)
    parsed = parse_rows(records[1:], columns, stored, fmt)
    fmt.check_references(db, parsed, stored)
    outcome = compare(parsed.rows, stored, fmt.compared)
    return replace(plan, encoding=encoding, added=tuple(outcome["added"]),
                   changed=tuple(outcome["changed"]), unchanged=tuple(outcome["unchanged"]),
                   rejected=tuple(sorted(parsed.rejected, key=lambda r: r.line)))


def check_size(records: list[tuple[int, list[str]]]) -> None:
    if len(records) - 1 > MAX_ROWS:
        line = records[MAX_ROWS + 1][0]
        raise Refused(N_("行数が上限（%(max)s行）を超えています。"
                         "ファイルを分けて取り込んでください"), line=line, max=f"{MAX_ROWS:,}")


def file_rejection(error: Refused) -> Rejection:
    """A whole-file problem, at the line its `line` parameter names."""
    return Rejection(int(error.params.get("line", 1)), None, Message.of(error))


# ---------------------------------------------------------------- applying

def apply_import(db: Database, plan: ImportPlan, fmt: CsvFormat,
                 user_id: int | None = None) -> ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    if not plan.ok:
        raise Refused(N_("取り込めない行が%(n)d行あるため、何も書き込みませんでした。"),
                      n=len(plan.rejected))
    with store.transaction(db):
        current = plan_import(db, plan.data, fmt)
        if current.fingerprint != plan.fingerprint:
            raise Refused(fmt.changed_since_preview)
        rows = [*current.added, *(change.row for change in current.changed)]
        fmt.upsert(db, (row.as_record() for row in rows))
        audit.record(db, user_id, fmt.audit_action, fmt.audit_action.partition(".")[0],
                     None, sha256=plan.sha256, encoding=plan.encoding,
                     added=[row.code for row in current.added],
                     changed={change.row.code: {c.field: [c.old, c.new] for c in change.changes}
                              for change in current.changed},
                     unchanged=len(current.unchanged))
    return current


# ---------------------------------------------------------------- preview uploads

UPLOAD_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
UPLOAD_MAX_AGE_SECONDS = 3600


def save_pending_upload(folder: Path, data: bytes) -> str:
    """Keep an uploaded file between preview and confirmation; returns its random key."""
    folder.mkdir(parents=True, exist_ok=True)
    purge_pending_uploads(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.csv").write_bytes(data)
    return token


def load_pending_upload(folder: Path, token: str) -> bytes:
    path = pending_path(folder, token)
    if path is None or not path.is_file():
        raise Refused(N_("確認中のファイルが見つかりません。もう一度アップロードしてください。"))
    return path.read_bytes()


def discard_pending_upload(folder: Path, token: str) -> None:
    path = pending_path(folder, token)
    if path is not None:
        path.unlink(missing_ok=True)


def pending_path(folder: Path, token: str) -> Path | None:
    """Only well-formed random keys name a file, so no path can be smuggled in."""
    return folder / f"{token}.csv" if UPLOAD_TOKEN.fullmatch(token or "") else None


def purge_pending_uploads(folder: Path) -> None:
    """Abandoned previews are removed after an hour."""
    cutoff = time.time() - UPLOAD_MAX_AGE_SECONDS
    for path in folder.glob("*.csv"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


# ---------------------------------------------------------------- reporting

def describe_plan(plan: ImportPlan) -> list[str]:
    """Plain-text report lines (the CLI prints them): counts, then each row by line."""
    lines = [f"追加 added: {len(plan.added)}, 変更 changed: {len(plan.changed)}, "
             f"変更なし unchanged: {len(plan.unchanged)}, 却下 rejected: {len(plan.rejected)}"]
    lines += [f"  + {row.line}行目 {row.code} {row.name}" for row in plan.added]
    for change in plan.changed:
        fields = "; ".join(f"{c.field}: {show(c.old)} → {show(c.new)}" for c in change.changes)
        lines.append(f"  ~ {change.row.line}行目 {change.row.code} {fields}")
    lines += [f"  ! {rejection.line}行目 {rejection.code or ''} {rejection.reason}"
              for rejection in plan.rejected]
    return lines


def show(value: object) -> str:
    return "（空）" if value is None else str(value)
