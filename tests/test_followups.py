"""services.followups, readmodels.followup_lists and services.previous_year on the
hand-computed aggregation fixture (tests/fixtures/aggregate).

The figures used below, from tests/test_aggregate.py (anonymity minimum 5):
  FY2021: U1 指摘21 100 (D-01 r=1), 指摘22 50 (D-02 r=0.5), 意見17 220/3
          (S-01 r=0.8, S-02 r=0.6); U2 指摘21 0 (D-01 r=-0.25), 指摘22 and 意見17
          None; U3 意見17 60 (S-01 r=0.5, S-02 r=0.8), no department figures (draft);
          U4 指摘21 None (D-01 not applicable), 指摘22 100.
  FY2020: U1 指摘21 0 (D-01 none), 指摘22 100 (D-02 done); U4OLD (replaced by U4)
          指摘21 50, 指摘22 50 (both partial).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from surveyapp import migrations, store
from surveyapp.readmodels import followup_lists
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import followups as service
from surveyapp.services import previous_year
from surveyapp.services import rounds as rounds_service
from surveyapp.store import audit as audit_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store
from tests.fixtures.aggregate import builder

MIN = 5
DEFAULT = 60.0


@pytest.fixture(scope="session")
def agg_database(tmp_path_factory) -> tuple[Path, dict[int, int]]:
    """The aggregation fixture built once (parsing its YAML takes most of a second);
    each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("followups") / "template.sqlite3"
    database = store.connect(path)
    migrations.apply(database)
    built = builder.build(database)
    database.close()  # the last connection checkpoints the WAL into the file
    return path, built


@pytest.fixture
def app_config(app_config, agg_database, tmp_path):
    copy = tmp_path / "followups.sqlite3"
    shutil.copyfile(agg_database[0], copy)
    return {**app_config, "DATABASE": str(copy)}


@pytest.fixture
def rounds(db, agg_database):
    return agg_database[1]


@pytest.fixture
def admin(make_user):
    return make_user("chief")["id"]


def lists_of(db, round_id, default=DEFAULT, code=None):
    found = followup_lists.round_followups(db, round_id, MIN, default,
                                    None if code is None else [code])
    return {f.finding: f for f in found.lists}


def members(found):
    return [(entry.code, pytest.approx(entry.score), entry.question_ids)
            for entry in found.entries]


def new_item(db, round_id, code, finding, user_id, **typed):
    return service.create_item(db, round_id, code,
                               service.ItemInput(finding=finding, **typed), user_id)


# --- thresholds ----------------------------------------------------------------------


def test_threshold_defaults_to_the_setting(db, rounds):
    effective = followup_lists.thresholds(db, 55.0, ["意見17", "指摘21"])
    assert effective["意見17"] == followup_lists.Threshold("意見17", 55.0, False)


def test_threshold_set_for_one_finding_overrides_only_that_one(db, rounds, admin):
    service.set_thresholds(db, {"指摘21": "70"}, DEFAULT, admin)
    effective = followup_lists.thresholds(db, DEFAULT, ["指摘21", "指摘22"])
    assert effective["指摘21"] == followup_lists.Threshold("指摘21", 70.0, True)
    assert effective["指摘22"] == followup_lists.Threshold("指摘22", DEFAULT, False)


def test_threshold_left_empty_goes_back_to_the_setting(db, rounds, admin):
    service.set_thresholds(db, {"指摘21": "70"}, DEFAULT, admin)
    service.set_thresholds(db, {"指摘21": ""}, DEFAULT, admin)
    assert not followup_lists.thresholds(db, DEFAULT, ["指摘21"])["指摘21"].overridden


def test_threshold_change_is_audit_logged_with_old_and_new(db, rounds, admin):
    service.set_thresholds(db, {"意見17": "75"}, DEFAULT, admin)
    entries = audit_store.list_entries(db, action="followups.threshold")
    assert len(entries) == 1 and entries[0]["target_id"] == "意見17"
    assert '"new": 75.0' in entries[0]["detail"] and '"old": null' in entries[0]["detail"]


def test_unchanged_thresholds_log_nothing(db, rounds, admin):
    service.set_thresholds(db, {"意見17": "75"}, DEFAULT, admin)
    assert service.set_thresholds(db, {"意見17": "75"}, DEFAULT, admin) == []
    assert len(audit_store.list_entries(db, action="followups.threshold")) == 1


@pytest.mark.parametrize("typed", ["abc", "-1", "100.5", "nan", "inf"])
def test_bad_threshold_is_refused_with_a_japanese_message_and_nothing_stored(
        db, rounds, admin, typed):
    with pytest.raises(Invalid) as refused:
        service.set_thresholds(db, {"意見17": "70", "指摘21": typed}, DEFAULT, admin)
    assert "0から100" in refused.value.errors["指摘21"]
    assert not followup_lists.thresholds(db, DEFAULT, ["意見17"])["意見17"].overridden


def test_full_width_digits_are_accepted_as_a_threshold():
    assert service.parse_threshold("６５．５") == 65.5


def test_thresholds_table_refuses_values_outside_0_to_100(db, rounds):
    with pytest.raises(sqlite3.IntegrityError), store.transaction(db):
        db.execute("INSERT INTO followup_thresholds VALUES ('意見17', 101, 'x', NULL)")


# --- lists -----------------------------------------------------------------------------


def test_list_names_the_departments_below_the_threshold_with_their_low_questions(db, rounds):
    found = lists_of(db, rounds[2021])
    assert members(found["指摘21"]) == [("U2", 0.0, ("D-01",))]
    assert members(found["指摘22"]) == [("U1", 50.0, ("D-02",))]
    assert found["指摘21"].entries[0].gaps[0].ratio == pytest.approx(-0.25)


def test_a_score_equal_to_the_threshold_is_not_listed(db, rounds):
    assert lists_of(db, rounds[2021])["意見17"].entries == ()


def test_questions_listed_are_only_those_below_threshold_over_100(db, rounds, admin):
    # U3's 意見17 is 60: at 60.1 it is listed; S-01 (r 0.5) is below 0.601, S-02 (0.8) not.
    service.set_thresholds(db, {"意見17": "60.1"}, DEFAULT, admin)
    assert members(lists_of(db, rounds[2021])["意見17"]) == [("U3", 60.0, ("S-01",))]


def test_questions_are_listed_lowest_r_first(db, rounds):
    # At 90: U3 (60; S-01 r 0.5, S-02 r 0.8), then U1 (220/3; S-02 r 0.6, S-01 r 0.8).
    assert members(lists_of(db, rounds[2021], default=90)["意見17"]) == [
        ("U3", 60.0, ("S-01", "S-02")), ("U1", 220 / 3, ("S-02", "S-01"))]


def test_list_counts_the_departments_listed_and_scored(db, rounds):
    found = lists_of(db, rounds[2021])["指摘22"]
    assert (found.n_listed, found.n_scored) == (1, 2)


def test_list_entries_are_ordered_lowest_score_first(db, rounds):
    found = lists_of(db, rounds[2021], default=101)["指摘21"]
    assert [entry.code for entry in found.entries] == ["U2", "U1"]


def test_lists_follow_the_catalogue_order_and_mark_opinions_17_18_19(db, rounds):
    found = followup_lists.round_followups(db, rounds[2021], MIN, DEFAULT)
    assert [(f.finding, f.priority) for f in found.lists] == [
        ("指摘21", False), ("指摘22", False), ("意見17", True)]


def test_department_view_keeps_only_its_own_entries_and_the_round_counts(db, rounds):
    found = lists_of(db, rounds[2021], default=101, code="U1")["指摘21"]
    assert [entry.code for entry in found.entries] == ["U1"]
    assert found.n_listed == 2


def test_lists_skip_departments_without_a_score(db, rounds):
    # U2 has no 指摘22 figure (D-02 not relevant) and U3 no department answers at all.
    found = lists_of(db, rounds[2021], default=101)["指摘22"]
    assert {entry.code for entry in found.entries} == {"U1", "U4"}


# --- items -----------------------------------------------------------------------------


def test_item_from_a_list_entry_is_prefilled_with_its_questions(db, rounds, admin):
    item_id, created = service.create_from_entry(db, rounds[2021], "U2", "指摘21", MIN,
                                                 DEFAULT, admin)
    item = followup_lists.get_item(db, item_id)
    assert created and (item.department_code, item.finding) == ("U2", "指摘21")
    assert item.question_ids == ("D-01",) and item.status == "not_started"


def test_creating_from_the_same_entry_twice_returns_the_first_item(db, rounds, admin):
    first = service.create_from_entry(db, rounds[2021], "U2", "指摘21", MIN, DEFAULT, admin)
    again = service.create_from_entry(db, rounds[2021], "U2", "指摘21", MIN, DEFAULT, admin)
    assert again == (first[0], False)


def test_no_item_from_an_entry_that_is_not_on_the_list(db, rounds, admin):
    with pytest.raises(Invalid):
        service.create_from_entry(db, rounds[2021], "U1", "指摘21", MIN, DEFAULT, admin)


def test_item_creation_is_the_first_history(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin, owner="山田",
                       question_ids=("D-02",))
    history = {(h["field"], h["old_value"], h["new_value"])
               for h in followup_lists.item_history(db, item_id)}
    assert history == {("finding", None, "指摘22"), ("question_ids", None, "D-02"),
                       ("owner", None, "山田"), ("status", None, "not_started")}


def test_item_questions_must_belong_to_its_finding(db, rounds, admin):
    with pytest.raises(Invalid) as refused:
        new_item(db, rounds[2021], "U1", "指摘22", admin, question_ids=("D-01",))
    assert "D-01" in refused.value.errors["question_ids"]


@pytest.mark.parametrize(("typed", "field"), [
    ({"finding": "意見99"}, "finding"), ({"status": "finished"}, "status"),
    ({"due_on": "2021/13/01"}, "due_on"), ({"owner": "x" * 101}, "owner"),
    ({"notes": "a\x00b"}, "notes")])
def test_bad_item_input_names_the_field(db, rounds, admin, typed, field):
    values = {"finding": "指摘22", **typed}
    with pytest.raises(Invalid) as refused:
        service.create_item(db, rounds[2021], "U1", service.ItemInput(**values), admin)
    assert field in refused.value.errors


def test_item_needs_a_department_of_the_rounds_year(db, rounds, admin):
    with pytest.raises(Invalid):
        new_item(db, rounds[2021], "U4OLD", "指摘22", admin)
    with pytest.raises(Invalid):
        new_item(db, rounds[2021], "B1", "指摘22", admin)


def test_each_changed_field_appends_one_history_row(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin)
    before = len(followup_lists.item_history(db, item_id))
    service.update_item(db, item_id, 1, service.ItemInput(
        owner="佐藤", due_on="2022-03-31", status="in_progress"), admin)
    added = followup_lists.item_history(db, item_id)[before:]
    assert [(h["field"], h["old_value"], h["new_value"], h["changed_by"]) for h in added] == [
        ("owner", None, "佐藤", admin), ("due_on", None, "2022-03-31", admin),
        ("status", "not_started", "in_progress", admin)]


def test_saving_unchanged_values_adds_no_history_and_keeps_the_version(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin, owner="佐藤")
    before = len(followup_lists.item_history(db, item_id))
    item = service.update_item(db, item_id, 1, service.ItemInput(owner="佐藤"), admin)
    assert item.version == 1 and len(followup_lists.item_history(db, item_id)) == before


def test_item_history_is_append_only(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE improvement_item_history SET new_value = 'x' WHERE item_id = ?",
                   (item_id,))


def test_update_from_a_stale_version_is_a_conflict_and_writes_nothing(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin)
    service.update_item(db, item_id, 1, service.ItemInput(owner="A"), admin)
    with pytest.raises(Conflict) as conflict:
        service.update_item(db, item_id, 1, service.ItemInput(owner="B"), admin)
    assert conflict.value.current.owner == "A"
    assert followup_lists.get_item(db, item_id).owner == "A"


def test_department_fields_leave_the_questions_alone(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin, question_ids=("D-02",))
    service.update_item(db, item_id, 1, service.ItemInput(question_ids=()), admin,
                        service.DEPARTMENT_FIELDS)
    assert followup_lists.get_item(db, item_id).question_ids == ("D-02",)


def test_admin_fields_change_the_questions(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin, question_ids=("D-02",))
    service.update_item(db, item_id, 1, service.ItemInput(), admin, service.ADMIN_FIELDS)
    assert followup_lists.get_item(db, item_id).question_ids == ()


def test_item_list_filters_by_round_finding_status_and_bureau(db, rounds, admin):
    a = new_item(db, rounds[2021], "U1", "指摘22", admin)
    b = new_item(db, rounds[2021], "U3", "意見17", admin, status="done")
    c = new_item(db, rounds[2020], "U1", "指摘21", admin)

    def ids(**filters):
        return {item.id for item in followup_lists.list_items(db, **filters)}
    assert ids(round_id=rounds[2021]) == {a, b}
    assert ids(finding="指摘21") == {c}
    assert ids(status="done") == {b}
    assert ids(bureau_code="B2") == {b}
    assert ids(department_codes=["U1"]) == {a, c}


# --- did the score move? ------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "expected"), [
    (None, None), (0.0, "flat"), (0.99, "flat"), (-0.99, "flat"), (1.0, "improved"),
    (12.5, "improved"), (-1.0, "worsened"), (-30.0, "worsened")])
def test_marker_counts_a_move_of_one_point_or_more(delta, expected):
    assert followup_lists.marker(delta) == expected


def movement(db, item_id):
    return followup_lists.movements(db, [followup_lists.get_item(db, item_id)], MIN)[item_id]


def test_item_shows_its_finding_score_now_and_next_year(db, rounds, admin):
    item_id = new_item(db, rounds[2020], "U1", "指摘21", admin, question_ids=("D-01",))
    moved = movement(db, item_id)
    assert moved.next_round.id == rounds[2021]
    assert (moved.before, moved.after, moved.delta) == (0.0, 100.0, 100.0)
    assert moved.marker == "improved"
    assert (moved.questions_before, moved.questions_after) == (0.0, 100.0)
    assert moved.questions_comparable


def test_a_lower_score_next_year_is_marked_worse(db, rounds, admin):
    item_id = new_item(db, rounds[2020], "U1", "指摘22", admin, question_ids=("D-02",))
    moved = movement(db, item_id)
    assert (moved.before, moved.after, moved.marker) == (100.0, 50.0, "worsened")
    assert moved.questions_delta == -50.0


def test_next_year_follows_the_successor_after_a_reorganisation(db, rounds, admin):
    item_id = new_item(db, rounds[2020], "U4OLD", "指摘22", admin)
    moved = movement(db, item_id)
    assert (moved.next_code, moved.before, moved.after) == ("U4", 50.0, 100.0)


def test_no_next_round_means_no_comparison(db, rounds, admin):
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin)
    moved = movement(db, item_id)
    assert moved.next_round is None and moved.marker is None and moved.before == 50.0


def test_draft_round_is_not_the_next_year(db, rounds, admin):
    with store.transaction(db):
        round_store.insert_round(db, 2022, builder.QUESTIONNAIRE_ID, "2021.1", None, None)
    item_id = new_item(db, rounds[2021], "U1", "指摘22", admin)
    assert movement(db, item_id).next_round is None


# --- 前年度の改善状況 -----------------------------------------------------------------------


@pytest.fixture
def open_item(db, rounds, admin):
    """An open FY2020 item of U3, whose FY2021 department response is a draft."""
    return new_item(db, rounds[2020], "U3", "指摘21", admin, question_ids=("D-01",))


def block(status, note, item_id):
    return {previous_year.status_field(item_id): status, previous_year.note_field(item_id): note}


def test_previous_round_is_the_latest_earlier_year_of_the_questionnaire(db, rounds):
    assert followup_lists.previous_round(db, rounds[2021]).id == rounds[2020]
    assert followup_lists.previous_round(db, rounds[2020]) is None


def test_previous_round_skips_a_round_left_in_draft(db, rounds):
    last = round_reads.get_round(db, rounds[2021])
    rounds_service.create_round(db, 2022, last.questionnaire_id, last.version)
    later = rounds_service.create_round(db, 2023, last.questionnaire_id, last.version)
    assert followup_lists.previous_round(db, later.id).id == rounds[2021]


def test_block_lists_the_open_items_of_the_previous_round(db, rounds, admin, open_item):
    new_item(db, rounds[2020], "U3", "指摘22", admin, status="done")
    new_item(db, rounds[2020], "U1", "指摘22", admin)
    entries = previous_year.previous_year_entries(db, rounds[2021], "U3")
    assert [entry.item.id for entry in entries] == [open_item]
    assert entries[0].status == "not_started" and not entries[0].reported


def test_block_includes_items_of_the_department_a_unit_replaced(db, rounds, admin):
    item_id = new_item(db, rounds[2020], "U4OLD", "指摘22", admin)
    assert [e.item.id for e in previous_year.previous_year_entries(db, rounds[2021], "U4")] == [
        item_id]


def test_block_is_required_at_submit(db, rounds, open_item):
    errors = previous_year.previous_year_errors(db, rounds[2021], "U3")
    assert set(errors) == {previous_year.status_field(open_item),
                           previous_year.note_field(open_item)}
    assert "進捗を入力" in errors[previous_year.note_field(open_item)]


def test_a_saved_status_without_a_note_still_blocks_submission(db, rounds, admin, open_item):
    previous_year.save_previous_year(db, rounds[2021], "U3", block("in_progress", " ", open_item),
                               admin)
    assert set(previous_year.previous_year_errors(db, rounds[2021], "U3")) == {
        previous_year.note_field(open_item)}


def test_saved_block_satisfies_submission_and_is_shown_again(db, rounds, admin, open_item):
    previous_year.save_previous_year(db, rounds[2021], "U3",
                               block("in_progress", "ID台帳を整備中", open_item), admin)
    assert previous_year.previous_year_errors(db, rounds[2021], "U3") == {}
    entry = previous_year.previous_year_entries(db, rounds[2021], "U3")[0]
    assert (entry.status, entry.note, entry.reported) == ("in_progress", "ID台帳を整備中", True)


def test_block_status_changes_the_item_and_its_history_names_the_round(
        db, rounds, admin, open_item):
    previous_year.save_previous_year(db, rounds[2021], "U3", block("done", "完了", open_item),
                                     admin)
    assert followup_lists.get_item(db, open_item).status == "done"
    added = [h for h in followup_lists.item_history(db, open_item) if h["via_round_id"]]
    assert [(h["field"], h["old_value"], h["new_value"], h["via_round_id"]) for h in added] == [
        ("progress_note", None, "完了", rounds[2021]),
        ("status", "not_started", "done", rounds[2021])]


def test_an_item_reported_done_stays_in_the_block(db, rounds, admin, open_item):
    previous_year.save_previous_year(db, rounds[2021], "U3", block("done", "完了", open_item),
                                     admin)
    assert [e.item.id for e in previous_year.previous_year_entries(db, rounds[2021], "U3")] == [
        open_item]


def test_resaving_the_same_block_adds_no_history(db, rounds, admin, open_item):
    values = block("in_progress", "整備中", open_item)
    previous_year.save_previous_year(db, rounds[2021], "U3", values, admin)
    count = len(followup_lists.item_history(db, open_item))
    previous_year.save_previous_year(db, rounds[2021], "U3", values, admin)
    assert len(followup_lists.item_history(db, open_item)) == count


def test_an_unchanged_report_does_not_undo_a_later_item_change(db, rounds, admin, open_item):
    values = block("in_progress", "整備中", open_item)
    previous_year.save_previous_year(db, rounds[2021], "U3", values, admin)
    item = followup_lists.get_item(db, open_item)
    service.update_item(db, open_item, item.version, service.ItemInput(status="done"), admin)
    previous_year.save_previous_year(db, rounds[2021], "U3", values, admin)
    assert followup_lists.get_item(db, open_item).status == "done"


def test_invalid_block_status_is_reported_and_the_note_still_saved(db, rounds, admin,
                                                                   open_item):
    errors = previous_year.save_previous_year(db, rounds[2021], "U3",
                                        block("finished", "整備中", open_item), admin)
    assert set(errors) == {previous_year.status_field(open_item)}
    assert previous_year.previous_year_entries(db, rounds[2021], "U3")[0].note == "整備中"


def test_block_is_not_saved_once_the_response_is_submitted(db, rounds, admin, open_item):
    response = response_store.find_department_response(db, rounds[2021], "U3")
    with store.transaction(db):
        response_store.touch_response(db, response["id"], admin, store.now(), "submitted")
    previous_year.save_previous_year(db, rounds[2021], "U3", block("done", "x", open_item), admin)
    assert not previous_year.previous_year_entries(db, rounds[2021], "U3")[0].reported


def test_no_previous_round_means_no_block(db, rounds):
    assert previous_year.previous_year_entries(db, rounds[2020], "U1") == []
    assert previous_year.previous_year_errors(db, rounds[2020], "U1") == {}



def test_a_form_without_the_blocks_fields_reports_nothing(db, rounds, admin, open_item):
    previous_year.save_previous_year(db, rounds[2021], "U3", {"q_D-00": "yes"}, admin)
    assert not previous_year.previous_year_entries(db, rounds[2021], "U3")[0].reported
