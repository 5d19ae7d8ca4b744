"""Whether the database changed: the key for caches of figures computed from it.

SQLite's `PRAGMA data_version` changes whenever another connection — of this process
or any other, the CLI included — commits. It never changes for a connection's own
commits, so it is read on a monitor connection of our own that never writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from sqlite_utils import Database

MAX_MONITORS = 4  # one database per process in production; tests make many
_monitors: dict[str, tuple[int, sqlite3.Connection]] = {}
_lock = threading.Lock()


def data_version(db: Database) -> tuple[str, int, int] | None:
    """(file, inode, version) of `db`; a different value means the data may have
    changed. None for a database without a file (nothing to watch)."""
    path = db.execute("PRAGMA database_list").fetchone()[2]
    if not path:
        return None
    try:
        inode = os.stat(path).st_ino  # a file replaced under the same name is another
    except OSError:  # removed under an open connection: nothing left to watch
        return None
    with _lock:
        monitor = _monitor(path, inode)
        return path, inode, monitor.execute("PRAGMA data_version").fetchone()[0]


def _monitor(path: str, inode: int) -> sqlite3.Connection:
    known = _monitors.get(path)
    if known is not None and known[0] == inode:
        return known[1]
    if known is not None:
        known[1].close()
        del _monitors[path]
    if len(_monitors) >= MAX_MONITORS:
        for _inode, connection in _monitors.values():
            connection.close()
        _monitors.clear()
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    _monitors[path] = (inode, connection)
    return connection
