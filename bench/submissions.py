"""Benchmark: department self-check submissions (logged in, CSRF on) under concurrency.

    .venv/bin/python bench/submissions.py [--requests 2000] [--clients 16] [--units 300]

The demo generator's data for `--units` 所属 (both rounds with their answers), plus
`--requests` fresh 所属 with a department login each: a submitted self-check is locked,
so every submission needs a 所属 of its own. Served by waitress in its own process.

A separate client process logs every login in through /login and opens its form page
(which creates the draft, as in a browser), untimed. Then `--clients` keep-alive
connections each post complete forms to `/rounds/2/self-check/<code>/confirm` — every
question answered (random choices from a fixed seed) with evidence notes, the CSRF token
and the version, exactly what the confirmation page posts — and expect the redirect to
the submitted response.

Baseline, in the same run and server: the same bodies posted to the bench-only route
that parses the POST, inserts one response and its answer rows in one transaction and
redirects. Baseline and ours alternate over `--rounds` rounds (each with its share of
the 所属; baseline first, then ours first ...), so load drift falls on both alike.
Targets (2-core machine, 16 clients): at least 50% of the baseline's
throughput, at least 200 per second, p95 under 100 ms.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness

TARGET_SHARE, TARGET_PER_SECOND, TARGET_P95_MS = 0.5, 200, 100


def run_client(job: dict) -> harness.Figures:
    """In the client process: log in, open the forms, then the timed submissions."""
    baseline = job["phase"] == "baseline"
    bodies = job["bodies"]
    jobs = [(unit, bodies[i % len(bodies)]) for i, unit in enumerate(job["units"])]

    def prepare(connection: harness.Connection, share: list) -> dict:
        if baseline:  # one untimed request first, as the real form gets its page view
            unit, body = share[0]
            connection.request("POST", "/__bench/baseline", label="warmup",
                               form=harness.encode_form([*body, ("unit", unit["code"])]))
            return {}
        return {unit["code"]: open_form(connection, job["round"], unit) for unit, _ in share}

    def encode(state: dict, item: tuple) -> harness.Request:
        unit, body = item
        if baseline:
            return harness.Request("POST", "/__bench/baseline", 303, label="baseline",
                                   form=harness.encode_form([*body, ("unit", unit["code"])]))
        session = state[unit["code"]]
        return harness.Request(
            "POST", f"/rounds/{job['round']}/self-check/{unit['code']}/confirm", 302,
            cookies=session["cookies"], label="submit",
            form=session["hidden"] + harness.encode_form(body))

    return harness.hammer(job["port"], job["clients"], jobs, prepare, encode,
                          job.get("server_pids", []))


def open_form(connection: harness.Connection, round_id: int, unit: dict) -> dict:
    """Log in as the 所属's user and open its form: cookies, CSRF token and version."""
    cookies = harness.log_in(connection, unit["login"], harness.BENCH_PASSWORD)
    page = connection.request("GET", f"/rounds/{round_id}/self-check/{unit['code']}",
                              cookies=cookies, label="form")
    version = harness.VERSION_PATTERN.search(page.body)
    if page.status != 200 or version is None:
        raise RuntimeError(f"form of {unit['code']}: HTTP {page.status}")
    hidden = harness.encode_form([("csrf_token", harness.csrf_token(page.body)),
                                  ("version", version.group(1))])
    return {"cookies": cookies, "hidden": hidden + b"&"}


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_options(argv, __doc__, {
        "requests": (2000, 24, "submissions timed (one fresh 所属 each)"),
        "clients": (16, 4, "concurrent clients"),
        "units": (300, 6, "所属 of the demo data")})
    with tempfile.TemporaryDirectory(prefix="bench-submissions-") as folder:
        instance = Path(folder)
        harness.load_prefecture(instance, args.units)
        units = harness.add_answering_units(instance, args.requests)
        bodies = harness.answer_bodies(harness.definition(instance), "department", 200)
        print(f"department submissions bench: {args.requests} submissions "
              f"({len(bodies[0])} fields each) from {args.clients} clients, interleaved "
              f"with the baseline over {args.rounds} rounds, "
              f"{args.processes} server processes of {args.threads} threads, "
              f"{args.units} demo 所属; {harness.machine()}")
        with harness.Server(instance, args.threads, args.processes) as server:
            job = {"port": server.port, "clients": args.clients, "bodies": bodies,
                   "round": harness.OPEN_ROUND}

            def run(phase: str, turn: int) -> harness.Figures:
                # Each round submits its own share of the fresh 所属 (a submitted
                # self-check is locked); the baseline posts the same share.
                return harness.run_client(__file__, {
                    **job, "phase": phase, "units": units[turn::args.rounds]}, server)

            found, timings, spread = harness.interleaved(
                args.rounds, ("baseline", "department"), run, server,
                {"baseline": "baseline", "department": "submit"})
        report(found["baseline"], found["department"], timings,
               [spread["baseline"], spread["department"]])
    return 0


def report(base: harness.Figures, ours: harness.Figures, timings: dict,
           spread: list[str]) -> None:
    ratio, cpu_ratio = harness.compare_submissions("department submissions", base, ours,
                                                   timings, spread)
    met = (ratio >= TARGET_SHARE and ours.per_second >= TARGET_PER_SECOND
           and ours.percentile(0.95) < TARGET_P95_MS and ours.errors == 0)
    print(f"ratio {ratio:.2f} of the baseline's throughput ({cpu_ratio:.1f}x its server "
          f"CPU); target >= {TARGET_SHARE:.0%} of it, >= {TARGET_PER_SECOND}/s, p95 < "
          f"{TARGET_P95_MS} ms: {harness.verdict(met)}")


if __name__ == "__main__":
    if "--client" in sys.argv:
        harness.client_entry(run_client)
    else:
        raise SystemExit(main())
