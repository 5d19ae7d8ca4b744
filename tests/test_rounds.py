"""Rounds: creation rules, the draft -> open -> closed state machine, progress figures."""

import json

import pytest

from surveyapp import store
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import NotFound, Refusal
from surveyapp.services import departments as department_service
from surveyapp.services import rounds as service

QUESTIONNAIRE = "infosec-selfcheck"
DEPARTMENTS_CSV = """code,name,parent_code,headcount,valid_from,valid_to,successor_code
B01,総務部,,,,,
K0101,総務課,B01,10,,,
K0102,人事課,B01,20,,2020,K0103
K0103,人事給与課,B01,0,2021,,
B02,企画部,,,,,
K0201,情報政策課,B02,5,,,
"""


def publish(db, version, fiscal_year, questionnaire_id=QUESTIONNAIRE):
    db["questionnaire_versions"].insert({
        "questionnaire_id": questionnaire_id, "version": version, "fiscal_year": fiscal_year,
        "title": f"FY{fiscal_year}", "source": b"x", "sha256": "0" * 64,
        "canonical_json": "{}", "published_at": store.now()})


@pytest.fixture
def published(db):
    publish(db, "2020.1", 2020)
    publish(db, "2021.1", 2021)
    return db


@pytest.fixture
def with_departments(published):
    department_service.apply_import(
        published, department_service.plan_import(published, DEPARTMENTS_CSV.encode()))
    return published


def add_response(db, round_id, code, audience="department", status="draft", user_id=None):
    db["responses"].insert({
        "round_id": round_id, "department_code": code, "audience": audience, "status": status,
        "created_at": "2021-06-01T00:00:00+00:00", "updated_at": "2021-06-02T03:04:05+00:00",
        "updated_by": user_id})


def last_audit(db):
    return store.rows(db, "SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")[0]


# ---------------------------------------------------------------- creating

def test_new_round_starts_as_draft(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1",
                                   "2021-06-01", "2021-07-31")
    assert (created.status, created.opens_on, created.closes_on) == (
        "draft", "2021-06-01", "2021-07-31")


def test_round_needs_a_published_version(published):
    with pytest.raises(Refusal, match="公開されていません"):
        service.create_round(published, 2021, QUESTIONNAIRE, "2099.9")


def test_one_round_per_fiscal_year_and_questionnaire(published):
    service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    with pytest.raises(Refusal, match="すでにあります"):
        service.create_round(published, 2021, QUESTIONNAIRE, "2020.1")


def test_dates_must_be_iso_year_month_day(published):
    with pytest.raises(Refusal, match="yyyy-mm-dd"):
        service.create_round(published, 2021, QUESTIONNAIRE, "2021.1", "2021/06/01")


def test_closing_date_may_not_precede_opening_date(published):
    with pytest.raises(Refusal, match="より前"):
        service.create_round(published, 2021, QUESTIONNAIRE, "2021.1",
                             "2021-07-01", "2021-06-30")


def test_fiscal_year_must_be_a_western_year(published):
    with pytest.raises(Refusal, match="年度"):
        service.create_round(published, "令和3", QUESTIONNAIRE, "2021.1")


def test_creating_a_round_is_audit_logged(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1", user_id=None)
    entry = last_audit(published)
    assert (entry["action"], entry["target_id"]) == ("rounds.create", str(created.id))


# ---------------------------------------------------------------- state machine

def test_draft_round_opens(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    assert service.open_round(published, created.id).status == "open"
    assert last_audit(published)["action"] == "rounds.open"


def test_open_round_closes(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    service.open_round(published, created.id)
    assert service.close_round(published, created.id).status == "closed"
    assert last_audit(published)["action"] == "rounds.close"


def test_draft_round_cannot_be_closed(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    with pytest.raises(Refusal, match="受付中ではない"):
        service.close_round(published, created.id)


def test_open_round_cannot_be_opened_again(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    service.open_round(published, created.id)
    with pytest.raises(Refusal, match="すでに受付中"):
        service.open_round(published, created.id)


def test_closed_round_reopens_and_is_logged_as_a_reopen(published):
    created = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    service.open_round(published, created.id)
    service.close_round(published, created.id)
    assert service.open_round(published, created.id, user_id=None).status == "open"
    entry = last_audit(published)
    assert entry["action"] == "rounds.reopen"
    assert json.loads(entry["detail"]) == {"old_status": "closed"}


def test_only_one_round_of_a_questionnaire_is_open_at_a_time(published):
    older = service.create_round(published, 2020, QUESTIONNAIRE, "2020.1")
    newer = service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    service.open_round(published, older.id)
    with pytest.raises(Refusal, match="先に締め切って"):
        service.open_round(published, newer.id)


def test_current_open_round_is_the_open_one(published):
    older = service.create_round(published, 2020, QUESTIONNAIRE, "2020.1")
    service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    assert round_reads.current_open_round(published) is None
    service.open_round(published, older.id)
    assert round_reads.current_open_round(published).id == older.id


def test_unknown_round_is_a_lookup_error(published):
    with pytest.raises(NotFound):
        service.open_round(published, 999)


def test_rounds_are_listed_newest_fiscal_year_first(published):
    service.create_round(published, 2020, QUESTIONNAIRE, "2020.1")
    service.create_round(published, 2021, QUESTIONNAIRE, "2021.1")
    assert [item.fiscal_year for item in round_reads.list_rounds(published)] == [2021, 2020]


# ---------------------------------------------------------------- progress

def test_progress_lists_every_unit_valid_in_the_fiscal_year(with_departments):
    fy2021 = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    fy2020 = service.create_round(with_departments, 2020, QUESTIONNAIRE, "2020.1")
    assert [row.code for row in round_reads.progress(with_departments, fy2021.id)] == [
        "K0101", "K0103", "K0201"]
    assert [row.code for row in round_reads.progress(with_departments, fy2020.id)] == [
        "K0101", "K0102", "K0201"]


def test_progress_shows_status_last_save_and_who_saved(with_departments, make_user):
    editor = make_user("soumu", "department", "K0101")
    created = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    add_response(with_departments, created.id, "K0101", status="submitted",
                 user_id=editor["id"])
    rows = {row.code: row for row in round_reads.progress(with_departments, created.id)}
    assert (rows["K0101"].status, rows["K0101"].updated_by) == ("submitted", "soumu")
    assert rows["K0101"].updated_at == "2021-06-02T03:04:05+00:00"
    assert (rows["K0201"].status, rows["K0201"].updated_at) == ("not_started", None)


def test_progress_counts_only_submitted_staff_responses(with_departments):
    created = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    for status in ("submitted", "submitted", "draft"):
        add_response(with_departments, created.id, "K0101", "staff", status)
    [row] = [r for r in round_reads.progress(with_departments, created.id) if r.code == "K0101"]
    assert (row.staff_submitted, row.headcount, row.staff_rate) == (2, 10, 0.2)


def test_staff_rate_is_none_when_headcount_is_zero(with_departments):
    created = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    [row] = [r for r in round_reads.progress(with_departments, created.id) if r.code == "K0103"]
    assert row.staff_rate is None


def test_progress_filters_by_bureau(with_departments):
    created = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    rows = round_reads.progress(with_departments, created.id, bureau_code="B02")
    assert [(row.code, row.bureau_name) for row in rows] == [("K0201", "企画部")]


def test_progress_totals_count_each_status(with_departments):
    created = service.create_round(with_departments, 2021, QUESTIONNAIRE, "2021.1")
    add_response(with_departments, created.id, "K0101", status="submitted")
    add_response(with_departments, created.id, "K0103", status="reopened")
    add_response(with_departments, created.id, "K0101", "staff", "submitted")
    totals = round_reads.progress_totals(round_reads.progress(with_departments, created.id))
    assert totals.by_status == {"not_started": 1, "draft": 0, "submitted": 1, "reopened": 1}
    assert (totals.units, totals.headcount, totals.staff_submitted) == (3, 15, 1)
    assert totals.submitted_rate == pytest.approx(1 / 3)
