"""The information-system register's use-cases (情報システム台帳, DESIGN.md §12).

- The systems CSV: the register's `CsvFormat` over the import engine
  (services/csv_import: encodings, line-numbered rejections, all-or-nothing); reading
  its rows and fields is formats/systems_csv.py.
- An admin's edit of one system (optimistic: the version it loaded) or a new entry.
- Corrections a 所属 proposes for the systems it owns (a field changed, a system no
  longer in use, a system missing from the register), which an admin accepts (the
  register changes in the same transaction) or rejects with a reason. The register's
  completeness is itself an audit point (指摘1, 指摘4).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlite_utils import Database

from surveyapp import store
from surveyapp.formats.register_csv import Parsed
from surveyapp.formats.systems_csv import (  # noqa: F401  (the register's names)
    CRITICALITIES,
    CROSS_CHECKS,
    HOSTINGS,
    ISMAP,
    LABELS,
    OPTIONAL_COLUMNS,
    PARSERS,
    REQUIRED_COLUMNS,
    SystemRow,
    parse_row,
)
from surveyapp.model import N_, Message
from surveyapp.readmodels import register
from surveyapp.refusals import Conflict, Invalid, Locked, NotFound
from surveyapp.services import audit, csv_import
from surveyapp.store import departments as department_store
from surveyapp.store import systems as system_store

COMPARED_FIELDS = system_store.EDITABLE
MAX_NOTE_LENGTH = 1000
PROPOSAL_STATUSES = {"pending": N_("確認待ち"), "accepted": N_("反映済み"),
                     "rejected": N_("見送り"), "withdrawn": N_("取下げ")}
PROPOSAL_KINDS = {"change": N_("登録内容の修正"), "retire": N_("利用の終了"),
                  "add": N_("台帳にないシステムの追加")}


def owner_problem(owner_code: str, departments: Mapping[str, Mapping]) -> str:
    if owner_code not in departments:
        return Message(N_("所管所属 %(owner)s が見つかりません"), owner=owner_code)
    if departments[owner_code]["parent_code"] is None:
        return Message(N_("%(owner)s は部局です。所管所属には所属のコードを指定してください"),
                       owner=owner_code)
    return ""


# ---------------------------------------------------------------- the CSV

def check_references(db: Database, parsed: Parsed,
                     _stored: Mapping[str, dict]) -> None:
    """Each owner must be a 所属 of the departments table."""
    departments = department_store.departments_by_code(db)
    parsed.reject_where(lambda row: owner_problem(row.owner_code, departments))


FORMAT = csv_import.CsvFormat(
    required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, compared=COMPARED_FIELDS,
    parse_row=parse_row, check_references=check_references,
    stored=system_store.systems_by_code, upsert=system_store.upsert_systems,
    audit_action="systems.import",
    changed_since_preview=N_("確認の後に情報システム台帳が変わりました。もう一度取り込んで"
                             "内容を確認してください。"),
    preview_columns=tuple(csv_import.Column(name, LABELS[name])
                          for name in system_store.FIELDS))


def plan_import(db: Database, data: bytes) -> csv_import.ImportPlan:
    """What importing `data` would do; writes nothing."""
    return csv_import.plan_import(db, data, FORMAT)


def apply_import(db: Database, plan: csv_import.ImportPlan,
                 user_id: int | None = None) -> csv_import.ImportPlan:
    """Write the plan in one transaction, or nothing at all; returns the plan applied."""
    return csv_import.apply_import(db, plan, FORMAT, user_id)


# ---------------------------------------------------------------- forms

def read_fields(values: Mapping[str, str], names: tuple[str, ...]) -> dict:
    """The form fields `names` read by the CSV's parsers (a missing field is empty);
    raises Invalid with one message per wrong field."""
    result, errors = {}, {}
    for name in names:
        try:
            result[name] = PARSERS[name](str(values.get(name) or ""))
        except Invalid as error:
            errors[name] = Message.of(error)
    if errors:
        raise Invalid(errors=errors)
    return result


def complete(values: Mapping) -> dict:
    """A whole row: the given fields, the others empty; cross-field rules checked."""
    row = {name: values.get(name) for name in system_store.FIELDS}
    for field, check in CROSS_CHECKS:
        try:
            check(row)
        except Invalid as error:
            raise Invalid(errors={field: Message.of(error)}) from None
    return row


def check_owner(db: Database, owner_code: str) -> None:
    reason = owner_problem(owner_code, department_store.departments_by_code(db))
    if reason:
        raise Invalid(errors={"owner_code": reason})


def check_code_free(db: Database, code: str) -> None:
    if system_store.get_system(db, code) is not None:
        raise Invalid(errors={"code": Message(
            N_("システムコード %(code)s は既に登録されています"), code=code)})


def create_system(db: Database, values: Mapping[str, str], user_id: int | None) -> str:
    """An admin registers one system; returns its code."""
    row = complete(read_fields(values, system_store.FIELDS))
    with store.transaction(db):
        check_owner(db, row["owner_code"])
        check_code_free(db, row["code"])
        system_store.upsert_systems(db, [row], user_id)
        audit.record(db, user_id, "systems.create", "system", row["code"], **row)
    return row["code"]


def edit_system(db: Database, code: str, values: Mapping[str, str], expected_version: int,
                user_id: int | None) -> dict[str, list]:
    """An admin changes one system; raises Conflict (with the stored row as `current`)
    when it changed since `expected_version` was loaded. Returns {field: [old, new]}."""
    fields = read_fields(values, system_store.EDITABLE)
    with store.transaction(db):
        stored = system_store.get_system(db, code)
        if stored is None:
            raise NotFound
        if stored["version"] != expected_version:
            raise Conflict(N_("あなたが編集している間に、他の人がこのシステムの登録内容を"
                              "変更しました。"), current=stored)
        return write_changes(db, stored, fields, user_id, "systems.edit")


def write_changes(db: Database, stored: dict, fields: Mapping, user_id: int | None,
                  action: str, **detail: object) -> dict[str, list]:
    row = complete({**stored, **fields})
    check_owner(db, row["owner_code"])
    changes = {name: [stored[name], row[name]] for name in system_store.EDITABLE
               if stored[name] != row[name]}
    if changes:
        system_store.update_system(db, stored["code"], row, stored["version"], user_id)
        audit.record(db, user_id, action, "system", stored["code"], changes=changes,
                     **detail)
    return changes


# ---------------------------------------------------------------- proposals

# What a 所属 may propose for each kind: a change may touch every field but the code
# (the central office keeps codes); an addition names what it knows.
PROPOSAL_FIELDS = {"change": system_store.EDITABLE, "retire": ("valid_to",),
                   "add": system_store.EDITABLE}


def propose(db: Database, department_code: str, kind: str, system_code: str | None,
            values: Mapping[str, str], note: str, user_id: int | None,
            fiscal_year: int) -> int:
    """A 所属 proposes a correction of the register; returns the proposal's id.

    `change` and `retire` concern a system the 所属 owns in `fiscal_year` (NotFound
    otherwise, like any other 所属's object); `add` a system the register lacks.
    Only what differs from the register is kept."""
    if kind not in PROPOSAL_KINDS:
        raise NotFound
    note = clean_note(note)
    if kind == "add":  # a system the 所属 itself runs, unless it names another owner
        values = {**values, "owner_code": values.get("owner_code") or department_code}
    fields = read_fields(values, PROPOSAL_FIELDS[kind])
    with store.transaction(db):
        stored = owned_system(db, system_code, department_code, fiscal_year, kind)
        proposed = proposed_fields(db, kind, stored, fields)
        if kind != "add" and has_pending(db, system_code, department_code):
            raise Conflict(N_("このシステムには、確認を待っている申出があります。"
                              "情報企画課の確認をお待ちください。"))
        return system_store.insert_proposal(db, {
            "kind": kind, "system_code": system_code if kind != "add" else None,
            "department_code": department_code, "proposed": proposed,
            "registered": {name: stored[name] for name in proposed} if stored else {},
            "note": note}, user_id)


def has_pending(db: Database, system_code: str, department_code: str) -> bool:
    return bool(system_store.list_proposals(db, "pending", department_code=department_code,
                                            system_code=system_code))


def owned_system(db: Database, system_code: str | None, department_code: str,
                 fiscal_year: int, kind: str) -> dict | None:
    if kind == "add":
        return None
    stored = system_store.get_system(db, system_code or "")
    if stored is None or not register.is_owned_by(db, stored, department_code, fiscal_year):
        raise NotFound
    return stored


def proposed_fields(db: Database, kind: str, stored: dict | None, fields: dict) -> dict:
    if kind == "add":
        complete(fields)
        check_owner(db, fields["owner_code"])
        return {name: value for name, value in fields.items() if value is not None}
    if kind == "retire" and fields["valid_to"] is None:
        raise Invalid(errors={"valid_to": Message(N_("利用を終了した年度を入力してください"))})
    row = complete({**stored, **fields})
    check_owner(db, row["owner_code"])
    changed = {name: row[name] for name in fields if row[name] != stored[name]}
    if not changed:
        raise Invalid(N_("登録内容と同じです。修正する項目を入力してください。"))
    return changed


def clean_note(note: str | None, field: str = "note") -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise Invalid(errors={field: Message(
            N_("%(n)d文字以内で入力してください（現在 %(count)d文字）。"),
            n=MAX_NOTE_LENGTH, count=len(text))})
    if "\x00" in text:
        raise Invalid(errors={field: Message(N_("使用できない文字が含まれています。"))})
    return text


def pending_proposal(db: Database, proposal_id: int) -> dict:
    proposal = system_store.get_proposal(db, proposal_id)
    if proposal is None:
        raise NotFound
    if proposal["status"] != "pending":
        raise Locked(N_("この申出は既に処理されています。"))
    return proposal


def accept_proposal(db: Database, proposal_id: int, user_id: int | None, note: str = "",
                    code: str | None = None) -> str:
    """An admin accepts: the register changes as proposed, in the same transaction.
    An addition needs the `code` the central office gives it. Returns the system code."""
    note = clean_note(note)
    with store.transaction(db):
        proposal = pending_proposal(db, proposal_id)
        if proposal["kind"] == "add":
            code = add_proposed(db, proposal, code, user_id)
        else:
            code = proposal["system_code"]
            stored = system_store.get_system(db, code)
            write_changes(db, stored, proposal["proposed"], user_id,
                          "systems.proposal_accept", proposal=proposal_id)
        system_store.decide_proposal(db, proposal_id, "accepted", user_id, note, code)
    return code


def add_proposed(db: Database, proposal: dict, code: str | None, user_id: int | None) -> str:
    code = read_fields({"code": code or ""}, ("code",))["code"]
    check_code_free(db, code)
    row = complete({**proposal["proposed"], "code": code})
    check_owner(db, row["owner_code"])
    system_store.upsert_systems(db, [row], user_id)
    audit.record(db, user_id, "systems.proposal_accept", "system", code,
                 proposal=proposal["id"], added=row)
    return code


def reject_proposal(db: Database, proposal_id: int, user_id: int | None, reason: str) -> None:
    """An admin rejects, saying why (the 所属 reads the reason)."""
    reason = clean_note(reason, "reason")
    if not reason:
        raise Invalid(errors={"reason": Message(N_("見送る理由を入力してください。"))})
    with store.transaction(db):
        proposal = pending_proposal(db, proposal_id)
        system_store.decide_proposal(db, proposal_id, "rejected", user_id, reason)
        audit.record(db, user_id, "systems.proposal_reject", "system",
                     proposal["system_code"], proposal=proposal_id, reason=reason)


def withdraw_proposal(db: Database, proposal_id: int, department_code: str,
                      user_id: int | None) -> None:
    """The proposing 所属 takes back a proposal nobody decided yet."""
    with store.transaction(db):
        proposal = system_store.get_proposal(db, proposal_id)
        if proposal is None or proposal["department_code"] != department_code:
            raise NotFound
        pending_proposal(db, proposal_id)
        system_store.decide_proposal(db, proposal_id, "withdrawn", user_id, "")
