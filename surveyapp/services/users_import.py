"""Users CSV: email addresses and approver flags of existing local accounts, in bulk
(DESIGN.md §10; `surveyapp users import CSV` and the user pages' upload).

Header `login` plus `email` and/or `approver`; UTF-8 with or without BOM or Shift_JIS,
read as the departments CSV is. Each row names an existing local account; an empty
`email` cell clears the address, an empty `approver` cell leaves the flag as it is.
Every problem is reported with its line and nothing is written unless the whole file
is good; the change is one transaction with its audit entry (`users.import`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import store
from surveyapp.formats import register_csv
from surveyapp.model import N_, Message
from surveyapp.refusals import Invalid, Refusal
from surveyapp.services import accounts, audit
from surveyapp.store import users as user_store

KNOWN_COLUMNS = ("login", "email", "approver")
MAX_ROWS = 10_000
YES = {"yes", "y", "1", "true", "はい", "○", "◯"}
NO = {"no", "n", "0", "false", "いいえ", "×", "-"}


@dataclass(frozen=True)
class Change:
    line: int
    login: str
    user_id: int
    field: str        # email | approver
    old: object
    new: object


@dataclass(frozen=True)
class Rejection:
    line: int
    login: str
    reason: str       # a model.Message: Japanese, translated by the web layer


@dataclass
class UsersPlan:
    encoding: str = ""
    sha256: str = ""
    rows: int = 0
    changes: list[Change] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def plan_import(db: Database, data: bytes) -> UsersPlan:
    """What the file would change, or why it cannot be used (nothing is written)."""
    plan = UsersPlan(sha256=hashlib.sha256(data).hexdigest())
    try:
        text, plan.encoding = register_csv.decode(data)
        records = register_csv.read_records(text)
    except Refusal as refusal:
        plan.rejected.append(Rejection(refusal.params.get("line", 1), "",
                                       Message.of(refusal)))
        return plan
    if not records:
        plan.rejected.append(Rejection(1, "", Message(N_("CSV が空です。"))))
        return plan
    columns = header(records[0], plan)
    if plan.ok:
        plan_rows(db, records[1:], columns, plan)
    return plan


def header(record: tuple[int, list[str]], plan: UsersPlan) -> tuple[str, ...]:
    line, cells = record
    columns = tuple(cell.strip().lower().lstrip("\ufeff") for cell in cells)
    unknown = [name for name in columns if name not in KNOWN_COLUMNS]
    if "login" not in columns or not ({"email", "approver"} & set(columns)):
        plan.rejected.append(Rejection(line, "", Message(N_(
            "ヘッダー: login 列と、email 列か approver 列が必要です。"))))
    if unknown or len(set(columns)) != len(columns):
        plan.rejected.append(Rejection(line, "", Message(N_(
            "ヘッダー: 使える列は login, email, approver です（重複なし）: %(columns)s"),
            columns=", ".join(columns))))
    return columns


def plan_rows(db: Database, records: list[tuple[int, list[str]]], columns: tuple[str, ...],
              plan: UsersPlan) -> None:
    if len(records) > MAX_ROWS:
        plan.rejected.append(Rejection(records[MAX_ROWS][0], "", Message(N_(
            "行が多すぎます（%(n)d行まで）。"), n=MAX_ROWS)))
        return
    seen: set[str] = set()
    for line, cells in records:
        cell = dict(zip(columns, (c.strip() for c in cells), strict=False))
        plan.rows += 1
        login = cell.get("login", "")
        if login.lower() in seen:
            plan.rejected.append(Rejection(line, login, Message(N_(
                "同じログイン名が前の行にもあります。"))))
            continue
        seen.add(login.lower())
        plan_row(db, line, login, cell, plan)


def plan_row(db: Database, line: int, login: str, cell: dict[str, str],
             plan: UsersPlan) -> None:
    row = user_store.get_user_by_login(db, login) if login else None
    problem = row_problem(row, login)
    if problem is None:
        try:
            plan.changes += row_changes(line, row, cell)
        except Refusal as refusal:
            problem = Message.of(refusal)
    if problem is not None:
        plan.rejected.append(Rejection(line, login, problem))


def row_problem(row: dict | None, login: str) -> Message | None:
    if not login:
        return Message(N_("login が空です。"))
    if row is None:
        return Message(N_("ログイン名 %(login)s のアカウントがありません。"), login=login)
    if row["auth_source"] == "directory":
        return Message(N_("%(login)s はディレクトリのアカウントです（メールアドレスと承認者は"
                          "ディレクトリから設定されます）。"), login=login)
    return None


def row_changes(line: int, row: dict, cell: dict[str, str]) -> list[Change]:
    changes = []
    if "email" in cell:
        email = accounts.checked_email(cell["email"])
        if email != row["email"]:
            changes.append(Change(line, row["login"], row["id"], "email", row["email"], email))
    approver = parse_flag(cell.get("approver", ""))
    if approver is not None:
        accounts.check_approver(row["role"], approver)
        if approver != bool(row["approver"]):
            changes.append(Change(line, row["login"], row["id"], "approver",
                                  bool(row["approver"]), approver))
    return changes


def parse_flag(text: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in YES or value in NO:
        return value in YES
    raise Invalid(N_("approver は yes か no で書いてください: %(text)s"), text=text)


def apply_import(db: Database, data: bytes, user_id: int | None = None) -> UsersPlan:
    """Plan again inside one transaction (what is stored now decides) and write the
    changes with their audit entry; a plan with rejections writes nothing."""
    with store.transaction(db):
        plan = plan_import(db, data)
        if not plan.ok:
            return plan
        for change in plan.changes:
            current = user_store.get_user(db, change.user_id)
            email = change.new if change.field == "email" else current["email"]
            approver = change.new if change.field == "approver" else bool(current["approver"])
            user_store.set_contact(db, change.user_id, email, approver)
        audit.record(db, user_id, "users.import", "users", None, sha256=plan.sha256,
                     encoding=plan.encoding, rows=plan.rows,
                     changes=[[c.login, c.field, c.old, c.new] for c in plan.changes])
    return plan


def describe(plan: UsersPlan) -> list[str]:
    """Plain-text lines (the CLI prints them): counts, each change, each rejection."""
    lines = [f"行 rows: {plan.rows}, 変更 changes: {len(plan.changes)}, "
             f"却下 rejected: {len(plan.rejected)} ({plan.encoding or '-'})"]
    lines += [f"  ~ {c.line}行目 {c.login} {c.field}: {show(c.old)} → {show(c.new)}"
              for c in plan.changes]
    lines += [f"  ! {r.line}行目 {r.login} {r.reason}" for r in plan.rejected]
    return lines


def show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value else "（空）"
