"""services.verification on the hand-computed aggregation fixture (tests/fixtures/aggregate):
sampling, adjusting the sample, verdicts, finalising, improvement items, figures.

FY2021 round of the fixture (anonymity minimum 5): U1, U2 and U4 submitted their
department response, U3's is a draft. Self scores: U1 570/7 (D-01 done, D-02 partial,
staff S-01 0.8, S-02 0.6), U2 0 (D-01 unknown, floored), U4 100 (D-01 na, D-02 done).
D-01 is tagged 指摘21, D-02 指摘22.
"""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import store
from surveyapp.readmodels import followup_lists, verification_history
from surveyapp.readmodels import verification as figures
from surveyapp.refusals import Conflict, Invalid, Locked, NotFound, Refusal
from surveyapp.services import followups
from surveyapp.services import verification as service
from surveyapp.services import verification_sampling as sampling
from surveyapp.services.verification import VerdictInput
from surveyapp.services.verification_sampling import Candidate, Pick, choose_sample
from surveyapp.store import audit as audit_store
from surveyapp.store import followups as followup_store
from surveyapp.store import verification as verification_store
from tests.fixtures.aggregate import builder
from tests.verification_fixtures import *  # noqa: F403  (the fixtures)
from tests.verification_fixtures import MIN, add, verdict, verified_u1


def sample_of(db, round_id):
    return {row["department_code"]: row["reason"]
            for row in verification_store.samples(db, round_id)}


# --- choosing the sample (pure) -------------------------------------------------------------

CANDIDATES = [
    Candidate("A", score=40, rise=2, missing_evidence=0, sampled_before=True),
    Candidate("B", score=90, rise=30, missing_evidence=1, sampled_before=True),
    Candidate("C", score=70, rise=-5, missing_evidence=6, sampled_before=True),
    Candidate("D", score=80, rise=None, missing_evidence=0, sampled_before=False),
    Candidate("E", score=60, rise=1, missing_evidence=2, sampled_before=True,
              last_reliability=0.5),
    Candidate("F", score=75, sampled_before=True),
    Candidate("G", score=85, sampled_before=True),
    Candidate("H", score=95, sampled_before=True),
    Candidate("I", score=96, sampled_before=True),
    Candidate("J", score=97, sampled_before=True),
]


def test_the_risk_rules_take_turns_and_say_why():
    picks = choose_sample(CANDIDATES, 10, "seed-1")[:5]
    assert [(p.code, p.reason) for p in picks] == [
        ("E", "low_reliability"), ("A", "lowest_score"), ("B", "largest_rise"),
        ("C", "missing_evidence"), ("D", "never_sampled")]
    assert [dict(p.detail) for p in picks[:4]] == [
        {"reliability": 0.5}, {"score": 40}, {"rise": 30}, {"answers": 6}]


def test_about_half_comes_by_risk_and_the_rest_at_random():
    picks = choose_sample(CANDIDATES, 5, "seed-1")
    reasons = [p.reason for p in picks]
    assert reasons[:3] == ["low_reliability", "lowest_score", "largest_rise"]
    assert reasons[3:] == ["random", "random"]
    assert all(p.detail == {"seed": "seed-1"} for p in picks[3:])


def test_the_same_seed_draws_the_same_sample():
    assert choose_sample(CANDIDATES, 5, "abc") == choose_sample(list(CANDIDATES), 5, "abc")


def test_another_seed_draws_another_random_part():
    drawn = {tuple(p.code for p in choose_sample(CANDIDATES, 6, str(seed))[3:])
             for seed in range(20)}
    assert len(drawn) > 1


def test_a_sample_never_holds_a_department_twice():
    for size in range(1, 14):
        codes = [p.code for p in choose_sample(CANDIDATES, size, "x")]
        assert len(codes) == len(set(codes)) == min(size, len(CANDIDATES))


def test_rules_without_candidates_leave_their_turn_to_the_others():
    plain = [Candidate(code, score=score) for code, score in (("P", 50), ("Q", 60))]
    picks = choose_sample(plain, 2, "s")
    assert picks[0] == Pick("P", "lowest_score", {"score": 50})
    assert picks[1].reason == "random"


def test_no_risk_at_all_still_draws_at_random():
    everyone = [Candidate(code, sampled_before=True) for code in "XYZ"]
    assert [p.reason for p in choose_sample(everyone, 2, "s")] == ["random", "random"]


candidate_lists = st.lists(st.builds(
    Candidate, code=st.text("ABCDEFGHJK", min_size=1, max_size=3),
    score=st.none() | st.floats(0, 100), rise=st.none() | st.floats(-50, 50),
    missing_evidence=st.integers(0, 5), sampled_before=st.booleans(),
    last_reliability=st.none() | st.floats(0, 1)), max_size=15,
    unique_by=lambda c: c.code)


@given(candidate_lists, st.integers(1, 20), st.text(max_size=8))
def test_any_draw_is_reproducible_unique_and_half_by_risk(found, size, seed):
    picks = choose_sample(found, size, seed)
    assert picks == choose_sample(list(reversed(found)), size, seed)
    codes = [p.code for p in picks]
    assert len(codes) == len(set(codes)) == min(size, len(found))
    assert set(codes) <= {c.code for c in found}
    risky = [p for p in picks if p.reason != "random"]
    assert len(risky) <= -(-len(picks) // 2)
    assert all(p.reason == "random" for p in picks[len(risky):])


# --- drawing on the database ----------------------------------------------------------------


def test_a_draw_takes_submitted_departments_only_with_reasons(db, round_id, auditor):
    drawn = sampling.draw_sample(db, round_id, 10, "7", auditor, MIN)
    assert {p.code for p in drawn.picks} == {"U1", "U2", "U4"}  # U3 is a draft
    assert drawn.picks[0] == Pick("U2", "lowest_score", {"score": 0.0})
    assert sample_of(db, round_id)["U2"] == "lowest_score"
    assert set(drawn.added) == {"U1", "U2", "U4"}


def test_drawing_again_with_the_same_seed_adds_nothing(db, round_id, auditor):
    first = sampling.draw_sample(db, round_id, 2, "42", auditor, MIN)
    again = sampling.draw_sample(db, round_id, 2, "42", auditor, MIN)
    assert again.picks == first.picks
    assert again.added == ()
    assert len(sample_of(db, round_id)) == 2


def test_a_draw_is_reproducible_on_a_copy_of_the_same_data(db, round_id, auditor, tmp_path,
                                                           app):
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(app.config["DATABASE"], copy)
    other = store.connect(copy)
    try:
        assert (sampling.draw_sample(db, round_id, 2, "s", auditor, MIN).picks
                == sampling.draw_sample(other, round_id, 2, "s", None, MIN).picks)
    finally:
        other.close()


def test_a_draw_is_audit_logged_with_its_seed(db, round_id, auditor):
    sampling.draw_sample(db, round_id, 1, "seed-x", auditor, MIN)
    entry = audit_store.list_entries(db, action="verification.draw")[0]
    assert '"seed": "seed-x"' in entry["detail"] and entry["user_id"] == auditor


def test_a_draw_without_a_seed_makes_one_up_and_reports_it(db, round_id, auditor):
    drawn = sampling.draw_sample(db, round_id, 1, None, auditor, MIN)
    assert drawn.seed
    assert sampling.draw_sample(db, round_id, 1, drawn.seed, auditor, MIN).added == ()


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1001"])
def test_a_bad_size_is_refused(db, round_id, auditor, size):
    with pytest.raises(Invalid) as refused:
        sampling.draw_sample(db, round_id, size, "s", auditor, MIN)
    assert "size" in refused.value.errors


def test_an_unknown_round_is_not_found(db, auditor):
    with pytest.raises(NotFound):
        sampling.draw_sample(db, 999, 1, "s", auditor, MIN)


def test_the_next_round_favours_low_reliability(db, agg_template, auditor):
    """A 所属 whose last finalised verification found discrepancies comes first."""
    r2020 = agg_template[1][2020]
    add(db, r2020, "U1", auditor)
    verdict(db, r2020, "U1", "D-01", "discrepancy", "done", auditor)
    service.finalise(db, r2020, "U1", auditor, MIN)
    drawn = sampling.draw_sample(db, agg_template[1][2021], 1, "s", auditor, MIN)
    assert drawn.picks == (Pick("U1", "low_reliability", {"reliability": 0.0}),)


def test_a_department_sampled_last_year_is_not_never_sampled(db, agg_template, auditor):
    r2020 = agg_template[1][2020]
    add(db, r2020, "U1", auditor)
    found = {c.code: c for c in sampling.candidates(db, agg_template[1][2021], MIN)}
    assert found["U1"].sampled_before and not found["U2"].sampled_before
    # FY2020: D-01 none (0), D-02 done (1), no staff: 100 · 1 / 4 = 25
    assert found["U1"].rise == pytest.approx(570 / 7 - 25)


def test_candidates_count_full_marks_without_evidence_on_questions_asking_for_it(
        db, make_user):
    # The agg-test questions ask no evidence; the response tests' form does (PWD-06:
    # optional, weight 2). U1 and U2 answer it at full points, U2 saying where the proof
    # is; QZ-01 at full points asks no evidence, so it never counts.
    from surveyapp.evidence import AnswerEvidence
    from surveyapp.services import responses
    from tests.test_responses import publish_form

    form = publish_form(db)
    for code, evidence in (("U1", {}), ("U2", {"PWD-06": AnswerEvidence(location="台帳")})):
        user = make_user(f"unit-{code}", "department", code)["id"]
        response = responses.get_or_create_department_response(db, form.round_id, code, user)
        responses.submit(db, response["id"], 1, {"SYS-00": "no", "PWD-06": "done",
                                                     "QZ-01": "b"}, evidence, user)
    found = {c.code: c.missing_evidence for c in sampling.candidates(db, form.round_id, MIN)}
    assert found == {"U1": 1, "U2": 0}


# --- adjusting by hand ------------------------------------------------------------------------


def test_adding_by_hand_needs_a_reason(db, round_id, auditor):
    with pytest.raises(Invalid) as refused:
        sampling.add_department(db, round_id, "U1", "  ", auditor)
    assert "note" in refused.value.errors
    add(db, round_id, "U1", auditor)
    sample = verification_store.get_sample(db, round_id, "U1")
    assert (sample["reason"], sample["note"]) == ("manual", "抜き打ちで確認する")


def test_only_submitted_departments_can_be_added(db, round_id, auditor):
    with pytest.raises(Invalid) as refused:
        add(db, round_id, "U3", auditor)
    assert "提出していない" in str(refused.value)
    with pytest.raises(Invalid):
        add(db, round_id, "NOPE", auditor)


def test_a_department_is_added_once(db, round_id, auditor):
    add(db, round_id, "U1", auditor)
    with pytest.raises(Invalid):
        add(db, round_id, "U1", auditor)


def test_a_removed_department_keeps_its_reason_and_is_not_drawn_again(db, round_id, auditor):
    sampling.draw_sample(db, round_id, 3, "s", auditor, MIN)
    sampling.remove_department(db, round_id, "U4", "組織改正の直後のため次年度に回す", auditor)
    assert set(sample_of(db, round_id)) == {"U1", "U2"}
    removed = verification_store.removed_samples(db, round_id)
    assert [(r["department_code"], r["removed_note"]) for r in removed] == [
        ("U4", "組織改正の直後のため次年度に回す")]
    assert "U4" not in {p.code for p in sampling.draw_sample(db, round_id, 3, "t", auditor,
                                                             MIN).picks}
    add(db, round_id, "U4", auditor, "やはり対象にする")
    assert sample_of(db, round_id)["U4"] == "manual"


def test_removing_a_department_not_in_the_sample_is_not_found(db, round_id, auditor):
    with pytest.raises(NotFound):
        sampling.remove_department(db, round_id, "U1", "理由", auditor)


def test_fieldwork_fixes_the_sample(db, round_id, auditor):
    add(db, round_id, "U1", auditor)
    service.start_fieldwork(db, round_id, auditor)
    with pytest.raises(Locked):
        add(db, round_id, "U2", auditor)
    with pytest.raises(Locked):
        sampling.remove_department(db, round_id, "U1", "理由", auditor)
    with pytest.raises(Locked):
        sampling.draw_sample(db, round_id, 1, "s", auditor, MIN)


def test_fieldwork_needs_a_sample(db, round_id, auditor):
    with pytest.raises(Invalid):
        service.start_fieldwork(db, round_id, auditor)


def test_the_first_verdict_starts_fieldwork(db, round_id, auditor):
    add(db, round_id, "U1", auditor)
    verdict(db, round_id, "U1", "D-00", "confirmed", user_id=auditor)
    assert verification_store.get_plan(db, round_id)["status"] == "fieldwork"


def test_department_users_do_no_verification_work(db, round_id, make_user):
    user = make_user("u1-user", "department", "U1")["id"]
    with pytest.raises(Refusal):
        sampling.draw_sample(db, round_id, 1, "s", user, MIN)
    with pytest.raises(Refusal):
        add(db, round_id, "U1", user)


# --- verdicts -----------------------------------------------------------------------------


def test_a_verdict_keeps_the_reported_value_and_its_history(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    stored = {(r["question_id"], r["verdict"], r["self_value"], r["verified_value"])
              for r in verification_store.verdicts(db, round_id, "U1")}
    assert stored == {("D-00", "confirmed", "yes", None),
                      ("D-01", "discrepancy", "done", "partial"),
                      ("D-02", "unverifiable", "partial", None)}
    history = verification_store.verdict_history(db, round_id, "U1")
    assert [(h["question_id"], h["via"]) for h in history] == [
        ("D-00", "web"), ("D-01", "web"), ("D-02", "web")]


@pytest.mark.parametrize(("kind", "found", "field"), [
    ("discrepancy", None, "verified_value"),  # a discrepancy without a value
    ("discrepancy", "done", "verified_value"),  # the value reported
    ("confirmed", "partial", "verified_value"),  # a value without a discrepancy
    ("maybe", None, "verdict"),
])
def test_a_bad_verdict_is_refused_per_field(db, round_id, auditor, kind, found, field):
    add(db, round_id, "U1", auditor)
    with pytest.raises(Invalid) as refused:
        verdict(db, round_id, "U1", "D-01", kind, found, auditor)
    assert list(refused.value.errors) == [field]
    assert verification_store.verdicts(db, round_id) == []


def test_a_value_not_among_the_choices_is_refused_with_them():
    question = builder.definition("2021.1").question("D-01")
    with pytest.raises(ValueError, match="選択肢にありません"):
        service.parse_found(question, "mostly")
    assert service.parse_found(question, "一部実施している") == "partial"


def test_only_sampled_departments_and_their_answers_get_verdicts(db, round_id, auditor):
    add(db, round_id, "U2", auditor)
    with pytest.raises(NotFound):
        verdict(db, round_id, "U1", "D-00", "confirmed", user_id=auditor)
    with pytest.raises(NotFound):  # D-02 is not shown to U2 (D-00 no)
        verdict(db, round_id, "U2", "D-02", "confirmed", user_id=auditor)


def test_a_verdict_changed_by_someone_else_is_a_conflict(db, round_id, auditor):
    add(db, round_id, "U1", auditor)
    service.record_verdict(db, round_id, "U1", VerdictInput("D-00", "confirmed"), auditor,
                           expected_version=0, anonymity_min=MIN)
    with pytest.raises(Conflict) as conflict:
        service.record_verdict(db, round_id, "U1", VerdictInput("D-00", "unverifiable"),
                               auditor, expected_version=0, anonymity_min=MIN)
    assert conflict.value.current["verdict"] == "confirmed"


# --- figures ---------------------------------------------------------------------------------


def test_figures_of_a_sampled_department(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    u1 = figures.round_verification(db, round_id, MIN).department("U1")
    assert (u1.counts.confirmed, u1.counts.discrepancies, u1.counts.unverifiable) == (1, 1, 1)
    assert u1.reliability == 0.5
    assert u1.self_score == pytest.approx(570 / 7)
    assert u1.verified_score == pytest.approx(60.0)
    assert u1.gap == pytest.approx(570 / 7 - 60)
    assert u1.findings["指摘21"] == figures.Counts(0, 1, 0)
    assert u1.sections["DEP"] == figures.Counts(1, 1, 1)


def test_prefecture_figures_count_finalised_departments_only(db, round_id, auditor):
    add(db, round_id, "U4", auditor)  # before the first verdict fixes the sample
    verified_u1(db, round_id, auditor)
    verdict(db, round_id, "U4", "D-00", "confirmed", user_id=auditor)
    verdict(db, round_id, "U4", "D-02", "discrepancy", "none", auditor)
    found = figures.round_verification(db, round_id, MIN)
    assert found.reliability is None and found.gaps == []
    service.finalise(db, round_id, "U1", auditor, MIN)
    service.finalise(db, round_id, "U4", auditor, MIN)
    found = figures.round_verification(db, round_id, MIN)
    assert found.reliability == 0.5  # (1 + 1) / (2 + 2)
    # U4: self 100 (D-02 done), verified: D-02 none -> 0
    assert sorted(found.gaps) == pytest.approx(sorted([570 / 7 - 60, 100.0]))
    assert found.findings["指摘22"].counts == figures.Counts(0, 1, 1)


def test_reliability_history_lists_finalised_rounds(db, agg_template, auditor):
    r2020, r2021 = agg_template[1][2020], agg_template[1][2021]
    add(db, r2020, "U1", auditor)
    verdict(db, r2020, "U1", "D-01", "discrepancy", "partial", auditor)
    service.finalise(db, r2020, "U1", auditor, MIN)
    verified_u1(db, r2021, auditor)
    found = verification_history.reliability_history(db, "U1", MIN)
    assert [p.round.fiscal_year for p in found] == [2020]
    service.finalise(db, r2021, "U1", auditor, MIN)
    history = verification_history.reliability_history(db, "U1", MIN)
    assert [(p.round.fiscal_year, p.reliability) for p in history] == [(2020, 0.0),
                                                                       (2021, 0.5)]


# --- finalising and improvement items --------------------------------------------------------


def test_finalising_opens_an_item_for_each_finding_with_a_discrepancy(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    changes = service.finalise(db, round_id, "U1", auditor, MIN)
    assert changes.extended == () and len(changes.opened) == 1
    item = followup_lists.get_item(db, changes.opened[0])
    assert (item.department_code, item.finding, item.question_ids) == ("U1", "指摘21",
                                                                        ("D-01",))
    assert item.status == "not_started"
    assert "監査検証の相違: D-01 自己申告「実施している」→ 確認「一部実施している」" in item.notes
    row = verification_store.item_discrepancies(db, item.id)
    assert [(r["question_id"], r["verified_value"]) for r in row] == [("D-01", "partial")]


def test_the_item_is_marked_as_coming_from_verification(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    item_id = service.finalise(db, round_id, "U1", auditor, MIN).opened[0]
    assert followup_store.get_item(db, item_id)["source"] == "verification"


def test_a_discrepancy_extends_the_open_item_of_its_finding(db, round_id, auditor, admin):
    existing = followups.create_item(db, round_id, "U1", followups.ItemInput(
        finding="指摘21", question_ids=(), notes="年度当初からの計画"), admin)
    verified_u1(db, round_id, auditor)
    changes = service.finalise(db, round_id, "U1", auditor, MIN)
    assert changes == service.verification_items.ItemChanges((), (existing,))
    item = followup_lists.get_item(db, existing)
    assert item.question_ids == ("D-01",)
    assert item.notes.startswith("年度当初からの計画\n") and "D-01" in item.notes
    fields = [h["field"] for h in followup_lists.item_history(db, existing)]
    assert fields.count("question_ids") == 1 and "notes" in fields


def test_a_done_item_is_not_extended_a_new_one_opens(db, round_id, auditor, admin):
    done = followups.create_item(db, round_id, "U1", followups.ItemInput(
        finding="指摘21", status="done"), admin)
    verified_u1(db, round_id, auditor)
    changes = service.finalise(db, round_id, "U1", auditor, MIN)
    assert changes.opened and changes.opened[0] != done


def test_finalising_again_after_a_reopen_adds_nothing_twice(db, round_id, auditor, admin):
    verified_u1(db, round_id, auditor)
    item_id = service.finalise(db, round_id, "U1", auditor, MIN).opened[0]
    service.reopen(db, round_id, "U1", "判定の入力誤りを直す", admin)
    verdict(db, round_id, "U1", "D-02", "discrepancy", "none", auditor)
    changes = service.finalise(db, round_id, "U1", auditor, MIN)
    assert len(changes.opened) == 1 and changes.opened[0] != item_id  # 指摘22 only
    assert followup_lists.get_item(db, item_id).question_ids == ("D-01",)


def test_only_admins_reopen(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    service.finalise(db, round_id, "U1", auditor, MIN)
    with pytest.raises(Refusal):
        service.reopen(db, round_id, "U1", "理由", auditor)


def test_a_finalised_department_is_locked(db, round_id, auditor):
    verified_u1(db, round_id, auditor)
    service.finalise(db, round_id, "U1", auditor, MIN)
    with pytest.raises(Locked):
        verdict(db, round_id, "U1", "D-00", "unverifiable", user_id=auditor)
    with pytest.raises(Locked):
        service.finalise(db, round_id, "U1", auditor, MIN)


def test_finalising_needs_a_verdict(db, round_id, auditor):
    add(db, round_id, "U1", auditor)
    with pytest.raises(Invalid):
        service.finalise(db, round_id, "U1", auditor, MIN)


def test_every_step_is_in_the_audit_log(db, round_id, auditor, admin):
    sampling.draw_sample(db, round_id, 1, "s", auditor, MIN)
    verified_u1(db, round_id, auditor)
    service.finalise(db, round_id, "U1", auditor, MIN)
    service.reopen(db, round_id, "U1", "理由", admin)
    actions = {entry["action"] for entry in audit_store.list_entries(db)}
    assert {"verification.draw", "verification.add", "verification.fieldwork",
            "verification.verdict", "verification.finalise",
            "verification.reopen"} <= actions
