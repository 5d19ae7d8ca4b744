"""The rate-limit storage shared by the server processes of an instance
(web/ratelimits.py over store/ratelimits.py): `sqlite:///<instance>/ratelimits.sqlite3`
by default, hits of every process counted together, expired hits deleted as it goes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from limits import parse
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from surveyapp import create_app, migrations, store
from surveyapp.web import ratelimits
from surveyapp.web.extensions import limiter


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ratelimits, "time", clock)
    return clock


@pytest.fixture
def storage(tmp_path):
    return storage_from_string(ratelimits.storage_uri(tmp_path / "limits.sqlite3"))


def rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        found = connection.execute(f"SELECT * FROM {table}").fetchall()  # nosec B608
    connection.close()
    return found


def hit_many(uri: str, times: int, start: multiprocessing.Event, results) -> None:
    """In a process of its own: `times` hits on one limit of 10 per minute."""
    limiter_ = MovingWindowRateLimiter(storage_from_string(uri))
    start.wait(10)
    results.put(sum(limiter_.hit(parse("10/minute"), "shared") for _n in range(times)))


def test_hits_from_two_processes_count_against_one_limit(tmp_path):
    uri = ratelimits.storage_uri(tmp_path / "limits.sqlite3")
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=hit_many, args=(uri, 8, start, results))
                 for _n in range(2)]
    for process in processes:
        process.start()
    start.set()
    allowed = [results.get(timeout=60) for _process in processes]
    for process in processes:
        process.join(10)
    assert sum(allowed) == 10  # not 16: each process alone would have allowed 8


def test_the_uri_names_this_storage(storage, tmp_path):
    assert isinstance(storage, ratelimits.SQLiteStorage)
    assert storage.path == str(tmp_path / "limits.sqlite3")
    assert storage.check()


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite://relative/file"])
def test_a_uri_without_an_absolute_file_is_refused(uri):
    with pytest.raises(ConfigurationError):
        storage_from_string(uri)


def test_moving_window_counts_the_hits_of_the_last_window(storage, clock):
    window = MovingWindowRateLimiter(storage)
    limit = parse("2 per 10 seconds")
    assert window.hit(limit, "k")
    clock.now += 5
    assert window.hit(limit, "k")
    clock.now += 1
    assert not window.hit(limit, "k")
    assert storage.get_moving_window(limit.key_for("k"), 2, 10) == (clock.now - 6, 2)
    clock.now += 4.5  # the first hit left the window, the second not yet
    assert window.hit(limit, "k")
    assert not window.hit(limit, "k")
    assert window.get_window_stats(limit, "k").remaining == 0


def test_a_hit_costing_more_than_the_limit_is_refused(storage, clock):
    assert not storage.acquire_entry("k", limit=2, expiry=10, amount=3)
    assert storage.acquire_entry("k", limit=2, expiry=10, amount=2)
    assert storage.get_moving_window("k", 2, 10) == (clock.now, 2)


def test_an_empty_window_starts_now(storage, clock):
    assert storage.get_moving_window("nobody", 5, 60) == (clock.now, 0)


def test_expired_hits_are_deleted_as_it_goes(storage, clock):
    path = Path(storage.path)
    storage.acquire_entry("staff-code:old-address-hash", limit=5, expiry=60)
    clock.now += 61
    storage.acquire_entry("other", limit=5, expiry=60)
    assert [row[0] for row in rows(path, "hits")] == ["other"]


def test_fixed_window_counters(storage, clock):
    assert storage.incr("c", expiry=10) == 1
    assert storage.incr("c", expiry=10, amount=2) == 3
    clock.now += 4
    assert storage.get("c") == 3
    assert storage.get_expiry("c") == clock.now + 6  # set by the first hit
    clock.now += 6
    assert storage.get("c") == 0
    assert storage.get_expiry("c") == clock.now
    assert storage.incr("c", expiry=10) == 1


def test_clear_forgets_one_key(storage):
    storage.acquire_entry("a", limit=1, expiry=60)
    storage.acquire_entry("b", limit=1, expiry=60)
    storage.incr("a", expiry=60)
    storage.clear("a")
    assert storage.acquire_entry("a", limit=1, expiry=60)
    assert storage.get("a") == 0
    assert not storage.acquire_entry("b", limit=1, expiry=60)


def test_reset_forgets_everything(storage):
    storage.acquire_entry("a", limit=1, expiry=60)
    storage.incr("b", expiry=60)
    assert storage.reset() == 2
    assert storage.acquire_entry("a", limit=1, expiry=60)
    assert rows(Path(storage.path), "counters") == []


def test_check_fails_when_the_file_cannot_be_opened(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    missing = storage_from_string(ratelimits.storage_uri(tmp_path / "file" / "x.sqlite3"))
    assert not missing.check()


def test_the_storage_makes_its_file_in_wal_mode_before_any_hit(tmp_path):
    path = tmp_path / "limits.sqlite3"
    storage_from_string(ratelimits.storage_uri(path))
    ratelimits.ratelimit_store._connections.close()  # as before a fork
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("SELECT count(*) FROM hits").fetchone()[0] == 0
    connection.close()


def test_the_default_is_the_instance_file(app_config, instance_path):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    expected = instance_path.resolve() / ratelimits.FILE_NAME
    assert app.config["RATELIMIT_STORAGE_URI"] == f"sqlite://{expected}"
    assert isinstance(limiter.storage, ratelimits.SQLiteStorage)
    assert limiter.storage.path == str(expected)


def test_memory_storage_is_still_accepted(app_config):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True,
                      "RATELIMIT_STORAGE_URI": "memory://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert type(limiter.storage).__name__ == "MemoryStorage"


def test_login_limits_count_in_the_instance_file(app_config, instance_path):
    app = create_app({**app_config, "RATELIMIT_ENABLED": True,
                      "LOGIN_RATE_LIMIT": "2 per minute"})
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    database.close()
    client = app.test_client()
    statuses = [client.post("/login", data={"login": "nobody", "password": "wrong"})
                .status_code for _n in range(3)]
    assert statuses[-1] == 429
    assert len(rows(instance_path / ratelimits.FILE_NAME, "hits")) >= 2
