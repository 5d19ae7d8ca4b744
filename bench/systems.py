"""The results of one round with information systems (DESIGN.md §12), at scale: 300 所属
in 15 部局, 1,500 systems (five each), every 所属 and system answered and submitted,
eight staff answers per 所属, the FY2026 questionnaire.

Run: `.venv/bin/python -m bench.systems` (about a minute to build the data); `--quick`
for 30 所属 and 150 systems.

Measures, interleaved in one run (one of each per repetition, so a busy machine slows
both alike):
- **ours**: what every results page of the round needs, uncached:
  `aggregate.compute_round_scores` (each 所属's scores, its system questions averaged
  over its systems, 部局 and prefecture) and `system_results.compute_round_systems`
  (each system's scores);
- **the baseline**: one hand-written SQL statement over the same answers that computes
  the same figures in the database: every 所属's section, finding and overall score
  (department answers, staff means from five answers on, system means) and every
  system's section, finding and overall score.

Prints both medians and ours / baseline; the target is a ratio of at most 2.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from surveyapp import migrations, question_types, store
from surveyapp.readmodels import aggregate, system_results
from surveyapp.readmodels.definitions import get_definition
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.services import responses, rounds
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.store import systems as system_store

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE = "infosec-selfcheck"
VERSION = "2026.1"
SEED = 20261001
ANONYMITY_MIN = 5
TARGET = 2.0

BASELINE_SQL = """
WITH
q AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS question_id,
             json_extract(value, '$[1]') AS weight,
             json_extract(value, '$[2]') AS section_id
      FROM json_each(:questions)),
qf AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS question_id,
              json_extract(value, '$[1]') AS finding
       FROM json_each(:findings)),
submitted AS (SELECT department_code FROM responses
              WHERE round_id = :round_id AND audience = 'department' AND status = 'submitted'),
dept AS (SELECT r.department_code, a.question_id, a.score / a.max_score AS r
         FROM answers a JOIN responses r ON r.id = a.response_id
         WHERE r.round_id = :round_id AND r.audience = 'department' AND r.status = 'submitted'
           AND a.score IS NOT NULL AND a.max_score > 0),
staff_n AS (SELECT department_code FROM responses
            WHERE round_id = :round_id AND audience = 'staff' AND status = 'submitted'
            GROUP BY department_code HAVING COUNT(*) >= :minimum),
staff AS (SELECT r.department_code, a.question_id, AVG(a.score / a.max_score) AS r
          FROM answers a JOIN responses r ON r.id = a.response_id
          WHERE r.round_id = :round_id AND r.audience = 'staff' AND r.status = 'submitted'
            AND a.score IS NOT NULL AND a.max_score > 0
            AND r.department_code IN (SELECT department_code FROM staff_n)
          GROUP BY r.department_code, a.question_id),
sys AS MATERIALIZED (SELECT r.department_code, r.system_code, a.question_id,
                            a.score / a.max_score AS r
        FROM answers a JOIN responses r ON r.id = a.response_id
        WHERE r.round_id = :round_id AND r.audience = 'system'
          AND r.department_code IN (SELECT department_code FROM submitted)
          AND a.score IS NOT NULL AND a.max_score > 0),
sys_mean AS (SELECT department_code, question_id, AVG(r) AS r FROM sys
             GROUP BY department_code, question_id),
unit_r AS (SELECT * FROM dept UNION ALL SELECT * FROM staff UNION ALL SELECT * FROM sys_mean),
each_q AS MATERIALIZED (SELECT 'unit' AS kind, u.department_code AS owner, u.question_id,
                               q.section_id, q.weight, u.r
           FROM unit_r u JOIN q ON q.question_id = u.question_id
           UNION ALL
           SELECT 'system', s.system_code, s.question_id, q.section_id, q.weight, s.r
           FROM sys s JOIN q ON q.question_id = s.question_id)
SELECT kind, owner, 'section' AS what, section_id AS key,
       MAX(0, 100 * SUM(weight * r) / SUM(weight)) AS score
FROM each_q GROUP BY kind, owner, section_id
UNION ALL
SELECT kind, owner, 'finding', qf.finding, MAX(0, 100 * SUM(weight * r) / SUM(weight))
FROM each_q JOIN qf ON qf.question_id = each_q.question_id GROUP BY kind, owner, qf.finding
UNION ALL
SELECT kind, owner, 'overall', '', MAX(0, 100 * SUM(weight * r) / SUM(weight))
FROM each_q GROUP BY kind, owner
"""


def answers_for(questionnaire, audience: str, rng: random.Random, context=None) -> dict:
    """A random complete answer set (what `relevant` hides left out)."""
    answers: dict = {}
    known = dict(context or {})
    for question in questionnaire.questions_for(audience):
        if not question.is_relevant({**known, **answers}):
            continue
        value = question_types.of(question).demo_answer(question, rng.random(),
                                                        questionnaire.fiscal_year, rng)
        if value is not None:
            answers[question.id] = value
    return answers


def build(folder: Path, units_per_bureau: int, systems_per_unit: int) -> int:
    """The instance; returns the round's id."""
    database = store.connect(folder / "surveyapp.sqlite3")
    migrations.apply(database)
    folder_of = ROOT / "questionnaires" / QUESTIONNAIRE
    for version in ("2020.1", "2021.1", VERSION):
        path = folder_of / f"{version}.yaml"
        questionnaire_service.publish(database, path.read_bytes(), str(path), folder=folder_of)
    questionnaire = get_definition(database, QUESTIONNAIRE, VERSION)
    rng = random.Random(SEED)  # nosec B311: reproducible bench data
    with store.transaction(database):
        units = write_register(database, units_per_bureau, systems_per_unit)
    created = rounds.create_round(database, 2026, QUESTIONNAIRE, VERSION)
    rounds.open_round(database, created.id)
    with store.transaction(database):
        for unit in units:
            write_unit(database, created.id, questionnaire, unit, systems_per_unit, rng)
    database.close()
    return created.id


def write_register(database, units_per_bureau: int, systems_per_unit: int) -> list[str]:
    rows, systems = [], []
    for bureau in range(1, 16):
        rows.append(row(f"{bureau:02d}", None))
        for index in range(1, units_per_bureau + 1):
            code = f"{bureau:02d}{index:02d}"
            rows.append(row(code, f"{bureau:02d}"))
            systems += [{"code": f"S{code}-{n}", "name": f"システム{code}-{n}",
                         "owner_code": code, "vendor": None,
                         "hosting": ("onprem", "lgwan_asp", "cloud", "other")[n % 4],
                         "cloud_service": None, "ismap": "na", "ismap_expires": None,
                         "criticality": ("high", "medium", "low")[n % 3],
                         "valid_from": None, "valid_to": None}
                        for n in range(1, systems_per_unit + 1)]
    department_store.upsert_departments(database, rows)
    system_store.upsert_systems(database, systems)
    return [r["code"] for r in rows if r["parent_code"]]


def row(code: str, parent: str | None) -> dict:
    return {"code": code, "name": f"所属{code}", "parent_code": parent, "headcount": 30,
            "valid_from": None, "valid_to": None, "successor_code": None}


def write_unit(database, round_id: int, questionnaire, code: str, systems: int,
               rng: random.Random) -> None:
    department = answers_for(questionnaire, "department", rng)
    write(database, round_id, code, "department", responses.answer_rows(
        questionnaire, department, {}), None)
    for n in range(1, systems + 1):
        answers = answers_for(questionnaire, "system", rng, department)
        write(database, round_id, code, "system", responses.answer_rows(
            questionnaire, answers, {}, department), f"S{code}-{n}")
    for _ in range(8):
        write(database, round_id, code, "staff", responses.answer_rows(
            questionnaire, answers_for(questionnaire, "staff", rng), {}), None)


def write(database, round_id: int, code: str, audience: str, rows: list[dict],
          system_code: str | None) -> None:
    at = store.now()
    response_id = response_store.insert_response(database, round_id, code, audience, None,
                                                 status="submitted", at=at,
                                                 system_code=system_code)
    response_store.upsert_answers(database, response_id, rows, at)


def baseline_params(database, round_id: int) -> dict:
    _round, questionnaire = aggregate.load_round(database, round_id)
    scored = [q for q in questionnaire.questions if q.scored]
    return {"round_id": round_id, "minimum": ANONYMITY_MIN,
            "questions": json.dumps([[q.id, q.weight, q.section_id] for q in scored]),
            "findings": json.dumps([[q.id, f] for q in scored for f in q.findings])}


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    units, systems, repeat = (2, 5, 3) if quick else (20, 5, 7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        round_id = build(folder, units, systems)
        print(f"built {15 * units} 所属, {15 * units * systems} systems in "
              f"{time.perf_counter() - started:.0f} s")
        database = store.connect(folder / "surveyapp.sqlite3")
        params = baseline_params(database, round_id)
        today = date(2026, 12, 1)

        def baseline():
            return database.execute(BASELINE_SQL, params).fetchall()

        def ours():
            scores = aggregate.compute_round_scores(database, round_id, ANONYMITY_MIN)
            found = system_results.compute_round_systems(database, round_id, today)
            return scores, found

        check(ours(), baseline())
        base_ms, ours_ms = [], []
        for _ in range(repeat):  # interleaved: one of each per repetition
            base_ms.append(timed(baseline))
            ours_ms.append(timed(ours))
        base, mine = statistics.median(base_ms), statistics.median(ours_ms)
        ratio = mine / base
        print(f"baseline (hand-written SQL aggregate): median {base:.0f} ms")
        print(f"ours (compute_round_scores + compute_round_systems): median {mine:.0f} ms")
        print(f"ratio ours / baseline = {ratio:.2f} (target <= {TARGET:.0f}): "
              f"{'met' if ratio <= TARGET else 'NOT met'}")
        database.close()


def check(ours, baseline_rows) -> None:
    """The two compute the same figures (else the comparison would mean nothing)."""
    scores, found = ours
    expected = {(kind, owner, what, key): value for kind, owner, what, key, value in
                baseline_rows}
    for kind, results in (("unit", scores.departments), ("system", found.systems)):
        for result in results:
            assert_close(expected.get((kind, result.code, "overall", "")), result.overall)
            for what, figures in (("section", result.scores.sections),
                                  ("finding", result.scores.findings)):
                for key, value in figures.items():
                    assert_close(expected.get((kind, result.code, what, key)), value)


def assert_close(expected: float | None, value: float | None) -> None:
    if expected is None or value is None:
        assert expected is None and value is None, (expected, value)
        return
    assert abs(min(100.0, expected) - value) < 1e-6, (expected, value)


if __name__ == "__main__":
    main(sys.argv[1:])
