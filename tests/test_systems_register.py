"""The information-system register (DESIGN.md §12): the systems CSV import (encodings,
line-numbered rejections, all-or-nothing), ownership through reorganisations, the
register's warnings, an admin's edit and the corrections a 所属 proposes."""

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp import migrations, store
from surveyapp.formats import systems_csv
from surveyapp.readmodels import register
from surveyapp.refusals import Conflict, Invalid, Locked, NotFound
from surveyapp.services import departments as department_service
from surveyapp.services import systems as service
from surveyapp.store import systems as system_store

DEPARTMENTS = ("code,name,parent_code,headcount,valid_from,valid_to,successor_code\n"
               "B01,総務部,,,,,\nK1,総務課,B01,30,,,\nK2,人事課,B01,20,,2020,K3\n"
               "K3,人事給与課,B01,25,2021,,\nK4,旧統計課,B01,5,,2020,\n")
HEADER = ("code,name,owner_code,vendor,hosting,cloud_service,ismap,ismap_expires,"
          "criticality,valid_from,valid_to\n")
TODAY = date(2026, 12, 1)


@pytest.fixture
def db(db):
    department_service.apply_import(db, department_service.plan_import(
        db, DEPARTMENTS.encode()))
    return db


def plan_text(db, text, encoding="utf-8"):
    return service.plan_import(db, text.encode(encoding))


def import_text(db, text):
    return service.apply_import(db, plan_text(db, text))


def reasons(db, text):
    return {r.line: r.reason for r in plan_text(db, text).rejected}


SAMPLE = (HEADER + "S001,人事給与システム,K2,株式会社A,onprem,,na,,high,2015,\n"
          "S002,電子申請,K1,B社,cloud,サービスX,yes,2027-01-15,medium,,\n"
          "S003,文書管理,K1,C社,lgwan-asp,,NO,,low,,\n")


# --- import ------------------------------------------------------------------------------


def test_a_valid_file_adds_every_system(db):
    plan = import_text(db, SAMPLE)
    assert [row.code for row in plan.added] == ["S001", "S002", "S003"]
    stored = system_store.get_system(db, "S003")
    assert (stored["hosting"], stored["ismap"]) == ("lgwan_asp", "no")


def test_cp932_as_excel_writes_it_reads_the_same_rows(db):
    assert plan_text(db, SAMPLE, "cp932").added == plan_text(db, SAMPLE).added
    assert plan_text(db, SAMPLE, "cp932").encoding == "Shift_JIS"


def test_excel_dates_are_stored_as_iso(db):
    import_text(db, HEADER + "S9,x,K1,,cloud,,yes,2027/3/1,,,\n")
    assert system_store.get_system(db, "S9")["ismap_expires"] == "2027-03-01"


def test_only_the_three_columns_are_required(db):
    import_text(db, "code,name,owner_code\nS9,x,K1\n")
    assert system_store.get_system(db, "S9")["hosting"] is None


@pytest.mark.parametrize(("row", "reason"), [
    ("S9,x,K9,,,,,,,,", "K9 が見つかりません"),
    ("S9,x,B01,,,,,,,,", "部局です"),
    ("S9,x,,,,,,,,,", "所管所属（owner_code）が空"),
    ("S9,,K1,,,,,,,,", "名称（name）が空"),
    ("S9,x,K1,,mainframe,,,,,,", "onprem, lgwan_asp, cloud, other"),
    ("S9,x,K1,,,,maybe,,,,", "yes, no, na"),
    ("S9,x,K1,,,,,,urgent,,", "high, medium, low"),
    ("S9,x,K1,,cloud,,yes,2027-02-30,,,", "日付"),
    ("S9,x,K1,,cloud,,no,2027-01-01,,,", "有効期限（ismap_expires）を指定できません"),
    ("S9,x,K1,,,,,,,2022,2020", "valid_to 2020"),
])
def test_a_bad_row_is_rejected_with_its_line_and_reason(db, row, reason):
    assert reason in reasons(db, HEADER + "S1,ok,K1,,,,,,,,\n" + row + "\n")[3]


def test_one_bad_row_rejects_the_whole_file(db):
    plan = plan_text(db, SAMPLE + "S004,x,K9,,,,,,,,\n")
    with pytest.raises(Invalid, match="何も書き込み"):
        service.apply_import(db, plan)
    assert system_store.list_systems(db) == []


def test_a_missing_required_column_rejects_the_file_at_line_1(db):
    [rejection] = plan_text(db, "code,name\nS1,x\n").rejected
    assert rejection.line == 1 and "owner_code" in rejection.reason


def test_a_reimport_reports_changes_and_keeps_absent_columns(db):
    import_text(db, SAMPLE)
    plan = import_text(db, "code,name,owner_code\nS002,電子申請システム,K1\n")
    [change] = plan.changed
    assert [(c.field, c.old, c.new) for c in change.changes] == [
        ("name", "電子申請", "電子申請システム")]
    assert system_store.get_system(db, "S002")["ismap_expires"] == "2027-01-15"


def test_the_csv_rows_and_the_store_name_the_same_fields():
    # Layering keeps two tuples (formats may not import store): a row written by the
    # import must carry exactly the columns the store's upsert binds.
    assert systems_csv.FIELDS == system_store.FIELDS


def test_the_import_is_in_the_audit_log(db):
    import_text(db, SAMPLE)
    entry = store.rows(db, "SELECT * FROM audit_log WHERE action = 'systems.import'")[0]
    assert json.loads(entry["detail"])["added"] == ["S001", "S002", "S003"]


@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory):
    """One database for generated inputs: planning never writes, so examples share it."""
    database = store.connect(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3")
    migrations.apply(database)
    yield database
    database.close()


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_the_planner_never_crashes_on_arbitrary_bytes(scratch_db, data):
    plan = service.plan_import(scratch_db, data)
    assert plan.ok or all(rejection.line >= 1 for rejection in plan.rejected)


# --- ownership and warnings ------------------------------------------------------------------


def test_a_system_follows_its_owners_successor(db):
    import_text(db, SAMPLE)
    assert [s["code"] for s in register.owned_systems(db, "K2", 2020)] == ["S001"]
    assert register.owned_systems(db, "K2", 2021) == []
    assert [s["code"] for s in register.owned_systems(db, "K3", 2021)] == ["S001"]


def test_a_system_not_in_use_that_year_is_owned_by_nobody(db):
    import_text(db, HEADER + "S1,x,K1,,,,,,,2022,\n")
    assert register.owned_systems(db, "K1", 2021) == []
    assert len(register.owned_systems(db, "K1", 2022)) == 1


def kinds(db, code):
    return [w.kind for w in register.system_view(db, code, 2026, TODAY).warnings]


@pytest.mark.parametrize(("cells", "expected"), [
    ("cloud,,yes,2026-11-30", ["ismap_expired"]),
    ("cloud,,yes,2027-02-28", ["ismap_expiring"]),
    ("cloud,,yes,2027-03-02", []),
    ("cloud,,,", ["cloud_without_ismap"]),
    ("cloud,,yes,", ["cloud_without_ismap"]),
    ("cloud,,na,", []),
    ("onprem,,,", []),
])
def test_register_warnings(db, cells, expected):
    import_text(db, HEADER + f"S1,x,K1,,{cells},,,\n")
    assert kinds(db, "S1") == expected


def test_an_owner_without_a_successor_is_a_warning(db):
    import_text(db, HEADER + "S1,x,K4,,onprem,,,,,,\n")
    assert kinds(db, "S1") == ["owner_gone"]


def test_a_retired_system_has_no_warnings(db):
    import_text(db, HEADER + "S1,x,K4,,cloud,,yes,2020-01-01,,,2020\n")
    assert kinds(db, "S1") == []


def test_filters_narrow_the_register(db):
    import_text(db, SAMPLE)
    systems = register.register(db, 2026, TODAY)
    by = lambda **f: [s.code for s in register.filtered(systems, register.Filters(**f))]  # noqa: E731
    assert by(hosting="cloud") == ["S002"]
    assert by(owner="K3") == ["S001"]
    assert by(ismap="expiring") == ["S002"]
    assert by(warning="any") == ["S002"]
    assert by(query="文書") == ["S003"]
    assert by(criticality="high", bureau="B01") == ["S001"]


# --- admin edits ---------------------------------------------------------------------------


def form_of(db, code, **changes):
    stored = system_store.get_system(db, code)
    return {**{k: "" if v is None else str(v) for k, v in stored.items()}, **changes}


def test_an_admin_edit_changes_the_system_and_is_audited(db):
    import_text(db, SAMPLE)
    changes = service.edit_system(db, "S003", form_of(db, "S003", hosting="cloud", ismap="yes",
                                                      ismap_expires="2028-01-01"), 1, None)
    assert changes["hosting"] == ["lgwan_asp", "cloud"]
    assert system_store.get_system(db, "S003")["version"] == 2
    assert store.rows(db, "SELECT * FROM audit_log WHERE action = 'systems.edit'")


def test_an_edit_on_a_stale_version_is_a_conflict_and_writes_nothing(db):
    import_text(db, SAMPLE)
    service.edit_system(db, "S003", form_of(db, "S003", name="文書管理システム"), 1, None)
    with pytest.raises(Conflict) as caught:
        service.edit_system(db, "S003", form_of(db, "S003", name="別名"), 1, None)
    assert caught.value.current["name"] == "文書管理システム"


def test_an_edit_with_bad_fields_names_each_field(db):
    import_text(db, SAMPLE)
    with pytest.raises(Invalid) as caught:
        service.edit_system(db, "S003", form_of(db, "S003", hosting="x", valid_from="abc"), 1,
                            None)
    assert set(caught.value.errors) == {"hosting", "valid_from"}


def test_an_admin_may_register_one_system_but_not_a_taken_code(db):
    values = {"code": "S10", "name": "新システム", "owner_code": "K1"}
    assert service.create_system(db, values, None) == "S10"
    with pytest.raises(Invalid) as caught:
        service.create_system(db, values, None)
    assert "code" in caught.value.errors


# --- proposals ------------------------------------------------------------------------------


def test_a_department_proposes_a_change_and_the_admin_accepts_it(db):
    import_text(db, SAMPLE)
    proposal_id = service.propose(db, "K1", "change", "S002",
                                  form_of(db, "S002", ismap_expires="2028-01-15"),
                                  "更新しました", None, 2026)
    assert system_store.get_proposal(db, proposal_id)["proposed"] == {
        "ismap_expires": "2028-01-15"}
    service.accept_proposal(db, proposal_id, None)
    assert system_store.get_system(db, "S002")["ismap_expires"] == "2028-01-15"
    assert system_store.get_proposal(db, proposal_id)["status"] == "accepted"


def test_another_departments_system_cannot_be_proposed_for(db):
    import_text(db, SAMPLE)
    with pytest.raises(NotFound):
        service.propose(db, "K3", "change", "S002", form_of(db, "S002", name="x"), "", None,
                        2026)


def test_the_successor_proposes_for_its_predecessors_system(db):
    import_text(db, SAMPLE)
    service.propose(db, "K3", "retire", "S001", {"valid_to": "2025"}, "", None, 2026)
    assert len(system_store.list_proposals(db, "pending")) == 1


def test_a_second_proposal_while_one_waits_is_a_conflict(db):
    import_text(db, SAMPLE)
    service.propose(db, "K1", "change", "S002", form_of(db, "S002", name="x"), "", None, 2026)
    with pytest.raises(Conflict):
        service.propose(db, "K1", "retire", "S002", {"valid_to": "2025"}, "", None, 2026)
    assert len(system_store.list_proposals(db, "pending")) == 1


def test_a_proposal_that_changes_nothing_is_refused(db):
    import_text(db, SAMPLE)
    with pytest.raises(Invalid):
        service.propose(db, "K1", "change", "S002", form_of(db, "S002"), "", None, 2026)


def test_a_missing_system_is_proposed_and_accepted_under_the_code_given(db):
    proposal_id = service.propose(db, "K1", "add", None, {"name": "庁内予約システム",
                                                         "hosting": "cloud"}, "", None, 2026)
    code = service.accept_proposal(db, proposal_id, None, code="S100")
    stored = system_store.get_system(db, code)
    assert (stored["name"], stored["owner_code"], stored["hosting"]) == (
        "庁内予約システム", "K1", "cloud")
    assert system_store.get_proposal(db, proposal_id)["system_code"] == "S100"


def test_a_rejection_needs_a_reason_and_a_decided_proposal_is_locked(db):
    import_text(db, SAMPLE)
    proposal_id = service.propose(db, "K1", "retire", "S003", {"valid_to": "2025"}, "", None,
                                  2026)
    with pytest.raises(Invalid):
        service.reject_proposal(db, proposal_id, None, "")
    service.reject_proposal(db, proposal_id, None, "まだ利用中と聞いています")
    with pytest.raises(Locked):
        service.accept_proposal(db, proposal_id, None)
    assert system_store.get_system(db, "S003")["valid_to"] is None


def test_only_the_proposing_department_withdraws(db):
    import_text(db, SAMPLE)
    proposal_id = service.propose(db, "K1", "retire", "S003", {"valid_to": "2025"}, "", None,
                                  2026)
    with pytest.raises(NotFound):
        service.withdraw_proposal(db, proposal_id, "K3", None)
    service.withdraw_proposal(db, proposal_id, "K1", None)
    assert system_store.get_proposal(db, proposal_id)["status"] == "withdrawn"


def test_the_systems_csv_is_decoded_as_strictly_as_the_departments(db):
    [rejection] = service.plan_import(db, SAMPLE.encode("utf-16")).rejected
    assert rejection.line == 1 and "UTF-16" in rejection.reason
