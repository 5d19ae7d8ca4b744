"""Rate-limit hits in a small SQLite file of their own, shared by every server process of
an instance (web/ratelimits.py hands it to Flask-Limiter as `sqlite://<path>`).

Limits are ephemeral: `synchronous = OFF`, and losing the file loses nothing. Every
write first deletes what has expired, so the file stays small and no hit is kept longer
than its window; deleted rows are overwritten (`secure_delete`), because the keys name
addresses and login names (SECURITY.md). Writes queue like every other writer
(`store.transaction`), on the lock file beside this file.

Moving window: one row per hit (`at`, when it counts until `expires`); a key's limit
has a single window length, because the key names the limit. Fixed window: one counter
per key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from sqlite_utils import Database

from surveyapp import store

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL, "
    "expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_by_key ON hits (key, at)",
    "CREATE INDEX IF NOT EXISTS hits_by_expiry ON hits (expires)",
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, "
    "expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS counters_by_expiry ON counters (expires)",
)

# One connection per file and process, used by one thread at a time (a statement or a
# short transaction each); opened on first use, closed before a fork.
MAX_CONNECTIONS = 4  # one file per process in production; tests make many
_connections = store.ProcessConnections(lambda db: [db])


@contextlib.contextmanager
def connected(path: str) -> Iterator[Database]:
    """This process's connection to the rate-limit file `path`, for one operation."""
    with _connections.lock:
        db = _connections.items.get(path)
        if db is None:
            if len(_connections.items) >= MAX_CONNECTIONS:
                _connections.close_locked()
            db = _connections.items[path] = _open(path)
        yield db


def prepare(path: str) -> None:
    """Create the file, its tables and WAL mode now. The app does it once, before
    `surveyapp serve` forks: server processes starting together would otherwise race
    to switch a new file to WAL, and the loser fails with "database is locked"."""
    with connected(path):
        pass


def _open(path: str) -> Database:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    db = store.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA secure_delete = ON")
    with store.transaction(db):
        for statement in SCHEMA:
            db.execute(statement)
    return db


# --- moving window -------------------------------------------------------------------


def acquire_entry(db: Database, key: str, limit: int, expiry: float, amount: int,
                  now: float) -> bool:
    """Record `amount` hits now when the window still has room for them."""
    with store.transaction(db):
        db.execute("DELETE FROM hits WHERE expires < ?", (now,))
        count = db.execute("SELECT count(*) FROM hits WHERE key = ? AND at >= ?",
                           (key, now - expiry)).fetchone()[0]
        if count + amount > limit:
            return False
        db.conn.executemany("INSERT INTO hits (key, at, expires) VALUES (?, ?, ?)",
                            [(key, now, now + expiry)] * amount)
        return True


def moving_window(db: Database, key: str, expiry: float, now: float) -> tuple[float, int]:
    """(time of the oldest hit in the window, hits in the window); (now, 0) when none."""
    oldest, count = db.execute("SELECT min(at), count(*) FROM hits WHERE key = ? AND at >= ?",
                               (key, now - expiry)).fetchone()
    return (oldest, count) if count else (now, 0)


# --- fixed window counters -------------------------------------------------------------


def increment(db: Database, key: str, expiry: float, amount: int, now: float) -> int:
    """Add `amount` to the key's counter (a new one expires `expiry` seconds from now)."""
    with store.transaction(db):
        db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        db.execute("INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                   (key, amount, now + expiry))
        return db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()[0]


def counter(db: Database, key: str, now: float) -> tuple[int, float]:
    """(value, expiry time) of the key's counter; (0, now) when it has none."""
    found = db.execute("SELECT value, expires FROM counters WHERE key = ? AND expires > ?",
                       (key, now)).fetchone()
    return (found[0], found[1]) if found else (0, now)


# --- clearing --------------------------------------------------------------------------


def clear(db: Database, key: str) -> None:
    with store.transaction(db):
        db.execute("DELETE FROM hits WHERE key = ?", (key,))
        db.execute("DELETE FROM counters WHERE key = ?", (key,))


def clear_all(db: Database) -> int:
    """Delete every hit and counter; the number of keys that had any."""
    with store.transaction(db):
        keys = db.execute("SELECT count(*) FROM (SELECT key FROM hits UNION "
                          "SELECT key FROM counters)").fetchone()[0]
        db.execute("DELETE FROM hits")
        db.execute("DELETE FROM counters")
        return keys


def healthy(db: Database) -> bool:
    return db.execute("SELECT 1").fetchone()[0] == 1
