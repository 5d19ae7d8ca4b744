"""Benchmark: server time of the pages people wait for, on a prefecture-sized round.

    .venv/bin/python bench/pages.py [--units 300] [--requests 200] [--clients 2]

The demo generator's data for `--units` 所属 (FY2020 and FY2021 closed, FY2026 open, about 25
staff answers per 所属 and year), served by waitress in its own process. A separate
client process logs in through /login and requests, phase after phase:

- form: the department form of the demo login `dept` (its FY2026 draft, with its system blocks);
- results: the FY2026 results table of every 所属, as an admin;
- scorecard: the scorecards of up to 50 所属, as an admin, each opened once before the
  timed requests so its charts are drawn and cached, as they are after a first look;
- after-write: the FY2026 results table again, each view the first after a staff
  submission in the same round (one connection: submission, view, submission, view ...),
  so the kept figures of the submitting 所属 are computed again for each; its CPU is
  compared with the warm views of the results phase (target: at most 3x).

Server time is measured inside the server (a bench-only WSGI wrapper); the client's
latency is printed beside it. Baseline, in the same run and server: a bench-only page
that runs one query and renders a small template. Targets (2-core machine): server time
p95 under 50 ms (form), 150 ms (results for 300 所属) and 50 ms (scorecard).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import harness

TARGETS_MS = {"form": 50, "results": 150, "scorecard": 50}
AFTER_WRITE_TARGET = 3.0  # CPU of a first view after a write / of a warm view
LOGINS = {"form": ("dept", "demo-dept-2021"), "results": ("admin", "demo-admin-2021"),
          "scorecard": ("admin", "demo-admin-2021"), "after-write": ("admin", "demo-admin-2021"),
          "baseline": None}
CHART_PATTERN = re.compile(r'src="(/scorecards/charts/[0-9a-f]{64}[^"]*)"')
SCORECARD_UNITS = 50


def page_paths(units: list[str], round_id: int) -> dict[str, list[str]]:
    cards = units[:SCORECARD_UNITS]
    return {"baseline": ["/__bench/page"],
            "form": [f"/rounds/{round_id}/self-check/0302"],
            "results": [f"/results/rounds/{round_id}/"],
            "scorecard": [f"/scorecards/rounds/{round_id}/departments/{code}/"
                          for code in cards]}


def run_client(job: dict) -> harness.Figures:
    """In the client process: log in, open each page once, then the timed requests."""
    if job["phase"] == "after-write":
        return after_write(job)
    phase, paths = job["phase"], job["paths"]
    jobs = [paths[i % len(paths)] for i in range(job["requests"])]

    def prepare(connection: harness.Connection, share: list) -> dict:
        login = LOGINS[phase]
        cookies = harness.log_in(connection, *login) if login else {}
        for path in dict.fromkeys(share):  # first look: draws and caches the charts
            page = connection.request("GET", path, cookies=cookies, label="warmup")
            for chart in CHART_PATTERN.findall(page.body):
                connection.request("GET", chart, cookies=cookies, label="warmup")
        return cookies

    def encode(cookies: dict, path: str) -> harness.Request:
        return harness.Request("GET", path, 200, cookies=cookies, label=phase)

    return harness.hammer(job["port"], job["clients"], jobs, prepare, encode,
                          job.get("server_pids", []))


def after_write(job: dict) -> harness.Figures:
    """Staff submission, results view, submission, view ... on one connection."""
    link, bodies = job["link"], job["bodies"]
    jobs = [(kind, i) for i in range(job["requests"]) for kind in ("write", "view")]

    def prepare(connection: harness.Connection, _share: list) -> dict:
        staff: dict = {}
        page = connection.request("GET", f"/s/{link}", cookies=staff, label="warmup")
        token = harness.encode_form([("csrf_token", harness.csrf_token(page.body))])
        admin = harness.log_in(connection, *LOGINS["after-write"])
        connection.request("GET", job["paths"][0], cookies=admin, label="warmup")
        return {"staff": staff, "token": token + b"&", "admin": admin}

    def encode(state: dict, item: tuple) -> harness.Request:
        kind, i = item
        if kind == "write":
            return harness.Request("POST", f"/s/{link}", 303, cookies=state["staff"],
                                   form=state["token"] + harness.encode_form(
                                       bodies[i % len(bodies)]),
                                   label="write")
        return harness.Request("GET", job["paths"][0], 200, cookies=state["admin"],
                               label="after-write")

    return harness.hammer(job["port"], 1, jobs, prepare, encode,
                          job.get("server_pids", []))


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_options(argv, __doc__, {
        "units": (300, 6, "所属 of the demo data"),
        "requests": (200, 8, "requests per page"),
        "clients": (2, 2, "concurrent clients")})
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        instance = Path(folder)
        harness.load_prefecture(instance, args.units)
        paths = page_paths(harness.unit_codes(instance), harness.OPEN_ROUND)
        print(f"pages bench: {args.units} 所属, {args.requests} requests per page from "
              f"{args.clients} clients, {args.processes} server processes of "
              f"{args.threads} threads; {harness.machine()}")
        paths["after-write"] = paths["results"]
        link = harness.issue_staff_links(instance)[0]
        bodies = harness.answer_bodies(harness.definition(instance), "staff", 20)
        with harness.Server(instance, args.threads, args.processes) as server:
            results = {}
            for phase in ("baseline", "form", "results", "scorecard", "after-write"):
                figures = harness.run_client(__file__, {
                    "port": server.port, "clients": args.clients, "phase": phase,
                    "requests": args.requests if phase != "after-write" else
                    max(2, args.requests // 5), "paths": paths[phase], "link": link,
                    "bodies": bodies}, server)
                results[phase] = (figures, server.timings().get(phase, []),
                                  server.spread(phase))
        report(results)
    return 0


def report(results: dict) -> None:
    base_figures, base_timed, _spread = results.pop("baseline")
    base_p95 = harness.server_p95(base_timed)
    print(f"baseline (one query, small template): server {harness.server_ms(base_timed)}; "
          f"client {harness.describe(base_figures)}")
    after, after_timed, _spread = results.pop("after-write")
    warm_cpu = harness.mean_cpu(results["results"][1])
    ratio = harness.mean_cpu(after_timed) / warm_cpu
    for phase, (figures, timed, spread) in results.items():
        p95 = harness.server_p95(timed)
        met = p95 < TARGETS_MS[phase] and figures.errors == 0
        print(f"{phase}: server {harness.server_ms(timed)}; client {harness.describe(figures)}")
        print(f"  ratio {p95 / base_p95:.1f}x the baseline's server p95; target p95 < "
              f"{TARGETS_MS[phase]} ms: {harness.verdict(met)}; {spread}")
    print(f"results, first view after a staff submission: server "
          f"{harness.server_ms(after_timed)}; client {harness.describe(after)}")
    print(f"  ratio {ratio:.2f}x the warm view's CPU; target <= {AFTER_WRITE_TARGET:g}x: "
          f"{harness.verdict(ratio <= AFTER_WRITE_TARGET and after.errors == 0)}")


if __name__ == "__main__":
    if "--client" in sys.argv:
        harness.client_entry(run_client)
    else:
        raise SystemExit(main())
