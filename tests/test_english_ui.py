"""With English chosen, no Japanese UI text is left: every page of every role, and the
error paths (bad Excel, questionnaire and CSV uploads, invalid forms, conflicts, API
errors). Japanese that is data stays: 所属 and user names, answers and notes (evidence
locations and attachment names too), texts of the questionnaire that have no `en`, audit
item names (指摘6, 意見17), logged details, and the language switch's own 日本語.
Everything else Japanese, letters or full-width punctuation, fails the test with the
page and the text around it.

The world is the security tests' demo (tests/security_world.py), copied for this module.
"""

from __future__ import annotations

import html
import io
import json
import re
import sqlite3

import pytest
from openpyxl import load_workbook

from tests import security_world as sw
from tests.security_world import discard_copies  # noqa: F401  (autouse)
from tests.test_i18n_catalog import (
    AUDIT_ITEM,
    JAPANESE,
    JAPANESE_PUNCTUATION,
    UNTRANSLATED_TEMPLATE_TEXT,
)
from tests.test_security_matrix import ROUTES, fill

ROLES = ("anonymous", "admin", "auditor", "department")
SKIPPED = {"main.set_language", "auth.logout"}  # they change the session being walked
LANGUAGE_SWITCH = "日本語"
# The CSV example of the import page shows what a real file holds: Japanese names.
CSV_EXAMPLE = (*UNTRANSLATED_TEMPLATE_TEXT["departments/import.html"],
               *UNTRANSLATED_TEMPLATE_TEXT["systems/import.html"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sw.world_copy(tmp_path_factory, "english")


@pytest.fixture(scope="module")
def app(world):
    return world.app()


def english_client(app, role: str):
    client = sw.log_in(app, role)
    client.post("/lang", data={"lang": "en"})
    return client


@pytest.fixture(scope="module")
def clients(app):
    return {role: english_client(app, role) for role in ROLES}


# --- what counts as data ----------------------------------------------------------------

DATA_QUERIES = (
    "SELECT name FROM departments", "SELECT display_name FROM users",
    "SELECT owner FROM improvement_items", "SELECT notes FROM improvement_items",
    "SELECT note FROM improvement_reports", "SELECT value FROM answers",
    "SELECT evidence FROM answers", "SELECT old_value FROM answer_history",
    "SELECT old_evidence FROM answer_history", "SELECT name FROM systems",
    "SELECT vendor FROM systems", "SELECT cloud_service FROM systems",
    "SELECT note FROM system_proposals", "SELECT decision_note FROM system_proposals",
    "SELECT evidence_location FROM answers",
    "SELECT old_evidence_location FROM answer_history",
    "SELECT filename FROM answer_attachments",
    "SELECT note FROM verification_verdicts", "SELECT proof_location FROM verification_verdicts",
    "SELECT note FROM verification_samples", "SELECT removed_note FROM verification_samples",
)


def data_pattern(world: sw.World) -> re.Pattern:
    """One alternation of every Japanese text the database holds, longest first."""
    connection = sqlite3.connect(f"file:{world.database}?mode=ro", uri=True)
    try:
        texts = set()
        for query in DATA_QUERIES:
            texts |= {row[0] for row in connection.execute(query) if isinstance(row[0], str)}
        for (document,) in connection.execute(
                "SELECT canonical_json FROM questionnaire_versions"):
            texts |= japanese_only_texts(json.loads(document))
        for (detail,) in connection.execute("SELECT detail FROM audit_log UNION ALL "
                                            "SELECT proposed FROM system_proposals"):
            texts |= strings_in(json.loads(detail))
    finally:
        connection.close()
    japanese = sorted((t for t in texts if is_japanese(t)), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, [*japanese, LANGUAGE_SWITCH, *CSV_EXAMPLE])))


def japanese_only_texts(document) -> set[str]:
    """Texts of a definition shown with Japanese in English: those with Japanese only
    ({ja: ...} without en), and English ones that quote a Japanese term (the 2026.1
    questionnaire writes "gate-review checklist (関門検査点検シート)")."""
    found = set()
    if isinstance(document, dict):
        if isinstance(document.get("ja"), str) and not document.get("en"):
            found.add(document["ja"])
        if isinstance(document.get("en"), str) and is_japanese(document["en"]):
            found.add(document["en"])
        for value in document.values():
            found |= japanese_only_texts(value)
    elif isinstance(document, list):
        for value in document:
            found |= japanese_only_texts(value)
    return found


def strings_in(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {text for item in value.values() for text in strings_in(item)}
    if isinstance(value, list):
        return {text for item in value for text in strings_in(item)}
    return set()


def is_japanese(text: str) -> bool:
    return bool(JAPANESE.search(text) or JAPANESE_PUNCTUATION.search(text))


def japanese_ui_text(response, data: re.Pattern) -> list[str]:
    """Snippets of Japanese left on the page once the data is taken out."""
    content_type = response.headers.get("Content-Type", "")
    if "html" not in content_type and "json" not in content_type:
        return []
    text = response.get_data(as_text=True)
    if "json" in content_type:
        text = json.dumps(response.get_json(), ensure_ascii=False)
    text = AUDIT_ITEM.sub("", data.sub("", html.unescape(text)))
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
            for m in re.finditer(f"{JAPANESE.pattern}|{JAPANESE_PUNCTUATION.pattern}", text)]


def leftovers(world: sw.World, responses: dict) -> dict[str, list[str]]:
    data = data_pattern(world)
    found = {name: japanese_ui_text(response, data) for name, response in responses.items()}
    return {name: snippets[:3] for name, snippets in found.items() if snippets}


def upload(client, path: str, field: str, content: bytes, filename: str):
    return client.post(path, data={field: (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


# --- every page ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_in_english_has_no_japanese_ui_text(world, clients, role):
    responses = {}
    for endpoint, route in ROUTES.items():
        if endpoint not in SKIPPED:
            path = fill(route.path, world, "own")
            responses[path] = clients[role].get(path, buffered=True)
    assert leftovers(world, responses) == {}


# --- error paths -------------------------------------------------------------------------

FORM = "/rounds/{round}/self-check/{code}"
ROUNDTRIP = "/exports/rounds/{round}/self-check/{code}"


def test_excel_upload_refusals_in_english_have_no_japanese_ui_text(world, clients):
    client, base = clients["department"], fill(ROUNDTRIP, world, "own") + "/upload"
    responses = {
        "not xlsx": upload(client, base, "file", b"hello", "answers.txt"),
        "not a workbook": upload(client, base, "file", b"PK not a zip", "answers.xlsx"),
        "no file": client.post(base, data={}, content_type="multipart/form-data"),
    }
    assert all(r.status_code == 400 for r in responses.values())
    assert leftovers(world, responses) == {}


def bad_cells_workbook(client, world: sw.World) -> bytes:
    """The downloaded form with a formula, a wrong choice, TRUE, an unknown question
    row and evidence where none is taken."""
    download = client.get(fill(ROUNDTRIP, world, "own") + "/form.xlsx")
    workbook = load_workbook(io.BytesIO(download.data))
    sheet = workbook.worksheets[0]
    for row, value in zip(sheet.iter_rows(min_row=2, max_row=4), ("=1+1", "nonsense", True),
                          strict=True):
        row[4].value = value
    sheet.cell(5, 6).value = "a note"
    sheet.append(["", "NOPE-1", "", "", "a", ""])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_excel_cell_problems_in_english_have_no_japanese_ui_text(world, clients):
    client = clients["department"]
    response = upload(client, fill(ROUNDTRIP, world, "own") + "/upload", "file",
                      bad_cells_workbook(client, world), "answers.xlsx")
    assert "Formulas cannot be used" in response.text
    assert leftovers(world, {"cell problems": response}) == {}


def test_excel_download_in_english_has_english_headers_and_hints(world, clients):
    download = clients["department"].get(fill(ROUNDTRIP, world, "own") + "/form.xlsx")
    rows = list(load_workbook(io.BytesIO(download.data)).worksheets[0].values)
    assert rows[0][:4] == ("Section", "Question ID", "Question", "How to answer")
    hints = [row[3] for row in rows[1:] if row[3]]
    assert hints and [hint for hint in hints if is_japanese(hint)] == []


DEFINITIONS = {
    "syntax": b"a: [\n",
    "anchor": b"a: &x 1\nb: *x\n",
    "schema": b"schema_version: 1\nquestionnaire: {id: 1, version: 2021.1}\nfoo: 1\n",
    "empty": b"",
}


def test_questionnaire_upload_problems_in_english_have_no_japanese_ui_text(world, clients):
    source = (sw.QUESTIONNAIRES / "infosec-selfcheck" / "2021.1.yaml").read_bytes()
    definitions = {
        **DEFINITIONS,
        "semantics": source.replace(b'version: "2021.1"', b'version: "2021.9"')
                           .replace(b"min: 0", b"min: 5"),
        "compatibility": source.replace(b'version: "2021.1"', b'version: "2021.2"')
                               .replace(b"type: single_choice", b"type: text", 1),
        "changed version": source.replace(b"weight: 1", b"weight: 2", 1),
    }
    responses = {name: upload(clients["admin"], "/questionnaires/publish", "definition",
                              content, "definition.yaml")
                 for name, content in definitions.items()}
    assert all(r.status_code in (409, 422) for r in responses.values())
    assert leftovers(world, responses) == {}


def test_department_import_problems_in_english_have_no_japanese_ui_text(world, clients):
    rows = ("code,name,parent_code,headcount,valid_from,valid_to,successor_code\n"
            "X1,,01,-5,abc,,\nX2,Unit,ZZ,10,,,\nX3,Dup,01,3,,,\nX3,Dup,01,3,,,\n")
    client = clients["admin"]
    responses = {
        "bad rows": upload(client, "/departments/import", "csv_file", rows.encode(), "d.csv"),
        "bad header": upload(client, "/departments/import", "csv_file", b"a,b\n1,2\n", "d.csv"),
        "not text": upload(client, "/departments/import", "csv_file", b"\xff\xfe\x00\x81",
                           "d.csv"),
        "no pending": client.post("/departments/import/confirm", follow_redirects=True),
    }
    assert leftovers(world, responses) == {}


def test_invalid_self_check_saves_and_conflicts_in_english_have_no_japanese_ui_text(
        world, clients):
    client, form = clients["department"], fill(FORM, world, "own")
    version = sw.hidden_value(client.get(form).text, "version")
    responses = {
        "invalid value": client.post(form, data={"version": version, "q_POL-01": "zzz",
                                                 "action": "save"}),
        "conflict": client.post(form, data={"version": "0", "action": "save"}),
        "incomplete": client.post(form, data={"version": version, "action": "submit"}),
        "confirm incomplete": client.post(form + "/confirm", data={"version": version}),
        "autosave conflict": client.post(form + "/autosave", data={"version": "0"}),
        "autosave invalid": client.post(form + "/autosave",
                                        data={"version": version, "q_POL-01": "zzz"}),
    }
    assert leftovers(world, responses) == {}


def test_invalid_staff_answers_and_codes_in_english_have_no_japanese_ui_text(world, clients):
    client = clients["anonymous"]
    responses = {
        "empty answers": client.post(f"/s/{world.links['own']}", data={}),
        "unknown code": client.post("/s/code", data={"code": "nope"}),
        "no code": client.post("/s/code", data={"code": ""}),
        "unknown link": client.get("/s/no-such-token-0123456789"),
    }
    assert leftovers(world, responses) == {}


def test_invalid_admin_forms_in_english_have_no_japanese_ui_text(world, clients):
    client = clients["admin"]
    round_id, item = world.rounds["open"], world.items["own"]
    responses = {
        "round": client.post("/rounds/new", data={"fiscal_year": "abc", "version_id": "1",
                                                  "opens_on": "2021-99-01", "closes_on": "x"}),
        "round dates": client.post("/rounds/new", data={
            "fiscal_year": "2021", "version_id": "1", "opens_on": "2021-12-01",
            "closes_on": "2021-11-01"}),
        "plan": client.post("/followups/items/new", data={
            "round": round_id, "department": "", "finding": "", "due_on": "xx"}),
        "thresholds": client.post("/followups/thresholds",
                                  data={"threshold_0": "abc", "threshold_1": "500"}),
        "plan conflict": client.post(f"/followups/items/{item}/edit",
                                     data={"version": "0", "status": "done"}),
        "user": client.post("/admin/users/new", data={
            "login": "a b", "role": "department", "new_password": "short",
            "new_password_again": "other", "department_code": "01"}),
        "own account": client.post(f"/admin/users/{world.users['admin']}/deactivate",
                                   follow_redirects=True),
        "reopen": client.post(f"/responses/{world.responses['other']}/reopen",
                              data={"reason": ""}, follow_redirects=True),
    }
    assert leftovers(world, responses) == {}


def test_login_and_password_errors_in_english_have_no_japanese_ui_text(world, clients, app):
    responses = {
        "login": english_client(app, "anonymous").post(
            "/login", data={"login": "nobody", "password": "wrong"}),
        "password": clients["department"].post("/account/password", data={
            "current_password": "wrong", "new_password": "a", "new_password_again": "b"}),
    }
    assert leftovers(world, responses) == {}


def test_api_errors_in_english_have_no_japanese_text(world, clients):
    client = clients["admin"]
    probe, open_round = world.rounds["probe"], world.rounds["open"]
    responses = {path: client.get(path) for path in (
        f"/api/v1/compare?from={probe}&to={open_round}", "/api/v1/compare?from=x",
        "/api/v1/rounds/99999/scores", "/api/v1/departments/NOPE/history")}
    responses["anonymous"] = clients["anonymous"].get("/api/v1/rounds")
    assert all(r.status_code >= 400 for r in responses.values())
    assert leftovers(world, responses) == {}


def test_comparing_rounds_of_different_questionnaires_in_english_is_explained(world,
                                                                             clients):
    probe, open_round = world.rounds["probe"], world.rounds["open"]
    response = clients["admin"].get(f"/results/compare?from={probe}&to={open_round}")
    assert response.status_code == 400
    assert leftovers(world, {"compare": response}) == {}


def test_successful_actions_in_english_have_no_japanese_ui_text(world, clients):
    admin, unit = clients["admin"], clients["department"]
    probe, open_round, code = world.rounds["probe"], world.rounds["open"], sw.OWN
    source = (sw.QUESTIONNAIRES / "infosec-selfcheck" / "2021.1.yaml").read_bytes()
    responses = {
        "link issued": unit.post(f"/staff/{open_round}/{code}/link", follow_redirects=True),
        "code slips": admin.post(f"/staff/{probe}/{code}/codes", data={"count": "2"},
                                 follow_redirects=True),
        "unchanged definition": upload(admin, "/questionnaires/publish", "definition",
                                       source, "2021.1.yaml"),
        "round created": admin.post("/rounds/new", data={
            "fiscal_year": "2023", "version_id": "1", "opens_on": "", "closes_on": ""},
            follow_redirects=True),
        "user created": admin.post("/admin/users/new", data={
            "login": "english-user", "role": "auditor", "new_password": "long-enough-pass-1",
            "new_password_again": "long-enough-pass-1"}, follow_redirects=True),
        "plan created": unit.post(f"/followups/rounds/{open_round}/plans", data={
            "department": code, "finding": "指摘22"}, follow_redirects=True),
    }
    assert all(r.status_code == 200 for r in responses.values())
    assert leftovers(world, responses) == {}


def chart_texts(value) -> list[str]:
    """Every text of a chart spec's data (labels, titles, legends)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in chart_texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in chart_texts(item)]
    return []


def test_charts_of_english_pages_have_english_labels(world, app):
    from surveyapp.readmodels import prefecture_overview, scorecards
    from surveyapp.web.i18n import refusal_text

    data, round_id = data_pattern(world), world.rounds["open"]
    with app.test_request_context(headers={"Cookie": "lang=en"}), world.connect() as db:
        card = scorecards.build_scorecard(db, round_id, sw.OWN, sw.ANONYMITY_MIN)
        overview = prefecture_overview.overview(db, round_id, sw.ANONYMITY_MIN, "en",
                                                refusal_text)
        specs = (scorecards.radar_spec(card, "en", refusal_text), overview.heatmap,
                 overview.bands, overview.trend)
        texts = [text for spec in specs for text in chart_texts(spec.data)]
    assert "Prefecture mean" in texts
    assert [text for text in texts if is_japanese(AUDIT_ITEM.sub("", data.sub("", text)))] == []


# --- Japanese stays Japanese ----------------------------------------------------------------


def test_japanese_pages_keep_full_width_parentheses_around_codes(world, app):
    client = sw.log_in(app, "admin")
    page = client.get("/followups/items").text
    assert f"（{sw.OWN}）" in page
    client.post("/lang", data={"lang": "en"})
    assert f" ({sw.OWN})" in client.get("/followups/items").text
