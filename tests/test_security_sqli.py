"""SQL injection and hostile input: every parameter, every route, no 500, no harm.

Each payload goes into every query parameter the web layer reads (collected from its
source, so a new parameter is covered without editing this file), into every path
parameter that takes text, and into every field of every POST route. Nothing builds
SQL from input (tests/test_architecture.py keeps SQL in `store/`; bandit checks it);
this checks the outcome: no 500, GETs write nothing (a download's audit entry aside),
POSTs destroy nothing and the schema stays as it was.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from surveyapp.services import previous_year
from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)
from tests.test_security_matrix import PUBLIC, ROUTES, fill

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = {
    "or-true": "' OR 1=1--",
    "stacked": "1; DROP TABLE users",
    "union": "\") UNION SELECT login, password_hash FROM users--",
    "like": "%' AND 1=1 --",
    "long": "A" * 3000,
    "nul": "a\x00b",
    "unicode": "𠮷野家\u202e\ufeff😀\u0301",
    "huge-number": "99999999999999999999999",
}
# Path parameters that take any text (ints are refused by their converter).
TEXT_PATHS = [
    "/results/departments/{p}/", "/api/v1/departments/{p}/history",
    "/questionnaires/{p}/{p}", "/questionnaires/{p}/{p}/source", "/s/{p}", "/s/{p}/thanks",
    "/scorecards/charts/{p}", "/staff/{round}/{p}", "/rounds/{round}/self-check/{p}",
    "/exports/rounds/{round}/departments/{p}/answers.csv",
    "/scorecards/rounds/{round}/departments/{p}/", "/scorecards/rounds/{round}/departments/{p}/pdf",
]
# Reads no parameter and takes a second to build: the other downloads stand for it.
SKIPPED_GETS = {"exports.all_answers"}
# A download (an export, a workpaper, an evidence attachment) writes its audit entry: the
# one write a GET may make.
DOWNLOAD_ACTIONS = {"exports.download", "verification.export", "attachments.download"}


def parameter_names() -> list[str]:
    """Every name the web layer reads from a query string or a form: `.get("x")`,
    `.getlist("x")`, `round_id_arg("x")`, `_parse_day("x")` and WTForms fields."""
    names: set[str] = set()
    for path in (ROOT / "surveyapp" / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r"(?:get|getlist|round_id_arg|_parse_day)\(\"([a-z_]+)\"",
                                text))
        names.update(re.findall(r"^\s+(\w+)(?:, \w+)? = \w*(?:Field|fields)\(", text, re.M))
    return sorted(names)


PARAMETERS = parameter_names()


def test_the_parameter_list_covers_sort_filter_and_form_fields():
    assert {"sort", "dir", "bureau", "round", "department", "question", "from", "to",
            "page", "next", "login", "password", "reason", "owner", "notes",
            "new_password", "code"} <= set(PARAMETERS)


world, app, clients = sw.module_fixtures("sqli")


def with_parameters(path: str, payload: str) -> str:
    """`path` with every known parameter set to `payload` (its own query kept first)."""
    extra = urlencode({name: payload for name in PARAMETERS})
    return f"{path}{'&' if urlsplit(path).query else '?'}{extra}"


def get_paths(world: sw.World) -> list[tuple[str, str]]:
    """(role, path) of every GET route: public ones anonymously, the others as an admin
    and, where allowed, as a department user (whose filters are narrowed)."""
    pairs = []
    for endpoint, method in sorted(sw.url_rules()):
        route = ROUTES[endpoint]
        if method != "GET" or endpoint in SKIPPED_GETS:
            continue
        roles = ["anonymous"] if route.who == PUBLIC else \
            [role for role in ("admin", "department") if role in route.who]
        pairs += [(role, fill(route.path, world, "own")) for role in roles]
    return pairs


def audit_actions_since(world: sw.World, last_id: int) -> set[str]:
    with world.connect() as db:
        return {row["action"] for row in db.query(
            "SELECT action FROM audit_log WHERE id > ?", [last_id])}


def last_audit_id(world: sw.World) -> int:
    with world.connect() as db:
        return next(db.query("SELECT COALESCE(MAX(id), 0) AS n FROM audit_log"))["n"]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_in_every_query_parameter_changes_nothing(payload, world, clients):
    before, audit_id = sw.fingerprint(world.database, skip=("audit_log",)), last_audit_id(world)
    for role, path in get_paths(world):
        response = clients[role].get(with_parameters(path, payload), buffered=True)
        assert response.status_code < 500, (role, path, response.status_code)
    after = sw.fingerprint(world.database, skip=("audit_log",))
    assert sw.changed_tables(before, after) == []
    assert audit_actions_since(world, audit_id) <= DOWNLOAD_ACTIONS


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_in_every_text_path_parameter_is_not_found(payload, world, clients):
    for template in TEXT_PATHS:
        path = template.format(p=quote(payload, safe=""), round=world.rounds["open"])
        for role in ("admin", "department"):
            with sw.no_writes(world.database):
                response = clients[role].get(path, buffered=True)
            assert response.status_code == 404, (role, template, response.status_code)


# --- POST fields ------------------------------------------------------------------------


def question_fields(world: sw.World) -> list[str]:
    """The dynamic field names of the forms: q_/e_ per question, item and threshold
    fields, so the payload reaches the code that reads them too."""
    with world.connect() as db:
        ids = sorted({row["question_id"] for row in db.query(
            "SELECT DISTINCT question_id FROM answers")})
        items = [row["id"] for row in db.query("SELECT id FROM improvement_items")]
    return ([f"q_{qid}" for qid in ids] + [f"e_{qid}" for qid in ids]
            + [f"threshold_{index}" for index in range(12)]
            + [previous_year.status_field(item) for item in items]
            + [previous_year.note_field(item) for item in items])


def role_for(route) -> str:
    return "anonymous" if route.who == PUBLIC else route.who[-1]


def protected_state(database: Path) -> dict:
    """What an injection would destroy: the schema, the accounts' secrets and roles,
    and the number of rows in every table (nothing may be deleted)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            "schema": sorted(connection.execute("SELECT type, name, sql FROM sqlite_master")),
            "users": sorted(connection.execute(
                "SELECT id, login, role, password_hash, department_code FROM users")),
            "rows": {t: connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                     for t in tables},
        }
    finally:
        connection.close()


def assert_nothing_destroyed(before: dict, after: dict) -> None:
    assert after["schema"] == before["schema"]
    assert after["users"][:len(before["users"])] == before["users"]
    shrunk = {t: (n, after["rows"].get(t)) for t, n in before["rows"].items()
              if after["rows"].get(t, 0) < n}
    assert shrunk == {}


POST_ROUTES = sorted(endpoint for endpoint, method in sw.url_rules() if method == "POST")


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_payload_in_every_field_of_a_post_route_gives_no_500_and_destroys_nothing(
        endpoint, world, tmp_path):
    copy = world.copy(tmp_path)
    route = ROUTES[endpoint]
    client = sw.log_in(copy.app(), role_for(route))
    fields = PARAMETERS + question_fields(copy)
    before = protected_state(copy.database)
    for name, payload in PAYLOADS.items():
        data = {field: payload for field in fields}
        response = client.post(fill(route.path, copy, "own"), data=data, buffered=True)
        assert response.status_code < 500, (endpoint, name, response.status_code)
    assert_nothing_destroyed(before, protected_state(copy.database))
