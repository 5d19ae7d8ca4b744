"""One database connection per request, taken from the connections of earlier
requests (or opened), given back when the request ends."""

from __future__ import annotations

import os

import sqlite_utils
from flask import Flask, current_app, g

from surveyapp import store

# Connections of earlier requests, for the next ones. Opening a connection cost more
# than a submission's own SQL: the file and its WAL index are opened, the schema is
# parsed and every statement prepared again, 0.7 of a staff submission's 2.2 ms of CPU
# (bench/README.md). A request takes an idle connection of its database, or opens one,
# and gives it back when it ends; at most IDLE_MAX wait, one database per process (tests
# make many). A connection given back inside a transaction (an error nobody rolled
# back) is closed, as are connections to a file since replaced under the same name.
# A test that changes how connections are opened (store.connect) calls close_idle().
# Because connections are given back rather than closed, a request's end is never the
# last close of the database, which in WAL mode checkpoints, deletes the -wal file and
# syncs: about 20 ms on every request of an idle server (bench/README.md). SQLite still
# checkpoints every 1000 pages.
IDLE_MAX = 8
_idle = store.ProcessConnections(lambda found: found[1])  # path: (inode, idle ones)


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _take(path: str) -> sqlite_utils.Database:
    inode = _inode(path)
    with _idle.lock:
        found = _idle.items.get(path)
        if found is not None and found[0] == inode and found[1]:
            return found[1].pop()
    db = store.connect(path)
    db.surveyapp_inode = inode
    return db


def _give_back(path: str, db: sqlite_utils.Database) -> None:
    inode = getattr(db, "surveyapp_inode", None)
    if db.conn.in_transaction or inode is None or inode != _inode(path):
        db.close()
        return
    with _idle.lock:
        found = _idle.items.get(path)
        if found is None or found[0] != inode:
            _idle.close_locked()
            found = _idle.items[path] = (inode, [])
        if len(found[1]) < IDLE_MAX:
            found[1].append(db)
            return
    db.close()


def close_idle() -> None:
    """Close this process's idle connections (also before a fork; for tests)."""
    _idle.close()


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = _take(current_app.config["DATABASE"])
    return g.db


def close_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        _give_back(current_app.config["DATABASE"], db)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
