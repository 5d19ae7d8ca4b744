"""Role x route x 所属: every rule of the URL map, every method, every role.

`ROUTES` names each endpoint with a URL filled from the security world and the roles
that may use it. From it, for every (endpoint, method, role, 所属) the expected answer is:
- anonymous visitors on a non-public route: redirect to the login page (JSON 401 under
  /api/);
- a role the route is not for, and a department user on another 所属's object: 404,
  and nothing written;
- otherwise the route is reached (no 404, no login, no 500).
A route added to the app without an entry here fails `test_every_route_has_an_entry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from surveyapp.services import responses as response_service
from surveyapp.store import responses as response_store
from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)

A, U, D = "admin", "auditor", "department"
ALL = (A, U, D)
PUBLIC = ("public",)
ROLES = sw.ROLES  # ("anonymous", A, U, D), the roles of `clients`
# POSTs anyone may make for themselves: logging in and out, the language, the own
# password, and the staff survey (anyone holding a link answers it).
SELF_SERVICE = {"auth.login", "auth.login_sso", "auth.logout", "main.set_language",
                "auth.change_password", "staff.answer", "staff.code_entry", "staff.code_answer"}


@dataclass(frozen=True)
class Route:
    path: str  # filled by `fill`: {round} {closed} {verified} {probe} {code} {response} {item} ...
    who: tuple[str, ...]
    scoped: bool = False  # the path (or `data`) names one 所属's object
    data: dict = field(default_factory=dict)  # posted fields, filled like the path


# The verification work auditors may do (DESIGN.md §9); every other POST answers them 404.
VERIFICATION_WORK = {"verification.draw", "verification.add", "verification.remove",
                     "verification.start_fieldwork", "verification.record",
                     "verification.finalise", "verification.receive_upload",
                     "verification.apply_upload"}
# What that work may write: the verification tables, the audit log, and the improvement
# items a finalised discrepancy opens.
VERIFICATION_TABLES = {"verification_plans", "verification_draws", "verification_samples",
                       "verification_verdicts", "verification_verdict_history",
                       "verification_item_links", "audit_log", "improvement_items",
                       "improvement_item_history",
                       # the record of which 所属's figures changed, kept by triggers
                       # (migration 0043_score_changes): verification changes verified
                       # scores and reliability
                       "score_changes", "score_generation"}


FORM = "/rounds/{round}/self-check/{code}"
VERIFY = "/verification/rounds/{verified}"
VERIFIED = VERIFY + "/departments/{code}"
ROUNDTRIP = "/exports/rounds/{round}/self-check/{code}"
ROUTES: dict[str, Route] = {
    "static": Route("/static/style.css", PUBLIC),
    "main.index": Route("/", PUBLIC),  # a fixed introduction, no data
    "main.help_page": Route("/help", PUBLIC),  # for staff without an account too
    "main.set_language": Route("/lang", PUBLIC),
    "auth.login": Route("/login", PUBLIC),
    "auth.logout": Route("/logout", PUBLIC),
    "auth.login_sso": Route("/login/sso", PUBLIC),
    "auth.change_password": Route("/account/password", ALL),
    "audit.index": Route("/admin/audit", (A, U)),
    "attachments.download": Route("/attachments/{attachment}", ALL, True),
    "attachments.download_by_file": Route("/attachments/sha256/{sha}", (A, U)),
    "attachments.storage_page": Route("/admin/storage", (A,)),
    "admin_users.index": Route("/admin/users", (A,)),
    "admin_users.create": Route("/admin/users/new", (A,)),
    "admin_users.detail": Route("/admin/users/{user}", (A,)),
    "admin_users.deactivate": Route("/admin/users/{user}/deactivate", (A,)),
    "admin_users.reactivate": Route("/admin/users/{user}/reactivate", (A,)),
    "admin_users.set_department": Route("/admin/users/{user}/department", (A,)),
    "admin_users.reset_password": Route("/admin/users/{user}/password", (A,)),
    "admin_users.revoke_tokens": Route("/admin/users/{user}/revoke-tokens", (A,)),
    "admin_users.unlock": Route("/admin/users/{user}/unlock", (A,)),
    "admin_users.set_contact": Route("/admin/users/{user}/contact", (A,)),
    "admin_users.to_directory": Route("/admin/users/{user}/to-directory", (A,)),
    "admin_users.to_local": Route("/admin/users/{user}/to-local", (A,)),
    "users_import.form": Route("/admin/users/import", (A,)),
    "users_import.upload": Route("/admin/users/import", (A,)),
    "users_import.confirm": Route("/admin/users/import/confirm", (A,)),
    "users_import.cancel": Route("/admin/users/import/cancel", (A,)),
    "approvals.decide": Route("/responses/{response}/decision", (D,), True,
                              {"decision": "approved", "version": "1", "comment": "x"}),
    "approvals.sheet": Route("/responses/{response}/approval.pdf", ALL, True),
    "approvals.set_required": Route("/rounds/{round}/approval", (A,), False, {"required": "1"}),
    "api.rounds": Route("/api/v1/rounds", ALL),
    "api.round_scores": Route("/api/v1/rounds/{round}/scores", ALL),
    "api.round_systems": Route("/api/v1/rounds/{round}/systems", ALL),
    "api.compare_rounds": Route("/api/v1/compare?from={closed}&to={round}", ALL),
    "api.department_history": Route("/api/v1/departments/{code}/history", ALL, True),
    "api.round_verification": Route("/api/v1/rounds/{verified}/verification", ALL),
    "departments.index": Route("/departments/", (A, U)),
    "departments.import_form": Route("/departments/import", (A,)),
    "departments.upload": Route("/departments/import", (A,)),
    "departments.confirm": Route("/departments/import/confirm", (A,)),
    "departments.cancel": Route("/departments/import/cancel", (A,)),
    "systems.index": Route("/systems/", ALL),
    "systems.detail": Route("/systems/{system}", ALL, True),
    "systems.create": Route("/systems/new", (A,)),
    "systems.edit": Route("/systems/{system}/edit", (A,)),
    "systems.import_form": Route("/systems/import", (A,)),
    "systems.upload": Route("/systems/import", (A,)),
    "systems.confirm": Route("/systems/import/confirm", (A,)),
    "systems.cancel": Route("/systems/import/cancel", (A,)),
    "systems.propose": Route("/systems/{system}/propose", (D,), True),
    "systems.propose_new": Route("/systems/propose-new", (D,)),
    "systems.proposals": Route("/systems/proposals", ALL),
    "systems.results_index": Route("/systems/results", ALL),
    "systems.round_results": Route("/systems/rounds/{round}/", ALL),
    "systems.scorecard": Route("/systems/rounds/{round}/{system}", ALL, True),
    "systems.proposal": Route("/systems/proposals/{proposal}", ALL, True),
    "systems.accept": Route("/systems/proposals/{proposal}/accept", (A,)),
    "systems.reject": Route("/systems/proposals/{proposal}/reject", (A,)),
    "systems.withdraw": Route("/systems/proposals/{proposal}/withdraw", (D,), True),
    "exports.index": Route("/exports/", ALL),
    "exports.all_answers": Route("/exports/all/answers.csv", ALL),
    "exports.round_file": Route("/exports/rounds/{round}/scores.xlsx", ALL),
    "exports.department_file": Route(
        "/exports/rounds/{round}/departments/{code}/answers.csv", ALL, True),
    "exports.form_file": Route(ROUNDTRIP + "/form.xlsx", (D,), True),
    "exports.upload": Route(ROUNDTRIP + "/upload", (D,), True),
    "exports.receive_upload": Route(ROUNDTRIP + "/upload", (D,), True),
    "exports.apply_upload": Route(ROUNDTRIP + "/apply", (D,), True),
    "followups.index": Route("/followups/?round={round}", ALL),
    "followups.items": Route("/followups/items", ALL),
    "followups.item": Route("/followups/items/{item}", ALL, True),
    "followups.edit_item": Route("/followups/items/{item}/edit", (A, D), True),
    "followups.new_item": Route("/followups/items/new?round={round}", (A, D), False,
                                {"round": "{round}"}),
    "followups.create_from_entry": Route("/followups/rounds/{round}/plans", (A, D), True,
                                         {"department": "{code}", "finding": "指摘22"}),
    "followups.thresholds": Route("/followups/thresholds", (A,)),
    "questionnaires.index": Route("/questionnaires/", (A, U)),
    "questionnaires.view": Route("/questionnaires/infosec-selfcheck/2021.1", (A, U)),
    "questionnaires.source": Route("/questionnaires/infosec-selfcheck/2021.1/source", (A, U)),
    "questionnaires.publish": Route("/questionnaires/publish", (A,)),
    "responses.index": Route("/self-check", ALL),
    "responses.history": Route("/self-check/history", ALL),
    "responses.form": Route(FORM, ALL, True),
    "responses.save": Route(FORM, (D,), True),
    "responses.autosave": Route(FORM + "/autosave", (D,), True),
    "responses.confirm": Route(FORM + "/confirm", (D,), True),
    "responses.view": Route("/responses/{response}", ALL, True),
    "responses.reopen": Route("/responses/{response}/reopen", (A,), True),
    "results.index": Route("/results/", ALL),
    "results.round_results": Route("/results/rounds/{round}/?sort=overall", (A, U)),
    "results.questions": Route("/results/rounds/{round}/questions", (A, U)),
    "results.department": Route("/results/departments/{code}/", ALL, True),
    "results.carry_over": Route("/results/rounds/{round}/carry-over", (A, U)),
    "results.comparison": Route("/results/compare?from={closed}&to={round}", ALL),
    "reminders.send_now": Route("/rounds/{round}/reminders", (A,)),
    "reminders.late_csv": Route("/rounds/{round}/late.csv", (A, U)),
    "reminders.extend": Route("/rounds/{round}/deadlines/{code}", (A,), False,
                              {"closes_on": "2099-01-01", "reason": "x"}),
    "rounds.index": Route("/rounds/", (A, U)),
    "rounds.create": Route("/rounds/new", (A,)),
    "rounds.progress": Route("/rounds/{round}/", (A, U)),
    "rounds.confirm_change": Route("/rounds/{round}/close", (A,)),
    "rounds.open_round": Route("/rounds/{closed}/open", (A,)),
    "rounds.close_round": Route("/rounds/{round}/close", (A,)),
    "rounds.set_attachments": Route("/rounds/{round}/attachments", (A,), False,
                                    {"attachments": "off"}),
    "scorecards.index": Route("/scorecards/", ALL),
    "scorecards.round_cards": Route("/scorecards/rounds/{round}/", ALL),
    "scorecards.card": Route("/scorecards/rounds/{round}/departments/{code}/", ALL, True),
    "scorecards.card_pdf": Route("/scorecards/rounds/{round}/departments/{code}/pdf", ALL,
                                 True),
    "scorecards.overview": Route("/scorecards/rounds/{round}/overview", (A, U)),
    "scorecards.chart": Route("/scorecards/charts/{chart}", ALL, True),
    "verification.index": Route("/verification/", ALL),
    "verification.plan": Route(VERIFY + "/", (A, U)),
    "verification.draw": Route("/verification/rounds/{probe}/draw", (A, U),
                               data={"size": "1", "seed": "s"}),
    "verification.add": Route("/verification/rounds/{probe}/add", (A, U),
                              data={"department": "{code}", "note": "理由"}),
    "verification.start_fieldwork": Route("/verification/rounds/{probe}/fieldwork", (A, U)),
    "verification.remove": Route(VERIFIED + "/remove", (A, U), True, {"note": "理由"}),
    "verification.department": Route(VERIFIED + "/", ALL, True),
    "verification.record": Route(VERIFIED + "/verdicts", (A, U), True, {
        "question_id": "SYS-00", "verdict": "unverifiable", "note": "n"}),
    "verification.finalise": Route(VERIFIED + "/finalise", (A, U), True),
    "verification.reopen": Route(VERIFIED + "/reopen", (A,), True, {"reason": "理由"}),
    "verification.workpaper_file": Route(VERIFY + "/workpaper.xlsx", (A, U)),
    "verification.upload": Route(VERIFY + "/workpaper", (A, U)),
    "verification.receive_upload": Route(VERIFY + "/workpaper", (A, U)),
    "verification.apply_upload": Route(VERIFY + "/workpaper/apply", (A, U)),
    "verification.results": Route(VERIFY + "/results", (A, U)),
    "verification.history": Route("/verification/departments/{code}/", ALL, True),
    "staff.index": Route("/staff/", (A, D)),
    "staff.overview": Route("/staff/{round}", (A,)),
    "staff.unit": Route("/staff/{round}/{code}", (A, D), True),
    "staff.issue_link": Route("/staff/{round}/{code}/link", (A, D), True),
    "staff.confirm_reissue": Route("/staff/{round}/{code}/link/reissue", (A, D), True),
    "staff.generate_codes": Route("/staff/{probe}/{code}/codes", (A,), True),
    "staff.answer": Route("/s/{token}", PUBLIC),
    "staff.thanks": Route("/s/{token}/thanks", PUBLIC),
    "staff.code_entry": Route("/s/code", PUBLIC),
    "staff.code_answer": Route("/s/code/answer", PUBLIC),
    "staff.code_thanks": Route("/s/code/thanks/{probe}", PUBLIC),
}


world, app, clients = sw.module_fixtures("matrix")


@pytest.fixture(scope="module")
def rules():
    return sw.url_rules()


def fill(text: str, world: sw.World, scope: str) -> str:
    code = sw.OWN if scope == "own" else sw.OTHER
    return text.format(
        round=world.rounds["open"], closed=world.rounds["closed"], probe=world.rounds["probe"],
        verified=world.rounds["verified"],
        code=code, response=world.responses[scope], item=world.items[scope],
        token=world.links[scope], chart=world.charts[scope],
        system=world.systems[scope], proposal=world.proposals[scope],
        user=world.users[sw.HOSTILE_LOGIN], attachment=world.attachments[scope],
        sha=world.files[scope])


def expected(route: Route, role: str, scope: str) -> str:
    if route.who == PUBLIC:
        return "reached"
    if role == "anonymous":
        return "login"
    if role not in route.who or (route.scoped and role == D and scope == "other"):
        return "hidden"
    return "reached"


def cases():
    for endpoint, route in ROUTES.items():
        for role in ROLES:
            for scope in ("own", "other") if route.scoped else ("own",):
                yield pytest.param(endpoint, role, scope, id=f"{endpoint}-{role}-{scope}")


def request(client, method: str, route: Route, world: sw.World, scope: str):
    path = fill(route.path, world, scope)
    data = {name: fill(value, world, scope) for name, value in route.data.items()}
    return client.open(path, method=method, data=data, buffered=True)


def assert_outcome(response, outcome: str, path: str) -> None:
    status = response.status_code
    api = path.startswith("/api/")
    if outcome == "login" and api:
        assert status == 401 and "error" in response.get_json(), path
    elif outcome == "login":
        assert status == 302, (path, status)
        assert urlsplit(response.headers["Location"]).path == "/login", path
    elif outcome == "hidden":
        assert status == 404, (path, status)
    else:
        assert status < 500 and status not in (401, 404), (path, status)
        location = response.headers.get("Location", "")
        assert urlsplit(location).path != "/login" or path.startswith("/log"), (path, location)


def methods_of(rules, endpoint: str) -> list[str]:
    return sorted(method for name, method in rules if name == endpoint)


# --- the table covers the app ---------------------------------------------------------


def test_every_route_has_an_entry(rules):
    assert {endpoint for endpoint, _method in rules} == set(ROUTES)


def test_every_entry_is_a_route_of_the_app(app, rules, world):
    """Each entry's URL resolves to its own endpoint (a typo would test something else)."""
    adapter = app.url_map.bind("localhost")
    for endpoint, route in ROUTES.items():
        path = urlsplit(fill(route.path, world, "own")).path
        found, _args = adapter.match(path, method=methods_of(rules, endpoint)[-1])
        assert found == endpoint, (endpoint, path)


# --- the matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "role", "scope"), list(cases()))
def test_role_route_and_department_give_the_expected_answer(endpoint, role, scope, rules,
                                                            world, clients, tmp_path):
    route = ROUTES[endpoint]
    outcome = expected(route, role, scope)
    for method in methods_of(rules, endpoint):
        if outcome != "reached":
            with sw.no_writes(world.database):
                response = request(clients[role], method, route, world, scope)
        elif method == "GET":  # downloads may write to the audit log
            response = request(clients[role], method, route, world, scope)
        else:  # an allowed POST may change data: on a copy of its own, a fresh session
            copy = world.copy(tmp_path / method)
            response = request(sw.log_in(copy.app(), role), method, route, copy, scope)
        assert_outcome(response, outcome, fill(route.path, world, scope))


# --- auditors change nothing ----------------------------------------------------------------


def test_auditors_post_nothing_that_changes_data(rules, world, clients):
    """Every POST route except the self-service ones and the verification work answers
    auditors 403/404/405, with the fingerprint of every table unchanged across the whole
    sweep."""
    before = sw.fingerprint(world.database)
    for endpoint, method in sorted(rules):
        if method == "GET" or endpoint in SELF_SERVICE | VERIFICATION_WORK:
            continue
        for scope in ("own", "other"):
            response = request(clients[U], method, ROUTES[endpoint], world, scope)
            assert response.status_code in (403, 404, 405), (endpoint, response.status_code)
    assert sw.changed_tables(before, sw.fingerprint(world.database)) == []


def test_the_verification_work_is_every_post_auditors_may_make(rules):
    allowed = {endpoint for endpoint, route in ROUTES.items() if U in route.who}
    posts = {endpoint for endpoint, method in rules if method == "POST"}
    assert (posts & allowed) - SELF_SERVICE == VERIFICATION_WORK


@pytest.mark.parametrize("endpoint", sorted(VERIFICATION_WORK))
@pytest.mark.parametrize("scope", ["own", "other"])
def test_auditors_verification_work_writes_only_verification_tables(endpoint, scope, world,
                                                                     tmp_path):
    """What an auditor's verification POST changes: verification tables, the audit log
    and the improvement items a finalised discrepancy opens; nothing else."""
    copy = world.copy(tmp_path)
    before = sw.fingerprint(copy.database)
    response = request(sw.log_in(copy.app(), U), "POST", ROUTES[endpoint], copy, scope)
    assert response.status_code < 500
    assert set(sw.changed_tables(before, sw.fingerprint(copy.database))) <= VERIFICATION_TABLES


def test_an_auditor_records_and_finalises_the_other_departments_verification(world,
                                                                              tmp_path):
    copy = world.copy(tmp_path)
    client = sw.log_in(copy.app(), U)
    page = f"/verification/rounds/{copy.rounds['verified']}/departments/{sw.OTHER}"
    assert client.post(page + "/verdicts", data={
        "question_id": "SYS-00", "verdict": "confirmed", "version": "1"}).status_code == 302
    assert client.post(page + "/finalise").status_code == 302
    with copy.connect() as db:
        row = db.execute("SELECT finalised_by FROM verification_samples WHERE round_id = ? "
                         "AND department_code = ? AND removed_at IS NULL",
                         [copy.rounds["verified"], sw.OTHER]).fetchone()
    assert row[0] == copy.users["auditor"]


def test_auditor_sees_the_prefecture_chart_and_department_user_does_not(world, clients):
    path = f"/scorecards/charts/{world.charts['prefecture']}"
    assert clients[U].get(path).status_code == 200
    assert clients[D].get(path).status_code == 404


def test_department_history_filter_cannot_reach_another_department(world, clients):
    """The other 所属's answers hold the payload: an admin's filtered history shows it
    (escaped), a department user's, with the same filter, does not."""
    path = f"/self-check/history?department={sw.OTHER}"
    escaped = "&lt;script&gt;alert(1)"
    assert escaped in clients[A].get(path).text
    assert escaped not in clients[D].get(path).text


def test_department_user_creates_items_only_for_the_own_department(world, tmp_path):
    copy = world.copy(tmp_path)
    client = sw.log_in(copy.app(), D)
    response = client.post(f"/followups/items/new?round={copy.rounds['open']}", data={
        "round": copy.rounds["open"], "department": sw.OTHER, "finding": "指摘22",
        "status": "not_started"})
    assert response.status_code == 303
    with copy.connect() as db:
        codes = [row["department_code"] for row in db["improvement_items"].rows_where(
            "id > ?", [max(copy.items.values())])]
    assert codes == [sw.OWN]


# --- staff links and codes reach only their own 所属 ----------------------------------


def staff_answers(world: sw.World, round_key: str) -> dict:
    with world.connect() as db:
        questionnaire = response_service.definition_for(
            db, response_store.get_round(db, world.rounds[round_key]))
    answers = sw.complete_answers(questionnaire, "staff")
    return {f"q_{qid}": value[0] if isinstance(value, tuple) else value
            for qid, value in answers.items()}


def staff_counts(world: sw.World, round_key: str) -> dict[str, int]:
    with world.connect() as db:
        rows = db.query("SELECT department_code, COUNT(*) AS n FROM responses "
                        "WHERE audience = 'staff' AND round_id = ? GROUP BY department_code",
                        [world.rounds[round_key]])
        return {row["department_code"]: row["n"] for row in rows}


def added(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {code: n - before.get(code, 0) for code, n in after.items()
            if n != before.get(code, 0)}


@pytest.mark.parametrize("scope", ["own", "other"])
def test_staff_link_answers_only_its_own_departments_form(world, scope, tmp_path):
    copy = world.copy(tmp_path)
    client = copy.app().test_client()
    before = staff_counts(copy, "open")
    wrong = sw.OTHER if scope == "own" else sw.OWN
    response = client.post(f"/s/{copy.links[scope]}", data={
        **staff_answers(copy, "open"), "department": wrong, "department_code": wrong})
    assert response.status_code == 303
    assert added(before, staff_counts(copy, "open")) == {fill("{code}", copy, scope): 1}


@pytest.mark.parametrize("scope", ["own", "other"])
def test_one_time_code_answers_only_its_own_departments_form(world, scope, tmp_path):
    copy = world.copy(tmp_path)
    client = copy.app().test_client()
    before = staff_counts(copy, "probe")
    code = copy.codes[scope][0]
    assert client.post("/s/code", data={"code": code}).status_code == 200
    response = client.post("/s/code/answer", data={
        **staff_answers(copy, "probe"), "staff_code": code, "department": sw.PROBE_UNIT})
    assert response.status_code == 303
    assert added(before, staff_counts(copy, "probe")) == {fill("{code}", copy, scope): 1}


def test_staff_link_holder_is_sent_to_login_everywhere_else(world, app, rules):
    client = app.test_client()
    assert client.get(f"/s/{world.links['own']}").status_code == 200
    for endpoint in sorted({e for e, method in rules if method == "GET"}):
        route = ROUTES[endpoint]
        if route.who != PUBLIC:
            response = request(client, "GET", route, world, "own")
            assert_outcome(response, "login", fill(route.path, world, "own"))
