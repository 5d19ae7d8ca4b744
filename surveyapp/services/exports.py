"""Exports, written down: who took which data out goes to the audit log. The sheets
themselves are read models (readmodels/export_sheets.py)."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp import store
from surveyapp.readmodels.export_sheets import Scope
from surveyapp.services import audit


def record_download(db: Database, user_id: int | None, what: str, fmt: str,
                    round_id: int | None, scope: Scope) -> None:
    """Who took which data out goes to the audit log (a read, so no data changes)."""
    with store.transaction(db):
        audit.record(db, user_id, "exports.download", "round", round_id, what=what,
                     format=fmt, department_code=scope.department_code,
                     with_staff=scope.with_staff)
