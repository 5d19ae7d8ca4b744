"""Results pages at prefecture scale: 300 所属 in 15 部局, two rounds of the demo.

Run: `.venv/bin/python -m bench.results_pages` (about 15 s to build the data).

Prints, per page, the median and p95 time of a full request and its ratio to the
baseline measured in the same run: `aggregate.compute_round_scores` for the same round,
uncached (the computation every page of the round needs). The pages read it from the
memo after their first view, so a ratio well under 1 is what the memo buys; a ratio
near or above 1 means the page recomputes or adds as much as the aggregation. The target
for the round table is p95 < 150 ms on the reference machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from surveyapp import create_app, migrations, store
from surveyapp.demo import cast
from surveyapp.demo import loader as demo
from surveyapp.readmodels import aggregate

ROOT = Path(__file__).resolve().parent.parent
BUREAUS, UNITS_PER_BUREAU, REPEAT = 15, 20, 15


def timings(action: Callable[[], object]) -> tuple[float, float]:
    """(median, p95) in milliseconds over REPEAT runs after one warm-up."""
    action()
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def build(folder: Path) -> None:
    cast.BUREAUS = tuple(
        (f"{b:02d}", f"部局{b}", tuple(f"課{b}-{i}" for i in range(1, UNITS_PER_BUREAU + 1)))
        for b in range(1, BUREAUS + 1))
    database = store.connect(folder / "surveyapp.sqlite3")
    migrations.apply(database)
    demo.load_demo(database, ROOT / "questionnaires")
    database.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder)
        app = create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": "bench",
                          "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        client.post("/login", data={"login": "admin", "password": "demo-admin-2021"})
        database = store.connect(folder / "surveyapp.sqlite3")
        base_median, base_p95 = timings(
            lambda: aggregate.compute_round_scores(database, 2, 5))
        print(f"baseline aggregate.compute_round_scores (uncached): "
              f"median {base_median:.0f} ms, p95 {base_p95:.0f} ms")
        for url in ("/results/rounds/2/", "/results/rounds/2/?view=findings&sort=overall",
                    "/results/rounds/2/questions", "/results/departments/0101/",
                    "/results/compare"):
            assert client.get(url).status_code == 200, url
            median, p95 = timings(lambda url=url: client.get(url))
            print(f"{url}: median {median:.0f} ms, p95 {p95:.0f} ms, "
                  f"p95 / baseline p95 = {p95 / base_p95:.2f}")
        database.close()


if __name__ == "__main__":
    main()
