"""CSRF on every POST of the URL map (DESIGN.md §8), with the real token check on.

Each POST route is sent by a role that may use it (so only the token stands in the
way), with the fields of the security matrix: a missing token, a made-up one and a
token of another session all get the clear Japanese 400 page and write nothing; the
same request with this session's token is not refused for the token. The JSON API
answers GET only, which is why it may be exempt.
"""

from __future__ import annotations

import pytest

from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)
from tests.serving import hidden_value
from tests.test_security_matrix import PUBLIC, ROUTES, fill

CSRF_PAGE = "フォームの有効期限が切れたか"


world, app, _clients = sw.module_fixtures("csrf", WTF_CSRF_ENABLED=True)


POST_ROUTES = sorted(endpoint for endpoint, method in sw.url_rules() if method == "POST")


def role_for(endpoint: str) -> str:
    who = ROUTES[endpoint].who
    return "anonymous" if who == PUBLIC else who[-1]


def post(client, endpoint: str, world: sw.World, token: str | None):
    route = ROUTES[endpoint]
    data = {name: fill(value, world, "own") for name, value in route.data.items()}
    if token is not None:
        data["csrf_token"] = token
    return client.post(fill(route.path, world, "own"), data=data, buffered=True)


def session_token(client) -> str:
    """The token of `client`'s session, from a page every visitor may open."""
    return hidden_value(client.get("/help").text, "csrf_token")


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert CSRF_PAGE in response.text


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_post_without_csrf_token_is_refused_and_writes_nothing(endpoint, app, world):
    client = sw.log_in(app, role_for(endpoint))
    with sw.no_writes(world.database):
        assert_refused(post(client, endpoint, world, None))


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_post_with_a_made_up_csrf_token_is_refused_and_writes_nothing(endpoint, app, world):
    client = sw.log_in(app, role_for(endpoint))
    with sw.no_writes(world.database):
        assert_refused(post(client, endpoint, world, "IjEyMzQ1Ig.aaaa.bbbb"))


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_post_with_another_sessions_token_is_refused_and_writes_nothing(endpoint, app,
                                                                        world):
    client = sw.log_in(app, role_for(endpoint))
    stolen = session_token(app.test_client())
    with sw.no_writes(world.database):
        assert_refused(post(client, endpoint, world, stolen))


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_post_with_the_sessions_own_token_passes_the_csrf_check(endpoint, world, tmp_path):
    copy = world.copy(tmp_path)
    client = sw.log_in(copy.app(WTF_CSRF_ENABLED=True), role_for(endpoint))
    response = post(client, endpoint, copy, session_token(client))
    assert CSRF_PAGE not in response.text
    assert response.status_code < 500


def test_csrf_header_of_another_session_is_refused(app, world):
    """The autosave script sends the token as X-CSRFToken; a foreign one is refused."""
    client = sw.log_in(app, "department")
    path = fill(ROUTES["responses.autosave"].path, world, "own")
    with sw.no_writes(world.database):
        response = client.post(path, headers={"X-CSRFToken": session_token(app.test_client())})
    assert response.status_code == 400


def test_json_api_refuses_a_post_with_a_json_405(app, world):
    """GET-only is checked in tests/test_api.py; the refusal is JSON like every API
    error (DESIGN.md §6)."""
    client = sw.log_in(app, "admin")
    with sw.no_writes(world.database):
        response = client.post(f"/api/v1/rounds/{world.rounds['open']}/scores")
    assert response.status_code == 405
    assert "error" in response.get_json()
