"""Stored XSS: the payload typed everywhere a person can type is shown as text.

The security world holds `sw.PAYLOAD` in a 所属 name (CSV import), a display name,
free-text answers and evidence notes, improvement items and a progress note, reopen
reasons, and every text of a definition file (probe round). Every page of the security
matrix, for every role and both 所属, plus the pages of the probe round, must show it
escaped; every export keeps it as text (formula-neutralised); charts and PDFs that draw
it are produced.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from surveyapp.exports import DANGEROUS_STARTS
from surveyapp.services import responses as response_service
from surveyapp.store import responses as response_store
from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)
from tests.test_security_matrix import PUBLIC, ROUTES, fill

# Downloads, images and JSON: checked below as what they are, not as pages.
NOT_PAGES = {"static", "questionnaires.source", "exports.all_answers", "exports.round_file",
             "exports.department_file", "exports.form_file", "scorecards.card_pdf",
             "scorecards.chart", "api.rounds", "api.round_scores", "api.round_systems",
             "api.compare_rounds", "api.department_history", "attachments.download",
             "attachments.download_by_file", "approvals.sheet", "reminders.late_csv",
             "api.round_verification", "verification.workpaper_file"}
PAGES = sorted(endpoint for endpoint, method in sw.url_rules()
               if method == "GET" and endpoint not in NOT_PAGES)
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = sw.world_copy(tmp_path_factory, "xss")
    plant_own_draft(world)
    return world


def plant_own_draft(world: sw.World) -> None:
    """The own 所属's open draft holds the payload, so its edit form shows it too."""
    with world.connect() as db:
        round_row = response_store.get_round(db, world.rounds["open"])
        questionnaire = response_service.definition_for(db, round_row)
        response = response_service.get_response(db, world.responses["own"])
        evidence = {q.id: sw.PAYLOAD for q in questionnaire.questions_for("department")
                    if q.evidence != "none"}
        response_service.save_draft(db, response["id"], response["version"],
                                    sw.text_answers(questionnaire), evidence,
                                    world.users["dept"], questionnaire)


@pytest.fixture(scope="module")
def app(world):
    return world.app()


@pytest.fixture(scope="module")
def clients(app):
    return {role: sw.log_in(app, role) for role in ("anonymous", "admin", "auditor",
                                                    "department")}


def probe_pages(world: sw.World) -> list[tuple[str, str]]:
    """(role, path) of the pages that show the probe round and the other 所属."""
    probe, other = world.rounds["probe"], sw.OTHER
    admin = [
        f"/results/rounds/{probe}/", f"/results/rounds/{probe}/questions",
        f"/results/rounds/{probe}/questions?department={sw.OTHER}",
        f"/results/departments/{other}/?round={probe}", "/questionnaires/hostile-probe/1",
        f"/responses/{world.probe_response}", f"/scorecards/rounds/{probe}/",
        f"/scorecards/rounds/{probe}/departments/{other}/",
        f"/scorecards/rounds/{probe}/overview", f"/followups/?round={probe}",
        f"/self-check?round={probe}", f"/rounds/{probe}/", f"/staff/{probe}",
        f"/staff/{probe}/{other}", "/admin/audit?action=response.reopen",
        f"/self-check/history?department={other}", f"/followups/items/{world.items['other']}",
        f"/followups/items/{world.items['other']}/edit",
        f"/followups/items/{world.items['previous']}", "/followups/items",
        f"/followups/items/new?round={probe}&department={other}&finding=指摘6",
        "/admin/users", f"/admin/users/{world.users[sw.HOSTILE_LOGIN]}", "/departments/",
        f"/responses/{world.responses['other']}",
        f"/results/compare?from={world.rounds['closed']}&to={world.rounds['open']}",
        "/systems/", f"/systems/{world.systems['other']}", "/systems/proposals",
        f"/systems/proposals/{world.proposals['other']}",
        f"/systems/{world.systems['other']}/edit"]
    anonymous = [f"/s/{world.probe_link}", f"/s/{world.probe_link}/thanks", "/help"]
    department = [f"/rounds/{world.rounds['open']}/self-check/{sw.OWN}", "/self-check/history",
                  "/systems/", f"/systems/{world.systems['own']}",
                  f"/systems/{world.systems['own']}/propose",
                  f"/systems/proposals/{world.proposals['own']}",
                  f"/rounds/{probe}/self-check/{sw.OWN}"]  # the definition's texts
    return ([("admin", path) for path in admin] + [("anonymous", p) for p in anonymous]
            + [("department", p) for p in department])


def assert_escaped(response, what: str) -> None:
    for marker in sw.RAW_MARKERS:
        assert marker not in response.text, f"{what}: unescaped payload"


def roles_for(route) -> list[str]:
    if route.who == PUBLIC:
        return ["anonymous", "admin"]
    return [role for role in ("admin", "auditor", "department") if role in route.who]


@pytest.mark.parametrize("endpoint", PAGES)
def test_every_page_shows_the_payload_escaped(endpoint, world, clients):
    route = ROUTES[endpoint]
    for role in roles_for(route):
        for scope in ("own", "other"):
            path = fill(route.path, world, scope)
            response = clients[role].get(path, buffered=True)
            assert response.status_code < 500, path
            assert response.status_code != 200 or response.mimetype == "text/html", path
            assert_escaped(response, f"{role} {path}")


def test_pages_that_show_typed_text_show_the_payload_escaped(world, clients):
    for role, path in probe_pages(world):
        response = clients[role].get(path, buffered=True)
        assert response.status_code == 200, (role, path, response.status_code)
        assert_escaped(response, f"{role} {path}")
        assert ESCAPED in response.text or "&lt;img src=x" in response.text, \
            f"{role} {path}: the payload is not on the page (the check would be vacuous)"


def test_an_attachment_named_with_the_payload_downloads_under_a_safe_header(world, clients):
    """The file name is a header value here, one quoted string (its quote escaped),
    never a page, and the file is never shown inline."""
    response = clients["admin"].get(f"/attachments/{world.attachments['other']}")
    disposition = response.headers["Content-Disposition"]
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert disposition == 'attachment; filename="\\"\'><img src=x onerror=alert(1)>.pdf"'
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_the_history_lists_the_payload_file_name_escaped(world, clients):
    response = clients["admin"].get(f"/self-check/history?department={sw.OTHER}")
    assert_escaped(response, "history")
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in response.text


def test_staff_form_shows_a_posted_payload_escaped_when_it_comes_back(world, clients):
    """A refused submission re-renders the typed text (here: the quiz left out)."""
    response = clients["anonymous"].post(f"/s/{world.probe_link}",
                                         data={"q_HST-02": sw.PAYLOAD})
    assert response.status_code == 400
    assert_escaped(response, "staff form")
    assert ESCAPED in response.text


def test_department_form_shows_a_posted_payload_escaped_when_it_comes_back(world, tmp_path):
    copy = world.copy(tmp_path)
    client = sw.log_in(copy.app(), "department")
    with copy.connect() as db:
        version = response_service.get_response(db, copy.responses["own"])["version"]
    path = f"/rounds/{copy.rounds['open']}/self-check/{sw.OWN}"
    response = client.post(path, data={"version": version, "q_POL-90": sw.PAYLOAD,
                                       "q_AUD-01": sw.PAYLOAD, "e_PWD-05": sw.PAYLOAD})
    assert response.status_code in (302, 422), response.status_code
    page = response if response.status_code == 422 else client.get(path)
    assert_escaped(page, "department form")


# --- charts and PDFs ---------------------------------------------------------------------


def chart_keys(html: str) -> set[str]:
    return set(re.findall(r"/scorecards/charts/([0-9a-f]{64})", html))


def test_charts_that_draw_the_payload_are_produced(world, clients):
    admin = clients["admin"]
    pages = [f"/scorecards/rounds/{world.rounds[key]}/departments/{sw.OTHER}/"
             for key in ("open", "probe")]
    pages += [f"/scorecards/rounds/{world.rounds[key]}/overview" for key in ("open", "probe")]
    keys = set().union(*(chart_keys(admin.get(page).text) for page in pages))
    assert len(keys) >= 4
    for key in keys:
        response = admin.get(f"/scorecards/charts/{key}", buffered=True)
        assert response.status_code == 200, key
        assert response.content_type.startswith(("image/png", "image/svg"))


@pytest.mark.parametrize("round_key", ["open", "probe"])
def test_pdf_of_the_payload_department_is_produced(world, clients, round_key):
    path = f"/scorecards/rounds/{world.rounds[round_key]}/departments/{sw.OTHER}/pdf"
    response = clients["admin"].get(path, buffered=True)
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_approval_sheet_of_the_payload_response_is_produced(world, clients):
    response = clients["admin"].get(f"/responses/{world.responses['other']}/approval.pdf",
                                    buffered=True)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


# --- exports ----------------------------------------------------------------------------


def test_late_csv_keeps_the_payload_as_neutralised_text(world, tmp_path):
    """The other 所属 (named with the payload, with the hostile user) reopened: listed."""
    copy = world.copy(tmp_path)
    with copy.connect() as db:
        response_service.reopen(db, copy.responses["other"], copy.users["admin"], "再確認")
    path = f"/rounds/{copy.rounds['open']}/late.csv?which=unsubmitted"
    cells = csv_cells(sw.log_in(copy.app(), "admin").get(path, buffered=True).data)
    assert any(sw.PAYLOAD in cell for cell in cells)
    for cell in cells:
        assert not cell.startswith(DANGEROUS_STARTS) or is_number(cell), cell


def export_paths(world: sw.World) -> list[str]:
    """Every kind of export that carries typed text; the writers are shared, so the
    whole-history file (slow to read back) adds nothing."""
    open_, probe = world.rounds["open"], world.rounds["probe"]
    return [f"/exports/rounds/{open_}/departments/{sw.OTHER}/answers.{{fmt}}",
            f"/exports/rounds/{open_}/scores.{{fmt}}",
            f"/exports/rounds/{probe}/answers.{{fmt}}",
            f"/exports/rounds/{probe}/scores.{{fmt}}",
            f"/exports/rounds/{probe}/departments/{sw.OTHER}/scores.{{fmt}}"]


def csv_cells(data: bytes) -> list[str]:
    assert data.startswith("\ufeff".encode())
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_exports_keep_the_payload_as_neutralised_text(world, clients):
    for template in export_paths(world):
        response = clients["admin"].get(template.format(fmt="csv"), buffered=True)
        assert response.status_code == 200, template
        cells = csv_cells(response.data)
        assert any(sw.PAYLOAD in cell for cell in cells), template
        for cell in cells:
            assert not cell.startswith(DANGEROUS_STARTS) or is_number(cell), (template, cell)
    answers = csv_cells(clients["admin"].get(export_paths(world)[0].format(fmt="csv")).data)
    assert "'" + sw.FORMULA in answers


def xlsx_cells(data: bytes) -> list:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows()
            for cell in row]


def test_xlsx_exports_keep_the_payload_as_neutralised_text(world, clients):
    for template in export_paths(world):
        response = clients["admin"].get(template.format(fmt="xlsx"), buffered=True)
        assert response.status_code == 200, template
        cells = xlsx_cells(response.data)
        assert any(isinstance(c.value, str) and sw.PAYLOAD in c.value for c in cells), template
        for cell in cells:
            assert cell.data_type != "f", (template, cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert not cell.value.startswith(DANGEROUS_STARTS), (template, cell.value)


def test_the_workpaper_keeps_the_payload_as_neutralised_text(world, clients):
    """The other 所属's verdict carries the payload as its note and a formula as the place
    the proof was seen: the workpaper holds both as text, never as a formula."""
    path = f"/verification/rounds/{world.rounds['verified']}/workpaper.xlsx"
    response = clients["auditor"].get(path, buffered=True)
    assert response.status_code == 200
    cells = xlsx_cells(response.data)
    assert any(isinstance(c.value, str) and sw.PAYLOAD in c.value for c in cells)
    assert "'" + sw.FORMULA in [c.value for c in cells]
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert not cell.value.startswith(DANGEROUS_STARTS), cell.value


def test_the_verification_api_returns_the_payload_as_json_text(world, clients):
    found = clients["admin"].get(f"/api/v1/rounds/{world.rounds['verified']}/verification")
    assert found.mimetype == "application/json"
    assert any(d["name"] == sw.PAYLOAD for d in found.get_json()["departments"])
