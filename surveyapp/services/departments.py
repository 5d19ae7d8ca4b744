"""Importing the departments CSV (DESIGN.md §5): parse, plan, then apply all-or-nothing
(reading the file itself is formats/departments_csv.py).

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

import contextlib
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlite_utils import Database

from surveyapp import store
from surveyapp.formats.departments_csv import (
    COMPARED_FIELDS,
    DepartmentRow,
    check_size,
    code_of,
    decode,
    parse_row,
    read_header,
    read_records,
)
from surveyapp.model import N_, Message
from surveyapp.refusals import Conflict, Invalid, NotFound
from surveyapp.services import audit
from surveyapp.store import departments as department_store


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
            raise Invalid(N_("ファイルが空です"), line=1)
        columns, problems = read_header(records[0][1])
        check_size(records)
    except Invalid as error:
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


def file_rejection(error: Invalid) -> Rejection:
    """A whole-file problem, at the line its `line` parameter names."""
    return Rejection(int(error.params.get("line", 1)), None, Message.of(error))


# ---------------------------------------------------------------- applying

def apply_import(db: Database, plan: ImportPlan, user_id: int | None = None) -> ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    if not plan.ok:
        raise Invalid(N_("取り込めない行が%(n)d行あるため、何も書き込みませんでした。"),
                      n=len(plan.rejected))
    with store.transaction(db):
        current = plan_import(db, plan.data)
        if current.fingerprint != plan.fingerprint:
            raise Conflict(N_("確認の後に所属の情報が変わりました。もう一度取り込んで"
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
        raise NotFound(N_("確認中のファイルが見つかりません。もう一度アップロードしてください。"))
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
