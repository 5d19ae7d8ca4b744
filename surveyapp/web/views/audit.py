"""The audit log, read-only, for admins and auditors: newest first, filterable."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request

from surveyapp.store import audit as audit_store
from surveyapp.store import users as user_store
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 50


def pretty_detail(detail: str) -> str:
    """Indented JSON for reading; the template escapes it like any other text."""
    try:
        return json.dumps(json.loads(detail), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return detail


def positive_int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 2**53 else None


@bp.get("")
@roles_required("admin", "auditor")
def index():
    db = get_db()
    action = request.args.get("action") or None
    user_id = positive_int(request.args.get("user"))
    page = positive_int(request.args.get("page")) or 1
    # One row more than a page tells whether a next page exists without a count query.
    entries = audit_store.list_entries(db, action, user_id, limit=PAGE_SIZE + 1,
                                       offset=(page - 1) * PAGE_SIZE)
    for entry in entries:
        entry["detail_pretty"] = pretty_detail(entry["detail"])
    return render_template(
        "admin/audit.html", entries=entries[:PAGE_SIZE], has_next=len(entries) > PAGE_SIZE,
        page=page, action=action, user_id=user_id, actions=audit_store.list_actions(db),
        users=user_store.list_users(db))
