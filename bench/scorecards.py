"""Benchmark: every scorecard of a round (PNG radar + A4 PDF) against matplotlib alone.

    .venv/bin/python bench/scorecards.py [--size 300] [--requests 200] [--jobs N]

1. Loads the demo generator's data for `--size` synthetic 所属 (15 部局) into a
   temporary instance (not timed against anything).
2. Baseline: matplotlib drawing exactly the figures the build writes, one after the
   other in this process, with nothing else (no database, hashing, files or ZIP).
3. The build as `surveyapp scorecards build` runs it (scores, comparison, chart specs,
   drawing, cache and output files, ZIP): in one process, the same resources as the
   baseline (target: <= 1.3x), and with worker processes when there are enough 所属.
4. A cached chart served through the real app (login, access check, ETag): the median
   of `--requests` requests (target: < 5 ms), and of the 304 answer to If-None-Match.

Prints its figures and exits 0; it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402

from surveyapp import charts, create_app, migrations, store  # noqa: E402
from surveyapp.demo import cast  # noqa: E402
from surveyapp.demo import loader as demo  # noqa: E402
from surveyapp.readmodels import scorecard_files  # noqa: E402
from surveyapp.services import accounts  # noqa: E402

ROUND_FY2021 = 2
BUREAU_COUNT = 15
MINIMUM_SIZE = 6  # the demo generator sets 4 small 所属 aside besides the login's own
ANONYMITY_MIN = 5
TARGET_RATIO, TARGET_MS = 1.3, 5.0
SAMPLE_NAMES = ("総務課", "R&D $推進$ 室", "情報企画課", r"企画\調整課", "保健所")


def synthetic_bureaus(size: int) -> tuple:
    """`size` 所属 spread over up to 15 部局; 0302 (the demo login's 所属) exists."""
    bureaus = min(BUREAU_COUNT, max(1, size // 2))
    per_bureau = [size // bureaus + (i < size % bureaus) for i in range(bureaus)]
    return tuple(
        (f"{b + 1:02d}", f"第{b + 1}部",
         tuple(f"{SAMPLE_NAMES[(b + i) % len(SAMPLE_NAMES)]}{b + 1}-{i + 1}"
               for i in range(max(count, 2 if b == 2 else 1))))
        for b, count in enumerate(per_bureau))


def load_data(instance: Path, size: int) -> float:
    started = time.perf_counter()
    database = store.connect(instance / "surveyapp.sqlite3")
    migrations.apply(database)
    cast.BUREAUS = synthetic_bureaus(size)
    # The bench measures scorecards, not password hashing.
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    demo.load_demo(database, ROOT / "questionnaires")
    database.close()
    return time.perf_counter() - started


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds, and CPU seconds of this process (steadier on a busy machine;
    worker processes' CPU is not in it)."""

    wall: float
    cpu: float


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float]) -> Timing:
    wall, cpu = clock()
    return Timing(wall - started[0], cpu - started[1])


def baseline(plan: scorecard_files.BuildPlan) -> Timing:
    """matplotlib alone: draw every figure of the plan, keep nothing."""
    started = clock()
    for task in plan.tasks:
        for _suffix, spec in task.specs:
            charts.DRAWERS[spec.kind][0](**spec.data)
    return since(started)


def build(instance: Path, jobs: int | None) -> Timing:
    """The CLI's work from the database to the ZIP, with an empty chart cache."""
    out, cache = instance / f"out-{jobs}", instance / "cache" / "charts"
    shutil.rmtree(cache, ignore_errors=True)
    database = store.connect(instance / "surveyapp.sqlite3")
    started = clock()
    plan = scorecard_files.plan_build(database, ROUND_FY2021, scorecard_files.FORMATS,
                                      ANONYMITY_MIN)
    scorecard_files.run_build(plan, out, jobs=jobs, cache_dir=cache)
    elapsed = since(started)
    database.close()
    return elapsed


def serving(instance: Path, requests: int) -> tuple[Timing, Timing]:
    """Median milliseconds of a cached chart (200) and of its 304, through the app."""
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"login": "admin", "password": "demo-admin-2021"})
    page = client.get(f"/scorecards/rounds/{ROUND_FY2021}/departments/0302/").text
    url = "/scorecards/charts/" + re.findall(r"/scorecards/charts/([0-9a-f]{64})", page)[0]
    client.get(url).close()  # drawn once, cached from here on
    etag = {"If-None-Match": '"' + url.rsplit("/", 1)[1] + '"'}
    return median_ms(client, url, {}, 200, requests), median_ms(client, url, etag, 304,
                                                                 requests)


def median_ms(client, url: str, headers: dict, status: int, requests: int) -> Timing:
    walls, cpus = [], []
    for _ in range(requests):
        started = clock()
        response = client.get(url, headers=headers)
        taken = since(started)
        walls.append(taken.wall * 1000)
        cpus.append(taken.cpu * 1000)
        assert response.status_code == status, response.status_code
        response.close()
    return Timing(statistics.median(walls), statistics.median(cpus))


def report(label: str, measured: Timing, base: Timing, cpu: bool = True) -> None:
    line = (f"{label}: {measured.wall:.2f} s  ratio {measured.wall / base.wall:.2f}x "
            f"(target <= {TARGET_RATIO}x)")
    if cpu:
        line += (f"; CPU {measured.cpu:.2f} s vs {base.cpu:.2f} s, "
                 f"ratio {measured.cpu / base.cpu:.2f}x")
    print(line)


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # each figure shows as soon as it is known
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=300, help="synthetic 所属")
    parser.add_argument("--requests", type=int, default=200, help="chart requests timed")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes for the parallel build (default: auto)")
    args = parser.parse_args(argv)
    size = max(args.size, MINIMUM_SIZE)
    with tempfile.TemporaryDirectory(prefix="bench-scorecards-") as folder:
        instance = Path(folder)
        loaded = load_data(instance, size)
        database = store.connect(instance / "surveyapp.sqlite3")
        plan = scorecard_files.plan_build(database, ROUND_FY2021, scorecard_files.FORMATS,
                                     ANONYMITY_MIN)
        database.close()
        figures = sum(len(task.specs) for task in plan.tasks)
        print(f"scorecards bench: {len(plan.tasks)} 所属, {figures} figures "
              f"(PNG radar + PDF page each), {os.cpu_count()} CPUs; data loaded in "
              f"{loaded:.1f} s")
        base = baseline(plan)
        print(f"baseline, matplotlib alone (1 process): {base.wall:.2f} s, CPU "
              f"{base.cpu:.2f} s ({base.wall / max(figures, 1) * 1000:.0f} ms per figure)")
        report("build, 1 process (scores, specs, drawing, cache, files, ZIP)",
               build(instance, 1), base)
        workers = scorecard_files.worker_count(len(plan.tasks), args.jobs)
        if workers > 1:
            report(f"build, {workers} worker processes", build(instance, workers), base,
                   cpu=False)
        ok, not_modified = serving(instance, args.requests)
        print(f"cached chart through the app: median {ok.wall:.2f} ms (CPU {ok.cpu:.2f} ms) "
              f"over {args.requests} requests (target < {TARGET_MS} ms); 304 answer: "
              f"median {not_modified.wall:.2f} ms (CPU {not_modified.cpu:.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
