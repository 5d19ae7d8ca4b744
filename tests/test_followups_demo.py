"""Follow-up lists on the full demo (two rounds, 40 所属): membership and order agree
with `aggregate.round_scores`, computed independently here."""

from __future__ import annotations

import pytest

from surveyapp import migrations, store
from surveyapp.demo.loader import load_demo
from surveyapp.readmodels import followup_lists
from surveyapp.readmodels.aggregate import round_scores
from tests.conftest import QUESTIONNAIRES

MIN = 5
DEFAULT = 60.0


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    database = store.connect(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    migrations.apply(database)
    load_demo(database, QUESTIONNAIRES)
    yield database
    database.close()


@pytest.fixture(scope="module", params=[1, 2], ids=["fy2020", "fy2021"])
def round_id(request):
    return request.param


def expected_members(scores, finding, threshold):
    return sorted((d.findings[finding], d.code) for d in scores.departments
                  if d.findings.get(finding) is not None and d.findings[finding] < threshold)


def test_every_finding_lists_exactly_the_departments_below_the_threshold(demo_db, round_id):
    scores = round_scores(demo_db, round_id, MIN)
    found = followup_lists.round_followups(demo_db, round_id, MIN, DEFAULT)
    for listed in found.lists:
        assert [(e.score, e.code) for e in listed.entries] == expected_members(
            scores, listed.finding, DEFAULT), listed.finding


def test_every_listed_question_is_tagged_and_below_the_threshold(demo_db, round_id):
    scores = round_scores(demo_db, round_id, MIN)
    for listed in followup_lists.round_followups(demo_db, round_id, MIN, DEFAULT).lists:
        for entry in listed.entries:
            ratios = scores.department(entry.code).ratios
            assert entry.gaps, (listed.finding, entry.code)
            for gap in entry.gaps:
                question = scores.questionnaire.question(gap.question_id)
                assert listed.finding in question.findings
                assert gap.ratio == ratios[gap.question_id] < DEFAULT / 100


def test_demo_lists_follow_the_audit_item_order(demo_db, round_id):
    found = followup_lists.round_followups(demo_db, round_id, MIN, DEFAULT)
    assert [f.finding for f in found.lists] == [  # the catalogue's: findings, then opinions
        "指摘6", "指摘21", "指摘22", "意見17", "意見18", "意見19", "意見20", "意見28"]


def test_a_higher_threshold_never_lists_fewer_departments(demo_db, round_id):
    low = followup_lists.round_followups(demo_db, round_id, MIN, 50.0).lists
    high = followup_lists.round_followups(demo_db, round_id, MIN, 70.0).lists
    for before, after in zip(low, high, strict=True):
        assert {e.code for e in before.entries} <= {e.code for e in after.entries}
