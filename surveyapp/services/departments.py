"""Importing the departments CSV (DESIGN.md §5): the departments' `CsvFormat` over the
register import engine (`services.csv_import`: plan, apply all-or-nothing, preview
uploads, the report); reading a row is formats/departments_csv.py.

A row with an empty `parent_code` is a 部局; a 所属 names its 部局. Parents and
successors are checked on the table as it would be after the import, so a file may
list a 所属 before its 部局; cycles are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.formats import register_csv
from surveyapp.formats.departments_csv import (
    COMPARED_FIELDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    DepartmentRow,
    parse_row,
)
from surveyapp.formats.register_csv import MAX_ROWS, Parsed, Rejection  # noqa: F401
from surveyapp.model import N_, Message
from surveyapp.services import csv_import
from surveyapp.services.csv_import import (  # noqa: F401  (the import's public names)
    UPLOAD_MAX_AGE_SECONDS,
    Column,
    FieldChange,
    ImportPlan,
    RowChange,
    describe_plan,
    discard_pending_upload,
    load_pending_upload,
    save_pending_upload,
)
from surveyapp.store import departments as department_store

# ---------------------------------------------------------------- references

@dataclass(frozen=True)
class Table:
    """The departments as they would be after the import, for reference checks."""

    merged: dict[str, dict]
    bad_codes: set[str]
    # Stored 所属 the file does not mention, by parent: they keep their 部局.
    kept_children: dict[str, list[str]]
    parent_cycles: set[str]
    successor_cycles: set[str]


def check_references(_db: Database, parsed: Parsed, stored: dict[str, dict]) -> None:
    """Parents, successors and cycles, judged on the table as it would be after import."""
    in_file = {row.code for row in parsed.rows} | parsed.bad_codes
    kept_children: dict[str, list[str]] = {}
    for code, row in sorted(stored.items()):
        if code not in in_file and row["parent_code"] is not None:
            kept_children.setdefault(row["parent_code"], []).append(code)
    merged = {**stored, **{row.code: row.as_record() for row in parsed.rows}}
    table = Table(merged, parsed.bad_codes, kept_children,
                  register_csv.codes_on_cycles(merged, "parent_code"),
                  register_csv.codes_on_cycles(merged, "successor_code"))
    parsed.reject_where(lambda row: parent_problem(row, table) or successor_problem(row, table))


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


# ---------------------------------------------------------------- the format

FORMAT = csv_import.CsvFormat(
    required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, compared=COMPARED_FIELDS,
    parse_row=parse_row, check_references=check_references,
    stored=department_store.departments_by_code, upsert=department_store.upsert_departments,
    audit_action="departments.import",
    changed_since_preview=N_("確認の後に所属の情報が変わりました。もう一度取り込んで"
                             "内容を確認してください。"),
    preview_columns=(
        Column("code", N_("コード")), Column("name", N_("名称")),
        Column("parent_code", N_("親コード"), N_("（部局）")),
        Column("headcount", N_("人数")), Column("valid_from", N_("有効開始")),
        Column("valid_to", N_("有効終了")), Column("successor_code", N_("後継")),
    ))


def plan_import(db: Database, data: bytes) -> ImportPlan:
    """What importing `data` would do; writes nothing."""
    return csv_import.plan_import(db, data, FORMAT)


def apply_import(db: Database, plan: ImportPlan, user_id: int | None = None) -> ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    return csv_import.apply_import(db, plan, FORMAT, user_id)

