"""Security headers on every response, and templates that a strict CSP can serve.

Every GET route of the security matrix (pages, downloads, charts, the PDF, JSON,
static files), redirects and error pages carry a CSP without 'unsafe-inline' that
forbids framing, nosniff and a Referrer-Policy; HSTS is sent only over TLS (directly
here; behind a trusted proxy in tests/test_reliability_proxy.py). No template holds
inline script or style, and nothing is marked safe from escaping.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import security_world as sw
from tests.test_security_matrix import PUBLIC, ROUTES, fill

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
GET_ROUTES = sorted(endpoint for endpoint, method in sw.url_rules() if method == "GET")


world, app, clients = sw.module_fixtures("headers")


def csp_directives(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_strict_headers(response, what: str) -> None:
    directives = csp_directives(response)
    assert directives, f"{what}: no Content-Security-Policy"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], what
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"], what
    assert directives.get("frame-ancestors") == "'none'", what
    assert directives.get("default-src") == "'self'", what
    assert directives.get("script-src") == "'self'", what
    assert directives.get("object-src") == "'none'", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), what


@pytest.mark.parametrize("endpoint", GET_ROUTES)
def test_every_get_route_sends_the_security_headers(endpoint, world, clients):
    route = ROUTES[endpoint]
    role = "anonymous" if route.who == PUBLIC else "admin" if "admin" in route.who \
        else "department"
    response = clients[role].get(fill(route.path, world, "own"), buffered=True)
    assert response.status_code < 400, (endpoint, response.status_code)
    assert_strict_headers(response, endpoint)


@pytest.mark.parametrize("endpoint", GET_ROUTES)
@pytest.mark.parametrize("role", ["admin", "department"])
def test_every_page_and_download_of_a_logged_in_user_is_not_stored(endpoint, role, world,
                                                                   clients):
    """A shared PC's browser keeps nothing: pages, downloads, charts, the PDF and JSON
    are sent `no-store`, whatever their status; static files may be cached."""
    response = clients[role].get(fill(ROUTES[endpoint].path, world, "own"), buffered=True)
    if endpoint == "static":
        assert "no-store" not in response.headers.get("Cache-Control", "")
    else:
        assert response.headers.get("Cache-Control") == "no-store", (endpoint,
                                                                      response.status_code)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/no-such-page", 404),
    ("GET", "/api/v1/no-such-endpoint", 404),
    ("GET", "/results/", 302),  # anonymous: redirect to the login page
    ("GET", "/api/v1/rounds", 401),
    ("POST", "/api/v1/rounds", 405),
])
def test_error_pages_and_redirects_send_the_security_headers(clients, method, path, status):
    response = clients["anonymous"].open(path, method=method)
    assert response.status_code == status
    assert_strict_headers(response, path)


def test_csrf_refusal_sends_the_security_headers(world):
    client = world.app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"login": "admin", "password": "x"})
    assert response.status_code == 400
    assert_strict_headers(response, "CSRF 400")


def test_oversized_request_sends_the_security_headers(world):
    client = world.app(MAX_CONTENT_LENGTH=1024).test_client()
    response = client.post("/login", data={"login": "x" * 4096, "password": "x"})
    assert response.status_code == 413
    assert_strict_headers(response, "413")


def test_hsts_is_sent_over_tls(clients):
    response = clients["anonymous"].get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    max_age = int(re.search(r"max-age=(\d+)", response.headers["Strict-Transport-Security"])
                  .group(1))
    assert max_age >= 180 * 24 * 3600


def test_hsts_is_not_sent_over_plain_http(clients):
    """Over http the header would be ignored, and it would pin a test host to TLS."""
    assert "Strict-Transport-Security" not in clients["anonymous"].get("/login").headers


# --- templates: what a strict CSP can serve ----------------------------------------------


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_to_scan():
    assert len(template_files()) > 40


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_script(path):
    for tag in re.findall(r"<script\b[^>]*>", path.read_text(encoding="utf-8"), re.I):
        assert re.search(r"\bsrc=", tag), f"{path}: inline {tag}"


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_style_or_event_handler(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<style\b", text, re.I), path
    assert not re.search(r"\sstyle\s*=", text, re.I), path
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), path
    assert not re.search(r"javascript:", text, re.I), path


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_marks_nothing_safe_from_escaping(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\|\s*safe\b", text), path
    assert "autoescape false" not in text, path


def test_python_code_builds_no_markup():
    """Markup() would let text past the autoescaping; none is needed anywhere."""
    for path in sorted((ROOT / "surveyapp").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bMarkup\s*\(|markupsafe", text), path
        assert "autoescape=False" not in text.replace(" ", ""), path


def test_scripts_never_write_html():
    """The scripts put server text on the page with textContent only: no HTML sink
    that a stored answer could reach."""
    scripts = sorted((ROOT / "static").glob("*.js"))
    assert scripts
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|"
                           r"\beval\s*\(|new Function", text)
        assert found == [], path
