"""The audience registry (surveyapp.audiences): one entry per `audience:` value."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import audiences
from surveyapp.model import Question, Text


def question(qid: str, audience: str = "staff") -> Question:
    return Question(id=qid, type="single_choice", text=Text(qid), section_id="A",
                    audience=audience)


def schema_enums() -> list[list[str]]:
    text = resources.files("surveyapp.questionnaires").joinpath("schema.json").read_text("utf-8")
    defs = json.loads(text)["$defs"]
    return [defs[name]["properties"]["audience"]["enum"] for name in ("section", "question")]


def test_schema_audience_enums_are_the_registry():
    assert schema_enums() == [list(audiences.NAMES)] * 2


def test_each_audience_is_registered_under_its_own_name():
    assert all(a.name == name for name, a in audiences.REGISTRY.items())


def test_lookup_refuses_an_unknown_audience():
    with pytest.raises(KeyError):
        audiences.lookup("contractor")


def test_only_staff_answers_are_anonymous():
    assert [a.name for a in audiences.REGISTRY.values() if a.anonymous] == ["staff"]


def test_an_anonymous_audience_needs_the_anonymity_minimum():
    assert audiences.STAFF.minimum_responses(5) == 5
    assert not audiences.STAFF.counts(4, 5) and audiences.STAFF.counts(5, 5)


def test_a_department_counts_from_its_one_response():
    assert audiences.DEPARTMENT.minimum_responses(5) == 1
    assert audiences.DEPARTMENT.counts(1, 5) and not audiences.DEPARTMENT.counts(0, 5)


def test_each_form_holds_one_audience():
    assert audiences.form_audience(audiences.SELF_CHECK) == "department"
    assert audiences.form_audience(audiences.STAFF_SURVEY) == "staff"


def test_below_the_minimum_nothing_is_averaged():
    sets = [{"Q1": 1.0}] * 4
    assert audiences.STAFF.mean_ratios([question("Q1")], sets, 5) == {}


def test_a_question_nobody_scored_is_left_out():
    sets = [{"Q1": 1.0}] * 5
    assert audiences.STAFF.mean_ratios([question("Q1"), question("Q2")], sets, 5) == {"Q1": 1.0}


@given(st.lists(st.floats(-1, 1), min_size=1, max_size=20))
def test_a_question_r_is_the_mean_over_the_responses(values):
    sets = [{"Q1": v} for v in values]
    mean = audiences.STAFF.mean_ratios([question("Q1")], sets, 1)["Q1"]
    assert min(values) - 1e-12 <= mean <= max(values) + 1e-12


@given(st.floats(-1, 1))
def test_one_department_response_is_its_own_mean(value):
    ratios = audiences.DEPARTMENT.mean_ratios([question("Q1", "department")],
                                              [{"Q1": value}], 5)
    assert ratios == {"Q1": value}
