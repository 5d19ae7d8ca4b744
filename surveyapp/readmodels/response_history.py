"""The answer history of department responses, and stored timestamps in Japan time.

Staff answers are never listed: they are anonymous."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlite_utils import Database

from surveyapp.model import JST
from surveyapp.store import responses as response_store


def response_history(db: Database, response_id: int | None = None,
                     department_code: str | None = None, question_id: str | None = None,
                     date_from: date | None = None, date_to: date | None = None,
                     limit: int = 100, offset: int = 0) -> list[dict]:
    """Department answer changes, newest first; dates are Japanese calendar days,
    both ends included. Staff answers are never listed (they are anonymous)."""
    filters = {"response_id": response_id, "department_code": department_code or None,
               "question_id": question_id or None,
               "date_from": day_start_utc(date_from) if date_from else None,
               "date_to": day_start_utc(date_to + timedelta(days=1)) if date_to else None}
    return response_store.history(db, filters, limit, offset)


def day_start_utc(day: date) -> str:
    """Midnight of a Japanese calendar day as the stored UTC timestamp text."""
    start = datetime.combine(day, time.min, tzinfo=JST).astimezone(UTC)
    return start.isoformat(timespec="microseconds")


def local_time(stamp: str | None) -> datetime | None:
    """A stored UTC timestamp as Japan time, for display."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp).astimezone(JST)
