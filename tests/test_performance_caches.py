"""Figures kept until a score changes (readmodels/kept.py, the score record of
store/score_changes.py): reused while nothing changed, computed again after a change by
any connection, never stale inside a write transaction (tests/test_kept_scores.py
checks the per-所属 refresh against a full recompute). Also what is built once per
immutable object: the results table of a RoundScores, the form class of a
questionnaire."""

from __future__ import annotations

import pytest

from surveyapp import store
from surveyapp.readmodels import aggregate, compare
from surveyapp.store import versions
from tests.fixtures.aggregate import builder

MIN = 5


@pytest.fixture
def rounds(db):
    return builder.build(db)


@pytest.fixture
def other(app):
    """A second connection, as another request or the CLI would hold."""
    connection = store.connect(app.config["DATABASE"])
    yield connection
    connection.close()


def first_code(scores) -> str:
    return scores.departments[0].code


def test_round_scores_are_reused_while_the_database_is_unchanged(db, rounds):
    first = aggregate.round_scores(db, rounds[2021], MIN)
    assert aggregate.round_scores(db, rounds[2021], MIN) is first
    assert aggregate.round_scores(db, rounds[2021], MIN + 1) is not first


def test_a_commit_by_another_connection_is_seen_at_once(db, rounds, other):
    before = aggregate.round_scores(db, rounds[2021], MIN)
    code = first_code(before)
    other["departments"].update(code, {"name": "改名後の課"})
    after = aggregate.round_scores(db, rounds[2021], MIN)
    assert after is not before
    assert after.department(code).name == "改名後の課"


def test_own_uncommitted_changes_are_seen_and_never_cached(db, rounds):
    original = aggregate.round_scores(db, rounds[2021], MIN)
    code = first_code(original)
    with pytest.raises(RuntimeError), store.transaction(db):
        db["departments"].update(code, {"name": "取り消される名前"})
        inside = aggregate.round_scores(db, rounds[2021], MIN)
        assert inside.department(code).name == "取り消される名前"
        raise RuntimeError("roll back")
    assert aggregate.round_scores(db, rounds[2021], MIN).department(code).name == (
        original.department(code).name)


def test_comparisons_follow_the_same_rule(db, rounds, other):
    first = compare.compare_rounds(db, rounds[2020], rounds[2021], MIN)
    assert compare.compare_rounds(db, rounds[2020], rounds[2021], MIN) is first
    other["departments"].update(first_code(first.after), {"name": "改名後の課"})
    assert compare.compare_rounds(db, rounds[2020], rounds[2021], MIN) is not first


def test_a_database_without_a_file_is_not_watched():
    memory = store.connect(":memory:")
    assert versions.database_identity(memory) is None
    memory.close()


def test_the_results_table_is_built_once_per_scores_object(db, rounds, other):
    from surveyapp.readmodels import results_view

    scores = aggregate.round_scores(db, rounds[2021], MIN)
    table = results_view.results_table(scores, None, "overall", True)
    assert results_view.results_table(scores, None, "overall", True) is table
    assert results_view.results_table(scores, None, "overall", False) is not table
    other["departments"].update(first_code(scores), {"name": "改名後の課"})
    changed = aggregate.round_scores(db, rounds[2021], MIN)
    rebuilt = results_view.results_table(changed, None, "overall", True)
    assert rebuilt is not table
    assert "改名後の課" in {row.result.name for row in rebuilt.rows}


def test_the_form_class_is_built_once_per_questionnaire_audience_and_language(app):
    from flask_babel import force_locale

    from surveyapp import questionnaires
    from surveyapp.web import forms

    definition = questionnaires.load_file(builder.SHIPPED / "2021.1.yaml",
                                          questionnaires.folder_resolver(builder.SHIPPED))
    with app.test_request_context("/"):
        japanese = forms.build_form_class(definition, "department", "ja")
        assert forms.build_form_class(definition, "department", "ja") is japanese
        assert forms.build_form_class(definition, "staff", "ja") is not japanese
        with force_locale("en"):
            english = forms.build_form_class(definition, "department", "en")
            labels = {name: english()[name].label.text for name in english()._fields}
        assert english is not japanese
        assert labels != {name: japanese()[name].label.text for name in japanese()._fields}


def test_the_overview_charts_are_kept_per_round_until_a_score_changes(db, rounds, other):
    from surveyapp.readmodels import prefecture_overview

    first = prefecture_overview.overview(db, rounds[2021], MIN)
    assert prefecture_overview.overview(db, rounds[2021], MIN) is first
    assert prefecture_overview.overview(db, rounds[2021], MIN, "en") is not first
    with store.transaction(other):
        other["users"].insert({"login": "unrelated", "display_name": "", "role": "auditor",
                               "password_hash": "x", "created_at": store.now(),
                               "password_changed_at": store.now()})
    assert prefecture_overview.overview(db, rounds[2021], MIN) is first
    other["departments"].update(first_code(aggregate.round_scores(db, rounds[2021], MIN)),
                                {"name": "改名後の課"})
    assert prefecture_overview.overview(db, rounds[2021], MIN) is not first
