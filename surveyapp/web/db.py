"""One database connection per request, closed when the request ends."""

from __future__ import annotations

import os
import threading

import sqlite_utils
from flask import Flask, current_app, g

from surveyapp import store

# One idle connection per process that is never used for queries. While it is open, a
# request closing its connection is never the last one to close the database, which in
# WAL mode checkpoints, deletes the -wal file and syncs: about 20 ms on every request of
# an idle server (bench/README.md). SQLite still checkpoints every 1000 pages.
_keeper: dict[str, sqlite_utils.Database] = {}
_keeper_lock = threading.Lock()


def keep_open(path: str) -> None:
    with _keeper_lock:
        if path not in _keeper:
            for other in _keeper.values():  # one database per process (tests make many)
                other.close()
            _keeper.clear()
            _keeper[path] = store.connect(path)


def close_kept() -> None:
    """Close this process's kept connection (before a fork: SQLite connections must not
    cross it)."""
    with _keeper_lock:
        for kept in _keeper.values():
            kept.close()
        _keeper.clear()


def _forget_after_fork() -> None:
    """What a child still inherited (opened meanwhile by another thread) is never used
    nor closed there (store.abandon_inherited); a request opens the child's own."""
    global _keeper_lock
    store.abandon_inherited(_keeper.values())
    _keeper.clear()
    _keeper_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=close_kept, after_in_child=_forget_after_fork)


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        keep_open(current_app.config["DATABASE"])
        g.db = store.connect(current_app.config["DATABASE"])
    return g.db


def close_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
