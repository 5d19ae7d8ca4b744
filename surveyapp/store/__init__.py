"""Every SQL statement of surveyapp lives in this package, one module per area.

No Flask here: the web layer opens one connection per request through `connect` and
hands the `sqlite_utils.Database` to services, which call the functions of these
modules. All SQL is parameterised; identifiers never come from user input.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from surveyapp.store import writers

BUSY_TIMEOUT_SECONDS = 10


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
    # Writers queue for their turn (store/writers.py) rather than meet SQLite's sleeping
    # busy handler; re-entrant, so a thread that opens a second transaction fails on
    # SQLite's timeout as before instead of waiting for itself forever.
    with writers.queue_for(database_file(db)).turn(BUSY_TIMEOUT_SECONDS):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.conn.execute("COMMIT")


def database_file(db: sqlite_utils.Database) -> str:
    """The main database's file as SQLite names it; empty when in memory."""
    return db.execute("PRAGMA database_list").fetchone()[2]


# Connections a forked child inherited from its parent. SQLite forbids using them across
# fork(), and closing one in the child could checkpoint the parent's WAL or drop locks
# the parent relies on. The modules that keep a connection per process close it before
# a fork (os.register_at_fork); one that another thread opened meanwhile, a child
# forgets in its cache and keeps here, never closed, not even by the garbage collector.
_inherited: list[object] = []


def abandon_inherited(connections) -> None:
    """In a forked child: never use or close these parent's connections."""
    _inherited.extend(connections)


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
