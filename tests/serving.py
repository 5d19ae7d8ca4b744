"""The real app under waitress in a subprocess, and a small browser to talk to it.

For tests that need what the Flask test client cannot give: real sockets, several
worker threads writing at once, a process that can be killed with SIGKILL.

    from tests.serving import Browser, serve

    with serve(instance_path, env={"SURVEYAPP_STAFF_RATE_LIMIT": "1000 per minute"}) as server:
        browser = Browser(server.url)
        browser.login("unit1", "password")
        page = browser.get("/self-check")
        assert page.status == 200

API
- `serve(instance_path, *, env=None, threads=8, processes=1, timeout=30, prelude="")`:
  context manager that starts `surveyapp --instance PATH serve` on a free loopback port
  (`processes` server processes, in a session of their own), waits until the app
  answers, yields a `Server`, and stops it on exit (even when the test failed). `env`
  adds environment variables (settings: `SURVEYAPP_<NAME>`); `prelude` is Python run in
  the server process first, e.g. `FAST_PASSWORD_HASHING` (then create the test users
  under `fast_hasher()` too).
- `start(...)`: the same without the context manager; call `server.stop()` yourself.
- `Server`: `url` ("http://127.0.0.1:PORT"), `port`, `instance_path`, `log_path` (the
  server's stdout and stderr), `process` (`subprocess.Popen`, the supervising parent when
  `processes` > 1), `stop()` (SIGTERM, then SIGKILL to every process after a grace
  period), `kill()` (SIGKILL to every server process at once, for crash tests),
  `log_text()`.
- `Browser(base_url, timeout=30)`: one user agent with its own cookie jar. It never
  follows redirects, so a test sees the 302/303 it got. `get(path, headers=None)`,
  `post(path, data, headers=None)` (form-encoded; `data` is a dict or a list of pairs)
  return a `Reply(status, headers, text)` (with `.location` and `.json()`) for every
  status, 4xx and 5xx included; network errors (refused, reset, a half answer from a
  dying server) raise `OSError`. `csrf_token(html)` and
  `hidden_value(html, name)` read hidden fields; `login(login, password)` logs in
  through the real login form (CSRF included) and asserts the redirect.
- `free_port()`: a port nobody listens on right now.
- `die_with_parent`: a `preexec_fn` for a child process that must not outlive the test
  process that started it, however that one ends (even SIGKILL): the kernel sends the
  child SIGTERM when its parent dies (Linux `PR_SET_PDEATHSIG`).
- `CLI_CODE`: `[sys.executable, "-c", CLI_CODE, "--instance", PATH, "backup", FILE]` runs
  any `surveyapp` command in its own process, beside a running server.

The database is the instance's own file: prepare it (migrations, users, rounds) in the
test process before `serve`, and read it afterwards with `store.connect`.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess  # nosec B404: starts our own server with a fixed argument list
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_CODE = "from surveyapp.cli import main; main()"
# A prelude for `start`: argon2id with the smallest costs, as tests/conftest.py does in
# process. Hash the test users' passwords the same way (`fast_hasher()`), or the first
# login rehashes them at full cost.
FAST_PASSWORD_HASHING = ("from tests.serving import fast_hasher; "
                         "from surveyapp.services import accounts; "
                         "accounts.hasher = fast_hasher()")


def fast_hasher():
    from argon2 import PasswordHasher
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent (this test process) dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    instance_path: Path
    log_path: Path
    process: subprocess.Popen

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to the parent and its server processes: no cleanup, no checkpoint, as
        when the machine loses them."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start(instance_path: str | Path, *, env: dict | None = None, threads: int = 8,
          processes: int = 1, timeout: float = 30.0, prelude: str = "") -> Server:
    instance_path = Path(instance_path).resolve()
    port = free_port()
    log_path = instance_path.parent / f"server-{port}.log"
    environment = {**os.environ, "SURVEYAPP_INSTANCE": str(instance_path),
                   "SURVEYAPP_SERVER_THREADS": str(threads),
                   "SURVEYAPP_SERVER_PROCESSES": str(processes),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                               os.environ.get("PYTHONPATH")])),
                   **(env or {})}
    command = [sys.executable, "-c", f"{prelude}\n{CLI_CODE}", "--instance",
               str(instance_path), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,  # nosec B603
                                   env=environment, cwd=str(ROOT), start_new_session=True,
                                   preexec_fn=die_with_parent)
    server = Server(f"http://127.0.0.1:{port}", port, instance_path, log_path, process)
    try:
        wait_until_answering(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_answering(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n"
                               f"{server.log_text()}")
        try:
            if Browser(server.url, timeout=2).get("/login").status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer within {timeout} s:\n{server.log_text()}")


@contextlib.contextmanager
def serve(instance_path: str | Path, **options) -> Iterator[Server]:
    server = start(instance_path, **options)
    try:
        yield server
    finally:
        server.stop()


# --- the browser -------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    text: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def json(self) -> dict:
        return json.loads(self.text)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None


class Browser:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects())

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self._send(urllib.request.Request(self.base_url + path,
                                                 headers=headers or {}))

    def post(self, path: str, data: dict | list, headers: dict | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode("utf-8")
        return self._send(urllib.request.Request(self.base_url + path, data=body,
                                                 headers=headers or {}, method="POST"))

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            response = self.opener.open(request, timeout=self.timeout)  # nosec B310
        except urllib.error.HTTPError as error:  # every status is an answer here
            response = error
        try:
            with response:
                return Reply(response.status, response.headers,
                             response.read().decode("utf-8", "replace"))
        except http.client.HTTPException as error:  # a half answer from a dying server
            raise ConnectionError(str(error)) from error

    def login(self, login: str, password: str) -> None:
        page = self.get("/login")
        reply = self.post("/login", {"csrf_token": csrf_token(page.text), "login": login,
                                     "password": password})
        assert reply.status == 302, f"login as {login} failed: {reply.status}"


def hidden_value(html: str, name: str) -> str | None:
    for tag in re.findall(r"<input[^>]*>", html):
        if re.search(rf'name="{re.escape(name)}"', tag):
            found = re.search(r'value="([^"]*)"', tag)
            return unescape(found.group(1)) if found else ""
    return None


def csrf_token(html: str) -> str:
    token = hidden_value(html, "csrf_token")
    assert token, "no csrf_token on the page"
    return token
