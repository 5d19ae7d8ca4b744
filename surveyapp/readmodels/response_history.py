"""The answer history of a 所属's own answers and its system blocks' (dates are days of
the TIMEZONE setting).

Staff answers are never listed: they are anonymous."""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from surveyapp import audiences
from surveyapp.clock import day_start_utc
from surveyapp.store import responses as response_store


def response_history(db: Database, response_id: int | None = None,
                     department_code: str | None = None, question_id: str | None = None,
                     date_from: date | None = None, date_to: date | None = None,
                     limit: int = 100, offset: int = 0) -> list[dict]:
    """Answer changes of the named audiences (a 所属's own answers and its systems'),
    newest first; dates are calendar days of the TIMEZONE setting, both ends included.
    Staff answers are never listed (they are anonymous)."""
    filters = {"response_id": response_id, "department_code": department_code or None,
               "question_id": question_id or None,
               "date_from": day_start_utc(date_from) if date_from else None,
               "date_to": day_start_utc(date_to + timedelta(days=1)) if date_to else None}
    return response_store.history(db, filters, limit, offset, audiences.named())


def history_question_ids(db: Database) -> list[str]:
    """The questions a history lists, for its filter."""
    return response_store.history_question_ids(db, audiences.named())
