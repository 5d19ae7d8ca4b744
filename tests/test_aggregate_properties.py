"""The SQL aggregation path gives the same scores as scoring each response in Python.

`readmodels.aggregate` never loads answers: it feeds SQL means of `r` into `scoring`.
The reference here scores every submitted response with `scoring.response_ratios` and
combines them with `scoring.department_ratios` (DESIGN.md §4); both must agree for any
answers, drafts and group sizes around the anonymity minimum.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import migrations, scoring, store
from surveyapp.readmodels import aggregate
from tests.fixtures.aggregate import builder

MIN = 3


def answers(**choices) -> st.SearchStrategy[dict]:
    """A dict with some of the given questions answered (None = left unanswered)."""
    parts = {qid: st.sampled_from((None, *values)) for qid, values in choices.items()}
    return st.fixed_dictionaries(parts).map(
        lambda chosen: {qid: value for qid, value in chosen.items() if value is not None})


S4 = ("done", "partial", "none", "unknown", "na")
department_answers = answers(**{"D-00": ("yes", "no"), "D-01": S4, "D-02": S4})
staff_answers = answers(**{"S-01": ("yes", "no"), "S-02": ("a", "b", "unknown")})
staff_responses = st.lists(st.tuples(staff_answers, st.booleans()), max_size=6)


def reference(definition, department, submitted, staff):
    department_ratios = scoring.response_ratios(definition, department) if submitted else None
    staff_sets = [scoring.response_ratios(definition, answered) for answered, done in staff
                  if done]
    ratios = scoring.department_ratios(definition, department_ratios, staff_sets, MIN)
    return scoring.scores_from_ratios(definition, ratios)


def aggregated(definition, department, submitted, staff):
    db = store.connect(":memory:")
    migrations.apply(db)
    builder.add_departments(db, [builder.department("B1", "部局"),
                                 builder.department("U1", "所属", "B1", headcount=4)])
    round_id = builder.add_round(db, 2021, "2021.1", "open")
    builder.add_response(db, round_id, definition, "U1", "department", department,
                         "submitted" if submitted else "draft")
    for answered, done in staff:
        builder.add_response(db, round_id, definition, "U1", "staff", answered,
                             "submitted" if done else "draft")
    result = aggregate.round_scores(db, round_id, MIN).department("U1")
    db.close()
    return result.scores


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(department=department_answers, submitted=st.booleans(), staff=staff_responses)
def test_sql_aggregation_equals_scoring_every_response(department, submitted, staff):
    definition = builder.definition("2021.1")
    expected = reference(definition, department, submitted, staff)
    found = aggregated(definition, department, submitted, staff)
    assert found.overall == pytest.approx(expected.overall)
    assert dict(found.sections) == pytest.approx(dict(expected.sections))
    assert dict(found.findings) == pytest.approx(dict(expected.findings))
    assert found.band == expected.band
