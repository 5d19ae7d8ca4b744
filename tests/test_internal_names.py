"""Pages name things as people call them: no setting names, formula symbols or file
names of questionnaires in the text of a page (issue 18: `FOLLOWUP_THRESHOLD`, `r %`
and `infosec-selfcheck 2021.1` were shown). The questionnaire pages themselves and the
API keep the ids: there they are what an administrator addresses on the command line."""

from __future__ import annotations

import html
import re

import pytest

from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)
from tests.test_security_matrix import ROUTES, fill

ROLES = ("admin", "auditor", "department")
SKIPPED = {"main.set_language", "auth.logout"}
# Where an id is the point: the definitions, the JSON API, the files and the audit log
# (which records what was done, with the ids it was done to).
ID_AREAS = ("questionnaires.", "api.", "exports.", "static", "audit.")
INTERNAL = re.compile(r"FOLLOWUP_THRESHOLD|ANONYMITY_MIN_RESPONSES|infosec-selfcheck|"
                      r"\br\s*[(（]?%|（r[ ）]|平均 r\b|lowest r\b|average r\b")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sw.world_copy(tmp_path_factory, "names")


def page_text(response) -> str:
    """The visible text of an HTML page (tags, attributes and scripts left out)."""
    if "html" not in response.headers.get("Content-Type", ""):
        return ""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_an_internal_name(world, role, lang):
    client = sw.log_in(world.app(), role)
    client.post("/lang", data={"lang": lang})
    found = {}
    for endpoint, route in ROUTES.items():
        if endpoint in SKIPPED or endpoint.startswith(ID_AREAS):
            continue
        path = fill(route.path, world, "own")
        hits = INTERNAL.findall(page_text(client.get(path)))
        if hits:
            found[path] = sorted(set(hits))
    assert found == {}


def test_the_check_finds_a_leaked_name():
    from flask import Response

    page = Response("<p>既定値 FOLLOWUP_THRESHOLD と r（%）</p>", mimetype="text/html")
    assert INTERNAL.findall(page_text(page)) == ["FOLLOWUP_THRESHOLD", "r（%"]
