"""Benchmark: the server's memory after 10,000 submissions.

    .venv/bin/python bench/memory.py [--requests 10000] [--units 300] [--clients 16]

The demo generator's data for `--units` 所属 and one staff link each, served by waitress
in `--processes` processes. The server's memory is the PSS (proportional set size, from
/proc/<pid>/smaps_rollup) summed over the supervising process and its forked children:
pages the processes share count once in the sum, not once per process. Each process's
RSS and peak RSS (VmRSS, VmHWM) are printed beside it. It is read after start-up and a
first look at the pages, after `--requests` submissions to the bench-only baseline
route (parse, one insert transaction, redirect), and after `--requests` staff survey
submissions through the real form, all from a separate client process (the staff
scenario's client).
Target (2-core machine): under 200 MB after 10,000 submissions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import harness
import staff

LIMIT_MB = 200


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_options(argv, __doc__, {
        "requests": (10_000, 40, "submissions"),
        "units": (300, 6, "所属 (one link each)"),
        "clients": (16, 4, "concurrent clients")})
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        instance = Path(folder)
        harness.load_prefecture(instance, args.units)
        links = harness.issue_staff_links(instance)
        bodies = harness.answer_bodies(harness.definition(instance), "staff", 200)
        print(f"memory bench: {args.requests} submissions from {args.clients} clients, "
              f"{len(links)} links, {args.processes} server processes of {args.threads} "
              f"threads; {harness.machine()}")
        with harness.Server(instance, args.threads, args.processes) as server:
            job = {"port": server.port, "clients": args.clients, "requests": args.requests,
                   "links": links, "bodies": bodies, "unit": "0302"}
            first_look(server.port, links[0], 2 * args.processes)
            started = server.memory()
            base = harness.run_client(staff.__file__, {**job, "phase": "baseline"}, server)
            after_base = server.memory()
            ours = harness.run_client(staff.__file__, {**job, "phase": "staff"}, server)
            after_ours = server.memory()
        report(started, (base, after_base), (ours, after_ours))
    return 0


def first_look(port: int, link: str, connections: int) -> None:
    """One of each page involved, so start-up memory includes the loaded templates;
    over a few connections, which the kernel hands to the server processes."""
    opened = [harness.Connection(port) for _ in range(connections)]
    for connection in opened:
        connection.request("GET", f"/s/{link}", label="warmup")
        connection.request("GET", "/__bench/page", label="warmup")
    for connection in opened:
        connection.close()


def report(started: harness.Memory, baseline: tuple, ours: tuple) -> None:
    base, base_memory = baseline
    figures, memory = ours
    print(f"after start-up: {started.describe()}")
    print(f"baseline: after {base.requests} submissions to the bare route: "
          f"{base_memory.describe()} ({base.errors} errors)")
    print(f"staff submissions: after {figures.requests} more through the real form: "
          f"{memory.describe()} ({figures.errors} errors)")
    met = memory.pss < LIMIT_MB and figures.errors == 0
    print(f"ratio {memory.pss / base_memory.pss:.2f} of the baseline's PSS; server memory "
          f"(PSS summed over its processes) {memory.pss:.0f} MB, target < {LIMIT_MB} MB: "
          f"{harness.verdict(met)}")


if __name__ == "__main__":
    raise SystemExit(main())
