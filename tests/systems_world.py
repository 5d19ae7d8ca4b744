"""A small world for the per-system tests (DESIGN.md §12): one 部局 with three 所属, a
register of systems, and an open FY2026 round of the `sys-check` definition
(tests/fixtures/systems), which asks department, staff and per-system questions.

K1 owns S1 and S2, K2 owns S3; K3 owns nothing. K4 was replaced by K1 in 2025, and S4,
registered to K4, therefore belongs to K1 in FY2026 as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels.definitions import get_definition
from surveyapp.services import departments as department_service
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.services import responses as response_service
from surveyapp.services import rounds as round_service
from surveyapp.services import systems as system_service
from tests.conftest import FIXTURES

DEFINITION = FIXTURES / "systems" / "sys-check" / "2026.1.yaml"
DEPARTMENTS = ("code,name,parent_code,headcount,valid_from,valid_to,successor_code\n"
               "B01,総務部,,,,,\nK1,総務課,B01,30,,,\nK2,人事課,B01,20,,,\n"
               "K3,財政課,B01,10,,,\nK4,旧文書課,B01,5,,2025,K1\n")
SYSTEMS = ("code,name,owner_code,hosting,ismap,ismap_expires,criticality\n"
           "S1,電子申請システム,K1,cloud,yes,2027-06-30,high\n"
           "S2,文書管理システム,K1,onprem,na,,medium\n"
           "S3,人事給与システム,K2,onprem,na,,high\n"
           "S4,旧文書システム,K4,lgwan_asp,na,,low\n")


@dataclass(frozen=True)
class World:
    round_id: int
    questionnaire: object


def build(db, register: str = SYSTEMS) -> World:
    """The world in `db`; `register` is the systems CSV to import instead of SYSTEMS."""
    department_service.apply_import(db, department_service.plan_import(
        db, DEPARTMENTS.encode()))
    system_service.apply_import(db, system_service.plan_import(db, register.encode()))
    questionnaire_service.publish(db, DEFINITION.read_bytes(), str(DEFINITION))
    created = round_service.create_round(db, 2026, "sys-check", "2026.1", "2026-10-01",
                                         "2027-02-26", None)
    round_service.open_round(db, created.id, None)
    questionnaire = get_definition(db, "sys-check", "2026.1")
    return World(created.id, questionnaire)


def department_response(db, world: World, code: str) -> dict:
    return response_service.get_or_create_department_response(db, world.round_id, code, None)


def proof(note: str) -> AnswerEvidence:
    """Required evidence as a submission needs it: a note and the record's date."""
    return AnswerEvidence(note, None, "2026-09-01")
