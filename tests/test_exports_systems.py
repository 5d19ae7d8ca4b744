"""Exports with information systems (DESIGN.md §7, §12): `system_code` is the answers'
last column, a system's answers carry it, a department user's export holds its own
systems' answers, the scores of a round that asks per system count them last, and the
`systems` export has one row per system of the round with its scores."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from click.testing import CliRunner

from surveyapp.cli import cli
from surveyapp.readmodels import export_sheets as exports
from surveyapp.refusals import Invalid
from surveyapp.services import self_check
from tests import systems_world

COMPLETE = ({"SPW-00": "yes", "SPW-01": "done", "SCT-02": "partial"},
            {"SPW-01": systems_world.proof("記録")})


@pytest.fixture
def world(db):
    world = systems_world.build(db)
    for code, systems in (("K1", ("S1", "S2", "S4")), ("K2", ("S3",))):
        response = systems_world.department_response(db, world, code)
        self_check.submit_form(db, response["id"], response["version"],
                               {"DEP-00": "yes", "DEP-01": "done"}, {},
                               {system: COMPLETE for system in systems}, None,
                               world.questionnaire)
    return world


def rows(sheet) -> list[dict]:
    return [dict(zip(sheet.header, row, strict=True)) for row in sheet.rows]


def test_system_code_follows_the_contract_columns_and_is_set_on_system_answers(db, world):
    sheet = exports.answers_sheet(db, world.round_id)
    assert sheet.header[sheet.header.index("evidence") + 1] == "system_code"
    found = rows(sheet)
    systems = {(r["department_code"], r["system_code"]) for r in found
               if r["audience"] == "system"}
    assert systems == {("K1", "S1"), ("K1", "S2"), ("K1", "S4"), ("K2", "S3")}
    assert {r["system_code"] for r in found if r["audience"] == "department"} == {None}
    spw = next(r for r in found if r["system_code"] == "S1" and r["question_id"] == "SPW-01")
    assert (spw["value"], spw["score"], spw["section_id"], spw["evidence"]) == (
        "done", 4, "SPW", "記録")


def test_a_department_exports_its_own_systems_answers_only(db, world):
    scope = exports.Scope.for_user("department", "K2")
    found = rows(exports.answers_sheet(db, world.round_id, scope))
    assert {r["system_code"] for r in found if r["audience"] == "system"} == {"S3"}
    assert {r["department_code"] for r in found} == {"K2"}


def test_the_scores_count_each_departments_systems_last(db, world):
    sheet = exports.scores_sheet(db, world.round_id, 5)
    assert sheet.header[-1] == "systems"
    assert {r["code"]: r["systems"] for r in rows(sheet)} == {"K1": 3, "K2": 1, "K3": 0}


# --- the systems export -----------------------------------------------------------------


def test_the_systems_export_has_a_row_per_system_with_its_scores(db, world):
    sheet = exports.systems_sheet(db, world.round_id)
    assert sheet.header[0] == "system_code"
    assert {"SPW", "SCT", "指摘22", "意見15"} <= set(sheet.header)
    assert "DEP" not in sheet.header and "指摘3" not in sheet.header  # department only
    found = {r["system_code"]: r for r in rows(sheet)}
    assert sorted(found) == ["S1", "S2", "S3", "S4"]
    s1 = found["S1"]
    assert (s1["owner_code"], s1["hosting"], s1["ismap"], s1["ismap_expires"]) == (
        "K1", "cloud", "yes", "2027-06-30")
    assert s1["submitted"] is True and s1["overall"] is not None and s1["band"]
    assert found["S4"]["owner_code"] == "K1"  # K4's system follows its successor


def test_a_departments_systems_export_holds_its_own_systems_only(db, world):
    scope = exports.Scope.for_user("department", "K2")
    assert [r["system_code"] for r in rows(exports.systems_sheet(db, world.round_id, scope))
            ] == ["S3"]


def test_the_systems_export_needs_a_round(db, world):
    with pytest.raises(Invalid):
        exports.sheet_for(db, "systems", None, 5)


@pytest.fixture
def pages(db, world, make_user, client):
    make_user("admin1", "admin")
    make_user("k2", "department", "K2")
    return client


def test_the_systems_table_links_its_download(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/systems/rounds/{world.round_id}/").text
    assert f"/exports/rounds/{world.round_id}/systems.csv" in html


def test_the_exports_page_offers_the_systems_table_of_a_round_asking_per_system(
        pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get("/exports/").text
    assert f"/exports/rounds/{world.round_id}/systems.xlsx" in html
    assert "system_code" in html  # the answers' columns
    results = pages.get(f"/results/rounds/{world.round_id}/").text
    assert f"/exports/rounds/{world.round_id}/systems.csv" in results


def test_a_department_downloads_its_own_systems_only(pages, world, login_as):
    login_as(pages, "k2")
    response = pages.get(f"/exports/rounds/{world.round_id}/systems.csv")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert [line[0] for line in lines[1:]] == ["S3"]
    other = pages.get(f"/exports/rounds/{world.round_id}/departments/K1/systems.csv")
    assert other.status_code == 404


def test_the_cli_writes_the_systems_xlsx(db, world, instance_path, monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    out = tmp_path / "systems.xlsx"
    result = CliRunner().invoke(cli, ["--instance", str(instance_path), "export", "--round",
                                      str(world.round_id), "--what", "systems",
                                      "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["システム別得点"]
    assert [sheet.cell(row, 1).value for row in range(1, 6)] == [
        "システムコード", "S1", "S2", "S3", "S4"]
