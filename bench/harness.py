"""Shared machinery of the web benchmarks: data, a real server, a separate client.

Each scenario script (bench/submissions.py, staff.py, pages.py, memory.py) runs in
three parts:

- the script itself builds a temporary instance with a fixed seed and reads the
  results;
- the server: `python bench/harness.py serve INSTANCE THREADS PROCESSES` builds
  `create_app` on that instance, adds the bench-only pieces below and serves it as
  `surveyapp serve` does (surveyapp/serving.py): a free loopback port, waitress (the
  production server) in PROCESSES forked processes of THREADS threads, each on a
  listening socket of its own (SO_REUSEPORT; in the process itself for 1), the bench
  pieces in place before the fork;
- the client: the scenario script again with `--client`. It prepares untimed (logins,
  form pages, CSRF tokens, on one `http.client` connection per share), encodes every
  timed request to bytes, then runs them from one thread: a `selectors` loop over N
  keep-alive sockets, one request in flight on each. It measures each request's
  latency and its own CPU time, and the server processes' CPU time from /proc.

Bench-only pieces on the server (never part of the product):

- `POST /__bench/baseline`: the bare minimum for a submission — parse the POST, insert
  one response row and its answer rows in one BEGIN IMMEDIATE transaction, redirect.
  It needs no login and no CSRF token, so its clients send neither.
- `GET /__bench/page`: the bare minimum for a page — one query, a small template.
- a WSGI wrapper that records how long the server spent on each request, keyed by the
  client's `X-Bench-Label` header, in a file per server process; `GET /__bench/timings`
  reads (and resets) those of every process.

Server settings for the bench: rate limits are raised to 1,000,000 per minute (not
switched off, so the limiter's own cost stays in the figures), and passwords are hashed
with argon2's smallest costs, because thousands of logins are set-up, not measured.
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import json
import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20211001
QUESTIONNAIRE_ID = "infosec-selfcheck"
OPEN_ROUND = 2  # the demo's FY2021 round, open for answers
BASELINE_FISCAL_YEAR = 2099  # the baseline route writes into a round of its own
BENCH_BUREAU = "BN"
BENCH_PASSWORD = "bench-password-2021"
HIGH_LIMIT = "1000000 per minute"
LABEL_HEADER = "X-Bench-Label"
SERVER_START_SECONDS = 60
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION_PATTERN = re.compile(r'name="version" value="(\d+)"')


# --- data (in the scenario script's process) -----------------------------------------


def fast_password_hashing() -> None:
    """argon2id with its smallest costs: the same code paths, logins in a millisecond."""
    from argon2 import PasswordHasher

    from surveyapp.services import accounts

    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def synthetic_bureaus(units: int) -> tuple:
    """`units` 所属 spread over up to 15 部局, codes as the demo's; 0302 (the demo
    login's 所属) always exists."""
    count = min(15, max(3, units // 20))
    sizes = [units // count + (i < units % count) for i in range(count)]
    return tuple((f"{b + 1:02d}", f"第{b + 1}部",
                  tuple(f"第{b + 1}部 第{i + 1}課" for i in range(max(size, 2))))
                 for b, size in enumerate(sizes))


def load_prefecture(instance: Path, units: int) -> None:
    """The demo generator's data (FY2020 closed, FY2021 open, staff answers, logins)
    for `units` synthetic 所属, plus a round that only the baseline route writes to."""
    from surveyapp import migrations, store
    from surveyapp.demo import cast
    from surveyapp.demo import loader as demo
    from surveyapp.services import rounds

    database = store.connect(instance / "surveyapp.sqlite3")
    migrations.apply(database)
    cast.BUREAUS = synthetic_bureaus(units)
    fast_password_hashing()
    demo.load_demo(database, ROOT / "questionnaires", seed=SEED)
    # Left in draft: one round of a questionnaire may be open, and the baseline route
    # writes without asking.
    rounds.create_round(database, BASELINE_FISCAL_YEAR, QUESTIONNAIRE_ID, "2021.1")
    database.close()


def add_answering_units(instance: Path, count: int) -> list[dict]:
    """`count` new 所属 under a bench 部局, each with its own department login and no
    FY2021 response yet: a submitted self-check is locked, so every submission needs
    a 所属 of its own."""
    from surveyapp import store
    from surveyapp.services import accounts
    from surveyapp.store import departments as department_store
    from surveyapp.store import users as user_store

    database = store.connect(instance / "surveyapp.sqlite3")
    units = [{"code": f"{BENCH_BUREAU}{n:05d}", "login": f"bench{n:05d}"}
             for n in range(count)]
    password_hash = accounts.hash_password(BENCH_PASSWORD)
    with store.transaction(database):
        department_store.upsert_departments(database, [_unit_row(BENCH_BUREAU, None)] + [
            _unit_row(unit["code"], BENCH_BUREAU) for unit in units])
        for unit in units:
            user_store.insert_user(database, unit["login"], "department", password_hash,
                                   unit["code"], "bench")
    database.close()
    return units


def _unit_row(code: str, parent: str | None) -> dict:
    return {"code": code, "name": f"ベンチ{code}", "parent_code": parent,
            "headcount": 0 if parent is None else 30, "valid_from": None,
            "valid_to": None, "successor_code": None}


def issue_staff_links(instance: Path, round_id: int = OPEN_ROUND) -> list[str]:
    """One staff link per 所属 of the round, issued as an admin does; the raw tokens."""
    from surveyapp import store
    from surveyapp.services import staff
    from surveyapp.store import users as user_store

    codes = unit_codes(instance)
    database = store.connect(instance / "surveyapp.sqlite3")
    admin = user_store.get_user_by_login(database, "admin")["id"]
    tokens = [staff.issue_link(database, round_id, code, admin) for code in codes]
    database.close()
    return tokens


def unit_codes(instance: Path) -> list[str]:
    """Codes of the 所属 that answer (not the bench's own 部局), in tree order."""
    from surveyapp import store
    from surveyapp.store import departments as department_store

    database = store.connect(instance / "surveyapp.sqlite3")
    codes = [unit["code"] for unit in department_store.list_units(database)
             if not unit["code"].startswith(BENCH_BUREAU)]
    database.close()
    return codes


def definition(instance: Path):
    from surveyapp import store
    from surveyapp.readmodels import definitions

    database = store.connect(instance / "surveyapp.sqlite3")
    found = definitions.get_definition(database, QUESTIONNAIRE_ID, "2021.1")
    database.close()
    return found


def answer_bodies(questionnaire, audience: str, count: int, seed: int = SEED
                  ) -> list[list[tuple[str, str]]]:
    """`count` complete forms (field name, value) with random choices: every question
    of the audience answered, an evidence note wherever the question takes one."""
    import random

    rng = random.Random(seed)  # nosec B311: reproducible bench data
    return [_one_body(questionnaire, audience, rng) for _ in range(count)]


def _one_body(questionnaire, audience: str, rng) -> list[tuple[str, str]]:
    body = []
    for question in questionnaire.questions_for(audience):
        if question.choices:
            body.append((f"q_{question.id}", rng.choice(question.choices).value))
        elif question.type == "text":
            body.append((f"q_{question.id}", rng.choice(("特になし。", "研修の資料がほしい。"))))
        if question.evidence != "none":
            body.append((f"e_{question.id}", f"{rng.randint(2021, 2022)}年度 管理簿"))
    return body


# --- the server (in its own process) -------------------------------------------------


def bench_app(instance: Path, threads: int):
    """`create_app` on `instance` with the bench-only routes and timing wrapper."""
    from surveyapp import create_app

    fast_password_hashing()
    # BENCH_CONFIG (JSON) overrides settings, to measure a part's share, e.g.
    # BENCH_CONFIG='{"RATELIMIT_ENABLED": false}' or '{"RATELIMIT_STORAGE_URI": "memory://"}'.
    overrides = json.loads(os.environ.get("BENCH_CONFIG") or "{}")
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench-secret",
                      "LOGIN_RATE_LIMIT": HIGH_LIMIT,
                      "LOGIN_RATE_LIMIT_PER_ADDRESS": HIGH_LIMIT,
                      "STAFF_RATE_LIMIT": HIGH_LIMIT, "SERVER_THREADS": threads,
                      **overrides})
    add_baseline_routes(app)
    app.wsgi_app = TimingMiddleware(app.wsgi_app, instance / "bench-timings")
    return app


def add_baseline_routes(app) -> None:
    from flask import redirect, render_template_string, request

    from surveyapp import store
    from surveyapp.web.db import get_db
    from surveyapp.web.extensions import csrf

    round_id = _baseline_round(app)

    @csrf.exempt
    def baseline_submit():
        """Parse the POST, one insert transaction of the same rows, redirect."""
        at = store.now()
        posted = [(name[2:], value) for name, value in request.form.items(multi=True)
                  if name.startswith("q_")]
        database = get_db()
        with store.transaction(database):
            response_id = database["responses"].insert({
                "round_id": round_id, "department_code": request.form["unit"],
                "audience": "staff", "status": "submitted", "created_at": at,
                "updated_at": at, "submitted_at": at}).last_pk
            database["answers"].insert_all(
                {"response_id": response_id, "question_id": question_id, "value": value,
                 "updated_at": at} for question_id, value in posted)
        return redirect("/__bench/done", 303)

    def baseline_page():
        """One query and a small template: what any page of ours costs at least."""
        count = get_db()["responses"].count_where("round_id = ?", [round_id])
        return render_template_string("<!doctype html><title>bench</title><p>{{ n }}</p>",
                                      n=count)

    app.add_url_rule("/__bench/baseline", "bench_baseline", baseline_submit,
                     methods=["POST"])
    app.add_url_rule("/__bench/page", "bench_page", baseline_page)


def _baseline_round(app) -> int:
    from surveyapp import store
    from surveyapp.readmodels import rounds as round_reads

    database = store.connect(app.config["DATABASE"])
    found = [r.id for r in round_reads.list_rounds(database)
             if r.fiscal_year == BASELINE_FISCAL_YEAR]
    database.close()
    return found[0]


class TimingMiddleware:
    """Server time per request (until the body is produced), grouped by label: the
    wall time, and the CPU time of the serving thread, which a busy machine does not
    inflate (it leaves out waiting for the GIL, the disk and other processes).

    Each server process appends its requests, one line each, to a file of its own in
    `folder` (`<pid>.tsv`), after the clock has stopped; `GET /__bench/timings`, served
    by whichever process gets it, reads every process's file and empties them.
    """

    def __init__(self, wsgi_app, folder: Path) -> None:
        self.wsgi_app = wsgi_app
        self.folder = folder
        folder.mkdir(exist_ok=True)
        self.files: dict[int, int] = {}  # pid: descriptor (a forked child opens its own)
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__bench/timings":
            return self.report(start_response)
        started, cpu_started = time.perf_counter(), time.thread_time()
        body = b"".join(self.wsgi_app(environ, start_response))
        wall = (time.perf_counter() - started) * 1000
        cpu = (time.thread_time() - cpu_started) * 1000
        label = environ.get("HTTP_X_BENCH_LABEL", "unlabelled").replace("\t", " ")
        os.write(self._file(), f"{label}\t{wall:.4f}\t{cpu:.4f}\n".encode())
        return [body]

    def _file(self) -> int:
        pid = os.getpid()
        if pid not in self.files:
            with self.lock:
                if pid not in self.files:
                    self.files[pid] = os.open(self.folder / f"{pid}.tsv",
                                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return self.files[pid]

    def report(self, start_response):
        data: dict[str, list[tuple[float, float]]] = {}
        processes: dict[str, dict[str, int]] = {}  # pid: {label: requests}
        for path in sorted(self.folder.glob("*.tsv")):
            with open(path, "r+", encoding="utf-8") as file:
                lines = file.read().splitlines()
                file.truncate(0)
            counts = processes.setdefault(path.stem, {})
            for line in lines:
                label, wall, cpu = line.split("\t")
                data.setdefault(label, []).append((float(wall), float(cpu)))
                counts[label] = counts.get(label, 0) + 1
        payload = json.dumps({"labels": data, "processes": processes}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]


def serve(instance: str, threads: str, processes: str) -> None:
    """Serve the bench app as `surveyapp serve` does (surveyapp/serving.py: a listening
    socket, then waitress in `processes` forked processes, or in this one for 1), with
    the bench routes and the timing wrapper in place before the fork; print the port."""
    import logging

    from surveyapp import serving

    # "Task queue depth is N" is waitress saying requests wait for a thread: expected
    # when 64 clients press on 8 threads, and the figures show the wait anyway. The
    # supervisor's "started"/"stopping" lines are left out too; its warnings are not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger(serving.__name__).addFilter(
        lambda record: record.levelno >= logging.WARNING)
    app = bench_app(Path(instance), int(threads))
    sock = serving.listen("127.0.0.1", 0, processes=int(processes))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    serving.run(app, sock, int(processes), app.config["SERVER_THREADS"],
                connection_limit=1000)


def parse_options(argv: list[str] | None, doc: str, sizes: dict[str, tuple]):
    """The options of a web bench script: its sizes (`{"requests": (default, quick
    value, help)}`), --processes and --threads defaulting to the product's settings,
    and --quick, which takes the quick values (the smoke test's tiny sizes). Also makes
    each printed line show at once."""
    from surveyapp.config import DEFAULTS

    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    for name, (default, _quick, text) in sizes.items():
        parser.add_argument(f"--{name}", type=int, default=default, help=text)
    parser.add_argument("--processes", type=int, default=DEFAULTS["SERVER_PROCESSES"],
                        help="server processes (default: the product's SERVER_PROCESSES)")
    parser.add_argument("--threads", type=int, default=DEFAULTS["SERVER_THREADS"],
                        help="waitress threads per server process (default: the "
                             "product's SERVER_THREADS)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        for name, (_default, quick, _text) in sizes.items():
            setattr(args, name, quick)
    return args


def die_with_parent() -> None:
    """In the server process, before exec: SIGTERM when the scenario script dies, however
    it dies (Linux PR_SET_PDEATHSIG), so a stopped bench or test run leaves no server."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    """The server: its process and forked children, their memory, and the recorded
    timings of all of them."""

    def __init__(self, instance: Path, threads: int, processes: int) -> None:
        self.processes = processes
        self.process = subprocess.Popen(  # nosec B603: our own module, fixed arguments
            [sys.executable, str(Path(__file__).resolve()), "serve", str(instance),
             str(threads), str(self.processes)], stdout=subprocess.PIPE, text=True,
            preexec_fn=die_with_parent)
        self.pid = self.process.pid
        self.port = self._read_port()
        self._wait_for_children()

    def _read_port(self) -> int:
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the bench server did not start: {line!r}")
        return int(line.split()[1])

    def _wait_for_children(self) -> None:
        """The port is printed before the fork: wait until every child is there."""
        expected = 1 + (self.processes if self.processes > 1 else 0)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while len(self.pids()) < expected:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the bench server's processes did not start")
            time.sleep(0.05)

    def pids(self) -> list[int]:
        """The serving process and its children (the forked waitress processes)."""
        found = [self.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # a process that ended meanwhile
                continue
            if int(fields[1]) == self.pid:  # its parent
                found.append(int(stat.parent.name))
        return found

    def memory(self) -> Memory:
        """PSS summed over the server's processes (each shared page counted once), and
        each process's RSS and peak RSS, in MB."""
        processes = []
        for pid in self.pids():
            rollup = _proc_fields(f"/proc/{pid}/smaps_rollup")
            status = _proc_fields(f"/proc/{pid}/status")
            processes.append(ProcessMemory(pid, rollup.get("Pss", 0) / 1024,
                                           status.get("VmRSS", 0) / 1024,
                                           status.get("VmHWM", 0) / 1024))
        return Memory(sum(p.pss for p in processes), processes)

    def timings(self) -> dict[str, list[list[float]]]:
        """[wall ms, CPU ms] per request and label since the last call (which resets
        them), from every server process; `requests_per_process` keeps how many
        requests each process served in that span."""
        connection = Connection(self.port)
        reply = connection.request("GET", "/__bench/timings")
        connection.close()
        found = json.loads(reply.body)
        self.requests_per_process = list(found["processes"].values())
        return found["labels"]

    def spread(self, label: str) -> str:
        """How the requests of `label` since the last `timings()` were spread over the
        processes (the kernel gives each new connection to whichever process accepts
        it first, and a kept-alive connection stays there)."""
        counts = sorted((counts.get(label, 0) for counts in
                         getattr(self, "requests_per_process", [])), reverse=True)
        return (f"{label} requests per server process: {', '.join(map(str, counts))}"
                if counts else "")

    def stop(self) -> None:
        self.process.terminate()  # the parent stops its children (surveyapp/serving.py)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class ProcessMemory:
    pid: int
    pss: float
    rss: float
    peak_rss: float


@dataclass
class Memory:
    """`pss`: the server's memory, PSS summed over its processes (a page shared by n
    processes counts 1/n in each), in MB."""

    pss: float
    processes: list[ProcessMemory]

    def describe(self) -> str:
        each = ", ".join(f"{p.rss:.0f}" for p in self.processes)
        peaks = ", ".join(f"{p.peak_rss:.0f}" for p in self.processes)
        return (f"PSS {self.pss:.0f} MB over {len(self.processes)} processes "
                f"(RSS {each} MB; peak RSS {peaks} MB)")


def processes_cpu_ms(pids: list[int]) -> float:
    """CPU time used so far by these processes, every thread (for the server: waitress's
    own work on the connections too, which the timing wrapper does not see), in ms."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def _proc_fields(path: str) -> dict[str, int]:
    """`Name: <n> kB` lines of a /proc file, as {name: kB}; empty if it is gone."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        value = rest.split()
        if value and value[0].isdigit():
            fields[name.strip()] = int(value[0])
    return fields


# --- the client (in its own process) -------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


class Connection:
    """One keep-alive HTTP/1.1 connection to the bench server, for the untimed part
    (logins, form pages, CSRF tokens, timings); the timed requests go through `hammer`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, form: list | bytes | None = None,
                cookies: dict | None = None, label: str = "") -> Reply:
        headers = {LABEL_HEADER: label or path}
        body = None
        if form is not None:
            body = form if isinstance(form, bytes) else encode_form(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        try:
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
        except (http.client.HTTPException, OSError):
            self.http.close()  # the server closed a kept-alive connection: once more
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
        reply = Reply(response.status, dict(response.getheaders()),
                      response.read().decode("utf-8", "replace"))
        if cookies is not None:
            remember_cookies(response.headers.get_all("Set-Cookie") or [], cookies)
        return reply

    def close(self) -> None:
        self.http.close()


def encode_form(pairs: list) -> bytes:
    """Form pairs (tuples, or lists after a JSON round trip) as a urlencoded body."""
    return urllib.parse.urlencode([tuple(pair) for pair in pairs]).encode()


def remember_cookies(set_cookies: list[str], cookies: dict) -> None:
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()


def csrf_token(html: str) -> str:
    found = CSRF_PATTERN.search(html)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def log_in(connection: Connection, login: str, password: str) -> dict:
    """A logged-in session's cookies, through the real login form."""
    cookies: dict = {}
    page = connection.request("GET", "/login", cookies=cookies, label="login")
    reply = connection.request("POST", "/login", cookies=cookies, label="login", form=[
        ("csrf_token", csrf_token(page.body)), ("login", login), ("password", password)])
    if reply.status != 302:
        raise RuntimeError(f"login {login} failed: HTTP {reply.status}")
    return cookies


@dataclass
class Figures:
    """What one timed run of requests gave, as seen by the client."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    first_error: str = ""
    client_cpu_ms: float = 0.0  # the client process's CPU per request
    server_cpu_ms: float = 0.0  # the server processes' CPU per request, all threads

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        return percentile(self.latencies_ms, share)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Request:
    """One timed request and the status it must answer; encoded to bytes before the
    clock starts. Its cookies are the ones the preparation gathered: no timed request
    of the scenarios depends on a cookie set by an earlier timed reply."""

    method: str
    path: str
    expect: int
    form: list | bytes | None = None
    cookies: dict | None = None
    label: str = ""

    def encode(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 f"{LABEL_HEADER}: {self.label or self.path}"]
        body = b""
        if self.form is not None:
            body = self.form if isinstance(self.form, bytes) else encode_form(self.form)
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def hammer(port: int, clients: int, jobs: list, prepare, encode,
           server_pids: list[int] = ()) -> Figures:
    """Run `jobs` over `clients` keep-alive connections, each with its share.

    Untimed: `prepare(connection, my_jobs) -> state` runs once per share (one thread
    each, on its own `Connection`: logins, form pages, CSRF tokens), then
    `encode(state, job) -> Request` turns every job into bytes. Timed: one thread, one
    `selectors` loop over `clients` sockets, each with one request in flight; wall time
    runs from the common start to the last reply, and the client's own CPU time over
    the same span is reported per request (it shares the machine with the server), as
    is the CPU time of `server_pids` (read from /proc) when given.
    """
    shares = [share for share in (jobs[i::clients] for i in range(clients)) if share]

    def prepared(share: list) -> list[bytes]:
        connection = Connection(port)
        try:
            state = prepare(connection, share)
        finally:
            connection.close()
        requests = [encode(state, job) for job in share]
        return [(request.encode(port), request.expect) for request in requests]

    with ThreadPoolExecutor(max_workers=len(shares) or 1) as pool:
        queues = list(pool.map(prepared, shares))
    return _EventLoop(port, queues, server_pids).run()


class _Channel:
    """One client socket and its queue of (request bytes, expected status)."""

    def __init__(self, port: int, queue: list) -> None:
        self.port, self.queue, self.next = port, queue, 0
        self.sock: socket.socket | None = None
        self.outbox = memoryview(b"")
        self.inbox = bytearray()
        self.started = 0.0
        self.retried = False

    def connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)

    @property
    def current(self) -> tuple[bytes, int]:
        return self.queue[self.next]



class _EventLoop:
    TIMEOUT_SECONDS = 60

    def __init__(self, port: int, queues: list[list], server_pids: list[int]) -> None:
        self.port = port
        self.server_pids = list(server_pids)
        self.channels = [_Channel(port, queue) for queue in queues if queue]
        self.selector = selectors.DefaultSelector()
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def run(self) -> Figures:
        # Untimed, all at once: each server process accepts on its own socket and the
        # kernel spreads them (surveyapp/serving.py). On one shared socket, the process that had
        # the CPU took nearly all and kept them: 2,726 against 338 requests.
        for channel in self.channels:
            channel.connect()
        server_started = processes_cpu_ms(self.server_pids)
        cpu_started = time.process_time()
        started = time.perf_counter()
        open_channels = len(self.channels)
        for channel in self.channels:
            self._send_next(channel, register=True)
        while open_channels:
            for key, events in self.selector.select(timeout=1.0):
                channel = key.data
                if events & selectors.EVENT_WRITE:
                    self._write(channel)
                if events & selectors.EVENT_READ and self._read(channel):
                    open_channels -= 1
            open_channels -= self._expire()
        elapsed = time.perf_counter() - started
        cpu = (time.process_time() - cpu_started) * 1000
        server = processes_cpu_ms(self.server_pids) - server_started
        self.selector.close()
        requests = max(len(self.latencies), 1)
        return Figures(len(self.latencies), self.errors, elapsed, self.latencies,
                       self.first_error, cpu / requests, server / requests)

    # one request in flight per channel

    def _send_next(self, channel: _Channel, register: bool = False) -> None:
        channel.outbox = memoryview(channel.current[0])
        channel.inbox.clear()
        channel.started = time.perf_counter()
        if register:
            self.selector.register(channel.sock, selectors.EVENT_READ, channel)
        self._write(channel)

    def _write(self, channel: _Channel) -> None:
        try:
            sent = channel.sock.send(channel.outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the read side sees the closed connection
        channel.outbox = channel.outbox[sent:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if channel.outbox else 0)
        self.selector.modify(channel.sock, events, channel)

    def _read(self, channel: _Channel) -> bool:
        """Read what arrived; True when the channel has finished its queue."""
        try:
            data = channel.sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            return self._closed(channel)
        channel.inbox += data
        parsed = parse_response(channel.inbox)
        if parsed is None:
            return False
        status, keep_alive = parsed
        return self._done(channel, status, keep_alive)

    def _done(self, channel: _Channel, status: int, keep_alive: bool,
              error: str = "") -> bool:
        self.latencies.append((time.perf_counter() - channel.started) * 1000)
        expected = channel.current[1]
        if not error and status != expected:
            error = f"HTTP {status} (expected {expected})"
        if error:
            self.errors += 1
            self.first_error = self.first_error or error
        channel.next += 1
        channel.retried = False
        if channel.next == len(channel.queue):
            self.selector.unregister(channel.sock)
            channel.sock.close()
            return True
        if not keep_alive:
            self._reconnect(channel)
        self._send_next(channel)
        return False

    def _closed(self, channel: _Channel) -> bool:
        """The server closed the connection while a request was in flight."""
        if b"\r\n\r\n" in channel.inbox:  # a reply without a length ends at the close
            return self._done(channel, int(channel.inbox.split(b" ", 2)[1]), False)
        if not channel.inbox and not channel.retried:
            # A kept-alive connection closed before our request reached it: once more.
            self._reconnect(channel)
            channel.retried = True
            channel.outbox = memoryview(channel.current[0])
            self._write(channel)
            return False
        return self._done(channel, 0, False, "connection closed by the server")

    def _reconnect(self, channel: _Channel) -> None:
        self.selector.unregister(channel.sock)
        channel.sock.close()
        channel.connect()
        channel.inbox.clear()
        self.selector.register(channel.sock, selectors.EVENT_READ, channel)

    def _expire(self) -> int:
        """Requests in flight for longer than TIMEOUT_SECONDS count as errors."""
        finished = 0
        now = time.perf_counter()
        for channel in self.channels:
            if (channel.next < len(channel.queue)
                    and now - channel.started > self.TIMEOUT_SECONDS):
                finished += self._done(channel, 0, False, "no reply within "
                                       f"{self.TIMEOUT_SECONDS} s")
        return finished


def parse_response(data: bytearray) -> tuple[int, bool] | None:
    """(status, keep-alive) once `data` holds a whole response, else None. Reads only
    the status line, Content-Length, Transfer-Encoding and Connection."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(data[:end]).split(b"\r\n")
    version, status = lines[0].split(b" ", 2)[:2]
    length, chunked = None, False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = value.strip().lower() == b"keep-alive"
    start = end + 4
    if chunked:
        complete = _chunked_end(data, start)
    elif length is not None:
        complete = len(data) >= start + length
    else:
        complete = status in (b"204", b"304")  # else the body runs to the close
    return (int(status), keep_alive) if complete else None


def _chunked_end(data: bytearray, position: int) -> bool:
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return False
        size = int(bytes(data[position:line_end]).split(b";", 1)[0], 16)
        if size == 0:  # then the trailers, if any, and an empty line
            return data.find(b"\r\n\r\n", line_end) >= 0
        position = line_end + 2 + size + 2
        if position > len(data):
            return False


def run_client(script: str, job: dict, server: Server | None = None) -> Figures:
    """Run `script --client` as a separate process with `job` (plus the server's
    process ids as `server_pids`, for its CPU time); its Figures."""
    if server is not None:
        job = {**job, "server_pids": server.pids()}
    result = subprocess.run(  # nosec B603: our own script, fixed arguments
        [sys.executable, script, "--client"], input=json.dumps(job), text=True,
        capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the bench client failed:\n{result.stderr}")
    return Figures(**json.loads(result.stdout))


def client_entry(run) -> None:
    """In the client process: read the job from stdin, print the Figures as JSON."""
    job = json.load(sys.stdin)
    figures = run(job)
    json.dump(asdict(figures), sys.stdout)


# --- reporting -----------------------------------------------------------------------


def describe(figures: Figures) -> str:
    text = (f"{figures.per_second:.0f}/s, p50 {figures.percentile(0.5):.1f} ms, "
            f"p95 {figures.percentile(0.95):.1f} ms over {figures.requests} requests, "
            f"{figures.errors} errors; client CPU {figures.client_cpu_ms:.2f} ms per request")
    if figures.server_cpu_ms:
        text += (f", server processes' CPU {figures.server_cpu_ms:.2f} ms per request "
                 "(all threads)")
    if figures.first_error:
        text += f" (first: {figures.first_error})"
    return text


def compare_submissions(what: str, base: Figures, ours: Figures, timings: dict,
                        spread: list[str]) -> tuple[float, float]:
    """Print the baseline's and our submissions' figures side by side (client and server
    view, how the connections spread); (throughput ratio, server CPU ratio) to the
    baseline. `timings` and `spread` hold the labels "baseline" and "submit"."""
    print(f"baseline (parse, one insert transaction, redirect): {describe(base)}")
    print(f"{what}: {describe(ours)}")
    print(f"  server time: ours {server_ms(timings.get('submit', []))}; "
          f"baseline {server_ms(timings.get('baseline', []))}")
    if spread[0]:
        print(f"  {spread[1]}; {spread[0]}")
    ratio = ours.per_second / base.per_second if base.per_second else float("nan")
    return ratio, (mean_cpu(timings.get("submit", []))
                   / mean_cpu(timings.get("baseline", [])))


def server_ms(timed: list[list[float]]) -> str:
    """Server wall time percentiles and mean CPU per request of one label."""
    if not timed:
        return "no requests"
    wall = [pair[0] for pair in timed]
    cpu = statistics.fmean(pair[1] for pair in timed)
    return (f"p50 {percentile(wall, 0.5):.1f} ms, p95 {percentile(wall, 0.95):.1f} ms, "
            f"CPU {cpu:.2f} ms per request")


def server_p95(timed: list[list[float]]) -> float:
    return percentile([pair[0] for pair in timed], 0.95)


def mean_cpu(timed: list[list[float]]) -> float:
    return statistics.fmean(pair[1] for pair in timed) if timed else float("nan")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def machine() -> str:
    """The CPUs and how busy they were: other work on the machine slows every figure
    but the ratios and the CPU per request."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    text = f"{os.cpu_count()} CPUs, load average {load}, Python {sys.version.split()[0]}"
    if os.environ.get("BENCH_CONFIG"):
        text += f"; BENCH_CONFIG={os.environ['BENCH_CONFIG']}"
    return text


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "serve":
    serve(sys.argv[2], sys.argv[3], sys.argv[4])
