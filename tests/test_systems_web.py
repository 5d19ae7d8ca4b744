"""The register's pages: list and filters, one system, the CSV import's preview, an
admin's edit, a 所属's own systems and proposals, and `surveyapp systems import`."""

import io
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli
from surveyapp.services import departments as department_service
from surveyapp.services import systems as system_service
from surveyapp.store import systems as system_store

DEPARTMENTS = ("code,name,parent_code,headcount\nB01,総務部,,\nK1,総務課,B01,30\n"
               "K2,人事課,B01,20\n")
SOON = (date.today() + timedelta(days=30)).isoformat()
SYSTEMS = ("code,name,owner_code,hosting,ismap,ismap_expires,criticality\n"
           f"S1,電子申請システム,K1,cloud,yes,{SOON},high\n"
           "S2,人事給与システム,K2,onprem,na,,medium\n")


@pytest.fixture
def world(db):
    department_service.apply_import(db, department_service.plan_import(db, DEPARTMENTS.encode()))
    system_service.apply_import(db, system_service.plan_import(db, SYSTEMS.encode()))
    return db


@pytest.fixture
def admin(client, make_user, login_as, world):
    make_user("admin1", "admin")
    login_as(client, "admin1")
    return client


@pytest.fixture
def k1(client, make_user, login_as, world):
    make_user("k1", "department", "K1")
    login_as(client, "k1")
    return client


def upload(client, data: bytes):
    return client.post("/systems/import", content_type="multipart/form-data",
                       data={"csv_file": (io.BytesIO(data), "systems.csv")})


def test_the_register_lists_systems_with_their_warnings(admin):
    page = admin.get("/systems/").text
    assert "電子申請システム" in page and "人事給与システム" in page
    assert "90日以内に切れます" in page


def test_the_register_filters_by_hosting(admin):
    page = admin.get("/systems/?hosting=onprem").text
    assert "人事給与システム" in page and "電子申請システム" not in page


def test_a_systems_page_shows_its_register_data(admin):
    page = admin.get("/systems/S1").text
    assert "総務課" in page and "クラウドサービス" in page


def test_the_upload_previews_and_writes_nothing_until_confirmed(admin, world):
    data = "code,name,owner_code\nS3,文書管理,K1\n".encode("cp932")
    page = upload(admin, data)
    assert page.status_code == 200 and "追加: 1 件" in page.text and "Shift_JIS" in page.text
    assert system_store.get_system(world, "S3") is None
    fingerprint = system_service.plan_import(world, data).fingerprint
    assert admin.post("/systems/import/confirm", data={"fingerprint": fingerprint}
                      ).status_code == 302
    assert system_store.get_system(world, "S3")["owner_code"] == "K1"


def test_a_bad_file_is_refused_whole_with_line_numbers(admin, world):
    response = upload(admin, b"code,name,owner_code\nS3,a,K1\nS4,b,K9\n")
    assert response.status_code == 422
    assert "K9 が見つかりません" in response.text and "この内容で取り込む" not in response.text
    assert system_store.get_system(world, "S3") is None


def test_an_admin_edits_a_system(admin, world):
    form = {"version": "1", "name": "電子申請", "owner_code": "K1", "hosting": "cloud",
            "ismap": "yes", "ismap_expires": "2030-01-01"}
    assert admin.post("/systems/S1/edit", data=form).status_code == 302
    assert system_store.get_system(world, "S1")["ismap_expires"] == "2030-01-01"


def test_an_edit_with_a_bad_date_comes_back_with_the_input(admin, world):
    form = {"version": "1", "name": "電子申請X", "owner_code": "K1", "ismap": "yes",
            "ismap_expires": "2030-13-01"}
    response = admin.post("/systems/S1/edit", data=form)
    assert response.status_code == 422
    assert "電子申請X" in response.text and "日付" in response.text


def test_a_stale_edit_is_a_conflict(admin, world):
    form = {"version": "1", "name": "A", "owner_code": "K1"}
    admin.post("/systems/S1/edit", data=form)
    response = admin.post("/systems/S1/edit", data={**form, "name": "B"})
    assert response.status_code == 409
    assert system_store.get_system(world, "S1")["name"] == "A"


def test_a_department_sees_only_its_own_systems(k1):
    page = k1.get("/systems/").text
    assert "電子申請システム" in page and "人事給与システム" not in page
    assert k1.get("/systems/S1").status_code == 200
    assert k1.get("/systems/S2").status_code == 404
    assert k1.get("/systems/S2/propose").status_code == 404


def test_a_department_proposes_and_the_admin_accepts(k1, client, login_as, make_user, world):
    form = {"kind": "change", "name": "電子申請システム", "owner_code": "K1",
            "hosting": "cloud", "ismap": "yes", "ismap_expires": "2031-03-31",
            "criticality": "high", "note": "更新を確認"}
    assert k1.post("/systems/S1/propose", data=form).status_code == 302
    [proposal] = system_store.list_proposals(world, "pending")
    assert proposal["proposed"] == {"ismap_expires": "2031-03-31"}
    client.post("/logout")
    make_user("admin1", "admin")
    login_as(client, "admin1")
    assert client.post(f"/systems/proposals/{proposal['id']}/accept").status_code == 302
    assert system_store.get_system(world, "S1")["ismap_expires"] == "2031-03-31"


def test_a_department_cannot_see_another_departments_proposal(k1, world):
    other = system_service.propose(world, "K2", "retire", "S2", {"valid_to": "2025"}, "", None,
                                   2026)
    assert k1.get(f"/systems/proposals/{other}").status_code == 404
    assert k1.post(f"/systems/proposals/{other}/withdraw").status_code == 404


def test_rejecting_without_a_reason_is_422_and_changes_nothing(admin, world):
    proposal = system_service.propose(world, "K2", "retire", "S2", {"valid_to": "2025"}, "",
                                      None, 2026)
    response = admin.post(f"/systems/proposals/{proposal}/reject", data={"reason": ""})
    assert response.status_code == 422 and "理由" in response.text
    assert system_store.get_proposal(world, proposal)["status"] == "pending"


def test_the_cli_imports_and_refuses_a_bad_file_whole(instance_path, monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, ["--instance", str(instance_path), *args])  # noqa: E731
    assert run("init").exit_code == 0
    (tmp_path / "d.csv").write_text(DEPARTMENTS, encoding="utf-8")
    assert run("departments", "import", str(tmp_path / "d.csv")).exit_code == 0
    (tmp_path / "bad.csv").write_text(SYSTEMS + "S3,x,K9,,,,\n", encoding="utf-8")
    result = run("systems", "import", str(tmp_path / "bad.csv"))
    assert result.exit_code == 1 and "! 4行目" in result.output
    (tmp_path / "good.csv").write_text(SYSTEMS, encoding="cp932")
    result = run("systems", "import", str(tmp_path / "good.csv"))
    assert result.exit_code == 0 and "+ 2行目 S1" in result.output
    database = store.connect(instance_path / "surveyapp.sqlite3")
    assert len(system_store.list_systems(database)) == 2
    database.close()
