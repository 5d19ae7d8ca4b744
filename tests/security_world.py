"""The world the security tests walk: the demo, plus a hostile layer.

Built once per test session (the demo takes seconds), then copied per module with
`world_copy(tmp_path_factory)` (or `module_fixtures`); a test that writes copies it
again (`World.copy`).

What the hostile layer adds on top of `demo.loader`:
- `PAYLOAD` typed into every place a person can type: the other 所属's name (through
  the CSV import), a user's display name, free-text answers and evidence notes of the
  other 所属, improvement items (owner, notes, progress note), a reopen reason, and
  every text of a published definition file (title, sections, questions, help, choice
  and band labels, quiz explanation) with a round that uses it ("probe").
- staff links of the own and the other 所属 in the open round, one-time codes of both in
  the probe round, a link of `PROBE_UNIT` in the probe round.
- chart keys of both 所属's radar charts and of the prefecture heatmap.
- a system of the own and of the other 所属 with the payload as name, vendor and cloud
  service (through the systems CSV), each with a pending proposal of its 所属.
- the audit verification of FY2020 ("verified", a closed round): the demo finalised the
  own 所属's; the other 所属 is added to that sample (the payload as the reason) with a
  verdict whose note and proof location are the payload, not finalised.

The open round is the demo's FY2026 round (a block per system on its form), the closed
one FY2021.

"own" is the demo department user's 所属 (0302), "other" is any other (0101).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from surveyapp import charts, create_app, migrations, store
from surveyapp.demo import cast
from surveyapp.demo import loader as demo
from surveyapp.evidence import AnswerEvidence
from surveyapp.formats.attachments import check_attachment
from surveyapp.readmodels import prefecture_overview, scorecards
from surveyapp.services import (
    accounts,
    attachments,
    followups,
    previous_year,
    staff,
    systems,
    verification,
)
from surveyapp.services import departments as department_service
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.services import responses as response_service
from surveyapp.services import rounds as round_service
from surveyapp.store import attachments as attachment_store
from surveyapp.store import responses as response_store
from surveyapp.store import verification as verification_store
from tests.conftest import QUESTIONNAIRES
from tests.serving import fast_hasher, hidden_value

PAYLOAD = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"
# What must never appear in a page: the payload's tags, unescaped.
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror")
# A free-text value a spreadsheet would run as a formula.
FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")" + PAYLOAD
OWN, OTHER = cast.DEPT_LOGIN_UNIT, "0101"
PROBE_UNIT = "0102"  # the 所属 whose staff link in the probe round shows the payload form
HOSTILE_LOGIN = "hostile"
PASSWORDS = {account.role: (account.login, account.password) for account in cast.ACCOUNTS}
ANONYMITY_MIN = 5


@dataclass(frozen=True)
class World:
    instance: Path
    # "closed", "open" (demo 2021, 2026), "verified" (2020: the own 所属's verification
    # finalised), "probe" (hostile)
    rounds: dict[str, int]
    responses: dict[str, int]  # "own"/"other": department responses in the open round
    probe_response: int  # the other 所属's payload response in the probe round
    items: dict[str, int]  # "own"/"other" in the open round; "previous": other's, closed
    links: dict[str, str]  # "own"/"other": staff link tokens in the open round
    codes: dict[str, list[str]] = field(default_factory=dict)  # probe round, per 所属
    probe_link: str = ""
    charts: dict[str, str] = field(default_factory=dict)  # "own"/"other"/"prefecture"
    users: dict[str, int] = field(default_factory=dict)  # login -> id
    systems: dict[str, str] = field(default_factory=dict)  # "own"/"other": system codes
    proposals: dict[str, int] = field(default_factory=dict)  # "own"/"other": pending ones
    # "own"/"other": an evidence attachment's id in the open round, and its sha256
    attachments: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.instance / "surveyapp.sqlite3"

    def copy(self, folder: Path) -> World:
        """The same world in `folder` (for tests that write)."""
        target = folder / "instance"
        shutil.copytree(self.instance, target)
        return replace(self, instance=target)

    def app(self, **settings) -> Flask:
        config = {"TESTING": True, "INSTANCE_PATH": str(self.instance),
                  "SECRET_KEY": "security-test-key", "WTF_CSRF_ENABLED": False,
                  "RATELIMIT_ENABLED": False, **settings}
        return create_app(config)

    def connect(self):
        return store.connect(str(self.database))


def url_rules() -> set[tuple[str, str]]:
    """{(endpoint, method)} of the app, HEAD and OPTIONS aside. Known without a
    database (the instance folder is never opened), so usable at collection time."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": "/nonexistent/surveyapp-url-map",
                      "SECRET_KEY": "url-map"})
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


# --- the fixtures of a module that reads the world --------------------------------------

ROLES = ("anonymous", "admin", "auditor", "department")


def module_fixtures(name: str, **settings):
    """The module-scoped fixtures `world` (a copy in a folder called `name`), `app` (on
    it, with `settings` over the test config) and `clients` (one per role of `ROLES`,
    logged in): `world, app, clients = sw.module_fixtures("headers")`."""

    @pytest.fixture(scope="module", name="world")
    def world_fixture(tmp_path_factory) -> World:
        return world_copy(tmp_path_factory, name)

    @pytest.fixture(scope="module", name="app")
    def app_fixture(world: World) -> Flask:
        return world.app(**settings)

    @pytest.fixture(scope="module", name="clients")
    def clients_fixture(app: Flask) -> dict[str, FlaskClient]:
        return {role: log_in(app, role) for role in ROLES}

    return world_fixture, app_fixture, clients_fixture


# --- logging in -----------------------------------------------------------------------


@contextlib.contextmanager
def fast_hashing() -> Iterator[None]:
    """The demo's hashes are made with the test costs; logging in must not rehash them
    at full cost (slow, and it would change the users table)."""
    saved = accounts.hasher
    accounts.hasher = fast_hasher()
    try:
        yield
    finally:
        accounts.hasher = saved


def log_in(app: Flask, role: str) -> FlaskClient:
    """A test client logged in as the demo account of `role`; "anonymous" stays out."""
    client = app.test_client()
    if role == "anonymous":
        return client
    login, password = PASSWORDS[role]
    token = hidden_value(client.get("/login").text, "csrf_token")
    with fast_hashing():
        response = client.post("/login", data={"login": login, "password": password,
                                               "csrf_token": token or ""})
    assert response.status_code == 302, f"login as {login}: {response.status_code}"
    return client


# --- the database's state ------------------------------------------------------------------


def fingerprint(database: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """{table: sha256 of its rows}: equal fingerprints mean nothing was written."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        digests = {"<schema>": _digest(connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"))}
        for table in tables:
            if table not in skip:
                quoted = table.replace('"', '""')
                digests[table] = _digest(connection.execute(
                    f'SELECT * FROM "{quoted}"'))
        return digests
    finally:
        connection.close()


@contextlib.contextmanager
def no_writes(database: Path) -> Iterator[None]:
    """Fails when any connection committed a change to `database` while the block ran.
    SQLite's data_version is cheap enough to check around every single request, where
    a fingerprint of every table is not."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        before = connection.execute("PRAGMA data_version").fetchone()[0]
        yield
        after = connection.execute("PRAGMA data_version").fetchone()[0]
        assert after == before, "the database was written"
    finally:
        connection.close()


def _digest(rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode("utf-8"))
    return digest.hexdigest()


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


@pytest.fixture(autouse=True)
def discard_copies(tmp_path: Path) -> Iterator[None]:
    """A copy of the world is 5 MB: remove a test's copies when it ends instead of
    leaving them to pytest's retention of old temporary folders. Modules that copy
    import this fixture."""
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


# --- building ---------------------------------------------------------------------------

_TEMPLATE: World | None = None


def world_copy(tmp_path_factory, name: str = "security") -> World:
    """A private copy of the session's world for one test module."""
    global _TEMPLATE  # one build per session, on first use
    if _TEMPLATE is None:
        _TEMPLATE = build(tmp_path_factory.mktemp("security-world"))
    return _TEMPLATE.copy(tmp_path_factory.mktemp(name))


def build(folder: Path) -> World:
    instance = folder / "instance"
    instance.mkdir()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "security-test-key"})
    db = store.connect(app.config["DATABASE"])
    try:
        with fast_hashing():
            return _populate(db, instance)
    finally:
        db.close()


def _populate(db, instance: Path) -> World:
    migrations.apply(db)
    summary = demo.load_demo(db, QUESTIONNAIRES, attachments_root=instance / "attachments")
    rounds = {"closed": summary.round_ids[2021], "open": summary.round_ids[2026],
              "verified": summary.round_ids[2020]}
    users = {row["login"]: row["id"] for row in db["users"].rows}
    admin = users["admin"]
    rename_other_department(db, admin)
    users[HOSTILE_LOGIN] = accounts.create_user(db, HOSTILE_LOGIN, "department",
                                                "untrusted-typist-1", OTHER, PAYLOAD, admin)
    previous_item = hostile_item(db, rounds["closed"], OTHER, admin)
    other_response = plant_answers(db, rounds["open"], OTHER, admin, previous_item)
    rounds["probe"] = publish_probe_round(db, admin)
    probe_response = plant_answers(db, rounds["probe"], OTHER, admin, None)
    submit_staff_payload(db, rounds["probe"], PROBE_UNIT)
    plant_verification(db, rounds["verified"], users["auditor"])
    own_response = response_service.get_or_create_department_response(
        db, rounds["open"], OWN, users["dept"])["id"]
    system_codes = hostile_systems(db, admin)
    attached = {"own": attachment_store.current_links(db, own_response)[0],
                "other": attach_payload_file(db, instance, other_response, admin)}
    return World(
        instance=instance, rounds=rounds,
        responses={"own": own_response, "other": other_response},
        probe_response=probe_response,
        items={"own": hostile_item(db, rounds["open"], OWN, admin),
               "other": hostile_item(db, rounds["open"], OTHER, admin),
               "previous": previous_item},
        links={"own": staff.issue_link(db, rounds["open"], OWN, admin),
               "other": staff.issue_link(db, rounds["open"], OTHER, admin)},
        codes={"own": staff.generate_codes(db, rounds["probe"], OWN, 8, admin),
               "other": staff.generate_codes(db, rounds["probe"], OTHER, 8, admin)},
        probe_link=staff.issue_link(db, rounds["probe"], PROBE_UNIT, admin),
        charts=register_charts(db, instance, rounds["open"]), users=users,
        systems=system_codes, proposals={
            scope: hostile_proposal(db, code, OWN if scope == "own" else OTHER, admin)
            for scope, code in system_codes.items()},
        attachments={scope: link["id"] for scope, link in attached.items()},
        files={scope: link["sha256"] for scope, link in attached.items()})


# A file name may hold no "/" (path parts are refused): the payload without its closing tag.
FILE_PAYLOAD = "\"'><img src=x onerror=alert(1)>.pdf"


def attach_payload_file(db, instance: Path, response_id: int, admin: int) -> dict:
    """A PDF named with the payload on the other 所属's response (reopened for it and
    submitted again, as an admin would after a correction)."""
    response_service.reopen(db, response_id, admin, PAYLOAD)
    blobs = attachments.Blobs.of_instance(instance)
    data = b"%PDF-1.4\n% " + PAYLOAD.encode() + b"\n%%EOF\n"
    accepted = {"SCI-01": [check_attachment(FILE_PAYLOAD, data, len(data))]}
    response = response_service.get_response(db, response_id)
    with attachments.staged(db, blobs, accepted) as added:
        saved = response_service.save_draft(db, response_id, response["version"], {}, {},
                                            admin, files=attachments.Changes(blobs, added))
    response_service.submit(db, response_id, saved.version, {}, {}, admin)
    return next(link for link in attachment_store.current_links(db, response_id)
                if link["filename"] == FILE_PAYLOAD)


def rename_other_department(db, admin: int) -> None:
    """The other 所属 takes the payload as its name, through the CSV import."""
    row = next(r for r in db["departments"].rows_where("code = ?", [OTHER]))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["code", "name", "parent_code", "headcount"])
    writer.writerow([OTHER, PAYLOAD, row["parent_code"], row["headcount"]])
    plan = department_service.plan_import(db, text.getvalue().encode("utf-8"))
    assert plan.ok, plan.rejected
    department_service.apply_import(db, plan, user_id=admin)


def hostile_systems(db, admin: int) -> dict[str, str]:
    """A system of the own and of the other 所属, the payload in every text field,
    through the systems CSV import."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["code", "name", "owner_code", "vendor", "hosting", "cloud_service"])
    codes = {"own": "SEC-OWN", "other": "SEC-OTHER"}
    for scope, code in codes.items():
        writer.writerow([code, PAYLOAD[:100], OWN if scope == "own" else OTHER,
                         FORMULA[:100], "cloud", PAYLOAD[:100]])
    plan = systems.plan_import(db, text.getvalue().encode("utf-8"))
    assert plan.ok, plan.rejected
    systems.apply_import(db, plan, user_id=admin)
    return codes


def hostile_proposal(db, system_code: str, department_code: str, admin: int) -> int:
    """A pending correction of the system by its 所属, the payload as its note."""
    year = accounts.fiscal_year_of(date.today())
    return systems.propose(db, department_code, "change", system_code,
                           {"name": "改名" + PAYLOAD[:50], "owner_code": department_code},
                           PAYLOAD, admin, year)


def hostile_item(db, round_id: int, code: str, admin: int) -> int:
    """An improvement item on the round's first audit item, the payload as its owner."""
    round_row = response_store.get_round(db, round_id)
    finding = response_service.definition_for(db, round_row).findings[0]
    raw = followups.ItemInput(finding=finding, owner=PAYLOAD, notes=FORMULA,
                              status="in_progress")
    return followups.create_item(db, round_id, code, raw, admin)


def plant_answers(db, round_id: int, code: str, admin: int, previous_item: int | None) -> int:
    """Payload in every free-text answer and evidence note of `code`'s response,
    submitted, reopened with the payload as the reason, and submitted again."""
    round_row = response_store.get_round(db, round_id)
    questionnaire = response_service.definition_for(db, round_row)
    response = response_service.get_or_create_department_response(db, round_id, code, admin)
    if response["status"] == "submitted":
        response_service.reopen(db, response["id"], admin, PAYLOAD)
    response = response_service.get_response(db, response["id"])
    answers, evidence = response_service.load_answers(db, response["id"], questionnaire)
    answers = {**complete_answers(questionnaire), **answers, **text_answers(questionnaire)}
    evidence = {q.id: AnswerEvidence(FORMULA, PAYLOAD, "2021-06-30")
                for q in questionnaire.questions_for("department") if q.evidence != "none"}
    if previous_item is not None:
        previous_year.save_previous_year(db, round_id, code, {
            previous_year.status_field(previous_item): "in_progress",
            previous_year.note_field(previous_item): PAYLOAD}, admin)
    saved = response_service.submit(db, response["id"], response["version"], answers,
                                    evidence, admin, questionnaire)
    response_service.reopen(db, response["id"], admin, PAYLOAD)
    response_service.submit(db, response["id"], saved.version + 1, {}, {}, admin,
                            questionnaire)
    return response["id"]


def text_answers(questionnaire) -> dict[str, str]:
    return {q.id: PAYLOAD for q in questionnaire.questions if q.type == "text"}


def complete_answers(questionnaire, audience: str = "department") -> dict:
    """A first choice for every choice question, so the response can be submitted."""
    answers = {}
    for question in questionnaire.questions_for(audience):
        if question.choices:
            first = question.choices[0].value
            answers[question.id] = (first,) if question.type == "multi_choice" else first
        elif question.type == "number":
            answers[question.id] = 1
        elif question.type == "date":
            answers[question.id] = "2022-04-01"
    return answers


def submit_staff_payload(db, round_id: int, code: str) -> None:
    questionnaire = response_service.definition_for(db, response_store.get_round(db, round_id))
    answers = {**complete_answers(questionnaire, "staff"), **text_answers(questionnaire)}
    for _ in range(ANONYMITY_MIN):
        response_service.submit_staff_response(db, round_id, code, questionnaire, answers)


VERIFIED_QUESTION = "SYS-00"  # answered by every 所属 (a required screening question)


def plant_verification(db, round_id: int, auditor: int) -> None:
    """The other 所属 joins the closed round's sample (whose fieldwork has started, so
    through the store) with the payload as the reason, and gets a verdict with the
    payload as its note and proof location; it stays unfinalised."""
    with store.transaction(db):
        verification_store.insert_sample(db, {
            "round_id": round_id, "department_code": OTHER, "reason": "manual",
            "detail": {}, "draw_id": None, "note": PAYLOAD}, auditor, store.now())
    verification.record_verdict(db, round_id, OTHER, verification.VerdictInput(
        VERIFIED_QUESTION, "confirmed", None, PAYLOAD, FORMULA), auditor)


def register_charts(db, instance: Path, round_id: int) -> dict[str, str]:
    cache = charts.ChartCache(instance / "cache" / "charts")
    keys = {scope: cache.register(scorecards.radar_spec(
        scorecards.build_scorecard(db, round_id, code, ANONYMITY_MIN)))
        for scope, code in (("own", OWN), ("other", OTHER))}
    overview = prefecture_overview.overview(db, round_id, ANONYMITY_MIN)
    keys["prefecture"] = cache.register(overview.heatmap)
    return keys


# --- the probe definition: the payload in every text a definition file carries ----------

PROBE_ID = "hostile-probe"


def probe_definition() -> bytes:
    text = json.dumps({"ja": PAYLOAD, "en": PAYLOAD}, ensure_ascii=False)
    return PROBE_YAML.replace("$T", text).encode("utf-8")


PROBE_YAML = """\
schema_version: 1
questionnaire:
  id: hostile-probe
  version: "1"
  fiscal_year: 2027
  title: $T
scoring:
  method: weighted_mean
  bands:
    - {id: A, min: 50, label: $T}
    - {id: D, min: 0, label: $T}
choice_sets:
  YN:  # "no" first: the probe answers score 0, so the 所属 is on the follow-up lists
    - {value: "no", label: {ja: いいえ}, score: 0}
    - {value: "yes", label: $T, score: 1}
sections:
  - id: HOS
    title: $T
    help: $T
    audience: department
    questions:
      - id: HOS-01
        type: single_choice
        text: $T
        help: $T
        choices: YN
        weight: 1
        required: true
        findings: [指摘6]
        evidence: optional
        evidence_label: $T
      - id: HOS-02
        type: text
        text: $T
        weight: 0
  - id: HST
    title: $T
    audience: staff
    questions:
      - id: HST-01
        type: quiz
        text: $T
        choices:
          - {value: a, label: $T, correct: true}
          - {value: b, label: {ja: いいえ}}
        weight: 1
        required: true
        explanation: $T
      - id: HST-02
        type: text
        text: $T
        weight: 0
"""


def publish_probe_round(db, admin: int) -> int:
    """The probe definition's round; its fiscal year is the newest of the world (after
    the demo's FY2026), so the help page shows its bands too."""
    questionnaire_service.publish(db, probe_definition(), f"{PROBE_ID}/1.yaml", user_id=admin)
    created = round_service.create_round(db, 2027, PROBE_ID, "1", user_id=admin)
    round_service.open_round(db, created.id, admin)
    return created.id
