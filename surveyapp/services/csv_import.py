"""Importing a register from CSV: parse, plan, then apply all-or-nothing (DESIGN.md §5,
§12). One engine for every register kept as CSV (departments, information systems);
what differs per register is a `CsvFormat`. Reading the file itself (encodings,
records, cells) is formats/register_csv.py.

`plan_import` never writes: it reads the file against the current table and says what
would be added, changed, left alone and rejected (with the file's line numbers).
`apply_import` writes a plan only when nothing was rejected, in one transaction, after
checking that the table has not changed since the plan was made.

Columns missing from the header keep their stored value on existing rows (an old file
without the optional columns does not wipe them); an empty cell in a present column
clears the value. Rows absent from the file are kept: registered objects are
referenced by past responses, so one is retired by setting `valid_to`, never by deletion.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from surveyapp import store
from surveyapp.formats import register_csv
from surveyapp.formats.register_csv import Parsed, Rejection, RowParser
from surveyapp.model import N_, Message
from surveyapp.refusals import Conflict, Invalid, NotFound
from surveyapp.services import audit


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
    # (line, {column: cell}, stored rows by code) -> Row; raises Invalid with the reason
    parse_row: RowParser
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
        text, encoding = register_csv.decode(data)
        records = register_csv.read_records(text)
        if not records:
            raise Invalid(N_("ファイルが空です"), line=1)
        columns, problems = register_csv.read_header(records[0][1], fmt.required,
                                                     fmt.optional)
        register_csv.check_size(records)
    except Invalid as error:
        return replace(plan, rejected=(file_rejection(error),))
    if problems:
        return replace(plan, rejected=tuple(Rejection(1, None, problem) for problem in problems))
    stored = fmt.stored(db)
    parsed = register_csv.parse_rows(records[1:], columns, stored, fmt.parse_row)
    fmt.check_references(db, parsed, stored)
    outcome = compare(parsed.rows, stored, fmt.compared)
    return replace(plan, encoding=encoding, added=tuple(outcome["added"]),
                   changed=tuple(outcome["changed"]), unchanged=tuple(outcome["unchanged"]),
                   rejected=tuple(sorted(parsed.rejected, key=lambda r: r.line)))


def file_rejection(error: Invalid) -> Rejection:
    """A whole-file problem, at the line its `line` parameter names."""
    return Rejection(int(error.params.get("line", 1)), None, Message.of(error))


# ---------------------------------------------------------------- applying

def apply_import(db: Database, plan: ImportPlan, fmt: CsvFormat,
                 user_id: int | None = None) -> ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    if not plan.ok:
        raise Invalid(N_("取り込めない行が%(n)d行あるため、何も書き込みませんでした。"),
                      n=len(plan.rejected))
    with store.transaction(db):
        current = plan_import(db, plan.data, fmt)
        if current.fingerprint != plan.fingerprint:
            raise Conflict(fmt.changed_since_preview)
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
