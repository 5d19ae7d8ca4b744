"""The reminder log of a round (DESIGN.md §10), newest first, for the progress board:
when, which kind, to which 所属 or user, the addresses, sent / failed / being sent with
the mail server's answer, and who pressed "send now" (empty: the scheduled command)."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import reminders as reminder_store

SHOWN = 100


def entries(db: Database, round_id: int, limit: int = SHOWN) -> list[dict]:
    return reminder_store.log_of_round(db, round_id, limit)
