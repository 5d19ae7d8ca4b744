"""Every SQL statement of surveyapp lives in this package, one module per area.

No Flask here: the web layer opens one connection per request through `connect` and
hands the `sqlite_utils.Database` to services, which call the functions of these
modules. All SQL is parameterised; identifiers never come from user input.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
# the parent relies on. ProcessConnections closes its connections before a fork; one
# that another thread opened meanwhile, a child forgets and keeps here, never closed,
# not even by the garbage collector.
_inherited: list[object] = []


class ProcessConnections:
    """Connections a process keeps between uses (`items`: key -> entry, guarded by
    `lock`), closed before a fork (os.register_at_fork); a forked child starts with
    none and a new lock. `connections_of(entry)` names the connections an entry holds."""

    def __init__(self, connections_of: Callable[[Any], Iterable[Any]]) -> None:
        self.items: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.connections_of = connections_of
        if hasattr(os, "register_at_fork"):  # POSIX
            os.register_at_fork(before=self.close, after_in_child=self.forget_in_child)

    def close(self) -> None:
        """Close every kept connection (before a fork, and for tests)."""
        with self.lock:
            self.close_locked()

    def close_locked(self) -> None:
        for entry in self.items.values():
            for connection in self.connections_of(entry):
                connection.close()
        self.items.clear()

    def forget_in_child(self) -> None:
        """In a forked child: what it still inherited is never used nor closed."""
        _inherited.extend(connection for entry in self.items.values()
                          for connection in self.connections_of(entry))
        self.items.clear()
        self.lock = threading.Lock()  # another thread may have held it at the fork


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
