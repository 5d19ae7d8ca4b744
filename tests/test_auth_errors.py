"""Error pages: Japanese HTML for people, JSON under /api/, never a bare traceback."""

import pytest
from flask import abort


@pytest.fixture
def app(app):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/test-broken", "test_broken", broken)
    app.add_url_rule("/api/test-broken", "api_test_broken", broken)
    app.add_url_rule("/test-forbidden", "test_forbidden", lambda: abort(403))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_unexpected_error_gets_the_japanese_500_page(client):
    response = client.get("/test-broken")
    assert response.status_code == 500
    assert "サーバーで問題が発生しました" in response.text
    assert "boom" not in response.text


def test_unexpected_api_error_gets_json(client):
    response = client.get("/api/test-broken")
    assert response.status_code == 500
    assert response.json == {"error": "サーバーで問題が発生しました。"}


def test_forbidden_gets_the_japanese_403_page(client):
    response = client.get("/test-forbidden")
    assert response.status_code == 403
    assert "許可されていません" in response.text
