"""Single sign-on behind IIS or Apache (TRUSTED_USER_HEADER): the header is believed only
with PROXY_COUNT >= 1 and from a trusted proxy address; the user is then looked up in the
real directory for role and 所属."""

from __future__ import annotations

import pytest
from flask import jsonify
from flask_login import current_user, login_required

from surveyapp import create_app
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.usefixtures("directory_departments")

WHOAMI = "/test-whoami"
HEADER = "X-Remote-User"


@pytest.fixture
def app_config(app_config, directory_config):
    return {**app_config, **directory_config, "PROXY_COUNT": 1,
            "TRUSTED_USER_HEADER": HEADER}


def with_probe(app):
    @login_required
    def whoami():
        return jsonify(login=current_user.login, role=current_user.role)

    app.add_url_rule(WHOAMI, "test_whoami", whoami)
    return app


@pytest.fixture
def app(app):
    return with_probe(app)


def from_proxy(user: str, peer: str = "127.0.0.1") -> dict:
    """What the web server in front sends: the user it authenticated, the client."""
    return {"headers": {HEADER: user, "X-Forwarded-For": "10.20.30.40"},
            "environ_base": {"REMOTE_ADDR": peer}}


def test_a_protected_page_logs_in_the_user_the_proxy_names(client):
    response = client.get(WHOAMI, **from_proxy("tanaka"))
    assert response.status_code == 302 and response.location.endswith(WHOAMI)
    assert client.get(WHOAMI).json == {"login": "tanaka", "role": "department"}


@pytest.mark.parametrize("name", ["PREF\\tanaka", "tanaka@PREF.EXAMPLE.LG.JP"])
def test_the_windows_domain_or_kerberos_realm_is_dropped(client, name):
    client.get(WHOAMI, **from_proxy(name))
    assert client.get(WHOAMI).json["login"] == "tanaka"


def test_the_header_from_an_untrusted_address_is_ignored(client):
    response = client.get(WHOAMI, **from_proxy("tanaka", peer="10.9.9.9"))
    assert "/login" in response.location
    assert client.get(WHOAMI).status_code == 302


def test_the_header_is_ignored_without_proxy_count(app_config):
    client = with_probe(create_app({**app_config, "PROXY_COUNT": 0})).test_client()
    response = client.get(WHOAMI, **from_proxy("tanaka"))
    assert "/login" in response.location


def test_a_local_account_is_never_logged_in_by_the_header(client, make_user):
    make_user("kikaku")
    response = client.get(WHOAMI, **from_proxy("kikaku"))
    assert "/login" in response.location
    assert client.get(WHOAMI).status_code == 302


def test_a_user_the_directory_grants_nothing_is_told_why(client):
    response = client.get(WHOAMI, **from_proxy("ito"), follow_redirects=True)
    assert "権限（グループ）が割り当てられていません" in response.text
    assert client.get(WHOAMI).status_code == 302


def test_the_login_page_offers_the_windows_login(client):
    page = client.get("/login", **from_proxy("tanaka"))
    assert "Windows のログオン情報でログイン" in page.text
    assert client.post("/login/sso", **from_proxy("tanaka")).status_code == 302
    assert client.get(WHOAMI).json["login"] == "tanaka"


def test_the_login_page_offers_nothing_without_a_believable_header(client):
    page = client.get("/login", **from_proxy("tanaka", peer="10.9.9.9"))
    assert "Windows のログオン情報でログイン" not in page.text


def test_the_api_never_takes_the_header(client):
    response = client.get("/api/v1/rounds", **from_proxy("yamada"))
    assert response.status_code == 401


def test_a_password_login_still_works_beside_the_header(client, make_user):
    make_user("kikaku")
    response = client.post("/login", data={"login": "kikaku", "password": TEST_PASSWORD})
    assert response.status_code == 302

