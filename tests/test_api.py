"""The JSON API of DESIGN.md §6: shapes, auth (session or bearer token) and scoping.

Built on the hand-computed fixture of tests/fixtures/aggregate (see test_aggregate.py
for the arithmetic): FY2020 and FY2021 rounds of agg-test, 所属 U1..U4.
"""

from __future__ import annotations

import numbers

import pytest

from surveyapp.services import accounts
from tests.fixtures.aggregate import builder

ROUND_KEYS = {"id", "fiscal_year", "questionnaire_id", "version", "status", "opens_on",
              "closes_on"}
DEPARTMENT_KEYS = {"code", "name", "parent_code", "submitted", "staff_responses",
                   "headcount", "response_rate", "overall", "band", "sections", "findings"}
PREFECTURE_KEYS = {"overall", "sections", "findings", "n_departments"}
HISTORY_KEYS = {"round_id", "fiscal_year", "overall", "band", "sections"}


@pytest.fixture
def rounds(db):
    return builder.build(db)


@pytest.fixture
def tokens(db, rounds, make_user):
    """A bearer token per role: admin, auditor, and the department user of U1."""
    make_user("admin1", "admin")
    make_user("auditor1", "auditor")
    make_user("dept1", "department", "U1")
    return {login: accounts.create_api_token(db, login)
            for login in ("admin1", "auditor1", "dept1")}


def get(client, url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, headers=headers)


def urls(rounds):
    return ["/api/v1/rounds", f"/api/v1/rounds/{rounds[2021]}/scores",
            f"/api/v1/compare?from={rounds[2020]}&to={rounds[2021]}",
            "/api/v1/departments/U1/history"]


# --- authentication ------------------------------------------------------------------


def test_anonymous_caller_gets_json_401_on_every_endpoint(client, rounds):
    for url in urls(rounds):
        response = get(client, url)
        assert response.status_code == 401, url
        assert set(response.get_json()) == {"error"}


def test_bad_token_gets_401(client, rounds, tokens):
    for url in urls(rounds):
        assert get(client, url, "not-a-real-token").status_code == 401, url


def test_revoked_token_gets_401(client, db, rounds, tokens):
    accounts.revoke_api_token(db, tokens["auditor1"])
    assert get(client, "/api/v1/rounds", tokens["auditor1"]).status_code == 401


def test_every_role_reaches_every_endpoint_with_a_token(client, rounds, tokens):
    for token in tokens.values():
        for url in urls(rounds):
            assert get(client, url, token).status_code == 200, url


def test_logged_in_session_reaches_the_api(client, rounds, tokens, login_as):
    login_as(client, "auditor1")
    assert client.get(f"/api/v1/rounds/{rounds[2021]}/scores").status_code == 200


def test_api_is_get_only(app):
    methods = {method for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/api/") for method in rule.methods}
    assert methods <= {"GET", "HEAD", "OPTIONS"}


def test_post_is_not_allowed(client, rounds, tokens):
    response = client.post("/api/v1/rounds",
                           headers={"Authorization": f"Bearer {tokens['admin1']}"})
    assert response.status_code == 405


def test_api_responses_are_not_cached(client, rounds, tokens):
    assert get(client, "/api/v1/rounds", tokens["admin1"]).headers["Cache-Control"] == (
        "no-store")


# --- GET /api/v1/rounds ----------------------------------------------------------------


def test_rounds_lists_every_round_with_the_contract_keys(client, rounds, tokens):
    body = get(client, "/api/v1/rounds", tokens["dept1"]).get_json()
    assert {r["id"] for r in body} == set(rounds.values())
    assert all(set(r) == ROUND_KEYS for r in body)


# --- GET /api/v1/rounds/<id>/scores ----------------------------------------------------


def scores(client, rounds, token):
    return get(client, f"/api/v1/rounds/{rounds[2021]}/scores", token).get_json()


def test_scores_shape_follows_the_contract(client, rounds, tokens):
    body = scores(client, rounds, tokens["admin1"])
    assert {"round", "prefecture", "departments"} <= set(body)
    assert set(body["round"]) == ROUND_KEYS
    assert set(body["prefecture"]) >= PREFECTURE_KEYS
    assert all(set(d) >= DEPARTMENT_KEYS for d in body["departments"])


def test_scores_carry_the_hand_computed_figures(client, rounds, tokens):
    body = scores(client, rounds, tokens["auditor1"])
    u1 = next(d for d in body["departments"] if d["code"] == "U1")
    assert u1["overall"] == pytest.approx(570 / 7)  # see test_aggregate.py
    assert (u1["band"], u1["submitted"], u1["staff_responses"]) == ("B", True, 5)
    assert u1["sections"] == pytest.approx({"DEP": 87.5, "STF": 220 / 3})
    assert u1["response_rate"] == pytest.approx(0.5)
    assert body["prefecture"]["overall"] == pytest.approx((570 / 7 + 160) / 4)
    assert body["prefecture"]["n_departments"] == 4


def test_scores_are_numbers_from_0_to_100_or_null(client, rounds, tokens):
    body = scores(client, rounds, tokens["admin1"])
    rows = [*body["departments"], body["prefecture"]]
    figures = [r["overall"] for r in rows]
    figures += [v for r in rows for key in ("sections", "findings") for v in r[key].values()]
    assert all(v is None or (isinstance(v, numbers.Real) and 0 <= v <= 100)
               for v in figures)


def test_admin_and_auditor_see_every_department(client, rounds, tokens):
    for login in ("admin1", "auditor1"):
        codes = [d["code"] for d in scores(client, rounds, tokens[login])["departments"]]
        assert codes == ["U1", "U2", "U3", "U4"]


def test_department_user_sees_own_department_and_prefecture_only(client, rounds, tokens):
    body = scores(client, rounds, tokens["dept1"])
    assert [d["code"] for d in body["departments"]] == ["U1"]
    assert body["prefecture"]["n_departments"] == 4
    assert body["bureaus"] == []


def test_scores_of_unknown_round_is_404(client, rounds, tokens):
    response = get(client, "/api/v1/rounds/999/scores", tokens["admin1"])
    assert response.status_code == 404
    assert "error" in response.get_json()


# --- GET /api/v1/compare ---------------------------------------------------------------


def compare_url(rounds):
    return f"/api/v1/compare?from={rounds[2020]}&to={rounds[2021]}"


def test_compare_shape_follows_the_contract(client, rounds, tokens):
    body = get(client, compare_url(rounds), tokens["admin1"]).get_json()
    assert (body["from"], body["to"]) == (rounds[2020], rounds[2021])
    u4 = next(d for d in body["departments"] if d["code"] == "U4")
    assert {"from", "to", "delta"} <= set(u4["overall"])
    assert {"from", "to", "delta", "comparable"} <= set(u4["sections"]["DEP"])
    assert (u4["overall"]["from"], u4["overall"]["to"], u4["overall"]["delta"]) == (
        50.0, 100.0, 50.0)  # U4OLD 50 in FY2020 (test_aggregate.py)
    assert all(set(q) == {"to_id", "from_ids", "relation", "comparable"}
               for q in body["questions"])


def test_department_user_compares_own_department_only(client, rounds, tokens):
    body = get(client, compare_url(rounds), tokens["dept1"]).get_json()
    assert [d["code"] for d in body["departments"]] == ["U1"]


@pytest.mark.parametrize("query", ["", "?from=1", "?to=2", "?from=a&to=2", "?from=1&to=-2",
                                   "?from=1.5&to=2", "?from=１&to=2",
                                   "?from=99999999999999&to=1"])
def test_compare_with_bad_parameters_is_400(client, rounds, tokens, query):
    response = get(client, f"/api/v1/compare{query}", tokens["admin1"])
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_compare_with_unknown_round_is_404(client, rounds, tokens):
    response = get(client, f"/api/v1/compare?from={rounds[2020]}&to=999", tokens["admin1"])
    assert response.status_code == 404


def test_compare_of_different_questionnaires_is_400(client, db, rounds, tokens):
    other = builder.publish_shipped(db, "2021.1")
    response = get(client, f"/api/v1/compare?from={rounds[2020]}&to={other}",
                   tokens["admin1"])
    assert response.status_code == 400
    assert "error" in response.get_json()


# --- GET /api/v1/departments/<code>/history -------------------------------------------------


def history(client, code, token):
    return get(client, f"/api/v1/departments/{code}/history", token)


def test_history_follows_predecessors(client, rounds, tokens):
    body = history(client, "U4", tokens["auditor1"]).get_json()
    assert all(set(entry) >= HISTORY_KEYS for entry in body)
    assert [(e["round_id"], e["fiscal_year"], e["overall"], e["band"]) for e in body] == [
        (rounds[2020], 2020, 50.0, "C"), (rounds[2021], 2021, 100.0, "A")]


def test_department_user_reads_own_history(client, rounds, tokens):
    body = history(client, "U1", tokens["dept1"]).get_json()
    assert [e["fiscal_year"] for e in body] == [2020, 2021]


def test_department_user_gets_404_for_another_departments_history(client, rounds, tokens):
    response = history(client, "U2", tokens["dept1"])
    assert response.status_code == 404
    assert set(response.get_json()) == {"error"}


def test_history_of_unknown_department_is_404(client, rounds, tokens):
    assert history(client, "NOPE", tokens["admin1"]).status_code == 404


def test_unknown_api_path_is_json_404(client, rounds, tokens):
    response = get(client, "/api/v1/nothing-here", tokens["admin1"])
    assert response.status_code == 404
    assert "error" in response.get_json()
