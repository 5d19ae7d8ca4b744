"""Writers of several processes queue on `<database>.writelock` (store/writers.py), so
they never meet SQLite's busy handler; a forked child never shares the parent's lock,
nor any connection of the parent (web/db.py, store/versions.py, store/ratelimits.py).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from surveyapp import store
from surveyapp.store import ratelimits as ratelimit_store
from surveyapp.store import versions, writers
from surveyapp.web import db as web_db

ROWS_PER_PROCESS = 100


def make_table(path: Path) -> None:
    database = store.connect(path)
    with store.transaction(database):
        database.execute("CREATE TABLE marks (writer TEXT NOT NULL, n INTEGER NOT NULL)")
    database.close()


def write_rows(path: str, writer: str, start: multiprocessing.Event) -> None:
    """In a process of its own: with no busy timeout at all, any writer that met
    another at BEGIN IMMEDIATE would fail at once with "database is locked"."""
    store.BUSY_TIMEOUT_SECONDS = 0
    database = store.connect(path)
    start.wait(10)
    for number in range(ROWS_PER_PROCESS):
        with store.transaction(database):
            database.execute("INSERT INTO marks VALUES (?, ?)", (writer, number))
            time.sleep(0.001)  # long enough that the two always meet
    database.close()


def test_writers_of_two_processes_never_see_database_is_locked(tmp_path):
    path = tmp_path / "shared.sqlite3"
    make_table(path)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [context.Process(target=write_rows, args=(str(path), name, start))
                 for name in ("a", "b")]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0]
    database = store.connect(path)
    counts = dict(database.execute("SELECT writer, count(*) FROM marks GROUP BY writer"))
    database.close()
    assert counts == {"a": ROWS_PER_PROCESS, "b": ROWS_PER_PROCESS}


def test_the_lock_file_lies_beside_the_database(tmp_path):
    path = tmp_path / "beside.sqlite3"
    make_table(path)
    assert (tmp_path / f"beside.sqlite3{writers.LOCK_SUFFIX}").exists()


def test_an_in_memory_database_needs_no_lock_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    database = store.connect(":memory:")
    with store.transaction(database):
        database.execute("CREATE TABLE t (x)")
    database.close()
    assert list(tmp_path.iterdir()) == []


def fork_child(check) -> int:
    """Run `check()` in a forked child that exits 0 when it returned True; its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 1
        try:
            status = 0 if check() else 2
        finally:
            os._exit(status)
    return pid


def exit_status(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def in_child(check) -> int:
    """Run `check()` in a forked child; its exit status (0 when it returned True)."""
    return exit_status(fork_child(check))


def test_a_forked_child_does_not_share_the_parents_write_lock(tmp_path):
    """Were the parent's lock descriptor shared, the child would "hold" the parent's
    lock and write at once; with its own, it waits until the parent's turn is over."""
    path = tmp_path / "fork.sqlite3"
    make_table(path)
    released = tmp_path / "released"

    def child_takes_its_turn_only_after_the_parent() -> bool:
        with writers.queue_for(str(path)).turn(timeout=10):
            return released.exists()

    with writers.queue_for(str(path)).turn(timeout=10):
        pid = fork_child(child_takes_its_turn_only_after_the_parent)
        time.sleep(0.3)  # a shared lock would let the child in during this pause
        released.write_text("parent's turn ends")
    assert exit_status(pid) == 0


def test_connections_kept_per_process_are_closed_before_a_fork(tmp_path):
    path = str(tmp_path / "caches.sqlite3")
    make_table(Path(path))
    database = store.connect(path)
    web_db._give_back(path, web_db._take(path))  # one idle connection
    versions.data_version(database)
    with ratelimit_store.connected(str(tmp_path / "limits.sqlite3")):
        pass

    def nothing_inherited() -> bool:
        own = store.connect(path)  # the child opens its own, and they work
        kept = (web_db._idle, versions._monitors, ratelimit_store._connections)
        return (not any(cache.items for cache in kept)
                and versions.data_version(own) is not None)

    assert in_child(nothing_inherited) == 0
    assert not any(cache.items for cache in (web_db._idle, versions._monitors,
                                             ratelimit_store._connections))
    before = versions.data_version(database)  # the parent opens a new monitor
    assert before is not None
    database.close()


def test_a_child_never_closes_what_it_still_inherited(tmp_path):
    """A connection another thread opened between the before-fork hooks and the fork
    is forgotten in the child, and kept referenced so that it is never closed."""
    path = str(tmp_path / "late.sqlite3")
    make_table(Path(path))

    def forgotten() -> bool:
        web_db._give_back(path, web_db._take(path))  # one idle connection
        with ratelimit_store.connected(str(tmp_path / "limits.sqlite3")):
            pass
        versions.data_version(store.connect(path))
        caches = (web_db._idle, versions._monitors, ratelimit_store._connections)
        opened = [connection for cache in caches for entry in cache.items.values()
                  for connection in cache.connections_of(entry)]
        for cache in caches:
            cache.forget_in_child()
        writers._forget_after_fork()
        kept = {id(c) for c in store._inherited}
        return len(opened) == 3 and all(id(c) in kept for c in opened) and not any(
            cache.items for cache in caches)

    assert in_child(forgotten) == 0


def test_the_end_of_a_request_never_closes_the_databases_last_connection(app):
    """The connection goes back to the idle ones: closing the last connection of a WAL
    database would checkpoint, delete the -wal file and sync (~20 ms a request)."""
    path = app.config["DATABASE"]
    web_db.close_idle()
    for number in range(3):
        with app.app_context():
            database = web_db.get_db()
            with store.transaction(database):
                database.execute("CREATE TABLE IF NOT EXISTS marks (n INTEGER)")
                database.execute("INSERT INTO marks VALUES (?)", (number,))
        assert os.path.exists(path + "-wal")
    web_db.close_idle()
    assert not os.path.exists(path + "-wal")  # what the test would see without the pool
