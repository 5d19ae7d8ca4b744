"""Flask-Limiter storage `sqlite:///<absolute path>`: the rate limits of every server
process of an instance in one small SQLite file (SQL in store/ratelimits.py).

With `surveyapp serve --processes N`, the default `memory://` storage of Flask-Limiter
would count in each process on its own and every limit would be N times as high. This
storage is the default (`RATELIMIT_STORAGE_URI` empty: `<instance>/ratelimits.sqlite3`).
It implements the moving window that surveyapp's limits use, and the fixed-window
counters of the `limits` Storage interface.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, unquote, urlparse

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

from surveyapp.store import ratelimits as ratelimit_store

SCHEME = "sqlite"
FILE_NAME = "ratelimits.sqlite3"


def storage_uri(path: str | Path) -> str:
    """The URI of the rate-limit file at `path` (made absolute)."""
    return f"{SCHEME}://{quote(str(Path(path).resolve()))}"


class SQLiteStorage(Storage, MovingWindowSupport):
    """Registered with `limits` for the scheme `sqlite` when this module is imported."""

    STORAGE_SCHEME: ClassVar[list[str]] = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        parsed = urlparse(uri or "")
        self.path = unquote(parsed.path)
        if parsed.netloc or not os.path.isabs(self.path):
            raise ConfigurationError(f"{uri!r}: expected {SCHEME}:///absolute/path/to/file")
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        # If the file cannot be made now, check() says so and every hit tries again.
        with contextlib.suppress(*self.base_exceptions):
            ratelimit_store.prepare(self.path)

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return sqlite3.Error, OSError

    # --- moving window (the strategy surveyapp uses) ---

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.acquire_entry(db, key, limit, expiry, amount, time.time())

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.moving_window(db, key, expiry, time.time())

    # --- fixed window counters ---

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.increment(db, key, expiry, amount, time.time())

    def get(self, key: str) -> int:
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.counter(db, key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.counter(db, key, time.time())[1]

    # --- housekeeping ---

    def check(self) -> bool:
        try:
            with ratelimit_store.connected(self.path) as db:
                return ratelimit_store.healthy(db)
        except self.base_exceptions:
            return False

    def reset(self) -> int | None:
        with ratelimit_store.connected(self.path) as db:
            return ratelimit_store.clear_all(db)

    def clear(self, key: str) -> None:
        with ratelimit_store.connected(self.path) as db:
            ratelimit_store.clear(db, key)
