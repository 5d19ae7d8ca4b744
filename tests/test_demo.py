"""`surveyapp demo`: a deterministic, realistic demo on a fresh instance."""

from __future__ import annotations

import random
import statistics

import pytest
from click.testing import CliRunner

from surveyapp import migrations, question_types, scoring, store
from surveyapp.cli import cli
from surveyapp.demo import cast
from surveyapp.demo import items as demo_items
from surveyapp.demo import loader as demo
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels import verification_history
from surveyapp.refusals import Conflict
from surveyapp.services import accounts, previous_year, responses
from tests.conftest import QUESTIONNAIRES


def fresh_database(folder, name):
    database = store.connect(folder / f"{name}.sqlite3")
    migrations.apply(database)
    return database


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One demo load shared by the read-only tests of this module (it takes a second)."""
    database = fresh_database(tmp_path_factory.mktemp("demo"), "demo")
    summary = demo.load_demo(database, QUESTIONNAIRES)
    yield database, summary
    database.close()


@pytest.fixture
def db(demo_db):
    return demo_db[0]


@pytest.fixture
def loaded(demo_db):
    return demo_db[1]


def count(db, sql, params=()):
    return db.execute(sql, params).fetchone()[0]


def answer_table(db):
    """Every stored answer with its 所属, round and audience; no ids or timestamps."""
    return [tuple(row) for row in db.execute(
        "SELECT r.fiscal_year, p.department_code, p.audience, p.status, p.submitted_at, "
        "a.question_id, a.value, a.score, a.max_score, a.evidence FROM answers a "
        "JOIN responses p ON p.id = a.response_id JOIN rounds r ON r.id = p.round_id "
        "ORDER BY p.id, a.question_id")]


def test_demo_has_six_bureaus_and_about_forty_units(db, loaded):
    assert count(db, "SELECT count(*) FROM departments WHERE parent_code IS NULL") == 6
    units = count(db, "SELECT count(*) FROM departments WHERE parent_code IS NOT NULL")
    assert units == loaded.units == 40


def test_demo_headcounts_are_between_8_and_60(db, loaded):
    low, high = db.execute("SELECT min(headcount), max(headcount) FROM departments "
                           "WHERE parent_code IS NOT NULL").fetchone()
    assert low >= 8 and high <= 60


def test_demo_has_closed_fy2020_and_fy2021_and_an_open_fy2026_round(db, loaded):
    rounds = db.execute("SELECT fiscal_year, version, status FROM rounds "
                        "ORDER BY fiscal_year").fetchall()
    assert [tuple(r) for r in rounds] == [(2020, "2020.1", "closed"), (2021, "2021.1", "closed"),
                                          (2026, "2026.1", "open")]


def test_the_fy2026_round_closes_after_its_answers_so_far(db, loaded):
    closes_on, last = db.execute(
        "SELECT r.closes_on, max(p.submitted_at) FROM rounds r JOIN responses p "
        "ON p.round_id = r.id WHERE r.fiscal_year = 2026").fetchone()
    assert last[:10] < closes_on


def test_the_register_holds_about_sixty_systems_in_a_realistic_mix(db, loaded):
    hosting = dict(db.execute("SELECT hosting, count(*) FROM systems GROUP BY hosting"))
    assert 55 <= loaded.systems == sum(hosting.values()) <= 65
    assert hosting["onprem"] > hosting["cloud"] > 3 and hosting["lgwan_asp"] > 3
    owners = count(db, "SELECT count(DISTINCT owner_code) FROM systems")
    assert owners >= 30
    assert count(db, "SELECT count(*) FROM systems WHERE hosting = 'cloud' "
                 "AND ismap = 'yes' AND ismap_expires IS NOT NULL") >= 5


def test_one_cloud_systems_ismap_registration_has_expired(db, loaded):
    expired = db.execute("SELECT code FROM systems WHERE ismap = 'yes' AND "
                         "ismap_expires < '2026-11-02'").fetchall()
    assert len(expired) == 1


def test_fy2026_is_partly_answered_with_a_block_per_owned_system(db, loaded):
    fy2026 = loaded.round_ids[2026]
    statuses = dict(db.execute(
        "SELECT status, count(*) FROM responses WHERE round_id = ? AND audience = 'department' "
        "GROUP BY status", (fy2026,)).fetchall())
    assert statuses["submitted"] >= 15 and statuses["draft"] >= 5
    assert sum(statuses.values()) < loaded.units
    submitted_blocks = count(db, """
        SELECT count(*) FROM responses s JOIN responses d ON d.round_id = s.round_id
        AND d.department_code = s.department_code AND d.audience = 'department'
        WHERE s.round_id = ? AND s.audience = 'system' AND d.status = 'submitted'
        AND s.status = 'submitted'""", (fy2026,))
    assert submitted_blocks >= 20 and loaded.system_responses >= submitted_blocks


def test_most_units_submit_and_fy2021_has_drafts_and_not_started(db, loaded):
    statuses = dict(db.execute(
        "SELECT r.fiscal_year || p.status, count(*) FROM responses p "
        "JOIN rounds r ON r.id = p.round_id WHERE p.audience = 'department' "
        "GROUP BY r.fiscal_year, p.status").fetchall())
    assert statuses["2020submitted"] == 38
    assert statuses["2021submitted"] >= 30
    assert statuses["2021draft"] >= 3
    assert count(db, "SELECT count(*) FROM responses p JOIN rounds r ON r.id = p.round_id "
                 "WHERE r.fiscal_year = 2021 AND p.audience = 'department'") < 40


def test_submitted_responses_carry_submitted_at(db, loaded):
    assert count(db, "SELECT count(*) FROM responses WHERE status = 'submitted' "
                 "AND submitted_at IS NULL") == 0
    assert count(db, "SELECT count(*) FROM responses WHERE status = 'draft' "
                 "AND submitted_at IS NOT NULL") == 0


def test_some_units_stay_below_the_anonymity_minimum(db, loaded):
    staff_per_unit = db.execute(
        "SELECT count(*) FROM responses p JOIN rounds r ON r.id = p.round_id "
        "WHERE p.audience = 'staff' AND r.fiscal_year = 2021 "
        "GROUP BY p.department_code").fetchall()
    small = [n for (n,) in staff_per_unit if n < 5]
    assert 1 <= len(small) < len(staff_per_unit) // 2


def test_staff_responses_never_exceed_headcount(db, loaded):
    assert count(db, """
        SELECT count(*) FROM (SELECT p.round_id, d.headcount, count(*) AS n
        FROM responses p JOIN departments d ON d.code = p.department_code
        WHERE p.audience = 'staff' GROUP BY p.round_id, p.department_code)
        WHERE n > headcount""") == 0


def test_stored_scores_agree_with_answer_points(db, loaded):
    for response_id, version in db.execute(
            "SELECT p.id, r.version FROM responses p JOIN rounds r ON r.id = p.round_id"):
        definition = responses.definition_for(
            db, {"questionnaire_id": cast.QUESTIONNAIRE_ID, "version": version})
        answers, _ = responses.load_answers(db, response_id, definition)
        expected = scoring.stored_scores(definition, answers)
        stored = {row["question_id"]: (row["score"], row["max_score"])
                  for row in db.query("SELECT * FROM answers WHERE response_id = ?",
                                      (response_id,))}
        assert stored == expected


def test_not_applicable_answers_are_stored_without_score(db, loaded):
    assert count(db, "SELECT count(*) FROM answers WHERE value = 'na' "
                 "AND score IS NOT NULL") == 0
    assert count(db, "SELECT count(*) FROM answers WHERE value = 'na'") > 0


def test_running_the_demo_twice_is_refused_without_duplicates(db, loaded):
    before, users = answer_table(db), count(db, "SELECT count(*) FROM users")
    with pytest.raises(Conflict, match="既に"):
        demo.load_demo(db, QUESTIONNAIRES)
    assert answer_table(db) == before
    assert count(db, "SELECT count(*) FROM users") == users


def test_demo_is_deterministic(db, loaded, tmp_path):
    again = fresh_database(tmp_path, "again")
    demo.load_demo(again, QUESTIONNAIRES)
    assert answer_table(again) == answer_table(db)


def test_another_seed_gives_other_answers(db, loaded, tmp_path):
    other = fresh_database(tmp_path, "other")
    demo.load_demo(other, QUESTIONNAIRES, seed=7)
    assert answer_table(other) != answer_table(db)


def test_demo_reports_progress_once_per_unit_and_round(loaded, tmp_path):
    calls = []
    demo.load_demo(fresh_database(tmp_path, "progress"), QUESTIONNAIRES,
                   progress=lambda: calls.append(1))
    assert len(calls) == demo.progress_steps() == len(cast.ROUNDS) * loaded.units


def department_overall(db, fiscal_year):
    """Overall score of each submitted department response of a year."""
    result = {}
    for response_id, code, version in db.execute(
            "SELECT p.id, p.department_code, r.version FROM responses p "
            "JOIN rounds r ON r.id = p.round_id WHERE r.fiscal_year = ? "
            "AND p.audience = 'department' AND p.status = 'submitted'", (fiscal_year,)):
        definition = responses.definition_for(
            db, {"questionnaire_id": cast.QUESTIONNAIRE_ID, "version": version})
        answers, _ = responses.load_answers(db, response_id, definition)
        result[code] = scoring.score_response(definition, answers).overall
    return result


def test_scores_differ_between_units(db, loaded):
    scores = department_overall(db, 2021)
    assert len({round(s) for s in scores.values()}) > 10
    assert max(scores.values()) - min(scores.values()) > 30


def test_scores_mostly_improve_between_years(db, loaded):
    before, after = department_overall(db, 2020), department_overall(db, 2021)
    both = set(before) & set(after)
    improved = [code for code in both if after[code] > before[code]]
    assert len(improved) > len(both) / 2
    assert statistics.mean(after[c] for c in both) > statistics.mean(before[c] for c in both)


def test_demo_accounts_log_in_with_the_documented_passwords(db, loaded):
    for account in cast.LOGIN_ACCOUNTS:
        assert len(account.password) >= accounts.MIN_PASSWORD_LENGTH
        user = accounts.authenticate(db, account.login, account.password)
        assert (user["role"], user["department_code"]) == (account.role,
                                                          account.department_code)


def test_dept_account_belongs_to_a_unit_with_an_open_draft(db, loaded):
    status = db.execute("SELECT p.status FROM responses p JOIN rounds r ON r.id = p.round_id "
                        "WHERE r.status = 'open' AND p.audience = 'department' "
                        "AND p.department_code = ?", (cast.DEPT_LOGIN_UNIT,)).fetchone()
    assert tuple(status) == ("draft",)


def test_dept_accounts_unit_owns_systems_with_one_cloud_among_them(db, loaded):
    hosting = [row[0] for row in db.execute("SELECT hosting FROM systems WHERE owner_code = ?",
                                            (cast.DEPT_LOGIN_UNIT,))]
    assert len(hosting) >= 2 and "cloud" in hosting


def test_demo_choice_answer_follows_maturity():
    question = next(q for q in demo_questionnaire().questions if q.id == "SCI-02")
    rng, kind = random.Random(1), question_types.of(question)
    strong = [kind.demo_answer(question, 0.95, 2021, rng) for _ in range(200)]
    weak = [kind.demo_answer(question, 0.15, 2021, rng) for _ in range(200)]
    assert strong.count("done") > 100 > weak.count("done")


def demo_questionnaire():
    from surveyapp.questionnaires import loader

    return loader.load_file(QUESTIONNAIRES / cast.QUESTIONNAIRE_ID / "2021.1.yaml")


def test_cli_demo_prints_logins_and_refuses_a_second_run(instance_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))  # restored afterwards
    runner = CliRunner()
    args = ["--instance", str(instance_path)]
    assert runner.invoke(cli, [*args, "init"]).exit_code == 0
    first = runner.invoke(cli, [*args, "demo"])
    assert first.exit_code == 0, first.output
    assert all(a.password in first.output for a in cast.ACCOUNTS)
    second = runner.invoke(cli, [*args, "demo"])
    assert second.exit_code == 1
    assert "既に" in second.output


def test_cli_demo_asks_for_init_first(instance_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    result = CliRunner().invoke(cli, ["--instance", str(instance_path), "demo"])
    assert result.exit_code == 1
    assert "surveyapp init" in result.output


def test_demo_opens_improvement_items_for_the_first_follow_up_findings(db, loaded):
    findings = {row[0] for row in db.execute(
        "SELECT finding FROM improvement_items WHERE source = 'followup' "
        "AND system_code IS NULL")}
    assert findings == set(demo_items.ITEM_FINDINGS)


def test_fy2026_has_items_naming_its_weakest_systems(db, loaded):
    rows = db.execute("SELECT i.system_code, i.department_code, s.owner_code "
                      "FROM improvement_items i JOIN systems s ON s.code = i.system_code "
                      "WHERE i.round_id = ?", [loaded.round_ids[2026]]).fetchall()
    assert len(rows) == demo_items.SYSTEM_ITEMS and len({row[0] for row in rows}) == len(rows)


def test_demo_finalises_a_verification_of_six_departments_in_fy2021(db, loaded):
    fy2021 = loaded.round_ids[2021]
    found = figures.round_verification(db, fy2021, 5)
    assert len(found.departments) == len(found.finalised) == 6
    assert found.counts.discrepancies >= 2 and found.reliability < 1
    assert {d.reason for d in found.departments} >= {"low_reliability", "random"}


def test_demo_discrepancies_opened_improvement_items(db, loaded):
    fy2021 = loaded.round_ids[2021]
    opened = db.execute("SELECT COUNT(*) FROM improvement_items WHERE source = "
                        "'verification' AND round_id = ?", [fy2021]).fetchone()[0]
    linked = db.execute("SELECT COUNT(DISTINCT item_id) FROM verification_item_links "
                        "JOIN improvement_items ON id = item_id WHERE round_id = ?",
                        [fy2021]).fetchone()[0]
    assert opened >= 1 and linked >= opened


def test_the_dept_login_has_a_finalised_result_to_see(db, loaded):
    history = verification_history.reliability_history(db, cast.DEPT_LOGIN_UNIT, 5)
    assert [point.round.fiscal_year for point in history] == [2020]


def test_dept_unit_has_an_open_item_for_its_next_form(db, loaded):
    fy2021 = loaded.round_ids[2021]
    entries = previous_year.previous_year_entries(db, fy2021, cast.DEPT_LOGIN_UNIT)
    assert entries and all(entry.item.is_open for entry in entries)


@pytest.mark.parametrize("others", [0, 1, 5, 19])
def test_a_small_prefecture_leaves_half_its_units_unsubmitted_at_most(others):
    fy2026 = next(r for r in cast.ROUNDS if r.fiscal_year == 2026)
    drafts, not_started = demo.unsubmitted_counts(fy2026, others)
    assert drafts + not_started == others // 2 and drafts <= not_started


def test_a_prefecture_with_enough_units_gets_the_rounds_own_counts():
    fy2026 = next(r for r in cast.ROUNDS if r.fiscal_year == 2026)
    assert demo.unsubmitted_counts(fy2026, 39) == (fy2026.drafts, fy2026.not_started)


def test_the_register_holds_only_systems_of_the_units_loaded():
    from surveyapp.demo import register as demo_register
    rows = list(demo_register.system_rows({"0101"}))
    assert rows and {row["owner_code"] for row in rows} == {"0101"}
    assert rows[0]["code"] == "SYS-0001"  # numbered as in the whole register
# --- approval, deadlines and mail (DESIGN.md §10) ---------------------------------------------


def open_round_states(db):
    from surveyapp.readmodels import approval_states

    round_id = db.execute("SELECT id FROM rounds WHERE status = 'open'").fetchone()[0]
    return round_id, approval_states.round_statuses(db, round_id)


def test_only_the_open_round_requires_approval(db, loaded):
    assert dict(db.execute("SELECT status, approval_required FROM rounds").fetchall()) == {
        "closed": 0, "open": 1}


def test_the_open_round_has_approved_waiting_returned_and_late_departments(db, loaded):
    _round_id, states = open_round_states(db)
    by_state = {}
    for state in states.values():
        by_state[state["status"]] = by_state.get(state["status"], 0) + 1
    # FY2026 leaves 20 of 40 unsubmitted (cast.ROUNDS); of the rest most are approved.
    assert by_state["approved"] >= 10 and by_state["submitted"] >= 3
    assert by_state["returned"] == cast.RETURNED and by_state["draft"] >= 3
    assert len(states) < loaded.units  # and some have not started
    assert loaded.approvals["returned"] == cast.RETURNED


def test_most_departments_have_an_approver_and_every_user_an_example_address(db, loaded):
    approvers = count(db, "SELECT count(DISTINCT department_code) FROM users "
                      "WHERE approver = 1 AND role = 'department'")
    assert loaded.units - cast.WITHOUT_APPROVER <= approvers < loaded.units
    emails = [row[0] for row in db.execute("SELECT email FROM users WHERE email != ''")]
    assert len(emails) >= 70 and all(e.endswith("@example.lg.jp") for e in emails)
    assert count(db, "SELECT count(DISTINCT department_code) FROM users "
                 "WHERE role = 'department' AND email = ''") == cast.WITHOUT_ADDRESS


def test_decisions_came_after_their_submission_and_were_made_by_approvers(db, loaded):
    rows = db.execute("SELECT d.decided_at, d.submitted_at, u.approver, d.decided_by, "
                      "d.submitted_by FROM approval_decisions d "
                      "JOIN users u ON u.id = d.decided_by").fetchall()
    assert rows and all(decided > submitted and approver and by != submitter
                        for decided, submitted, approver, by, submitter in rows)


def test_the_kacho_login_approves_for_the_dept_login(db, loaded):
    kacho = accounts.authenticate(db, "kacho", cast.APPROVER_ACCOUNT.password)
    assert kacho["approver"] and kacho["department_code"] == cast.DEPT_LOGIN_UNIT


def test_one_late_department_has_an_extended_deadline(db, loaded):
    [(code, closes_on, reason)] = db.execute(
        "SELECT department_code, closes_on, reason FROM deadline_extensions").fetchall()
    assert closes_on > "2021-11-30" and reason == cast.EXTENSION_REASON
    _round_id, states = open_round_states(db)
    assert states.get(code, {"status": "not_started"})["status"] in ("draft", "not_started")
