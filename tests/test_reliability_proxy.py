"""Behind a TLS reverse proxy (docs/operations.md): X-Forwarded-* headers count
only when PROXY_COUNT says a proxy sets them, so a client can never fake its address
to escape the per-address login limit; HTTPS at the proxy turns on HSTS; the session
cookie is marked Secure when SESSION_COOKIE_SECURE is on."""

from __future__ import annotations

import pytest

from surveyapp import create_app


@pytest.fixture
def limited_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "10 per minute",
            "LOGIN_RATE_LIMIT_PER_ADDRESS": "2 per minute"}


def attempts(client, forwarded_for: list[str]) -> list[int]:
    """One failed login per address, each with another login name."""
    return [client.post("/login", data={"login": f"user{n}", "password": "wrong password!"},
                        headers={"X-Forwarded-For": address}).status_code
            for n, address in enumerate(forwarded_for)]


def test_forwarded_for_is_ignored_without_a_trusted_proxy(app, limited_config):
    client = create_app(limited_config).test_client()
    assert attempts(client, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [401, 401, 429]


def test_behind_one_proxy_each_client_address_has_its_own_limit(app, limited_config):
    client = create_app({**limited_config, "PROXY_COUNT": 1}).test_client()
    assert attempts(client, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [401, 401, 401]
    assert attempts(client, ["10.0.0.1", "10.0.0.1"]) == [401, 429]


def test_a_client_cannot_prepend_a_fake_address_before_the_proxy(app, limited_config):
    client = create_app({**limited_config, "PROXY_COUNT": 1}).test_client()
    # The proxy appends the real address; only the last PROXY_COUNT entries count.
    faked = [f"192.0.2.{n}, 10.0.0.9" for n in range(3)]
    assert attempts(client, faked) == [401, 401, 429]


def test_https_at_the_proxy_turns_on_hsts(app, app_config):
    client = create_app({**app_config, "PROXY_COUNT": 1}).test_client()
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_secure_cookie_setting_marks_the_session_cookie(app, app_config):
    client = create_app({**app_config, "SESSION_COOKIE_SECURE": True}).test_client()
    response = client.post("/login", data={"login": "nobody", "password": "wrong password!"},
                           headers={"X-Forwarded-Proto": "https"},
                           base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)
