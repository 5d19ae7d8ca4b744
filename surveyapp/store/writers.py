"""Writers queue here before BEGIN IMMEDIATE: the threads of a process on a thread lock,
the processes on a lock file beside the database.

SQLite's busy handler waits for the write lock by sleeping 1 to 100 ms between tries, so
when writers met at BEGIN IMMEDIATE, most of a submission's time went on sleeping while
the lock was free (bench/README.md). Writers that queue here find the database free
instead: the threads of one process on a re-entrant thread lock, then the processes
(server processes, the CLI) on `fcntl.flock` of `<database>.writelock`, which waits in
the kernel without holding the GIL and wakes the next writer as soon as the lock is
released. Writers that don't queue here (a backup, another program) still meet SQLite's
busy timeout, as does a thread that waited longer than the timeout for its turn.

A writer opens the lock file for its turn and closes it after: a flock belongs to an open
file description, which a forked child would share with its parent (and "hold" the
parent's lock), and a lock file deleted under a long-lived descriptor would split the
queue in two. One thread per process waits in the kernel; it waits as long as the
holder's transaction lasts, while the process's other writers give up queueing after
the busy timeout and meet SQLite's busy handler, as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # not POSIX: threads queue, other processes meet the busy timeout
    fcntl = None

LOCK_SUFFIX = ".writelock"


class WriterQueue:
    """The queue of one database file (`path`; empty for an in-memory database, which
    no other process can see: threads only)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.RLock()
        self.depth = 0  # nesting of the thread holding `threads`
        self.fd: int | None = None  # the lock file, open during the outermost turn

    @contextlib.contextmanager
    def turn(self, timeout: float) -> Iterator[None]:
        """Wait for this database's turn; re-entrant for the thread holding it."""
        if not self.threads.acquire(timeout=timeout):
            yield  # waited too long: SQLite's busy timeout decides, as for other writers
            return
        try:
            self.depth += 1
            if self.depth == 1:
                self.fd = self._lock_file()
            yield
        finally:
            self.depth -= 1
            if self.depth == 0:
                self._unlock_file()
            self.threads.release()

    def _lock_file(self) -> int | None:
        """Open and lock the lock file (blocking); None when there is none to lock."""
        if not self.path or fcntl is None:
            return None
        try:
            fd = os.open(self.path + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
        except OSError:  # e.g. a read-only folder: the busy timeout still applies
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _unlock_file(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)  # explicit: a forked child may hold a copy
            os.close(fd)

    def forget(self) -> None:
        """In a forked child: close the copy of a descriptor inherited in the middle of
        a turn. Closing a copy never releases the parent's lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def queue_for(path: str) -> WriterQueue:
    """This process's queue for the database file `path` (as SQLite names it)."""
    queue = _queues.get(path)
    if queue is None:
        with _queues_lock:
            queue = _queues.setdefault(path, WriterQueue(path))
    return queue


def _forget_after_fork() -> None:
    global _queues_lock
    for queue in _queues.values():
        queue.forget()
    _queues.clear()
    _queues_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
