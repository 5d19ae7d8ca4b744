"""readmodels.compare: year-over-year per 所属, section comparability through lineage."""

from __future__ import annotations

import pytest

from surveyapp import lineage
from surveyapp.model import (
    Band,
    Choice,
    LineageLink,
    Question,
    Questionnaire,
    Section,
    Text,
)
from surveyapp.readmodels import compare
from surveyapp.readmodels.definitions import get_definition
from surveyapp.refusals import Invalid, NotFound
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
    with pytest.raises(Invalid):
        compare.compare_rounds(db, rounds[2021], other, MIN)


def test_unknown_round_cannot_be_compared(db, rounds):
    with pytest.raises(NotFound):
        compare.compare_rounds(db, rounds[2020], 999, MIN)


# --- the shipped questionnaires: 2020.1 -> 2021.1 ------------------------------------


@pytest.fixture
def shipped(db):
    builder.add_departments(db)
    before, after = builder.publish_shipped(db, "2020.1"), builder.publish_shipped(db, "2021.1")
    definitions = {v: get_definition(db, "infosec-selfcheck", v)
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


# --- section comparability on model objects ------------------------------------------

YN = (Choice("yes", Text("はい"), 1), Choice("no", Text("いいえ"), 0))


def question(qid, section, *, weight=1, links=(), text=None):
    lineage_links = tuple(LineageLink("1", from_id, relation) for from_id, relation in links)
    return Question(id=qid, type="single_choice", text=Text(text or qid), section_id=section,
                    audience="department", choices=YN, weight=weight, lineage=lineage_links)


def version(name, *questions):
    section_ids = list(dict.fromkeys(q.section_id for q in questions))
    sections = tuple(Section(sid, Text(sid), "department",
                             tuple(q for q in questions if q.section_id == sid))
                     for sid in section_ids)
    return Questionnaire(id="q", version=name, fiscal_year=int(name) + 2000,
                         title=Text("q"), method="weighted_mean",
                         bands=(Band("D", 0, Text("D")),), sections=sections)


def comparability(before, after):
    return compare.section_comparability(
        before, after, lineage.match_questions(before, after))


def test_new_unscored_question_keeps_a_section_comparable():
    before = version("1", question("A-1", "A"))
    after = version("2", question("A-1", "A"), question("A-9", "A", weight=0))
    assert comparability(before, after) == {"A": True}


def test_approximate_question_makes_its_section_not_comparable():
    before = version("1", question("A-1", "A"), question("B-1", "B"))
    after = version("2", question("A-1", "A", links=[("A-1", "approximate")], text="new"),
                    question("B-1", "B"))
    assert comparability(before, after) == {"A": False, "B": True}


def test_merged_question_makes_its_section_not_comparable():
    before = version("1", question("A-1", "A"), question("A-2", "A"))
    after = version("2", question("A-3", "A", links=[("A-1", "merged"), ("A-2", "merged")]))
    assert comparability(before, after) == {"A": False}


def test_question_moved_between_sections_makes_both_not_comparable():
    before = version("1", question("A-1", "A"), question("X-1", "A"), question("B-1", "B"))
    after = version("2", question("A-1", "A"), question("B-1", "B"),
                    question("X-1", "B", links=[("X-1", "same")]))
    assert comparability(before, after) == {"A": False, "B": False}


def test_section_missing_in_one_version_is_not_comparable():
    before = version("1", question("A-1", "A"), question("B-1", "B"))
    after = version("2", question("A-1", "A"), question("C-1", "C"))
    assert comparability(before, after) == {"A": True, "C": False, "B": False}
