"""Benchmark: the results of one round while it is being answered (issue 19).

    .venv/bin/python bench/results.py [--answers 2000000] [--rounds 5]

The demo generator's data for 300 所属 (harness.load_prefecture), its open FY2026 round
grown with copies of its submitted staff responses until the round holds `--answers`
answers. Then, with the machine's load printed before and after:

1. **groupby**: the uncached results of the round (`aggregate.compute_round_scores`:
   every 所属's section, finding and overall scores, staff means from the anonymity
   minimum on, system means, 部局 and prefecture) against one hand-written SQL GROUP BY
   computing the same 所属 figures in the database (`UNIT_SQL`), checked equal first,
   then timed interleaved: baseline, ours, baseline, ours ... over `--rounds` rounds.
   Target: ours / baseline <= 2.
2. **pages over HTTP**: the server as `surveyapp serve` runs it (bench/harness.py),
   one admin connection on the results page of the round. In each of `--rounds` rounds
   (the order of the two writes alternating): warm views; a staff submission in the
   same round through a staff link, then the first view; an autosave of a 所属's draft
   (a write that cannot change a score), then the first view. Server CPU time per view
   (the serving thread's, steadier than wall time on a busy machine; wall printed
   beside it). Target: each first view <= 3x the median warm view.

The last line reads `results: groupby=<ratio> after_submission=<ratio>
after_unrelated=<ratio>`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness

UNITS = 300
ANONYMITY_MIN = 5
RESULTS_PAGE = f"/results/rounds/{harness.OPEN_ROUND}/"
TARGETS = {"groupby": 2.0, "after_submission": 3.0, "after_unrelated": 3.0}
WARM_VIEWS = 3
DEPARTMENT_LOGIN = ("dept", "demo-dept-2021", "0302")  # its FY2026 response is a draft

# The 所属 figures of §4 and §12 in one statement: department answers of the submitted
# response, staff means from the anonymity minimum on, system questions as the mean over
# the 所属's systems; section, finding and overall scores per 所属.
UNIT_SQL = """
WITH
q AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS question_id,
             json_extract(value, '$[1]') AS weight, json_extract(value, '$[2]') AS section_id
      FROM json_each(:questions)),
qf AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS question_id,
              json_extract(value, '$[1]') AS finding FROM json_each(:findings)),
submitted AS (SELECT department_code FROM responses
              WHERE round_id = :round_id AND audience = 'department' AND status = 'submitted'),
dept AS (SELECT r.department_code, a.question_id, a.score / a.max_score AS r
         FROM answers a JOIN responses r ON r.id = a.response_id
         WHERE r.round_id = :round_id AND r.audience = 'department' AND r.status = 'submitted'
           AND a.score IS NOT NULL AND a.max_score > 0),
staff AS (SELECT r.department_code, a.question_id, AVG(a.score / a.max_score) AS r
          FROM answers a JOIN responses r ON r.id = a.response_id
          WHERE r.round_id = :round_id AND r.audience = 'staff' AND r.status = 'submitted'
            AND a.score IS NOT NULL AND a.max_score > 0
            AND r.department_code IN (
                SELECT department_code FROM responses
                WHERE round_id = :round_id AND audience = 'staff' AND status = 'submitted'
                GROUP BY department_code HAVING COUNT(*) >= :minimum)
          GROUP BY r.department_code, a.question_id),
sys AS (SELECT r.department_code, a.question_id, AVG(a.score / a.max_score) AS r
        FROM answers a JOIN responses r ON r.id = a.response_id
        WHERE r.round_id = :round_id AND r.audience = 'system'
          AND r.department_code IN (SELECT department_code FROM submitted)
          AND a.score IS NOT NULL AND a.max_score > 0
        GROUP BY r.department_code, a.question_id),
each_q AS MATERIALIZED (
    SELECT u.department_code, u.question_id, q.section_id, q.weight, u.r
    FROM (SELECT * FROM dept UNION ALL SELECT * FROM staff UNION ALL SELECT * FROM sys) u
    JOIN q ON q.question_id = u.question_id)
SELECT department_code, 'section', section_id, MAX(0, 100 * SUM(weight * r) / SUM(weight))
FROM each_q GROUP BY department_code, section_id
UNION ALL
SELECT department_code, 'finding', qf.finding, MAX(0, 100 * SUM(weight * r) / SUM(weight))
FROM each_q JOIN qf ON qf.question_id = each_q.question_id
GROUP BY department_code, qf.finding
UNION ALL
SELECT department_code, 'overall', '', MAX(0, 100 * SUM(weight * r) / SUM(weight))
FROM each_q GROUP BY department_code
"""


# --- data ------------------------------------------------------------------------------


def grow_round(instance: Path, answers: int) -> tuple[int, int]:
    """Copies of the round's submitted staff responses (round robin over the 所属, so
    each 所属 grows alike) until it holds `answers` answers; (answers, staff responses)."""
    from surveyapp import store

    database = store.connect(instance / "surveyapp.sqlite3")
    round_id = harness.OPEN_ROUND
    templates = [row[0] for row in database.execute(
        "SELECT id FROM responses WHERE round_id = ? AND audience = 'staff' "
        "AND status = 'submitted' ORDER BY department_code, id", [round_id])]
    count = _round_answers(database, round_id)
    while count < answers:  # staff responses differ in size: until there are enough
        _copy_staff(database, templates, answers - count)
        count = _round_answers(database, round_id)
    database.execute("ANALYZE")
    found = count, _staff_responses(database, round_id)
    database.close()
    return found


def _copy_staff(database, templates: list[int], answers: int) -> None:
    """About `answers` more answers: copies of the template staff responses."""
    from surveyapp import store

    per_response = _round_answers(database, harness.OPEN_ROUND) / max(
        1, _staff_responses(database, harness.OPEN_ROUND))
    needed = max(1, -int(-answers // per_response))
    with store.transaction(database):
        next_id = database.execute("SELECT MAX(id) FROM responses").fetchone()[0] + 1
        copies = [(next_id + n, templates[n % len(templates)]) for n in range(needed)]
        database.conn.executemany(
            "INSERT INTO responses (id, round_id, department_code, audience, status, "
            "created_at, updated_at, submitted_at) SELECT ?, round_id, department_code, "
            "audience, status, created_at, updated_at, submitted_at FROM responses "
            "WHERE id = ?", copies)
        database.conn.executemany(
            "INSERT INTO answers (response_id, question_id, value, score, max_score, "
            "updated_at) SELECT ?, question_id, value, score, max_score, updated_at "
            "FROM answers WHERE response_id = ?", copies)


def _round_answers(database, round_id: int) -> int:
    return database.execute(
        "SELECT COUNT(*) FROM answers JOIN responses ON responses.id = answers.response_id "
        "WHERE responses.round_id = ?", [round_id]).fetchone()[0]


def _staff_responses(database, round_id: int) -> int:
    return database.execute(
        "SELECT COUNT(*) FROM responses WHERE round_id = ? AND audience = 'staff' "
        "AND status = 'submitted'", [round_id]).fetchone()[0]


# --- 1. uncached results against one GROUP BY ------------------------------------------


def check(scores, rows) -> None:
    """Both compute the same figures, or the ratio would mean nothing."""
    expected = {(code, what, key): value for code, what, key, value in rows}
    for result in scores.departments:
        pairs = [(("overall", ""), result.overall)]
        pairs += [(("section", k), v) for k, v in result.sections.items()]
        pairs += [(("finding", k), v) for k, v in result.findings.items()]
        for (what, key), value in pairs:
            found = expected.get((result.code, what, key))
            if found is None or value is None:
                assert found is None and value is None, (result.code, what, key)
            else:
                assert abs(min(100.0, found) - value) < 1e-6, (result.code, what, key)


def groupby(instance: Path, rounds: int) -> float:
    from surveyapp import store
    from surveyapp.readmodels import aggregate

    database = store.connect(instance / "surveyapp.sqlite3")
    import systems as systems_bench  # bench/systems.py: the same parameters of its SQL

    params = systems_bench.baseline_params(database, harness.OPEN_ROUND)

    def baseline():
        return database.execute(UNIT_SQL, params).fetchall()

    def ours():
        return aggregate.compute_round_scores(database, harness.OPEN_ROUND, ANONYMITY_MIN)

    check(ours(), baseline())
    base, mine = [], []
    for _ in range(rounds):
        base.append(cpu_seconds(baseline))
        mine.append(cpu_seconds(ours))
    database.close()
    base_s, ours_s = statistics.median(base), statistics.median(mine)
    print(f"groupby: hand-written SQL GROUP BY median {base_s * 1000:.0f} ms CPU; "
          f"compute_round_scores (uncached) {ours_s * 1000:.0f} ms CPU "
          f"({rounds} rounds interleaved)")
    return ours_s / base_s


def cpu_seconds(action) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


# --- 2. the results page over HTTP ------------------------------------------------------


class Client:
    """One admin connection on the results page, one staff link, one 所属's draft."""

    def __init__(self, port: int, link: str, bodies: dict) -> None:
        self.connection = harness.Connection(port)
        self.admin = harness.log_in(self.connection, "admin", "demo-admin-2021")
        self.link, self.bodies, self.turn = link, bodies, 0
        self.staff_cookies: dict = {}
        page = self.connection.request("GET", f"/s/{link}", cookies=self.staff_cookies,
                                       label="prepare")
        self.staff_token = harness.csrf_token(page.body)
        login, password, code = DEPARTMENT_LOGIN
        self.dept = harness.log_in(self.connection, login, password)
        self.form_url = f"/rounds/{harness.OPEN_ROUND}/self-check/{code}"
        page = self.connection.request("GET", self.form_url, cookies=self.dept,
                                       label="prepare")
        self.dept_token = harness.csrf_token(page.body)
        self.version = harness.VERSION_PATTERN.search(page.body).group(1)

    def view(self, label: str) -> None:
        reply = self.connection.request("GET", RESULTS_PAGE, cookies=self.admin, label=label)
        if reply.status != 200:
            raise RuntimeError(f"results page: HTTP {reply.status}")

    def staff_submission(self) -> None:
        self.turn += 1
        body = self.bodies["staff"][self.turn % len(self.bodies["staff"])]
        reply = self.connection.request(
            "POST", f"/s/{self.link}", cookies=self.staff_cookies, label="write",
            form=[("csrf_token", self.staff_token), *body])
        if reply.status != 303:
            raise RuntimeError(f"staff submission: HTTP {reply.status}")

    def autosave(self) -> None:
        self.turn += 1
        body = self.bodies["department"][self.turn % len(self.bodies["department"])]
        reply = self.connection.request(
            "POST", f"{self.form_url}/autosave", cookies=self.dept, label="write",
            form=[("csrf_token", self.dept_token), ("version", self.version), *body])
        if reply.status != 200:
            raise RuntimeError(f"autosave: HTTP {reply.status} {reply.body[:200]}")
        self.version = str(json.loads(reply.body)["version"])


def pages(instance: Path, rounds: int, processes: int, threads: int) -> dict[str, float]:
    link = harness.issue_staff_links(instance)[0]
    definition = harness.definition(instance)
    bodies = {audience: harness.answer_bodies(definition, audience, 20)
              for audience in ("staff", "department")}
    with harness.Server(instance, threads, processes) as server:
        client = Client(server.port, link, bodies)
        writes = {"after_submission": client.staff_submission,
                  "after_unrelated": client.autosave}
        client.view("first ever")
        server.timings()
        for turn in range(rounds):
            for _ in range(WARM_VIEWS):
                client.view("warm")
            for label in sorted(writes, reverse=turn % 2 == 1):
                writes[label]()
                client.view(label)
        timed = server.timings()
        client.connection.close()
    return report_pages(timed)


def report_pages(timed: dict) -> dict[str, float]:
    warm_cpu = median_of(timed["warm"], 1)
    print(f"warm view: server {harness.server_ms(timed['warm'])}, median CPU "
          f"{warm_cpu:.1f} ms")
    ratios = {}
    for label in ("after_submission", "after_unrelated"):
        cpu = median_of(timed[label], 1)
        ratios[label] = cpu / warm_cpu
        print(f"first view {label.replace('_', ' ')}: server {harness.server_ms(timed[label])},"
              f" median CPU {cpu:.1f} ms = {ratios[label]:.2f}x the warm view")
    print(f"  the writes: server {harness.server_ms(timed['write'])}")
    return ratios


def median_of(pairs: list, index: int) -> float:
    return statistics.median(pair[index] for pair in pairs)


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from surveyapp.config import DEFAULTS

    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--answers", type=int, default=2_000_000,
                        help="answers in the round (default 2,000,000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--processes", type=int, default=DEFAULTS["SERVER_PROCESSES"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["SERVER_THREADS"])
    args = parser.parse_args(argv)
    print(f"results bench: {UNITS} 所属, {args.answers:,} answers wanted, {args.rounds} "
          f"rounds; {harness.machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-results-") as folder:
        instance = Path(folder)
        started = time.perf_counter()
        harness.load_prefecture(instance, UNITS)
        answers, staff = grow_round(instance, args.answers)
        print(f"round {harness.OPEN_ROUND}: {answers:,} answers, {staff:,} staff responses "
              f"(built in {time.perf_counter() - started:.0f} s)")
        ratios = {"groupby": groupby(instance, args.rounds),
                  **pages(instance, args.rounds, args.processes, args.threads)}
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.2f} (target <= {TARGETS[name]:g}): "
              f"{harness.verdict(ratio <= TARGETS[name])}")
    print(f"load after: {harness.machine()}")
    print("results: " + " ".join(f"{name}={ratio:.2f}" for name, ratio in ratios.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
