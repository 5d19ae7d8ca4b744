"""Exports with information systems (DESIGN.md §7, §12): `system_code` is the answers'
last column, a system's answers carry it, a department user's export holds its own
systems' answers, and the scores of a round that asks per system count them last."""

from __future__ import annotations

import pytest

from surveyapp.readmodels import export_sheets as exports
from surveyapp.services import self_check
from tests import systems_world

COMPLETE = ({"SPW-00": "yes", "SPW-01": "done", "SCT-02": "partial"}, {"SPW-01": "記録"})


@pytest.fixture
def world(db):
    world = systems_world.build(db)
    for code, systems in (("K1", ("S1", "S2", "S4")), ("K2", ("S3",))):
        response = systems_world.department_response(db, world, code)
        self_check.submit_form(db, response["id"], response["version"],
                               {"DEP-00": "yes", "DEP-01": "done"}, {},
                               {system: COMPLETE for system in systems}, None,
                               world.questionnaire)
    return world


def rows(sheet) -> list[dict]:
    return [dict(zip(sheet.header, row, strict=True)) for row in sheet.rows]


def test_system_code_is_the_last_column_and_set_on_system_answers(db, world):
    sheet = exports.answers_sheet(db, world.round_id)
    assert sheet.header[-1] == "system_code"
    found = rows(sheet)
    systems = {(r["department_code"], r["system_code"]) for r in found
               if r["audience"] == "system"}
    assert systems == {("K1", "S1"), ("K1", "S2"), ("K1", "S4"), ("K2", "S3")}
    assert {r["system_code"] for r in found if r["audience"] == "department"} == {None}
    spw = next(r for r in found if r["system_code"] == "S1" and r["question_id"] == "SPW-01")
    assert (spw["value"], spw["score"], spw["section_id"], spw["evidence"]) == (
        "done", 4, "SPW", "記録")


def test_a_department_exports_its_own_systems_answers_only(db, world):
    scope = exports.Scope.for_user("department", "K2")
    found = rows(exports.answers_sheet(db, world.round_id, scope))
    assert {r["system_code"] for r in found if r["audience"] == "system"} == {"S3"}
    assert {r["department_code"] for r in found} == {"K2"}


def test_the_scores_count_each_departments_systems_last(db, world):
    sheet = exports.scores_sheet(db, world.round_id, 5)
    assert sheet.header[-1] == "systems"
    assert {r["code"]: r["systems"] for r in rows(sheet)} == {"K1": 3, "K2": 1, "K3": 0}
