"""Which database file a connection reads: part of the key of every cached figure.

The figures themselves are keyed on the score generation the triggers keep
(store/score_changes.py), which only writes that can change a score move. A file
replaced under the same name (a restored backup) is another database, so the key
holds the file's inode beside its path.
"""

from __future__ import annotations

import os

from sqlite_utils import Database

from surveyapp import store


def database_identity(db: Database) -> tuple[str, int] | None:
    """(file, inode) of `db`; None for a database without a file (nothing to keep
    figures for) or one whose file was removed under the open connection."""
    path = store.database_file(db)
    if not path:
        return None
    try:
        return path, os.stat(path).st_ino
    except OSError:
        return None
