"""Several waitress processes for one instance (surveyapp/serving.py): the parent
forks the children, each accepts on a socket of its own (SO_REUSEPORT, Linux) so that
a burst of connections is spread over them, and stopping, crashing and restarting leave
no process behind.

Most rules run `serving.run` in a subprocess on a tiny WSGI app of this test that
answers with its process id (and sleeps on /slow, dies on /die); the last ones run the
real `surveyapp serve`.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import os
import signal
import socket
import subprocess  # nosec B404: starts our own test server
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from surveyapp import serving
from tests.serving import ROOT, Browser, csrf_token, serve

PID_APP = """
import os, sys, time
from surveyapp import serving

def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(float(environ["QUERY_STRING"]))
    if environ["PATH_INFO"] == "/die":
        os._exit(3)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

serving.MAX_RESTARTS = int(sys.argv[2])
sock = serving.listen("127.0.0.1", 0, processes=int(sys.argv[1]))
print(sock.getsockname()[1], flush=True)
serving.run(app, sock, processes=int(sys.argv[1]), threads=4)
"""


@dataclass
class Running:
    process: subprocess.Popen
    port: int
    log_path: Path

    def get(self, path: str = "/", timeout: float = 5) -> str:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # nosec B310
            return reply.read().decode()

    def children(self) -> set[int]:
        return children_of(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def children_of(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "(Z)" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return "(" + Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] + ")"
    except OSError:
        return "(gone)"


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def start(tmp_path):
    started = []

    def start_app(processes: int, max_restarts: int = 5) -> Running:
        log_path = tmp_path / f"run-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # nosec B603: our own test server
                [sys.executable, "-c", PID_APP, str(processes), str(max_restarts)],
                stdout=subprocess.PIPE, stderr=log, cwd=str(ROOT), start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        started.append(process)
        port = int(process.stdout.readline())
        running = Running(process, port, log_path)
        assert wait_for(lambda: len(running.children()) == processes or processes == 1)
        return running

    yield start_app
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()


def test_requests_are_answered_by_every_server_process(start):
    running = start(processes=2)
    children = running.children()
    answered = set()
    deadline = time.monotonic() + 5
    while answered != children and time.monotonic() < deadline:
        answered.add(int(running.get()))
    assert answered == children and len(children) == 2
    assert running.process.pid not in answered


spread_by_kernel = pytest.mark.skipif(not serving.SPREAD_BY_KERNEL,
                                      reason="SO_REUSEPORT spreads connections on Linux")


@spread_by_kernel
def test_a_burst_of_connections_is_spread_over_the_server_processes(start):
    running = start(processes=2)
    answered = burst(running.port, connections=40)
    assert set(answered) == running.children()
    # The kernel picks a process by a hash of each connection's ports: 40 split about
    # 20:20, and fewer than 5 on one side has odds near one in ten million.
    assert min(answered.values()) >= 5, answered


@spread_by_kernel
def test_only_the_server_processes_listen_and_the_parent_holds_the_port(start):
    running = start(processes=2)
    assert listening_sockets(running.process.pid, running.port) == 0
    assert [listening_sockets(pid, running.port) for pid in running.children()] == [1, 1]
    with pytest.raises(OSError):  # a second server can't join the port (same user)
        serving.listen("127.0.0.1", running.port, processes=2)


@spread_by_kernel
def test_a_restarted_child_serves_on_the_same_port(start):
    running = start(processes=2)
    first = min(running.children())
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: len(running.children()) == 2 and first not in running.children())
    assert set(burst(running.port, connections=40)) == running.children()


def burst(port: int, connections: int) -> collections.Counter:
    """Opens `connections` connections at once, then sends a request on each: how many
    each process (its pid) answered. A connection nobody accepts fails the timeout."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _n in range(connections)]
    answered: collections.Counter = collections.Counter()
    try:
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        for sock in socks:
            reply = http.client.HTTPResponse(sock)
            reply.begin()
            answered[int(reply.read())] += 1
    finally:
        for sock in socks:
            sock.close()
    return answered


def listening_sockets(pid: int, port: int) -> int:
    """How many TCP sockets listening on `port` process `pid` holds (/proc/net/tcp)."""
    listening = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:  # 0A: LISTEN
            listening.add(f"socket:[{fields[9]}]")
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            held.append(os.readlink(fd))
    return sum(target in listening for target in held)


def test_one_process_serves_in_the_calling_process(start):
    running = start(processes=1)
    assert int(running.get()) == running.process.pid
    assert running.children() == set()
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(5) == 0


def test_sigterm_stops_the_parent_and_every_child(start):
    running = start(processes=2)
    children = running.children()
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(10) == 0
    assert not any(alive(pid) for pid in children)
    assert "stopping 2 server processes" in running.log()


def test_ctrl_c_stops_the_whole_process_group(start):
    running = start(processes=2)
    children = running.children()
    os.killpg(running.process.pid, signal.SIGINT)  # what the terminal sends
    assert running.process.wait(10) == 0
    assert not any(alive(pid) for pid in children)
    assert "Traceback" not in running.log()


def test_a_request_in_flight_is_finished_when_stopping(start):
    running = start(processes=2)
    answers = []
    slow = threading.Thread(target=lambda: answers.append(running.get("/slow?1.0")))
    slow.start()
    time.sleep(0.3)
    running.process.send_signal(signal.SIGTERM)
    slow.join(10)
    assert running.process.wait(10) == 0
    assert len(answers) == 1 and answers[0].isdigit()


def test_a_killed_child_is_replaced(start):
    running = start(processes=2)
    first, second = sorted(running.children())
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: len(running.children()) == 2 and first not in running.children())
    assert second in running.children()
    assert f"server process {first} was killed by signal 9; starting another" in running.log()
    assert int(running.get()) in running.children()


def test_children_that_keep_dying_make_the_parent_give_up(start):
    running = start(processes=2, max_restarts=2)
    for _attempt in range(20):
        if running.process.poll() is not None:
            break
        with contextlib.suppress(OSError):  # the child dies before answering
            running.get("/die", timeout=2)
        time.sleep(0.1)
    assert running.process.wait(10) == 1
    assert "ServingError" in running.log() and "not starting more" in running.log()
    assert running.children() == set()


def test_children_stop_when_the_parent_is_killed(start):
    running = start(processes=2)
    children = running.children()
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(5)
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=5)


# --- the real command ----------------------------------------------------------------


def test_surveyapp_serve_runs_the_app_in_two_processes(app, instance_path):
    with serve(instance_path, processes=2, threads=2) as server:
        children = children_of(server.process.pid)
        assert len(children) == 2
        statuses = [failed_login(server.url) for _n in range(6)]
        # LOGIN_RATE_LIMIT, 5 per minute, holds whichever process answered.
        assert statuses == [401] * 5 + [429]
        assert any(open_databases(child) for child in children)
        assert open_databases(server.process.pid) == []  # the parent only supervises
        server.stop()
        assert server.process.returncode == 0
    assert not any(alive(pid) for pid in children)
    assert "(processes: 2, threads: 2)" in server.log_text()


def failed_login(url: str) -> int:
    """A new connection (any process may take it) and a wrong password: reads and
    writes the database and the rate-limit store."""
    browser = Browser(url)
    page = browser.get("/login")
    return browser.post("/login", {"csrf_token": csrf_token(page.text), "login": "nobody",
                                   "password": "wrong"}).status


def open_databases(pid: int) -> list[str]:
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
    return [target for target in targets if ".sqlite3" in target]


def test_serve_warns_when_memory_storage_would_multiply_the_limits(app, instance_path):
    env = {"SURVEYAPP_RATELIMIT_STORAGE_URI": "memory://"}
    with serve(instance_path, processes=2, threads=2, env=env) as server:
        pass
    assert "every rate limit is 2 times as high" in server.log_text()
