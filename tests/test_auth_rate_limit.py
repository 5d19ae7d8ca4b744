"""Login rate limits (DESIGN §8): per address and login name, and per address."""

import pytest

from tests.conftest import TEST_PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute",
            "LOGIN_RATE_LIMIT_PER_ADDRESS": "5 per minute"}


def attempt(client, login, password="wrong password!"):
    return client.post("/login", data={"login": login, "password": password})


def test_too_many_attempts_on_one_login_get_a_japanese_429(client, make_user):
    make_user("kikaku")
    statuses = [attempt(client, "kikaku").status_code for _n in range(3)]
    blocked = attempt(client, "kikaku", TEST_PASSWORD)
    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert "しばらく待ってから" in blocked.text


def test_limit_per_login_ignores_letter_case(client, make_user):
    make_user("kikaku")
    for login in ("kikaku", "KIKAKU", "Kikaku"):
        attempt(client, login)
    assert attempt(client, "kikaku").status_code == 429


def test_other_logins_from_the_same_address_are_limited_in_total(client):
    statuses = [attempt(client, f"user{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]


def test_showing_the_login_page_is_not_limited(client):
    assert {client.get("/login").status_code for _n in range(10)} == {200}
