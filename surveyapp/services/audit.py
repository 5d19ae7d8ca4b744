"""Recording admin actions: every state change by the central office calls `record`
inside the same transaction as the change, so the log never disagrees with the data."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import audit as audit_store


def record(db: Database, user_id: int | None, action: str, target_type: str | None = None,
           target_id: str | int | None = None, **detail: object) -> None:
    audit_store.insert_entry(db, user_id, action, target_type,
                             None if target_id is None else str(target_id), detail)
