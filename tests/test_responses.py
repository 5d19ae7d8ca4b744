"""services.responses: drafts, optimistic concurrency, history, submission, reopening."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from surveyapp import clock, scoring
from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels import definitions
from surveyapp.readmodels import response_history as answer_history
from surveyapp.refusals import Conflict, Denied, Invalid, Locked
from surveyapp.services import questionnaires, rounds
from surveyapp.services import responses as service
from surveyapp.store import audit as audit_store
from surveyapp.store import responses as response_store

FORM = Path(__file__).resolve().parent / "fixtures" / "forms" / "selfcheck.yaml"


def publish_form(db) -> SimpleNamespace:
    questionnaires.publish(db, FORM.read_bytes(), str(FORM))
    created = rounds.create_round(db, 2021, "form-test", "1")
    rounds.open_round(db, created.id)
    return SimpleNamespace(round_id=created.id,
                           q=definitions.get_definition(db, "form-test", "1"))


@pytest.fixture
def survey(db, make_user):
    setup = publish_form(db)
    setup.user = make_user("unit1", "department", "U1")
    setup.other = make_user("unit1b", "department", "U1")
    setup.admin = make_user("admin1", "admin")
    response = service.get_or_create_department_response(db, setup.round_id, "U1",
                                                         setup.user["id"])
    setup.response_id = response["id"]
    return setup


def history_rows(db, response_id):
    return answer_history.response_history(db, response_id=response_id)


def test_draft_is_saved_and_resumed(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-05": "done"},
                       {"PWD-05": "2021-05-01"}, survey.user["id"])
    answers, evidence = service.load_answers(db, survey.response_id)
    assert answers == {"SYS-00": "yes", "PWD-05": "done"}
    assert evidence == {"PWD-05": AnswerEvidence(note="2021-05-01")}


def test_get_or_create_returns_the_same_response(db, survey):
    again = service.get_or_create_department_response(db, survey.round_id, "U1",
                                                      survey.other["id"])
    assert again["id"] == survey.response_id


def test_each_save_bumps_the_version(db, survey):
    first = service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes"}, {},
                               survey.user["id"])
    second = service.save_draft(db, survey.response_id, first.version, {"SYS-00": "no"}, {},
                                survey.user["id"])
    assert (first.version, second.version) == (2, 3)


def test_saving_nothing_new_keeps_the_version(db, survey):
    first = service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes"}, {},
                               survey.user["id"])
    again = service.save_draft(db, survey.response_id, 2, {"SYS-00": "yes"}, {},
                               survey.user["id"])
    assert again.version == first.version and again.changed == ()


def test_stale_version_raises_conflict_with_the_stored_answers(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes"}, {}, survey.other["id"])
    with pytest.raises(Conflict) as raised:
        service.save_draft(db, survey.response_id, 1, {"SYS-00": "no"}, {},
                           survey.user["id"])
    assert raised.value.current.answers == {"SYS-00": "yes"}
    assert raised.value.current.version == 2
    assert service.load_answers(db, survey.response_id)[0] == {"SYS-00": "yes"}


def test_history_row_appended_for_each_changed_answer(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-06": "done"}, {},
                       survey.user["id"])
    service.save_draft(db, survey.response_id, 2, {"SYS-00": "yes", "PWD-06": "none"}, {},
                       survey.other["id"])
    rows = history_rows(db, survey.response_id)
    changes = [(r["question_id"], r["old_value"], r["new_value"]) for r in rows]
    assert changes[0] == ("PWD-06", "done", "none")
    assert set(changes[1:]) == {("SYS-00", None, "yes"), ("PWD-06", None, "done")}
    assert rows[0]["changed_by_login"] == "unit1b"


def test_evidence_change_alone_is_recorded_in_history(db, survey):
    service.save_draft(db, survey.response_id, 1, {"PWD-06": "done"}, {"PWD-06": "台帳A"},
                       survey.user["id"])
    service.save_draft(db, survey.response_id, 2, {}, {"PWD-06": "台帳B"}, survey.user["id"])
    newest = history_rows(db, survey.response_id)[0]
    assert (newest["old_evidence"], newest["new_evidence"]) == ("台帳A", "台帳B")
    assert newest["old_value"] == newest["new_value"] == "done"


def test_cleared_answer_is_recorded_not_silently_dropped(db, survey):
    service.save_draft(db, survey.response_id, 1, {"NOTE-01": "メモ"}, {}, survey.user["id"])
    service.save_draft(db, survey.response_id, 2, {"NOTE-01": None}, {}, survey.user["id"])
    newest = history_rows(db, survey.response_id)[0]
    assert (newest["old_value"], newest["new_value"]) == ("メモ", None)


def test_missing_keys_leave_stored_answers_alone(db, survey):
    service.save_draft(db, survey.response_id, 1, {"NOTE-01": "メモ"}, {}, survey.user["id"])
    service.save_draft(db, survey.response_id, 2, {"SYS-00": "no"}, {}, survey.user["id"])
    assert service.load_answers(db, survey.response_id)[0]["NOTE-01"] == "メモ"


def test_stored_rows_carry_points_and_max(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-05": "partial"}, {},
                       survey.user["id"])
    rows = {r["question_id"]: r for r in response_store.list_answers(db, survey.response_id)}
    assert (rows["PWD-05"]["score"], rows["PWD-05"]["max_score"]) == (2.0, 4.0)


def test_not_relevant_answer_is_kept_without_score(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-05": "done"}, {},
                       survey.user["id"])
    service.save_draft(db, survey.response_id, 2, {"SYS-00": "no"}, {}, survey.user["id"])
    rows = {r["question_id"]: r for r in response_store.list_answers(db, survey.response_id)}
    assert rows["PWD-05"]["value"] == "done"
    assert rows["PWD-05"]["score"] is None


def test_not_applicable_answer_has_no_score(db, survey):
    rows = service.answer_rows(survey.q, {"PWD-06": "na"}, {})
    assert rows[0]["value"] == "na" and rows[0]["score"] is None


def test_answer_rows_join_multi_choice_values(survey):
    rows = service.answer_rows(survey.q, {"MC-01": ("lock", "shred")}, {})
    assert rows[0]["value"] == "lock;shred"
    assert rows[0]["score"] == 1.0  # capped at the question's max


def test_answer_rows_drop_unknown_questions(survey):
    assert service.answer_rows(survey.q, {"NOPE-1": "x"}, {"NOPE-1": "y"}) == []


def test_submit_requires_relevant_required_answers(db, survey):
    with pytest.raises(Invalid, match="未回答") as raised:
        service.submit(db, survey.response_id, 1, {"SYS-00": "yes"}, {}, survey.user["id"])
    assert raised.value.errors == {"q_PWD-05": "required"}


def test_non_relevant_required_question_is_not_required(db, survey):
    result = service.submit(db, survey.response_id, 1, {"SYS-00": "no"}, {},
                            survey.user["id"])
    assert result.status == "submitted"


def test_required_evidence_must_be_given(db, survey):
    with pytest.raises(Invalid, match="未回答") as raised:
        service.submit(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-05": "done"}, {},
                       survey.user["id"])
    assert raised.value.errors == {"e_PWD-05": "evidence_required",
                                   "ed_PWD-05": "evidence_date_required"}


@pytest.mark.parametrize("given", [AnswerEvidence(note="台帳で確認"),
                                   AnswerEvidence(location="文書管理システム 第12号")])
def test_required_evidence_needs_a_date_beside_a_note_or_location(survey, given):
    errors = service.submission_errors(survey.q, "department",
                                       {"SYS-00": "yes", "PWD-05": "done"}, {"PWD-05": given})
    assert errors == {"ed_PWD-05": "evidence_date_required"}


def test_required_evidence_needs_a_note_or_location_beside_a_date(survey):
    errors = service.submission_errors(survey.q, "department",
                                       {"SYS-00": "yes", "PWD-05": "done"},
                                       {"PWD-05": AnswerEvidence(date="2021-06-01")})
    assert errors == {"e_PWD-05": "evidence_required"}


@pytest.mark.parametrize("given", [AnswerEvidence(note="台帳で確認", date="2021-06-01"),
                                   AnswerEvidence(location="第12号", date="2021-06-01")])
def test_required_evidence_is_a_note_or_location_and_a_date(survey, given):
    errors = service.submission_errors(survey.q, "department",
                                       {"SYS-00": "yes", "PWD-05": "done"}, {"PWD-05": given})
    assert errors == {}


def test_required_evidence_not_asked_for_not_applicable(survey):
    errors = service.submission_errors(survey.q, "department",
                                       {"SYS-00": "yes", "PWD-05": "na"}, {})
    assert errors == {}


def test_incomplete_submission_writes_nothing(db, survey):
    with pytest.raises(Invalid, match="未回答"):
        service.submit(db, survey.response_id, 1, {"SYS-00": "yes"}, {}, survey.user["id"])
    assert service.load_answers(db, survey.response_id)[0] == {}
    assert service.get_response(db, survey.response_id)["status"] == "draft"


def submit_complete(db, survey):
    return service.submit(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-05": "done"},
                          {"PWD-05": AnswerEvidence("2021-06-01 確認", date="2021-06-01")},
                          survey.user["id"])


def test_submit_records_who_and_when(db, survey):
    submit_complete(db, survey)
    response = service.get_response(db, survey.response_id)
    assert response["status"] == "submitted"
    assert response["submitted_by"] == survey.user["id"] and response["submitted_at"]


def test_submitted_response_is_locked(db, survey):
    result = submit_complete(db, survey)
    with pytest.raises(Locked, match="提出済み"):
        service.save_draft(db, survey.response_id, result.version, {"SYS-00": "no"}, {},
                           survey.user["id"])


def test_reopen_requires_a_reason(db, survey):
    submit_complete(db, survey)
    with pytest.raises(Invalid, match="再開の理由"):
        service.reopen(db, survey.response_id, survey.admin["id"], "   ")
    assert service.get_response(db, survey.response_id)["status"] == "submitted"


def test_reopen_is_audit_logged_with_the_reason(db, survey):
    submit_complete(db, survey)
    service.reopen(db, survey.response_id, survey.admin["id"], "PWD-05 の誤記")
    entry = audit_store.list_entries(db, action="response.reopen")[0]
    assert json.loads(entry["detail"])["reason"] == "PWD-05 の誤記"
    assert entry["user_id"] == survey.admin["id"]


def test_reopened_response_can_be_edited_again(db, survey):
    submit_complete(db, survey)
    result = service.reopen(db, survey.response_id, survey.admin["id"], "修正依頼")
    saved = service.save_draft(db, survey.response_id, result.version, {"SYS-00": "no"}, {},
                               survey.user["id"])
    assert saved.status == "reopened"


def test_reopen_is_for_admins_only(db, survey):
    submit_complete(db, survey)
    with pytest.raises(Denied, match="管理者だけ"):
        service.reopen(db, survey.response_id, survey.user["id"], "自分で直したい")


def test_reopen_of_a_draft_is_refused(db, survey):
    with pytest.raises(Locked, match="提出されていない"):
        service.reopen(db, survey.response_id, survey.admin["id"], "理由")


def test_round_not_open_refuses_saving(db, survey):
    rounds.close_round(db, survey.round_id)
    with pytest.raises(Locked, match="受け付けていません"):
        service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes"}, {},
                           survey.user["id"])


def test_round_not_open_refuses_a_new_response(db, survey, make_user):
    make_user("unit2", "department", "U2")
    rounds.close_round(db, survey.round_id)
    with pytest.raises(Locked, match="受け付けていません"):
        service.get_or_create_department_response(db, survey.round_id, "U2", None)


def test_staff_response_is_submitted_with_anonymous_history(db, survey):
    response_id = service.submit_staff_response(db, survey.round_id, "U1", survey.q,
                                                {"ST-01": "yes", "SYS-00": "no"})
    response = service.get_response(db, response_id)
    assert (response["audience"], response["status"]) == ("staff", "submitted")
    assert service.load_answers(db, response_id)[0] == {"ST-01": "yes"}
    changed_by = db.execute("SELECT changed_by FROM answer_history WHERE response_id = ?",
                            (response_id,)).fetchall()
    assert changed_by == [(None,)]


def test_staff_response_keeps_only_the_day_of_submission(db, survey):
    response_id = service.submit_staff_response(db, survey.round_id, "U1", survey.q,
                                                {"ST-01": "yes"})
    stamps = db.execute(
        "SELECT created_at, updated_at, submitted_at FROM responses WHERE id = ? UNION ALL "
        "SELECT changed_at, changed_at, changed_at FROM answer_history WHERE response_id = ?",
        (response_id, response_id)).fetchall()
    assert {stamp[11:26] for row in stamps for stamp in row} == {"00:00:00.000000"}


def test_staff_response_needs_its_required_answers(db, survey):
    with pytest.raises(Invalid, match="未回答"):
        service.submit_staff_response(db, survey.round_id, "U1", survey.q, {})


def test_staff_history_is_never_listed(db, survey):
    service.submit_staff_response(db, survey.round_id, "U1", survey.q, {"ST-01": "yes"})
    assert answer_history.response_history(db, department_code="U1") == []


def test_history_filters_by_question_and_day(db, survey):
    service.save_draft(db, survey.response_id, 1, {"SYS-00": "yes", "PWD-06": "done"}, {},
                       survey.user["id"])
    assert [r["question_id"] for r in
            answer_history.response_history(db, question_id="PWD-06")] == ["PWD-06"]
    assert answer_history.response_history(db, date_to=date(2000, 1, 1)) == []
    assert len(answer_history.response_history(db, date_from=date(2000, 1, 1))) == 2


def test_history_day_boundaries_are_japan_time():
    assert clock.day_start_utc(date(2021, 4, 1)).startswith("2021-03-31T15:00:00")


def test_load_answers_parses_multi_choice(db, survey):
    service.save_draft(db, survey.response_id, 1, {"MC-01": ("lock", "shred")}, {},
                       survey.user["id"])
    assert service.load_answers(db, survey.response_id)[0]["MC-01"] == ("lock", "shred")


def test_stored_scores_agree_with_response_scoring(db, survey):
    answers = {"SYS-00": "yes", "PWD-05": "partial", "QZ-01": "b"}
    rows = service.answer_rows(survey.q, answers, {})
    stored = {r["question_id"]: r["score"] for r in rows}
    assert stored["PWD-05"] == scoring.answer_points(survey.q.question("PWD-05"), "partial")
    assert stored["QZ-01"] == 1.0


def test_values_a_question_type_refuses_are_not_stored(db, survey):
    with pytest.raises(Invalid, match="保存できない値") as raised:
        service.save_draft(db, survey.response_id, 1, {"PWD-06": "bogus", "CNT-01": "12"},
                           {}, survey.user["id"])
    assert set(raised.value.errors) == {"q_PWD-06"}
    assert service.load_answers(db, survey.response_id)[0] == {}


def test_staff_values_are_validated_too(db, survey):
    with pytest.raises(Invalid, match="保存できない値"):
        service.submit_staff_response(db, survey.round_id, "U1", survey.q, {"ST-01": "maybe"})
