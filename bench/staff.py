"""Benchmark: anonymous staff survey submissions from many concurrent clients.

    .venv/bin/python bench/staff.py [--units 300] [--requests 6000] [--clients 64]

The demo generator's data for `--units` 所属 and one staff link per 所属, served by
waitress in its own process. A separate client process sends `--requests` complete
staff forms (every question answered, random choices from a fixed seed) spread over
the links, from `--clients` keep-alive connections. Each connection first opens one
form page (its CSRF token and session cookie), untimed.

Baseline, in the same run and server: the same bodies posted to the bench-only route
that parses the POST, inserts the same rows in one transaction and redirects. Baseline
and ours alternate over `--rounds` rounds, a share of the submissions each.
Target (2-core machine): at least 500 submissions per second, no error.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness

TARGET_PER_SECOND = 500


def run_client(job: dict) -> harness.Figures:
    """In the client process: the timed submissions of one phase."""
    links, baseline = job["links"], job["phase"] == "baseline"
    extra = [("unit", job["unit"])] if baseline else []
    bodies = [harness.encode_form(body + extra) for body in job["bodies"]]
    jobs = [(links[i % len(links)], bodies[i % len(bodies)]) for i in range(job["requests"])]

    def prepare(connection: harness.Connection, share: list) -> dict:
        if baseline:  # one untimed request first, as the real form gets its page view
            connection.request("POST", "/__bench/baseline", label="warmup", form=share[0][1])
            return {"cookies": None, "token": ""}
        cookies: dict = {}
        page = connection.request("GET", f"/s/{share[0][0]}", cookies=cookies, label="form")
        token = harness.encode_form([("csrf_token", harness.csrf_token(page.body))])
        return {"cookies": cookies, "token": token + b"&"}

    def encode(state: dict, item: tuple) -> harness.Request:
        link, body = item
        if baseline:
            return harness.Request("POST", "/__bench/baseline", 303, form=body,
                                   label="baseline")
        return harness.Request("POST", f"/s/{link}", 303, form=state["token"] + body,
                               cookies=state["cookies"], label="submit")

    return harness.hammer(job["port"], job["clients"], jobs, prepare, encode,
                          job.get("server_pids", []))


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_options(argv, __doc__, {
        "units": (300, 6, "所属 (one link each)"),
        "requests": (6000, 40, "submissions timed"),
        "clients": (64, 4, "concurrent clients")})
    with tempfile.TemporaryDirectory(prefix="bench-staff-") as folder:
        instance = Path(folder)
        harness.load_prefecture(instance, args.units)
        links = harness.issue_staff_links(instance)
        bodies = harness.answer_bodies(harness.definition(instance), "staff", 200)
        print(f"staff bench: {len(links)} links, {args.requests} submissions from "
              f"{args.clients} clients, {args.processes} server processes of "
              f"{args.threads} threads; {harness.machine()}")
        with harness.Server(instance, args.threads, args.processes) as server:
            job = {"port": server.port, "clients": args.clients, "requests": args.requests,
                   "links": links, "bodies": bodies, "unit": "0302"}
            share = {**job, "requests": max(1, args.requests // args.rounds)}
            found, timings, spread = harness.interleaved(
                args.rounds, ("baseline", "staff"),
                lambda phase, _turn: harness.run_client(__file__, {**share, "phase": phase},
                                                        server),
                server, {"baseline": "baseline", "staff": "submit"})
            memory = server.memory()
        report(found["baseline"], found["staff"], timings, memory,
               [spread["baseline"], spread["staff"]])
    return 0


def report(base: harness.Figures, ours: harness.Figures, timings: dict,
           memory: harness.Memory, spread: list[str]) -> None:
    ratio, cpu_ratio = harness.compare_submissions("staff submissions", base, ours,
                                                   timings, spread)
    met = ours.per_second >= TARGET_PER_SECOND and ours.errors == 0
    print(f"ratio {ratio:.2f} of the baseline's throughput ({cpu_ratio:.1f}x its server "
          f"CPU); target >= {TARGET_PER_SECOND}/s and no error: {harness.verdict(met)}")
    print(f"server memory: {memory.describe()}")


if __name__ == "__main__":
    if "--client" in sys.argv:
        harness.client_entry(run_client)
    else:
        raise SystemExit(main())
