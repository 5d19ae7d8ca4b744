"""Last year's answers on this year's form (DESIGN.md §13): shown through lineage,
copied into empty questions, confirmed per section, required to be confirmed before
submission, and counted as re-confirmed or changed per 所属.

The shipped FY2020 and FY2021 definitions: FY2021 carries most department questions
`same`, splits IDM-02 into IDM-05 and IDM-06, and adds questions."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest

from surveyapp import question_types, store
from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels import carry_over_figures
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.previous_answers import previous_response
from surveyapp.refusals import Invalid
from surveyapp.services import questionnaires, rounds
from surveyapp.services import responses as service
from surveyapp.services.carry_over import CarryInput
from surveyapp.store import audit as audit_store
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from tests.conftest import QUESTIONNAIRES

FOLDER = QUESTIONNAIRES / "infosec-selfcheck"
NOTE = AnswerEvidence("台帳で確認", "文書管理システム 第3号", "2020-06-30")


def complete_answers(questionnaire) -> dict:
    """A full department response, the same for the same questionnaire."""
    rng = random.Random(5)
    answers: dict = {}
    for question in questionnaire.questions_for("department"):
        if question.is_relevant(answers):
            value = question_types.of(question).demo_answer(question, 0.8, 2020, rng)
            if value is not None:
                answers[question.id] = value
    return answers


@pytest.fixture
def years(db, make_user):
    """FY2020 (closed, U1 submitted with evidence on PWD-05) and FY2021 (open, U1's empty
    draft)."""
    for version in ("2020.1", "2021.1"):
        path = FOLDER / f"{version}.yaml"
        questionnaires.publish(db, path.read_bytes(), str(path), folder=path.parent)
    user = make_user("unit1", "department", "U1")
    before = get_definition(db, "infosec-selfcheck", "2020.1")
    after = get_definition(db, "infosec-selfcheck", "2021.1")
    fy2020 = rounds.create_round(db, 2020, "infosec-selfcheck", "2020.1")
    rounds.open_round(db, fy2020.id)
    old = service.get_or_create_department_response(db, fy2020.id, "U1", user["id"])
    answers = complete_answers(before)
    service.save_draft(db, old["id"], 1, answers, {"PWD-05": NOTE}, user["id"])
    service.submit(db, old["id"], 2, {}, {}, user["id"])
    rounds.close_round(db, fy2020.id)
    fy2021 = rounds.create_round(db, 2021, "infosec-selfcheck", "2021.1")
    rounds.open_round(db, fy2021.id)
    new = service.get_or_create_department_response(db, fy2021.id, "U1", user["id"])
    return SimpleNamespace(user=user, before=before, after=after, answers=answers,
                           old=old, round_id=fy2021.id, response_id=new["id"])


def version(db, years) -> int:
    return response_store.get_response(db, years.response_id)["version"]


def save(db, years, answers=None, evidence=None, carry=None):
    return service.save_draft(db, years.response_id, version(db, years), answers or {},
                              evidence or {}, years.user["id"], carry=carry)


def stored(db, years) -> dict[str, dict]:
    return {row["question_id"]: row for row in
            response_store.list_answers(db, years.response_id)}


def all_sections(years) -> frozenset[str]:
    return frozenset(s.id for s in years.after.sections_for("department"))


def test_last_years_answers_map_onto_this_years_questions(db, years):
    earlier = previous_response(db, years.round_id, "U1", years.after, "department")
    pwd = earlier.get("PWD-05")
    assert (pwd.relation, pwd.changed, pwd.value) == ("same", False, years.answers["PWD-05"])
    assert pwd.evidence == (NOTE,)
    split = earlier.get("IDM-05")
    assert (split.relation, split.changed, split.comparable) == ("split", True, False)
    assert [q.id for q in split.questions] == ["IDM-02"]
    new_ids = {q.id for q in years.after.questions_for("department")} - set(earlier.answers)
    assert new_ids and not new_ids & {q.id for q in years.before.questions}


def test_copy_fills_only_empty_comparable_questions(db, years):
    save(db, years, {"PWD-05": "none"})
    result = save(db, years, carry=CarryInput(copy=True))
    answers, _evidence = service.load_answers(db, years.response_id)
    assert answers["PWD-05"] == "none" and "PWD-05" not in result.copied
    assert "IDM-05" not in answers and "IDM-06" not in answers  # split: not copied
    copied = set(result.copied)
    assert copied and all(answers[q] == years.answers[q] for q in copied)
    assert {q for q, row in stored(db, years).items() if row["copied"]} == copied


def test_copy_brings_the_evidence_parts_that_are_empty(db, years):
    save(db, years, evidence={"PWD-05": AnswerEvidence(location="新しい台帳")})
    save(db, years, carry=CarryInput(copy=True))
    _answers, evidence = service.load_answers(db, years.response_id)
    assert evidence["PWD-05"] == AnswerEvidence("台帳で確認", "新しい台帳", "2020-06-30")


def test_copying_is_audit_logged_with_the_questions(db, years):
    result = save(db, years, carry=CarryInput(copy=True))
    entry = audit_store.list_entries(db, action="response.copy_previous")[0]
    assert json.loads(entry["detail"])["questions"] == sorted(result.copied)


def test_a_copied_answer_changed_by_the_user_loses_its_mark(db, years):
    save(db, years, carry=CarryInput(copy=True))
    other = next(c.value for c in years.after.question("PWD-05").choices
                 if c.value != years.answers["PWD-05"])
    save(db, years, {"PWD-05": other})
    assert not stored(db, years)["PWD-05"]["copied"]
    assert stored(db, years)["PWD-06"]["copied"]


def test_copied_answers_must_be_confirmed_before_submission(db, years):
    result = save(db, years, carry=CarryInput(copy=True))
    rest = {q: v for q, v in complete_answers(years.after).items() if q not in result.copied}
    with pytest.raises(Invalid) as refused:
        service.submit(db, years.response_id, version(db, years), rest, {},
                       years.user["id"], carry=CarryInput(confirmed=frozenset()))
    waiting = {name for name in refused.value.errors if name.startswith("confirm_")}
    assert "confirm_PWD" in waiting
    assert "PWD-05" in str(refused.value.errors["confirm_PWD"])
    assert service.get_response(db, years.response_id)["status"] == "draft"


def test_confirmed_sections_let_the_copied_answers_be_submitted(db, years):
    result = save(db, years, carry=CarryInput(copy=True))
    rest = {q: v for q, v in complete_answers(years.after).items() if q not in result.copied}
    result = service.submit(db, years.response_id, version(db, years), rest, {},
                            years.user["id"], carry=CarryInput(confirmed=all_sections(years)))
    assert result.status == "submitted"
    rows = stored(db, years)
    assert rows["PWD-05"]["copied"] and rows["PWD-05"]["reconfirmed"]
    assert not rows["IDM-05"]["reconfirmed"]  # no comparable answer last year


def test_only_answers_equal_to_last_year_are_reconfirmed(db, years):
    save(db, years, carry=CarryInput(copy=True))
    other = next(c.value for c in years.after.question("PWD-06").choices
                 if c.value != years.answers["PWD-06"])
    save(db, years, {"PWD-06": other}, carry=CarryInput(confirmed=frozenset({"PWD"})))
    rows = stored(db, years)
    assert rows["PWD-05"]["reconfirmed"] and not rows["PWD-06"]["reconfirmed"]
    assert not any(row["reconfirmed"] for q, row in rows.items()
                   if years.after.question(q).section_id != "PWD")


def test_withdrawing_a_confirmation_withdraws_the_marks(db, years):
    save(db, years, carry=CarryInput(copy=True, confirmed=frozenset({"PWD"})))
    assert stored(db, years)["PWD-05"]["reconfirmed"]
    save(db, years, carry=CarryInput(confirmed=frozenset()))
    assert not stored(db, years)["PWD-05"]["reconfirmed"]
    assert stored(db, years)["PWD-05"]["copied"]


def test_a_save_without_the_boxes_keeps_the_confirmations(db, years):
    save(db, years, carry=CarryInput(copy=True, confirmed=frozenset({"PWD"})))
    save(db, years, {"NOTE-99": None})
    assert stored(db, years)["PWD-05"]["reconfirmed"]


def test_confirming_a_section_is_a_change_of_version(db, years):
    before = version(db, years)
    save(db, years, carry=CarryInput(confirmed=frozenset({"PWD"})))
    assert version(db, years) == before + 1
    save(db, years, carry=CarryInput(confirmed=frozenset({"PWD"})))
    assert version(db, years) == before + 1  # nothing new


def test_last_year_comes_from_the_replaced_unit(db, years, make_user):
    make_user("unit9", "department", "U9")
    with store.transaction(db):
        row = department_store.get_department(db, "U1")
        department_store.upsert_departments(db, [{**row, "successor_code": "U9",
                                                  "valid_to": 2020}])
    earlier = previous_response(db, years.round_id, "U9", years.after, "department")
    assert earlier is not None and earlier.department_code == "U1"


def test_a_previous_response_never_submitted_is_not_shown(db, years, make_user):
    user = make_user("unit2", "department", "U2")
    with store.transaction(db):
        db.execute("UPDATE rounds SET status = 'open' WHERE fiscal_year = 2020")
        db.execute("UPDATE rounds SET status = 'closed' WHERE fiscal_year = 2021")
    fy2020 = next(r for r in response_store.list_rounds(db) if r["fiscal_year"] == 2020)
    draft = service.get_or_create_department_response(db, fy2020["id"], "U2", user["id"])
    service.save_draft(db, draft["id"], 1, {"PWD-05": "done"}, {}, user["id"])
    assert previous_response(db, years.round_id, "U2", years.after, "department") is None


def test_figures_count_reconfirmed_changed_and_unconfirmed_answers(db, years):
    save(db, years, carry=CarryInput(copy=True))
    other = next(c.value for c in years.after.question("PWD-06").choices
                 if c.value != years.answers["PWD-06"])
    save(db, years, {"PWD-06": other}, carry=CarryInput(confirmed=frozenset({"PWD"})))
    figures = carry_over_figures.round_carry_over(db, years.round_id)
    mine = figures.department("U1")
    rows = stored(db, years)
    compared = [q for q, row in rows.items() if row["value"] is not None
                and q in carry_over_figures.comparable_links(years.before, years.after)]
    assert mine.compared == len(compared)
    pwd = [q for q in compared if q.startswith("PWD-")]
    assert (mine.reconfirmed, mine.changed) == (len(pwd) - 1, 1)
    assert mine.unconfirmed_same == mine.compared - mine.reconfirmed - 1
    assert mine.copied == sum(1 for row in rows.values() if row["copied"])
    assert mine.reconfirmed_share == pytest.approx(mine.reconfirmed / mine.compared)
    assert figures.previous.fiscal_year == 2020 and figures.totals.compared == mine.compared
