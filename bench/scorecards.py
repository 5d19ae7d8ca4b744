"""Benchmark: every scorecard of a round (PNG radar + A4 PDF) against matplotlib alone.

    .venv/bin/python bench/scorecards.py [--size 300] [--requests 200] [--jobs N]

1. Loads the demo generator's data for `--size` synthetic 所属 (15 部局) into a
   temporary instance (not timed against anything).
2. Per card, interleaved in chunks of ten cards (baseline, ours, baseline, ours ...):
   a minimal matplotlib radar chart of the card's data (a new Figure, polar axes, two
   series, PNG; what a hand-written script does) against our scorecard, its PNG radar
   and its A4 PDF page (charts.draw of both specs) as the build draws them: with the
   font cut down once to the cards' characters (that time counted in ours). CPU time
   of this process; target: ours <= 2x the minimal radar. Then the same for up to 60
   cards drawn on their own from the whole font, as the web draws a page not cached
   yet (printed, no target).
3. Baseline: matplotlib drawing exactly the figures the build writes, one after the
   other in this process, with nothing else (no database, hashing, files or ZIP).
4. The build as `surveyapp scorecards build` runs it (scores, comparison, chart specs,
   drawing, cache and output files, ZIP): in one process, the same resources as the
   baseline (target: <= 1.3x), and with worker processes when there are enough 所属
   (target for 300 所属 on 2 cores: under a minute).
5. A cached chart served through the real app (login, access check, ETag): the median
   of `--requests` requests (target: < 5 ms), and of the 304 answer to If-None-Match.

The machine's load is printed before and after. The last line reads
`scorecards: card=<ratio to the minimal radar> batch=<seconds with workers>`.
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


CHUNK = 10
ALONE_CARDS = 60  # cards drawn on their own too (not the build's way: no target)


def minimal_radar(data: dict) -> bytes:
    """What a hand-written script draws for the same data: a new figure, polar axes,
    both series, the section labels, PNG bytes (the same font, already registered)."""
    import io
    import math

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 4.6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection="polar")
    count = max(len(data["labels"]), 1)
    angles = [2 * math.pi * i / count for i in range(count)] + [0.0]
    for series in (data["reference"], data["values"]):
        closed = [math.nan if v is None else v for v in [*series, *series[:1]]]
        axes.plot(angles, closed, linewidth=2)
        axes.fill(angles, closed, alpha=0.12)
    axes.set_xticks(angles[:-1], data["labels"])
    axes.set_ylim(0, 100)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def card_against_radar(plan: scorecard_files.BuildPlan, batch: bool = True,
                       limit: int | None = None) -> tuple[float, float, int, float]:
    """(our CPU seconds per card, the minimal radar's, cards, CPU seconds of the batch's
    small font), interleaved by chunk. `batch`: as the build draws them, with the font
    cut down to the cards' characters (made once and counted in ours); else as a single
    card is drawn on its own (a page not cached yet), from the whole of IPAexGothic."""
    import matplotlib

    cards = [dict(task.specs) for task in plan.tasks][:limit]
    charts.register_font()
    with tempfile.TemporaryDirectory(prefix="bench-fonts-") as fonts:
        started = time.process_time()
        font = scorecard_files.pages_font(plan.tasks, None, Path(fonts)) if batch else None
        font_cpu = time.process_time() - started
        with charts.batch_font(font):
            with matplotlib.rc_context(charts.style()):
                minimal_radar(cards[0]["png"].data)  # both warmed up once
            for spec in cards[0].values():
                charts.draw(spec)
            ours, base = interleaved(cards)
    return (ours + font_cpu) / len(cards), base / len(cards), len(cards), font_cpu


def interleaved(cards: list[dict]) -> tuple[float, float]:
    """CPU seconds of our cards and of the minimal radars, chunk by chunk in turn."""
    import matplotlib

    ours = base = 0.0
    for start in range(0, len(cards), CHUNK):
        chunk = cards[start:start + CHUNK]
        with matplotlib.rc_context(charts.style()):
            started = time.process_time()
            for card in chunk:
                minimal_radar(card["png"].data)
            base += time.process_time() - started
        started = time.process_time()
        for card in chunk:
            for spec in card.values():
                charts.draw(spec)
        ours += time.process_time() - started
    return ours, base


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
    parser.add_argument("--batch-only", action="store_true",
                        help="only the card ratio and the build with worker processes "
                             "(skip matplotlib drawing every figure and the 1-process build)")
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
        print(f"load: {machine()}")
        ours_card, radar_card, cards, font_cpu = card_against_radar(plan)
        card_ratio = ours_card / radar_card
        print(f"one scorecard (PNG radar + PDF page) as the build draws it: "
              f"{ours_card * 1000:.0f} ms CPU (the batch's small font made once in "
              f"{font_cpu * 1000:.0f} ms, included); minimal matplotlib radar of the same "
              f"data {radar_card * 1000:.0f} ms CPU; ratio {card_ratio:.2f}x (target <= 2x) "
              f"over {cards} cards, interleaved")
        alone, alone_radar, alone_cards, _ = card_against_radar(plan, batch=False,
                                                                limit=ALONE_CARDS)
        print(f"one scorecard drawn on its own (a page not cached yet, whole IPAexGothic): "
              f"{alone * 1000:.0f} ms CPU; minimal radar {alone_radar * 1000:.0f} ms CPU; "
              f"ratio {alone / alone_radar:.2f}x over {alone_cards} cards")
        base = None
        if not args.batch_only:
            base = baseline(plan)
            print(f"baseline, matplotlib alone (1 process): {base.wall:.2f} s, CPU "
                  f"{base.cpu:.2f} s ({base.wall / max(figures, 1) * 1000:.0f} ms per figure)")
            report("build, 1 process (scores, specs, drawing, cache, files, ZIP)",
                   build(instance, 1), base)
        workers = scorecard_files.worker_count(len(plan.tasks), args.jobs)
        batch = None
        if workers > 1:
            batch = build(instance, workers)
            if base is not None:
                report(f"build, {workers} worker processes", batch, base, cpu=False)
            print(f"build, {workers} worker processes: {batch.wall:.1f} s for {len(plan.tasks)} "
                  f"所属 (target for 300 on 2 cores: under 60 s)")
        ok, not_modified = serving(instance, args.requests)
        print(f"cached chart through the app: median {ok.wall:.2f} ms (CPU {ok.cpu:.2f} ms) "
              f"over {args.requests} requests (target < {TARGET_MS} ms); 304 answer: "
              f"median {not_modified.wall:.2f} ms (CPU {not_modified.cpu:.2f} ms)")
    print(f"load after: {machine()}")
    print(f"scorecards: card={card_ratio:.2f} batch="
          f"{f'{batch.wall:.1f}' if batch else 'n/a'}")
    return 0


def machine() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


if __name__ == "__main__":
    raise SystemExit(main())
