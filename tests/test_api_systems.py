"""The JSON API's systems (DESIGN.md §12): GET /api/v1/rounds/<id>/systems and the
`systems` count of `departments[]` in the scores."""

from __future__ import annotations

import pytest

from surveyapp.services import accounts, self_check
from tests import systems_world

SYSTEM_KEYS = {"code", "name", "owner_code", "hosting", "ismap", "submitted", "overall",
               "band", "sections", "findings"}
COMPLETE = ({"SPW-00": "yes", "SPW-01": "done", "SCT-02": "partial"},
            {"SPW-01": systems_world.proof("記録")})


@pytest.fixture
def world(db, make_user):
    world = systems_world.build(db)
    response = systems_world.department_response(db, world, "K1")
    self_check.submit_form(db, response["id"], response["version"],
                           {"DEP-00": "no", "DEP-01": "done"}, {},
                           {code: COMPLETE for code in ("S1", "S2", "S4")}, None,
                           world.questionnaire)
    make_user("admin1", "admin")
    make_user("k2", "department", "K2")
    return world


def get(client, db, url, login):
    token = accounts.create_api_token(db, login)
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_every_system_with_the_contract_keys_and_its_scores(client, db, world):
    body = get(client, db, f"/api/v1/rounds/{world.round_id}/systems", "admin1").get_json()
    assert [s["code"] for s in body] == ["S1", "S2", "S3", "S4"]
    assert all(set(s) >= SYSTEM_KEYS for s in body)
    s1 = body[0]
    assert (s1["owner_code"], s1["hosting"], s1["ismap"], s1["submitted"]) == (
        "K1", "cloud", "yes", True)
    # SPW-01 done (w3), SCT-02 partial (w1); SCT-01 is not relevant (DEP-00 no)
    assert s1["overall"] == pytest.approx(100 * 3.5 / 4)
    assert body[2]["overall"] is None and not body[2]["submitted"]


def test_a_department_user_sees_only_its_own_systems(client, db, world):
    body = get(client, db, f"/api/v1/rounds/{world.round_id}/systems", "k2").get_json()
    assert [s["code"] for s in body] == ["S3"]


def test_an_unknown_round_is_404(client, db, world):
    response = get(client, db, "/api/v1/rounds/999/systems", "admin1")
    assert response.status_code == 404 and "error" in response.get_json()


def test_anonymous_callers_get_401(client, world):
    assert client.get(f"/api/v1/rounds/{world.round_id}/systems").status_code == 401


def test_departments_in_the_scores_count_their_systems(client, db, world):
    body = get(client, db, f"/api/v1/rounds/{world.round_id}/scores", "admin1").get_json()
    counts = {d["code"]: d["systems"] for d in body["departments"]}
    assert counts == {"K1": 3, "K2": 0, "K3": 0}
