"""Every SQL statement of surveyapp lives in this package, one module per area.

No Flask here: the web layer opens one connection per request through `connect` and
hands the `sqlite_utils.Database` to services, which call the functions of these
modules. All SQL is parameterised; identifiers never come from user input.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_SECONDS = 10
# Writers of this process queue on this lock before BEGIN IMMEDIATE. SQLite's own busy
# handler polls in sleeps of up to 100 ms, so with eight server threads writing, most of
# a submission's time went on sleeping while the lock was free (bench/README.md). Other
# processes (the CLI) still meet the busy timeout; re-entrant, so a thread that opens a
# second transaction fails on SQLite's timeout as before instead of waiting forever.
_writers = threading.RLock()


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database with the pragmas every connection needs.

    `isolation_level=None` leaves transactions to us: `transaction()` issues
    BEGIN IMMEDIATE so a read-then-write never fails with "database is locked".
    """
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS,
                           isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One short write transaction; nested calls become savepoints."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    queued = _writers.acquire(timeout=BUSY_TIMEOUT_SECONDS)
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.conn.execute("COMMIT")
    finally:
        if queued:
            _writers.release()


def now() -> str:
    """Timestamps are stored as ISO 8601 UTC text with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def start_of_day() -> str:
    """Today's date as a timestamp at 00:00 UTC: what anonymous staff rows store, so a
    response can't be matched to a web-server log line by its time."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.isoformat(timespec="microseconds")


def rows(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    return [dict(row) for row in db.query(sql, params)]


def one(db: sqlite_utils.Database, sql: str, params: tuple | dict = ()) -> dict | None:
    return next(iter(db.query(sql, params)), None)


def integrity_check(db: sqlite_utils.Database) -> str:
    return db.execute("PRAGMA integrity_check").fetchone()[0]
