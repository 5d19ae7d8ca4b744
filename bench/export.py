"""Peak memory of a large XLSX `answers` export against openpyxl write-only alone.

    .venv/bin/python bench/export.py              # 2,000,000 answers (a few minutes)
    .venv/bin/python bench/export.py --rows 5000  # a quick look

Builds a throwaway database (the shipped questionnaire, ten 所属, one round with
anonymous staff responses up to the requested number of answers), then runs two child
processes and reads each one's peak resident memory (VmHWM, else ru_maxrss):

- figure: `readmodels.export_sheets` streams the answers from SQLite into an XLSX file;
- baseline: the same number of rows of the same shape, made up in Python and written
  by openpyxl's write-only mode with nothing else around it.

It prints figure, baseline and their ratio, and exits 1 when the figure is above
LIMIT_MB: the export must stream, not hold its rows.

Then it times the two XLSX writers on the same rows (at most WRITER_ROWS of them), in
one process and interleaved (openpyxl, XlsxWriter, openpyxl, … ROUNDS times each), and
prints the median CPU seconds of each and their ratio: `surveyapp.exports` writes with
XlsxWriter's constant-memory mode because this ratio showed it faster.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_MB = 300
WRITER_ROWS = 200_000
ROUNDS = 3
DEFAULT_ROWS = 2_000_000
ROUND_ID = 1  # the one round of the benchmark database


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process image, so it
    starts afresh in each child; ru_maxrss would carry over the parent's peak at fork."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the database -------------------------------------------------------------------


def build_database(path: Path, rows: int) -> int:
    """The shipped questionnaires, ten 所属 and one round holding about `rows` anonymous
    staff answers; returns the number of answers the export will hold."""
    from surveyapp import migrations, store
    from surveyapp.demo import loader as demo
    from surveyapp.readmodels import definitions
    from surveyapp.readmodels import export_sheets as exports
    from surveyapp.services import rounds
    from surveyapp.store import departments

    db = store.connect(path)
    migrations.apply(db)
    with store.transaction(db):
        demo.publish_versions(db, ROOT / "questionnaires", user_id=None)
        departments.upsert_departments(db, [unit(f"B{n:02}", "B00") for n in range(10)]
                                       + [unit("B00", None)])
    created = rounds.create_round(db, 2021, "infosec-selfcheck", "2021.1")
    questionnaire = definitions.get_definition(db, "infosec-selfcheck", "2021.1")
    staff = [q for q in questionnaire.questions_for("staff") if q.choices]
    add_staff_responses(db, created.id, staff, -(-rows // len(staff)))
    total = sum(1 for _ in exports.answers_sheet(db, created.id).rows)
    db.close()
    return total


def unit(code: str, parent: str | None) -> dict:
    return {"code": code, "name": f"所属{code}", "parent_code": parent, "headcount": 100,
            "valid_from": None, "valid_to": None, "successor_code": None}


def add_staff_responses(db, round_id: int, questions, count: int) -> None:
    """Bulk rows through sqlite-utils' table API (a benchmark fixture, not app code)."""
    from surveyapp import store

    codes = [f"B{n:02}" for n in range(10)]
    at = store.now()
    ids = range(1, count + 1)
    db["responses"].insert_all(
        ({"id": i, "round_id": round_id, "department_code": codes[i % len(codes)],
          "audience": "staff", "status": "submitted", "version": 1, "created_at": at,
          "updated_at": at, "submitted_at": at} for i in ids), batch_size=5000)
    db["answers"].insert_all(
        ({"response_id": i, "question_id": q.id, "value": q.choices[i % len(q.choices)].value,
          "score": 1.0, "max_score": q.max_score, "evidence": None, "updated_at": at}
         for i, q in itertools.product(ids, questions)), batch_size=5000)


# --- the two measured runs (each in a child process) ---------------------------------


def run_figure(database: Path, out: Path) -> dict:
    from surveyapp import store
    from surveyapp.readmodels import export_sheets as exports

    db = store.connect(database)
    with out.open("wb") as handle:
        exports.write_file(handle, exports.answers_sheet(db, ROUND_ID), "xlsx")
    db.close()
    return {"peak_mb": peak_mb()}


def run_baseline(rows: int, out: Path) -> dict:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回答")
    for i in range(rows):
        sheet.append([2021, ROUND_ID, "infosec-selfcheck", "2021.1", "0302", "医務薬事課",
                      "staff", i, "submitted", "2021-10-01", "POL", "POL-01", "aware", 1.0,
                      3.0, None])
    workbook.save(out)
    return {"peak_mb": peak_mb()}


# --- the two XLSX writers, timed in turn -------------------------------------------------


def sample_rows(rows: int):
    from datetime import datetime

    stamp = datetime(2021, 10, 1, 9, 30)
    return ([2021, ROUND_ID, "infosec-selfcheck", "2021.1", "0302", "医務薬事課", "staff",
             i, "submitted", stamp, "POL", "POL-01", "aware", 1.0, 3.0, None]
            for i in range(rows))


def write_openpyxl(rows: int, out: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回答")
    for row in sample_rows(rows):
        sheet.append(row)
    workbook.save(out)


def write_xlsxwriter(rows: int, out: Path) -> None:
    from surveyapp import exports

    header = [f"c{i}" for i in range(16)]
    exports.write_xlsx(out, [exports.Sheet("回答", header, sample_rows(rows))], guide=False)


def compare_writers(rows: int, folder: Path) -> tuple[float, float]:
    """Median CPU seconds of (openpyxl, XlsxWriter) writing `rows` rows, interleaved."""
    import statistics

    times: dict[str, list[float]] = {"openpyxl": [], "xlsxwriter": []}
    for _ in range(ROUNDS):
        for name, write in (("openpyxl", write_openpyxl), ("xlsxwriter", write_xlsxwriter)):
            started = time.process_time()
            write(rows, folder / f"{name}.xlsx")
            times[name].append(time.process_time() - started)
    return statistics.median(times["openpyxl"]), statistics.median(times["xlsxwriter"])


def measure(*args: str) -> dict:
    started = time.perf_counter()
    output = subprocess.run([sys.executable, __file__, *args], check=True,  # nosec B603: this script
                            capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--child", choices=("figure", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "figure":
        print(json.dumps(run_figure(args.database, args.out)))
        return 0
    if args.child == "baseline":
        print(json.dumps(run_baseline(args.rows, args.out)))
        return 0
    return compare(args.rows)


def compare(rows: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        database = work / "bench.sqlite3"
        total = build_database(database, rows)
        figure = measure("--child", "figure", "--database", str(database),
                         "--out", str(work / "figure.xlsx"))
        baseline = measure("--child", "baseline", "--rows", str(total),
                           "--out", str(work / "baseline.xlsx"))
        writer_rows = min(total, WRITER_ROWS)
        openpyxl_cpu, xlsxwriter_cpu = compare_writers(writer_rows, work)
    ratio = figure["peak_mb"] / baseline["peak_mb"]
    print(f"answers exported: {total:,}")
    print(f"figure   (export_sheets -> XLSX): peak {figure['peak_mb']:.1f} MB, "
          f"{figure['seconds']:.1f} s")
    print(f"baseline (openpyxl write-only alone): peak {baseline['peak_mb']:.1f} MB, "
          f"{baseline['seconds']:.1f} s")
    print(f"ratio figure/baseline: {ratio:.2f} (limit {LIMIT_MB} MB for the figure)")
    print(f"writers on {writer_rows:,} rows, median CPU of {ROUNDS} interleaved runs: "
          f"openpyxl write-only {openpyxl_cpu:.2f} s, XlsxWriter constant-memory "
          f"{xlsxwriter_cpu:.2f} s")
    print(f"ratio openpyxl/XlsxWriter: {openpyxl_cpu / xlsxwriter_cpu:.2f}")
    return 0 if figure["peak_mb"] < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
