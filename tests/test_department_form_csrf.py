"""With CSRF protection on (as in production): the form and its autosave carry the token."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD
from tests.test_responses import publish_form


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def unit(client, db, make_user):
    survey = publish_form(db)
    make_user("unit1", "department", "U1")
    token = token_of(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "login": "unit1",
                                "password": TEST_PASSWORD})
    survey.url = f"/rounds/{survey.round_id}/self-check/U1"
    return client, survey


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_autosave_accepts_the_csrf_header(unit):
    client, survey = unit
    token = token_of(client.get(survey.url).get_data(as_text=True))
    response = client.post(survey.url + "/autosave", data={"version": "1", "q_NOTE-01": "x"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["version"] == 2


def test_autosave_without_the_csrf_token_is_refused(unit):
    client, survey = unit
    client.get(survey.url)
    response = client.post(survey.url + "/autosave", data={"version": "1", "q_NOTE-01": "x"})
    assert response.status_code == 400


def test_form_post_carries_the_csrf_token_field(unit):
    client, survey = unit
    token = token_of(client.get(survey.url).get_data(as_text=True))
    response = client.post(survey.url, data={"csrf_token": token, "version": "1",
                                             "action": "draft", "q_NOTE-01": "x"})
    assert response.status_code == 302
