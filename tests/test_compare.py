"""services.compare: year-over-year per 所属, section comparability through lineage."""

from __future__ import annotations

import pytest

from surveyapp.services import aggregate, compare
from surveyapp.services import questionnaires as questionnaire_service
from tests.fixtures.aggregate import builder

MIN = 5


# --- the hand-computed fixture (same questions in both versions) -----------------------


@pytest.fixture
def rounds(db):
    return builder.build(db)


@pytest.fixture
def fixture_comparison(db, rounds):
    return compare.compare_rounds(db, rounds[2020], rounds[2021], MIN)


def department(comparison, code):
    return next(d for d in comparison.departments if d.code == code)


def test_overall_change_is_later_minus_earlier(fixture_comparison):
    # U1 FY2020: D-01 none 0, D-02 done 1 -> 100 * (3*0 + 1*1) / 4 = 25; FY2021 570/7.
    overall = department(fixture_comparison, "U1").changes.overall
    assert (overall.before, overall.after) == (25.0, pytest.approx(570 / 7))
    assert overall.delta == pytest.approx(570 / 7 - 25)


def test_departments_are_matched_through_successor_code(fixture_comparison):
    # U4OLD FY2020 50 -> U4 FY2021 100.
    u4 = department(fixture_comparison, "U4")
    assert u4.from_codes == ("U4OLD",)
    assert (u4.changes.overall.before, u4.changes.overall.delta) == (50.0, 50.0)


def test_delta_is_none_without_an_earlier_figure(fixture_comparison):
    # U2 existed in FY2020 but did not answer.
    u2 = department(fixture_comparison, "U2")
    assert (u2.changes.overall.before, u2.changes.overall.delta) == (None, None)


def test_unchanged_sections_are_comparable(fixture_comparison):
    assert fixture_comparison.section_comparable == {"DEP": True, "STF": True}


def test_comparing_different_questionnaires_is_refused(db, rounds):
    other = builder.publish_shipped(db, "2021.1")
    with pytest.raises(compare.NotComparable):
        compare.compare_rounds(db, rounds[2021], other, MIN)


def test_unknown_round_cannot_be_compared(db, rounds):
    with pytest.raises(aggregate.RoundNotFound):
        compare.compare_rounds(db, rounds[2020], 999, MIN)


# --- the shipped questionnaires: 2020.1 -> 2021.1 ------------------------------------


@pytest.fixture
def shipped(db):
    builder.add_departments(db)
    before, after = builder.publish_shipped(db, "2020.1"), builder.publish_shipped(db, "2021.1")
    definitions = {v: questionnaire_service.get_definition(db, "infosec-selfcheck", v)
                   for v in ("2020.1", "2021.1")}
    # U1's IDM answers. FY2020: IDM-01 done (w3, r 1), IDM-02 no (w3, r 0)
    #   IDM as defined = 100 * 3 / 6 = 50; on common items (IDM-01) = 100.
    # FY2021: IDM-01 done, IDM-05 yes, IDM-06 yes, IDM-07 done -> 100 either way.
    builder.add_response(db, before, definitions["2020.1"], "U1", "department",
                         {"SYS-00": "yes", "IDM-01": "done", "IDM-02": "no"})
    builder.add_response(db, after, definitions["2021.1"], "U1", "department",
                         {"SYS-00": "yes", "IDM-01": "done", "IDM-05": "yes",
                          "IDM-06": "yes", "IDM-07": "done"})
    return compare.compare_rounds(db, before, after, MIN)


def match(comparison, to_id):
    return next(m for m in comparison.questions if m.to_id == to_id)


def test_reworded_question_is_comparable(shipped):
    pwd01 = match(shipped, "PWD-01")
    assert (pwd01.from_ids, pwd01.relation, pwd01.comparable) == (
        ("PWD-01",), "reworded", True)


def test_split_question_parts_are_marked_not_comparable(shipped):
    for part in ("IDM-05", "IDM-06"):
        found = match(shipped, part)
        assert (found.from_ids, found.relation, found.comparable) == (
            ("IDM-02",), "split", False)


def test_retired_question_is_not_listed(shipped):
    assert {"AUD-03", "IDM-02"}.isdisjoint(m.to_id for m in shipped.questions)


def test_new_questions_are_new(shipped):
    for new in ("IDM-07", "POL-06"):
        assert (match(shipped, new).relation, match(shipped, new).from_ids) == ("new", ())


def test_sections_with_changed_question_sets_are_not_comparable(shipped):
    comparable = shipped.section_comparable
    assert not any(comparable[s] for s in ("POL", "IDM", "AUD"))
    assert all(comparable[s] for s in ("PWD", "SCI", "TRN", "PHY", "INC"))


def test_common_items_score_uses_comparable_pairs_only(shipped):
    idm = department(shipped, "U1").changes.sections["IDM"]
    assert (idm.change.before, idm.change.after, idm.change.delta) == (50.0, 100.0, 50.0)
    assert (idm.common.before, idm.common.after, idm.common.delta) == (100.0, 100.0, 0.0)
    assert idm.comparable is False


def test_prefecture_changes_are_compared_too(shipped):
    # U1 is the only 所属 with answers, so the prefecture means are its figures.
    assert shipped.prefecture.sections["IDM"].change.delta == 50.0
