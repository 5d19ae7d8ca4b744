"""The start page, task first (readmodels/home.py, templates/home/): a 所属 sees its open
round, the deadline and days left, its state and what is left per section; 情報企画課
sees the open rounds' progress."""

from __future__ import annotations

from datetime import date

import pytest

from surveyapp.readmodels import aggregate, home
from surveyapp.readmodels import deadlines as deadline_reads
from surveyapp.services import deadlines
from surveyapp.services import responses as response_service
from surveyapp.store import rounds as round_store
from tests.test_approvals import approver
from tests.test_responses import publish_form

TODAY = date(2021, 11, 20)


@pytest.fixture
def task(db, make_user):
    setup = publish_form(db)
    setup.user = make_user("unit1", "department", "U1")
    db.execute("UPDATE rounds SET closes_on = '2021-11-30' WHERE id = ?", (setup.round_id,))
    return setup


def sections_of(found: home.DepartmentHome) -> dict[str, tuple[int, int, int, int]]:
    (only,) = found.tasks
    return {s.section.id: (s.answered, s.total, s.required_answered, s.required)
            for s in only.sections}


def days_left_on(db, day: date) -> int | None:
    return home.department_home(db, "U1", day, 5).tasks[0].days_left


def test_days_left_count_to_the_closing_day_in_local_dates(db, task):
    assert days_left_on(db, TODAY) == 10
    assert days_left_on(db, date(2021, 11, 30)) == 0
    assert days_left_on(db, date(2021, 12, 19)) == -19


def test_a_round_without_a_closing_day_has_no_days_left(db, task):
    db.execute("UPDATE rounds SET closes_on = NULL WHERE id = ?", (task.round_id,))
    assert days_left_on(db, TODAY) is None


def test_an_extended_deadline_counts_instead_of_the_rounds(client, login_as, db, task,
                                                          make_user):
    admin = make_user("kikaku", "admin")
    deadlines.extend(db, task.round_id, "U1", "2021-12-10", "システム更改のため", admin["id"])
    (only,) = home.department_home(db, "U1", TODAY, 5).tasks
    assert (only.deadline.closes_on, only.deadline.extended, only.days_left) == (
        date(2021, 12, 10), True, 20)
    login_as(client, "unit1")
    assert "2021年12月10日（延長）" in client.get("/").get_data(as_text=True)


def test_an_approver_sees_the_submissions_waiting_for_their_decision(client, login_as, db,
                                                                     task, make_user):
    response = response_service.get_or_create_department_response(
        db, task.round_id, "U1", task.user["id"])
    response_service.submit(db, response["id"], 1, {"SYS-00": "no", "PWD-06": "partial"}, {},
                            task.user["id"])
    approver(db, make_user, "chief", "U1")
    login_as(client, "chief")
    page = client.get("/").get_data(as_text=True)
    waiting = page[page.index('id="waiting-heading"'):]
    assert f"令和3年度 (2021) {task.q.title.ja}（版 1）" in waiting
    assert f'href="/responses/{response["id"]}#approval"' in waiting
    assert page.index("task-") < page.index("waiting-heading") < page.index("latest-heading")


def test_a_round_not_started_shows_every_relevant_question_unanswered(db, task):
    found = home.department_home(db, "U1", TODAY, 5)
    (only,) = found.tasks
    assert (only.status, only.response, only.days_left) == ("not_started", None, 10)
    # PWD-05 waits for SYS-00 = yes: not counted until the gate opens.
    assert sections_of(found)["SCR"] == (0, 1, 0, 1)
    assert sections_of(found)["PWD"] == (0, 1, 0, 0)


def test_progress_counts_answered_and_required_questions_the_answers_make_relevant(db, task):
    response = response_service.get_or_create_department_response(
        db, task.round_id, "U1", task.user["id"])
    response_service.save_draft(db, response["id"], 1, {"SYS-00": "yes"}, {},
                                task.user["id"])
    found = home.department_home(db, "U1", TODAY, 5)
    assert found.tasks[0].status == "draft"
    assert sections_of(found)["SCR"] == (1, 1, 1, 1)
    assert sections_of(found)["PWD"] == (0, 2, 0, 1)
    assert found.tasks[0].required_left == 1


def test_only_open_rounds_are_tasks(db, task):
    round_store.set_status(db, task.round_id, "closed")
    assert home.department_home(db, "U1", TODAY, 5).tasks == ()


def test_department_home_shows_the_deadline_and_the_button_to_continue(
        client, login_as, db, task):
    login_as(client, "unit1")
    page = client.get("/").get_data(as_text=True)
    assert "2021年11月30日" in page
    assert "回答を始める" in page and f"/rounds/{task.round_id}/self-check/U1" in page
    assert 'section-progress' in page and "<progress" in page


def test_department_home_counts_days_left_from_the_same_today_as_the_deadline_banner(
        client, login_as, db, task, monkeypatch):
    monkeypatch.setattr(deadline_reads, "local_today", lambda now=None: TODAY)
    login_as(client, "unit1")
    page = client.get("/").get_data(as_text=True)
    assert "あと10日" in page


def test_central_home_lists_the_open_rounds_progress(client, login_as, db, task, make_user):
    make_user("kikaku", "admin")
    login_as(client, "kikaku")
    page = client.get("/").get_data(as_text=True)
    assert "受付中の調査回" in page and f"/rounds/{task.round_id}/" in page


def test_visitors_see_what_the_tool_is(client):
    page = client.get("/").get_data(as_text=True)
    assert "県の情報セキュリティポリシーの浸透状況" in page


@pytest.fixture
def submitted(db, task):
    response = response_service.get_or_create_department_response(
        db, task.round_id, "U1", task.user["id"])
    response_service.submit(db, response["id"], 1, {"SYS-00": "no", "PWD-06": "partial"}, {},
                            task.user["id"])
    return task


def test_latest_score_says_whose_answers_it_rests_on(client, login_as, db, submitted):
    found = home.department_home(db, "U1", TODAY, 5)
    assert found.latest.scores.overall is not None
    assert found.latest_result.basis == "department"  # no staff answers yet
    login_as(client, "unit1")
    latest = client.get("/").get_data(as_text=True).split('id="latest-heading"')[1]
    assert '<span class="basis basis-department">所属回答</span>' in latest


def test_department_home_scores_its_own_department_only(db, submitted, monkeypatch):
    """The home is every 所属's first page: it never computes the whole round's scores."""
    monkeypatch.setattr(aggregate, "round_scores", lambda *args: pytest.fail(
        "the department home computed every 所属's scores"))
    assert home.department_home(db, "U1", TODAY, 5).latest_result.code == "U1"
