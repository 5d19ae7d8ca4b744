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

from sqlite_utils import Database

from surveyapp import store

MAX_MONITORS = 4  # one database per process in production; tests make many
# path: (inode, serial, connection)
_monitors = store.ProcessConnections(lambda known: [known[2]])
_serials = itertools.count(1)


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
    with _monitors.lock:
        serial, monitor = _monitor(path, inode)
        return path, inode, serial, monitor.execute("PRAGMA data_version").fetchone()[0]


def _monitor(path: str, inode: int) -> tuple[int, sqlite3.Connection]:
    known = _monitors.items.get(path)
    if known is not None and known[0] == inode:
        return known[1], known[2]
    if known is not None:
        known[2].close()
        del _monitors.items[path]
    if len(_monitors.items) >= MAX_MONITORS:
        _monitors.close_locked()
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    serial = next(_serials)
    _monitors.items[path] = (inode, serial, connection)
    return serial, connection

