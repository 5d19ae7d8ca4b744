"""Whether the database changed: the key for caches of figures computed from it.

SQLite's `PRAGMA data_version` changes whenever another connection — of this process
or any other, the CLI included — commits. It never changes for a connection's own
commits, so it is read on a monitor connection of our own that never writes. Versions
of different monitor connections are not comparable, so the value names its monitor
too (a monitor replaced, or opened again in a forked child, starts a new series).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading

from sqlite_utils import Database

from surveyapp import store

MAX_MONITORS = 4  # one database per process in production; tests make many
_monitors: dict[str, tuple[int, int, sqlite3.Connection]] = {}  # path: inode, serial, ...
_serials = itertools.count(1)
_lock = threading.Lock()


def data_version(db: Database) -> tuple[str, int, int, int] | None:
    """(file, inode, monitor, version) of `db`; a different value means the data may
    have changed. None for a database without a file (nothing to watch)."""
    path = store.database_file(db)
    if not path:
        return None
    try:
        inode = os.stat(path).st_ino  # a file replaced under the same name is another
    except OSError:  # removed under an open connection: nothing left to watch
        return None
    with _lock:
        serial, monitor = _monitor(path, inode)
        return path, inode, serial, monitor.execute("PRAGMA data_version").fetchone()[0]


def _monitor(path: str, inode: int) -> tuple[int, sqlite3.Connection]:
    known = _monitors.get(path)
    if known is not None and known[0] == inode:
        return known[1], known[2]
    if known is not None:
        known[2].close()
        del _monitors[path]
    if len(_monitors) >= MAX_MONITORS:
        for _inode, _serial, connection in _monitors.values():
            connection.close()
        _monitors.clear()
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    serial = next(_serials)
    _monitors[path] = (inode, serial, connection)
    return serial, connection


def close_monitors() -> None:
    """Close this process's monitors (before a fork: SQLite connections must not cross
    it). The next call opens a new one, whose versions start a new series."""
    with _lock:
        for _inode, _serial, connection in _monitors.values():
            connection.close()
        _monitors.clear()


def _forget_after_fork() -> None:
    global _lock
    store.abandon_inherited(connection for _inode, _serial, connection
                            in _monitors.values())
    _monitors.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=close_monitors, after_in_child=_forget_after_fork)
