"""Importing the departments CSV (DESIGN.md §5): parse, plan, then apply all-or-nothing.

`plan_import` never writes: it reads the file against the current table and says what
would be added, changed, left alone and rejected (with the file's line numbers).
`apply_import` writes a plan only when nothing was rejected, in one transaction, after
checking that the table has not changed since the plan was made.

Columns missing from the header keep their stored value on existing rows (an old
four-column file does not wipe validity years); an empty cell in a present column
clears the value. Rows absent from the file are kept: departments are referenced by
past responses, so one is retired by setting `valid_to`, never by deletion.
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
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlite_utils import Database

from surveyapp import store
from surveyapp.services import audit
from surveyapp.services.messages import N_, Message, Refused
from surveyapp.store import departments as department_store

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


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class RowChange:
    row: DepartmentRow
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Rejection:
    line: int
    code: str | None
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    data: bytes = field(repr=False)
    encoding: str
    added: tuple[DepartmentRow, ...] = ()
    changed: tuple[RowChange, ...] = ()
    unchanged: tuple[DepartmentRow, ...] = ()
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


def parse_row(line: int, cells: list[str], columns: tuple[str, ...],
              stored: dict[str, dict]) -> DepartmentRow:
    """One data record -> DepartmentRow; ValueError with a Japanese reason."""
    if len(cells) != len(columns):
        raise Refused(N_("列の数（%(cells)d）がヘッダー（%(columns)d）と合いません"),
                      cells=len(cells), columns=len(columns))
    cell = dict(zip(columns, cells, strict=True))
    code = parse_code(cell["code"], N_("コード（code）"))
    if code is None:
        raise Refused(N_("コード（code）が空です"))
    name = parse_name(cell["name"])
    parent_code = parse_code(cell["parent_code"], N_("親コード（parent_code）"))
    headcount = parse_integer(cell["headcount"], N_("人数（headcount）"), MAX_HEADCOUNT)
    if headcount is None and parent_code is not None:
        raise Refused(N_("所属の人数（headcount）が空です"))
    optional = optional_fields(cell, stored.get(code))
    if (optional["valid_from"] is not None and optional["valid_to"] is not None
            and optional["valid_to"] < optional["valid_from"]):
        raise Refused(N_("有効期間の終わり（valid_to %(end)s）が"
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


# ---------------------------------------------------------------- the whole file

@dataclass
class Parsed:
    rows: list[DepartmentRow] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    bad_codes: set[str] = field(default_factory=set)


def parse_rows(records: list[tuple[int, list[str]]], columns: tuple[str, ...],
               stored: dict[str, dict]) -> Parsed:
    parsed, first_line = Parsed(), {}
    for line, cells in records:
        try:
            row = parse_row(line, cells, columns, stored)
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


def code_of(cells: list[str], columns: tuple[str, ...]) -> str | None:
    position = columns.index("code")
    return normalise_code(cells[position]) if position < len(cells) else None


@dataclass(frozen=True)
class Table:
    """The departments as they would be after the import, for reference checks."""

    merged: dict[str, dict]
    bad_codes: set[str]
    # Stored 所属 the file does not mention, by parent: they keep their 部局.
    kept_children: dict[str, list[str]]
    parent_cycles: set[str]
    successor_cycles: set[str]


def check_references(parsed: Parsed, stored: dict[str, dict]) -> None:
    """Parents, successors and cycles, judged on the table as it would be after import."""
    in_file = {row.code for row in parsed.rows} | parsed.bad_codes
    kept_children: dict[str, list[str]] = {}
    for code, row in sorted(stored.items()):
        if code not in in_file and row["parent_code"] is not None:
            kept_children.setdefault(row["parent_code"], []).append(code)
    merged = {**stored, **{row.code: row.as_record() for row in parsed.rows}}
    table = Table(merged, parsed.bad_codes, kept_children,
                  codes_on_cycles(merged, "parent_code"),
                  codes_on_cycles(merged, "successor_code"))
    valid = []
    for row in parsed.rows:
        reason = parent_problem(row, table) or successor_problem(row, table)
        if reason:
            parsed.rejected.append(Rejection(row.line, row.code, reason))
        else:
            valid.append(row)
    parsed.rows = valid


def parent_problem(row: DepartmentRow, table: Table) -> str:
    if row.is_bureau:
        return ""
    parent, merged = row.parent_code, table.merged
    if row.code in table.parent_cycles:
        return Message(N_("親子関係が循環しています（%(code)s → %(parent)s）"), code=row.code,
                       parent=parent)
    if parent in table.bad_codes:
        return Message(N_("親の部局 %(parent)s の行に誤りがあります。先にその行を直してください"),
                       parent=parent)
    if parent not in merged:
        return Message(N_("親の部局 %(parent)s が見つかりません"), parent=parent)
    if merged[parent]["parent_code"] is not None:
        return Message(N_("親 %(parent)s は部局ではありません"
                          "（所属の親には部局を指定してください）"), parent=parent)
    children = table.kept_children.get(row.code, [])
    if len(children) > 5:
        return Message(N_("配下に所属がある部局を所属にすることはできません"
                          "（配下: %(codes)s ほか）"), codes=", ".join(children[:5]))
    if children:
        return Message(N_("配下に所属がある部局を所属にすることはできません"
                          "（配下: %(codes)s）"), codes=", ".join(children))
    return ""


def successor_problem(row: DepartmentRow, table: Table) -> str:
    successor, merged = row.successor_code, table.merged
    if successor is None:
        return ""
    if row.code in table.successor_cycles:
        return Message(N_("後継の指定が循環しています（%(code)s → %(successor)s）"),
                       code=row.code, successor=successor)
    if successor in table.bad_codes:
        return Message(N_("後継 %(successor)s の行に誤りがあります。先にその行を直してください"),
                       successor=successor)
    if successor not in merged:
        return Message(N_("後継の所属 %(successor)s が見つかりません"), successor=successor)
    if (merged[successor]["parent_code"] is None) != row.is_bureau:
        if row.is_bureau:
            return Message(N_("後継 %(successor)s は部局ではありません"), successor=successor)
        return Message(N_("後継 %(successor)s は所属ではありません"), successor=successor)
    return ""


def codes_on_cycles(merged: dict[str, dict], link: str) -> set[str]:
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


def compare(rows: list[DepartmentRow], stored: dict[str, dict]) -> dict[str, list]:
    result: dict[str, list] = {"added": [], "changed": [], "unchanged": []}
    for row in rows:
        old = stored.get(row.code)
        if old is None:
            result["added"].append(row)
            continue
        changes = tuple(FieldChange(name, old[name], getattr(row, name))
                        for name in COMPARED_FIELDS if old[name] != getattr(row, name))
        if changes:
            result["changed"].append(RowChange(row, changes))
        else:
            result["unchanged"].append(row)
    return result


def plan_import(db: Database, data: bytes) -> ImportPlan:
    """What importing `data` would do; writes nothing."""
    plan = ImportPlan(data=data, encoding="")
    try:
        text, encoding = decode(data)
        records = read_records(text)
        if not records:
            raise Refused(N_("ファイルが空です"), line=1)
        columns, problems = read_header(records[0][1])
        check_size(records)
    except Refused as error:
        return replace(plan, rejected=(file_rejection(error),))
    if problems:
        return replace(plan, rejected=tuple(Rejection(1, None, problem) for problem in problems))
    stored = department_store.departments_by_code(db)
    parsed = parse_rows(records[1:], columns, stored)
    check_references(parsed, stored)
    outcome = compare(parsed.rows, stored)
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

def apply_import(db: Database, plan: ImportPlan, user_id: int | None = None) -> ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    if not plan.ok:
        raise Refused(N_("取り込めない行が%(n)d行あるため、何も書き込みませんでした。"),
                      n=len(plan.rejected))
    with store.transaction(db):
        current = plan_import(db, plan.data)
        if current.fingerprint != plan.fingerprint:
            raise Refused(N_("確認の後に所属の情報が変わりました。もう一度取り込んで"
                             "内容を確認してください。"))
        rows = [*current.added, *(change.row for change in current.changed)]
        department_store.upsert_departments(db, (row.as_record() for row in rows))
        audit.record(db, user_id, "departments.import", "departments", None,
                     sha256=plan.sha256, encoding=plan.encoding,
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
