"""Comparing FY2021 with FY2026, whose questionnaire asks per information system
(DESIGN.md §12): the comparison runs, the system questions that replace FY2021's
department questions are shown as split (not comparable), and the common items stay
comparable."""

from __future__ import annotations

import random

import pytest

from surveyapp import question_types
from surveyapp.readmodels import compare
from surveyapp.readmodels.definitions import get_definition
from surveyapp.services import departments as department_service
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.services import responses as response_service
from surveyapp.services import rounds as round_service
from surveyapp.services import self_check
from surveyapp.services import systems as system_service
from tests import systems_world
from tests.conftest import QUESTIONNAIRES

FOLDER = QUESTIONNAIRES / "infosec-selfcheck"
DEPARTMENTS = "code,name,parent_code,headcount\nB01,総務部,,\nK1,総務課,B01,30\n"
SYSTEMS = "code,name,owner_code,hosting\nS1,文書管理システム,K1,onprem\nS2,電子申請,K1,cloud\n"


def complete(questionnaire, audience: str, rng, context=None) -> tuple[dict, dict]:
    """Answers to every relevant question, and a note wherever one may be given."""
    answers: dict = {}
    for question in questionnaire.questions_for(audience):
        if question.is_relevant({**(context or {}), **answers}):
            value = question_types.of(question).demo_answer(question, 0.7,
                                                            questionnaire.fiscal_year, rng)
            if value is not None:
                answers[question.id] = value
    notes = {q.id: systems_world.proof("記録あり") for q in questionnaire.questions_for(audience)
             if q.evidence != "none"}
    return answers, notes


def submit_round(db, year: int, version: str, rng) -> int:
    round_id = round_service.create_round(db, year, "infosec-selfcheck", version).id
    round_service.open_round(db, round_id)
    definition = get_definition(db, "infosec-selfcheck", version)
    response = response_service.get_or_create_department_response(db, round_id, "K1", None)
    answers, notes = complete(definition, "department", rng)
    systems = {block.code: complete(definition, "system", rng, answers)
               for block in self_check.blocks_of(db, response, definition)}
    self_check.submit_form(db, response["id"], response["version"], answers, notes, systems,
                           None, definition)
    round_service.close_round(db, round_id)
    return round_id


@pytest.fixture
def rounds(db):
    department_service.apply_import(db, department_service.plan_import(
        db, DEPARTMENTS.encode()))
    system_service.apply_import(db, system_service.plan_import(db, SYSTEMS.encode()))
    for version in ("2020.1", "2021.1", "2026.1"):
        path = FOLDER / f"{version}.yaml"
        questionnaire_service.publish(db, path.read_bytes(), str(path), folder=FOLDER)
    rng = random.Random(13)
    return submit_round(db, 2021, "2021.1", rng), submit_round(db, 2026, "2026.1", rng)


def test_2021_compares_with_2026(db, rounds):
    result = compare.compare_rounds(db, *rounds, 5)
    [k1] = result.departments
    assert k1.changes.overall.before is not None and k1.changes.overall.after is not None
    assert result.after.department("K1").systems == 2


def test_system_questions_are_split_from_the_department_ones_they_replace(db, rounds):
    matches = {m.to_id: m for m in compare.compare_rounds(db, *rounds, 5).questions}
    assert (matches["SPWD-01"].relation, matches["SPWD-01"].from_ids) == ("split", ("PWD-05",))
    assert not matches["SPWD-01"].comparable
    assert matches["SCI-01"].comparable


def test_the_comparison_pages_and_api_answer(db, rounds, client, make_user, login_as):
    make_user("audit1", "auditor")
    login_as(client, "audit1")
    before, after = rounds
    assert client.get(f"/results/compare?from={before}&to={after}").status_code == 200
    body = client.get(f"/api/v1/compare?from={before}&to={after}").get_json()
    assert any(q["to_id"] == "SIDM-02" and q["relation"] == "split" for q in body["questions"])
