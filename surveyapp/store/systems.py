"""The information-system register (情報システム台帳) and the corrections 所属 propose.

A system's `owner_code` is the 所属 that registered it; after a reorganisation the
system follows that 所属's successors (worked out by the register's read model, the
stored owner is kept as registered).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import now, one, rows

FIELDS = ("code", "name", "owner_code", "vendor", "hosting", "cloud_service", "ismap",
          "ismap_expires", "criticality", "valid_from", "valid_to")
EDITABLE = FIELDS[1:]


def list_systems(db: Database) -> list[dict]:
    return rows(db, "SELECT * FROM systems ORDER BY code")


def systems_by_code(db: Database) -> dict[str, dict]:
    return {row["code"]: row for row in list_systems(db)}


def systems_of_owners(db: Database, owner_codes: Iterable[str]) -> list[dict]:
    """The systems registered to any of `owner_codes`, in code order."""
    return rows(db, "SELECT * FROM systems WHERE owner_code IN "
                "(SELECT value FROM json_each(:codes)) ORDER BY code",
                {"codes": json.dumps(list(owner_codes))})


def get_system(db: Database, code: str) -> dict | None:
    return one(db, "SELECT * FROM systems WHERE code = ?", (code,))


def upsert_systems(db: Database, systems: Iterable[dict], user_id: int | None = None) -> None:
    """Insert or update whole rows (every key of FIELDS); an update bumps `version`."""
    at = now()
    db.conn.executemany(
        "INSERT INTO systems (code, name, owner_code, vendor, hosting, cloud_service, ismap, "
        "ismap_expires, criticality, valid_from, valid_to, updated_at, updated_by) VALUES "
        "(:code, :name, :owner_code, :vendor, :hosting, :cloud_service, :ismap, "
        ":ismap_expires, :criticality, :valid_from, :valid_to, :at, :user_id) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
        "owner_code = excluded.owner_code, vendor = excluded.vendor, "
        "hosting = excluded.hosting, cloud_service = excluded.cloud_service, "
        "ismap = excluded.ismap, ismap_expires = excluded.ismap_expires, "
        "criticality = excluded.criticality, valid_from = excluded.valid_from, "
        "valid_to = excluded.valid_to, version = systems.version + 1, "
        "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        [{**{name: system[name] for name in FIELDS}, "at": at, "user_id": user_id}
         for system in systems])


def update_system(db: Database, code: str, values: dict, expected_version: int,
                  user_id: int | None) -> bool:
    """Change the EDITABLE fields of one system if it is still at `expected_version`;
    False when it is not (someone saved in between) or does not exist."""
    cursor = db.execute(
        "UPDATE systems SET name = :name, owner_code = :owner_code, vendor = :vendor, "
        "hosting = :hosting, cloud_service = :cloud_service, ismap = :ismap, "
        "ismap_expires = :ismap_expires, criticality = :criticality, "
        "valid_from = :valid_from, valid_to = :valid_to, version = version + 1, "
        "updated_at = :at, updated_by = :user_id WHERE code = :code AND version = :version",
        {**{name: values[name] for name in EDITABLE}, "code": code, "at": now(),
         "user_id": user_id, "version": expected_version})
    return cursor.rowcount == 1


# --- proposals ---------------------------------------------------------------------

PROPOSAL_SQL = (
    "SELECT system_proposals.*, departments.name AS department_name, "
    "creators.login AS created_by_login, deciders.login AS decided_by_login "
    "FROM system_proposals "
    "JOIN departments ON departments.code = system_proposals.department_code "
    "LEFT JOIN users AS creators ON creators.id = system_proposals.created_by "
    "LEFT JOIN users AS deciders ON deciders.id = system_proposals.decided_by ")


def _decoded(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {**row, "proposed": json.loads(row["proposed"]),
            "registered": json.loads(row["registered"])}


def insert_proposal(db: Database, values: dict, user_id: int | None) -> int:
    """values: kind, system_code, department_code, proposed, registered (dicts), note."""
    cursor = db.execute(
        "INSERT INTO system_proposals (kind, system_code, department_code, proposed, "
        "registered, note, created_at, created_by) VALUES (:kind, :system_code, "
        ":department_code, :proposed, :registered, :note, :at, :user_id)",
        {**values, "proposed": json.dumps(values["proposed"], ensure_ascii=False),
         "registered": json.dumps(values["registered"], ensure_ascii=False),
         "at": now(), "user_id": user_id})
    return cursor.lastrowid


def get_proposal(db: Database, proposal_id: int) -> dict | None:
    return _decoded(one(db, PROPOSAL_SQL + "WHERE system_proposals.id = ?", (proposal_id,)))


def list_proposals(db: Database, status: str | None = None,
                   department_code: str | None = None,
                   system_code: str | None = None) -> list[dict]:
    """Newest first; a None filter matches everything."""
    found = rows(db, PROPOSAL_SQL +
                 "WHERE (:status IS NULL OR system_proposals.status = :status) "
                 "AND (:department IS NULL OR system_proposals.department_code = :department) "
                 "AND (:system IS NULL OR system_proposals.system_code = :system) "
                 "ORDER BY system_proposals.id DESC",
                 {"status": status, "department": department_code, "system": system_code})
    return [_decoded(row) for row in found]


def pending_proposal_count(db: Database) -> int:
    return one(db, "SELECT COUNT(*) AS n FROM system_proposals WHERE status = 'pending'")["n"]


def decide_proposal(db: Database, proposal_id: int, status: str, user_id: int | None,
                    note: str, system_code: str | None = None) -> bool:
    """Close a pending proposal; False when it is no longer pending."""
    cursor = db.execute(
        "UPDATE system_proposals SET status = :status, decided_at = :at, "
        "decided_by = :user_id, decision_note = :note, "
        "system_code = COALESCE(:system_code, system_code) "
        "WHERE id = :id AND status = 'pending'",
        {"status": status, "at": now(), "user_id": user_id, "note": note,
         "system_code": system_code, "id": proposal_id})
    return cursor.rowcount == 1
