"""For any answers, a system's scores and its 所属's roll-up follow DESIGN.md §4 and §12.

Each example submits one 所属's self-check with 0-4 system blocks of random answers
through the real form service (stored scores and all), then compares what the read
side computes with the contract worked out here from first principles:
- a system's `r` per question is `s / m` of its own answer, when the question is
  relevant (reading the same system's and the 所属's answers) and applicable;
- its section, overall and finding scores are `100 · Σ w·r / Σ w`, floored at 0;
- for the 所属, a system question's `r` is the mean of `r` over its systems that have
  one, a department question's `r` its own answer's; the same formulas follow.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import migrations, store
from surveyapp.readmodels import aggregate, system_results
from surveyapp.services import self_check
from tests import systems_world

S4 = ("done", "partial", "none", "unknown", "na")
YN = ("yes", "no")
department_answers = st.fixed_dictionaries({"DEP-00": st.sampled_from(YN),
                                            "DEP-01": st.sampled_from(S4)})
system_answers = st.fixed_dictionaries(
    {"SPW-00": st.sampled_from(YN), "SPW-01": st.sampled_from(S4),
     "SCT-01": st.sampled_from((None, *S4)), "SCT-02": st.sampled_from((None, *S4))}
).map(lambda chosen: {qid: value for qid, value in chosen.items() if value is not None})


def r_of(question, value) -> float | None:
    """`r = s / m` of one answer (None: not applicable or unanswered)."""
    choice = question.choice(value) if value is not None else None
    if choice is None or choice.score is None:
        return None
    return choice.score / question.max_score


def ratios_of(questionnaire, audience: str, answers: dict, context: dict) -> dict:
    known = {**context, **answers}
    found = {}
    for question in questionnaire.questions_for(audience):
        if question.weight > 0 and question.is_relevant(known):
            value = r_of(question, answers.get(question.id))
            if value is not None:
                found[question.id] = value
    return found


def score(questionnaire, ratios: dict, keep) -> float | None:
    pairs = [(q.weight, ratios[q.id]) for q in questionnaire.questions
             if q.id in ratios and keep(q)]
    if not pairs:
        return None
    return max(0.0, sum(100 * w * r for w, r in pairs) / sum(w for w, _ in pairs))


def expected_scores(questionnaire, ratios: dict) -> dict:
    figures = {("overall",): score(questionnaire, ratios, lambda q: True)}
    for section in questionnaire.sections:
        figures[("section", section.id)] = score(questionnaire, ratios,
                                                 lambda q, s=section.id: q.section_id == s)
    for finding in questionnaire.findings:
        figures[("finding", finding)] = score(questionnaire, ratios,
                                              lambda q, f=finding: f in q.findings)
    return figures


def unit_ratios(questionnaire, department: dict, systems: list[dict]) -> dict:
    found = ratios_of(questionnaire, "department", department, {})
    per_system = [ratios_of(questionnaire, "system", answers, department) for answers in systems]
    for question in questionnaire.questions_for("system"):
        values = [ratios[question.id] for ratios in per_system if question.id in ratios]
        if values:
            found[question.id] = math.fsum(values) / len(values)
    return found


def found_scores(scores) -> dict:
    return {("overall",): scores.overall,
            **{("section", k): v for k, v in scores.sections.items()},
            **{("finding", k): v for k, v in scores.findings.items()}}


def assert_same(found: dict, expected: dict) -> None:
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, abs=1e-9), key


def submitted_world(department: dict, systems: list[dict]):
    db = store.connect(":memory:")
    migrations.apply(db)
    register = "code,name,owner_code\n" + "".join(
        f"P{n},システム{n},K3\n" for n in range(len(systems)))
    world = systems_world.build(db, register=register)
    response = systems_world.department_response(db, world, "K3")
    proof = {"SPW-01": systems_world.proof("記録")}
    blocks = {f"P{n}": (answers, proof) for n, answers in enumerate(systems)}
    self_check.submit_form(db, response["id"], response["version"], department, {}, blocks,
                           None, world.questionnaire)
    return db, world


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(department=department_answers, systems=st.lists(system_answers, max_size=4))
def test_system_and_department_scores_follow_the_contract(department, systems):
    db, world = submitted_world(department, systems)
    questionnaire = world.questionnaire
    try:
        found = system_results.compute_round_systems(db, world.round_id, date(2026, 12, 1))
        for n, answers in enumerate(systems):
            expected = expected_scores(questionnaire, ratios_of(
                questionnaire, "system", answers, department))
            assert_same(found_scores(found.system(f"P{n}").scores), expected)
        unit = aggregate.compute_round_scores(db, world.round_id, 5).department("K3")
        assert unit.systems == len(systems)
        assert_same(found_scores(unit.scores),
                    expected_scores(questionnaire, unit_ratios(questionnaire, department,
                                                               systems)))
    finally:
        db.close()
