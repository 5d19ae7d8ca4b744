"""Serving the app with waitress, in one process or several (`surveyapp serve`).

One waitress process computes on one core at a time (Python's GIL): a bare
insert-and-redirect route tops out near 290 requests/s on the 2-core bench machine
however many threads serve it (bench/README.md). `run` with `processes > 1` forks that
many children, each running waitress, and the parent supervises them:

- On Linux each child accepts on a listening socket of its own, all bound to the same
  address with SO_REUSEPORT: the kernel hands each new connection to one of them by a
  hash of its addresses and ports, so connections spread evenly however fast they
  arrive. (On one shared socket, whichever process had the CPU took a burst of
  connections, and kept them alive: 2,726 against 338 requests in the bench.) The
  parent holds the port with a socket that is bound but does not listen, so the
  kernel never gives it a connection, and a restarted child binds the same port. The
  connections still waiting in a dying child's socket, not yet accepted, are reset
  (Linux moves them to another socket only with net.ipv4.tcp_migrate_req = 1).
  Elsewhere the children share one listening socket, as one process alone does.

- SIGTERM or SIGINT (Ctrl-C) stops every child gracefully: it stops accepting, finishes
  the requests it holds (up to `DRAIN_SECONDS`) and exits; the parent waits for them,
  kills what is left after `STOP_SECONDS`, and returns. A second signal kills at once.
- A child that dies unexpectedly is replaced, with a log line. When children keep dying
  (more than `MAX_RESTARTS` within `RESTART_WINDOW_SECONDS`), the parent stops the rest
  and raises `ServingError` rather than restart in a loop.
- A child whose parent is gone (kill -9) stops by itself: it watches a pipe whose
  writing end only the parent holds.

Before forking, `gc.freeze()` takes the app's objects out of the collector's sight, so
the collector of a child doesn't write to them and the children share the parent's
memory copy-on-write. No SQLite connection, lock file or thread crosses the fork: each
process opens its own on first use; the connections kept per process are closed before
a fork, and a child forgets what it still inherited (store.ProcessConnections, used by
web/db.py, store/versions.py, store/ratelimits.py; os.register_at_fork in
store/writers.py).

The caller must hold no SQLite connection of its own when calling `run` with several
processes (close it first): SQLite keeps the locks of a file in per-process memory, which
a child would inherit, and a child's connection to that file could then fail with
"database is locked" or, worse, see the parent checkpoint under it.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import waitress
from waitress import wasyncore

log = logging.getLogger(__name__)

# SO_REUSEPORT spreads connections over the sockets only on Linux: on macOS and the BSDs
# the option exists but one socket takes them all (FreeBSD has SO_REUSEPORT_LB).
SPREAD_BY_KERNEL = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
BACKLOG = 1024  # waitress listens again with its own `backlog` option (1024 by default)
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
DRAIN_SECONDS = 10.0  # a stopping child finishes the requests it holds, this long at most
STOP_SECONDS = DRAIN_SECONDS + 5.0  # then the parent kills what is left
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


class ServingError(RuntimeError):
    """The server processes kept dying."""


def listen(host: str, port: int, backlog: int = BACKLOG,
           processes: int = 1) -> socket.socket:
    """The socket to give `run`, bound to `host`:`port` (port 0: any free one, read it
    with `getsockname()`); fails while another server listens there.

    For one process, or where the kernel does not spread connections: a listening
    socket that forked children inherit. For several processes on Linux: a bound socket
    that does not listen, holding the port for each process's own listening socket."""
    family, _kind, _proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    if processes <= 1 or not SPREAD_BY_KERNEL or not hasattr(os, "fork"):
        sock = socket.create_server(address, family=family, backlog=backlog)
        sock.set_inheritable(True)
        return sock
    # SO_REUSEPORT would let this bind join a server of the same user already listening
    # on the port (two instances silently sharing it); a plain bind fails on one.
    with _bound(family, address, reuse_port=False) as probe:
        address = probe.getsockname()
    return _bound(family, address, reuse_port=True)


def _bound(family: int, address: tuple, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to `address`, with the options `socket.create_server` sets."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # despite TIME_WAIT
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def listener_for(sock: socket.socket) -> socket.socket:
    """The socket one server process accepts on: `sock` itself when it listens (shared
    by the processes), else a new listening socket on its address, for that process."""
    if not SPREAD_BY_KERNEL or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return sock
    own = _bound(sock.family, sock.getsockname(), reuse_port=True)
    own.listen(BACKLOG)
    return own


def run(app, sock: socket.socket, processes: int, threads: int,
        **waitress_options) -> None:
    """Serve `app` on `sock` until SIGTERM/SIGINT: in this process when `processes` is
    1 (or the system cannot fork), else in `processes` supervised children."""
    logging.basicConfig()
    log.setLevel(logging.INFO)
    serve = functools.partial(serve_until_stopped, app, threads=threads,
                              options=waitress_options)
    if processes <= 1 or not hasattr(os, "fork"):
        serve(listener_for(sock))
    else:
        Supervisor(serve, processes, sock).run()


# --- one waitress process ----------------------------------------------------------------


def serve_until_stopped(app, sock: socket.socket, threads: int, options: dict,
                        parent_fd: int | None = None) -> None:
    """Run waitress on `sock` until SIGTERM/SIGINT (or, with `parent_fd`, until the
    parent is gone), then drain: stop accepting and finish the requests held."""
    socket_map: dict = {}
    server = waitress.create_server(app, map=socket_map, sockets=[sock], threads=threads,
                                    **options)
    poll = functools.partial(wasyncore.loop, timeout=server.adj.asyncore_loop_timeout,
                             map=socket_map, use_poll=server.adj.asyncore_use_poll, count=1)
    stop = Stop(socket_map)
    try:
        with stop.on_signals():
            if parent_fd is not None:
                _watch_parent(parent_fd, stop)
            while not stop.requested.is_set():
                poll()
            server.accepting = False
            deadline = time.monotonic() + DRAIN_SECONDS
            while _busy(server) and time.monotonic() < deadline:
                poll()
        server.task_dispatcher.shutdown(timeout=1)
    finally:
        server.close()
        wasyncore.close_all(socket_map)
        stop.close()


def _busy(server) -> bool:
    """A request of `server` is queued, running or still being sent."""
    return bool(server.task_dispatcher.queue) or any(
        channel.requests or channel.total_outbufs_len
        for channel in list(server.active_channels.values()))


class Stop(wasyncore.file_dispatcher):
    """Asked to stop: `requested` is set and a byte on a pipe wakes the waitress loop."""

    def __init__(self, socket_map: dict) -> None:
        self.requested = threading.Event()
        read_end, self.write_end = os.pipe()
        os.set_blocking(self.write_end, False)
        super().__init__(read_end, map=socket_map)  # keeps a duplicate of read_end
        os.close(read_end)

    def __call__(self, *_signal) -> None:
        self.requested.set()
        with contextlib.suppress(OSError):  # a full pipe wakes the loop all the same
            os.write(self.write_end, b"\0")

    @contextlib.contextmanager
    def on_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT ask to stop. Outside the main thread signals can't be
        caught: the caller stops the process itself."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {number: signal.signal(number, self) for number in STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def handle_read(self) -> None:
        with contextlib.suppress(OSError):
            self.recv(512)

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        super().close()
        if self.write_end >= 0:
            os.close(self.write_end)
            self.write_end = -1


def _watch_parent(fd: int, stop: Stop) -> None:
    def watch() -> None:
        while os.read(fd, 1):  # nobody writes: end of file once the parent is gone
            pass
        log.warning("server process %d: the supervising process is gone, stopping",
                    os.getpid())
        stop()
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# --- several: the supervising parent -----------------------------------------------------


class Supervisor:
    """Forks `processes` children running `serve(listener, parent_fd=...)` on `sock` or
    on sockets of their own (`listener_for`), and keeps them going."""

    def __init__(self, serve: Callable[..., None], processes: int,
                 sock: socket.socket) -> None:
        self.serve = serve
        self.processes = processes
        self.sock = sock
        self.children: dict[int, float] = {}  # pid: when it started (monotonic)
        self.restarts: collections.deque[float] = collections.deque()

    def run(self) -> None:
        self.wake_r, self.wake_w = os.pipe()  # signal numbers, written by Python's handler
        self.alive_r, self.alive_w = os.pipe()  # children read it: EOF when we are gone
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        handled = (*STOP_SIGNALS, signal.SIGCHLD)
        previous = {number: signal.signal(number, _ignore) for number in handled}
        previous_wakeup = signal.set_wakeup_fd(self.wake_w)
        try:
            for _n in range(self.processes):
                self.start_child()
            self.supervise()
        finally:
            self.stop_children()
            signal.set_wakeup_fd(previous_wakeup)
            for number, handler in previous.items():
                signal.signal(number, handler)
            for fd in (self.wake_r, self.wake_w, self.alive_r, self.alive_w):
                os.close(fd)

    def supervise(self) -> None:
        while True:
            received = self.signals(timeout=1.0)
            if received & STOP_SIGNALS:
                log.info("stopping %d server processes", len(self.children))
                return
            for pid, status in self.reap():
                log.warning("server process %d %s; starting another", pid, describe(status))
                self.brake()
                self.start_child()

    def start_child(self) -> None:
        # Opened before the fork, a child's own socket listens from the moment the child
        # exists: connections made meanwhile wait in it, none is refused.
        listener = listener_for(self.sock)
        try:
            pid = self.fork(listener)
        finally:
            if listener is not self.sock:
                listener.close()  # the child's alone: it closes when the child ends
        self.children[pid] = time.monotonic()
        log.info("server process %d started", pid)

    def fork(self, listener: socket.socket) -> int:
        handled = {*STOP_SIGNALS, signal.SIGCHLD}
        # Blocked until the child has its own handlers: a signal in between would run
        # the parent's, whose wakeup descriptor the child still shares.
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, handled)
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the app's objects stay shared copy-on-write
        pid = os.fork()
        if pid == 0:
            self.become_child(listener, previous_mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        return pid

    def become_child(self, listener: socket.socket, mask: set) -> None:
        """Serve in the forked child; never returns."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for number in (*STOP_SIGNALS, signal.SIGCHLD):
                signal.signal(number, signal.SIG_DFL)
            for fd in (self.wake_r, self.wake_w, self.alive_w):
                os.close(fd)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self.serve(listener, parent_fd=self.alive_r)
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            log.exception("server process %d failed", os.getpid())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def signals(self, timeout: float) -> set[int]:
        """The signals received, waiting up to `timeout` seconds for one."""
        readable, _w, _x = select.select([self.wake_r], [], [], timeout)
        if not readable:
            return set()
        try:
            return set(os.read(self.wake_r, 512))
        except BlockingIOError:
            return set()

    def reap(self) -> list[tuple[int, int]]:
        """(pid, wait status) of the children that ended, forgetting them."""
        ended = []
        for pid in list(self.children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del self.children[pid]
                ended.append((pid, status))
        return ended

    def brake(self) -> None:
        now = time.monotonic()
        self.restarts.append(now)
        while self.restarts[0] < now - RESTART_WINDOW_SECONDS:
            self.restarts.popleft()
        if len(self.restarts) > MAX_RESTARTS:
            raise ServingError(f"server processes died {len(self.restarts)} times within "
                               f"{RESTART_WINDOW_SECONDS:.0f} s; not starting more")

    def stop_children(self) -> None:
        """SIGTERM to every child, wait for them; SIGKILL after STOP_SECONDS or at a
        second SIGTERM/SIGINT."""
        self.send(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.children and time.monotonic() < deadline:
            if self.signals(timeout=0.1) & STOP_SIGNALS:
                break
            self.reap()
        if self.children:
            log.warning("killing %d server processes that did not stop", len(self.children))
            self.send(signal.SIGKILL)
            for pid in list(self.children):
                os.waitpid(pid, 0)
            self.children.clear()

    def send(self, number: int) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)


def _ignore(_number: int, _frame) -> None:
    """The wakeup descriptor carries the signal; the handler only keeps the default
    action (ending the process) from happening."""


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
