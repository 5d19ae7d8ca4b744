"""The departments CSV import: encodings, the plan, every rejection rule, all-or-nothing."""

import codecs
import json
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp import migrations, store
from surveyapp.formats import departments_csv
from surveyapp.refusals import Refusal
from surveyapp.services import departments as service
from surveyapp.store import departments as department_store
from tests.conftest import FIXTURES

CSV_DIR = FIXTURES / "departments"
HEADER = "code,name,parent_code,headcount,valid_from,valid_to,successor_code\n"
BUREAU = "B01,総務部,,,,,\n"


def plan_text(db, text, encoding="utf-8"):
    return service.plan_import(db, text.encode(encoding))


def reasons(db, text):
    """{line: reason} of the rejected rows."""
    return {rejection.line: rejection.reason for rejection in plan_text(db, text).rejected}


def import_text(db, text):
    return service.apply_import(db, plan_text(db, text))


def test_utf8_file_adds_every_row(db):
    plan = service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes())
    assert plan.ok and plan.encoding == "UTF-8"
    assert {row.code for row in plan.added} == {"B01", "B02", "K0101", "K0102", "K0103",
                                                "K0201", "K0202"}


def test_utf8_bom_file_reads_the_same_rows(db):
    with_bom = service.plan_import(db, (CSV_DIR / "valid_utf8_bom.csv").read_bytes())
    without = service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes())
    assert with_bom.encoding == "UTF-8 (BOM)"
    assert with_bom.added == without.added


def test_cp932_file_as_excel_writes_it_reads_the_same_rows(db):
    cp932 = service.plan_import(db, (CSV_DIR / "valid_cp932.csv").read_bytes())
    utf8 = service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes())
    assert cp932.encoding == "Shift_JIS"
    assert cp932.added == utf8.added


def test_parents_may_come_after_their_units_in_the_file(db):
    service.apply_import(db, service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes()))
    assert department_store.get_department(db, "K0101")["parent_code"] == "B01"


def test_departments_are_listed_bureau_then_its_units(db):
    service.apply_import(db, service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes()))
    codes = [row["code"] for row in department_store.list_departments(db)]
    assert codes == ["B01", "K0101", "K0102", "K0103", "B02", "K0201", "K0202"]


def test_units_are_filtered_by_bureau_and_fiscal_year(db):
    service.apply_import(db, service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes()))
    fy2020 = [row["code"] for row in department_store.list_units(db, "B01", 2020)]
    fy2021 = [row["code"] for row in department_store.list_units(db, "B01", 2021)]
    assert fy2020 == ["K0101", "K0102"]
    assert fy2021 == ["K0101", "K0103"]


def test_bureaus_list_only_roll_up_nodes(db):
    service.apply_import(db, service.plan_import(db, (CSV_DIR / "valid_utf8.csv").read_bytes()))
    assert [row["code"] for row in department_store.list_bureaus(db)] == ["B01", "B02"]


def test_reimporting_the_same_file_changes_nothing(db):
    data = (CSV_DIR / "valid_utf8.csv").read_bytes()
    service.apply_import(db, service.plan_import(db, data))
    again = service.plan_import(db, data)
    assert not again.added and not again.changed and len(again.unchanged) == 7


def test_changed_fields_are_reported_old_to_new(db):
    import_text(db, HEADER + BUREAU + "K1,総務課,B01,30,,,\n")
    plan = plan_text(db, HEADER + BUREAU + "K1,総務企画課,B01,31,,,\n")
    [change] = plan.changed
    assert [(c.field, c.old, c.new) for c in change.changes] == [
        ("name", "総務課", "総務企画課"), ("headcount", 30, 31)]
    assert change.row.line == 3


def test_columns_absent_from_the_header_keep_stored_values(db):
    import_text(db, HEADER + BUREAU + "K1,総務課,B01,30,2019,2022,\n")
    import_text(db, "code,name,parent_code,headcount\nB01,総務部,,\nK1,総務課,B01,32\n")
    stored = department_store.get_department(db, "K1")
    assert (stored["valid_from"], stored["valid_to"], stored["headcount"]) == (2019, 2022, 32)


def test_an_empty_cell_in_a_present_column_clears_the_value(db):
    import_text(db, HEADER + BUREAU + "K1,総務課,B01,30,2019,2022,\n")
    import_text(db, HEADER + BUREAU + "K1,総務課,B01,30,2019,,\n")
    assert department_store.get_department(db, "K1")["valid_to"] is None


def test_bureau_headcount_may_be_empty_and_counts_as_zero(db):
    [bureau] = plan_text(db, HEADER + BUREAU).added
    assert bureau.headcount == 0


def test_full_width_digits_and_thousands_separators_are_read_as_numbers(db):
    plan = plan_text(db, HEADER + BUREAU + 'K1,総務課,B01,"１,２００",２０２１,,\n')
    assert [(row.headcount, row.valid_from) for row in plan.added if row.code == "K1"] == [
        (1200, 2021)]


def test_line_numbers_count_physical_lines_of_multiline_cells(db):
    text = HEADER + '"B01","総務部\n（旧）",,,,,\n' + "K1,総務課,B01,-1,,,\n"
    assert 4 in reasons(db, text)


def test_blank_lines_are_skipped_but_counted(db):
    assert list(reasons(db, HEADER + BUREAU + "\n\nK1,総務課,B01,x,,,\n")) == [5]


# ---------------------------------------------------------------- rejections

def test_missing_header_column_rejects_the_file_at_line_1(db):
    [rejection] = plan_text(db, "code,name,headcount\nB01,総務部,0\n").rejected
    assert rejection.line == 1 and "parent_code" in rejection.reason


def test_unknown_header_column_is_rejected(db):
    [rejection] = plan_text(db, "code,name,parent_code,headcount,valid_form\n").rejected
    assert rejection.line == 1 and "valid_form" in rejection.reason


def test_empty_file_is_rejected(db):
    [rejection] = service.plan_import(db, b"").rejected
    assert rejection.line == 1 and "空" in rejection.reason


def test_empty_code_is_rejected(db):
    assert "コード（code）が空" in reasons(db, HEADER + BUREAU + ",総務課,B01,3,,,\n")[3]


def test_malformed_code_is_rejected(db):
    assert "英数字" in reasons(db, HEADER + BUREAU + "K 1,総務課,B01,3,,,\n")[3]


def test_empty_name_is_rejected(db):
    assert "名称（name）が空" in reasons(db, HEADER + BUREAU + "K1,,B01,3,,,\n")[3]


def test_non_integer_headcount_is_rejected(db):
    assert "整数" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,3.5,,,\n")[3]


def test_negative_headcount_is_rejected(db):
    assert "負の値" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,-3,,,\n")[3]


def test_unit_headcount_may_not_be_empty(db):
    assert "人数" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,,,,\n")[3]


def test_unknown_parent_is_rejected(db):
    assert "B99 が見つかりません" in reasons(db, HEADER + "K1,総務課,B99,3,,,\n")[2]


def test_unit_whose_parent_is_a_unit_is_rejected(db):
    text = HEADER + BUREAU + "K1,総務課,B01,3,,,\nK2,文書係,K1,3,,,\n"
    assert "部局ではありません" in reasons(db, text)[4]


def test_unit_naming_itself_as_parent_is_a_cycle(db):
    assert "循環" in reasons(db, HEADER + "K1,総務課,K1,3,,,\n")[2]


def test_parent_cycle_between_two_rows_is_rejected(db):
    found = reasons(db, HEADER + "K1,総務課,K2,3,,,\nK2,人事課,K1,3,,,\n")
    assert "循環" in found[2] and "循環" in found[3]


def test_unknown_successor_is_rejected(db):
    assert "K9 が見つかりません" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,3,,,K9\n")[3]


def test_successor_cycle_is_rejected(db):
    text = HEADER + BUREAU + "K1,総務課,B01,3,,,K2\nK2,人事課,B01,3,,,K1\n"
    found = reasons(db, text)
    assert "循環" in found[3] and "循環" in found[4]


def test_successor_chain_without_a_loop_is_accepted(db):
    text = HEADER + BUREAU + "K1,a,B01,3,,2019,K2\nK2,b,B01,3,,2020,K3\nK3,c,B01,3,,,\n"
    assert plan_text(db, text).ok


def test_every_row_on_a_longer_successor_loop_is_rejected(db):
    text = HEADER + BUREAU + "K1,a,B01,3,,,K2\nK2,b,B01,3,,,K3\nK3,c,B01,3,,,K1\n"
    assert sorted(reasons(db, text)) == [3, 4, 5]


def test_successor_of_a_unit_must_be_a_unit(db):
    assert "所属ではありません" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,3,,,B01\n")[3]


def test_valid_to_before_valid_from_is_rejected(db):
    assert "valid_to 2020" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,3,2022,2020,\n")[3]


def test_duplicate_code_in_the_file_is_rejected_naming_the_first_line(db):
    text = HEADER + BUREAU + "K1,総務課,B01,3,,,\nK1,人事課,B01,3,,,\n"
    assert "3行目と重複" in reasons(db, text)[4]


def test_wrong_number_of_cells_is_rejected(db):
    assert "列の数" in reasons(db, HEADER + BUREAU + "K1,総務課,B01,3\n")[3]


def test_more_than_10000_rows_rejects_the_file(db):
    rows = "".join(f"K{n},所属{n},B01,1,,,\n" for n in range(departments_csv.MAX_ROWS + 1))
    [rejection] = plan_text(db, HEADER + rows).rejected
    assert rejection.line == departments_csv.MAX_ROWS + 2 and "上限" in rejection.reason


def test_bureau_with_stored_units_cannot_become_a_unit(db):
    import_text(db, HEADER + BUREAU + "B02,企画部,,,,,\nK1,総務課,B01,3,,,\n")
    found = reasons(db, HEADER + "B01,総務部,B02,0,,,\n")
    assert "配下に所属がある" in found[2] and "K1" in found[2]


def test_undecodable_bytes_are_rejected_with_a_line(db):
    data = HEADER.encode() + b"K1,\x81\x7f,B01,1,,,\n"
    [rejection] = service.plan_import(db, data).rejected
    assert rejection.line == 2 and "文字コード" in rejection.reason


def test_bad_fixture_rejects_each_bad_line(db):
    plan = service.plan_import(db, (CSV_DIR / "bad.csv").read_bytes())
    assert [rejection.line for rejection in plan.rejected] == list(range(4, 15))


# ---------------------------------------------------------------- applying

def test_rejected_plan_writes_nothing(db):
    plan = service.plan_import(db, (CSV_DIR / "bad.csv").read_bytes())
    with pytest.raises(Refusal, match="何も書き込み"):
        service.apply_import(db, plan)
    assert department_store.list_departments(db) == []


def test_apply_refuses_a_plan_made_before_the_table_changed(db):
    stale = plan_text(db, HEADER + BUREAU)
    import_text(db, HEADER + "B01,総務局,,,,,\n")
    with pytest.raises(Refusal, match="変わりました"):
        service.apply_import(db, stale)
    assert department_store.get_department(db, "B01")["name"] == "総務局"


def test_apply_records_what_changed_in_the_audit_log(db):
    import_text(db, HEADER + BUREAU)
    service.apply_import(db, plan_text(db, HEADER + "B01,総務局,,,,,\nB02,企画部,,,,,\n"),
                         user_id=None)
    entry = store.rows(db, "SELECT * FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    detail = json.loads(entry["detail"])
    assert entry["action"] == "departments.import"
    assert detail["added"] == ["B02"]
    assert detail["changed"] == {"B01": {"name": ["総務部", "総務局"]}}


def test_report_lists_counts_and_rows_by_line(db):
    lines = service.describe_plan(plan_text(db, HEADER + BUREAU + "K1,,B01,3,,,\n"))
    assert lines[0].startswith("追加 added: 1")
    assert any(line.strip().startswith("! 3行目") for line in lines)


# ---------------------------------------------------------------- robustness

@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory):
    """One database for generated inputs: planning never writes, so examples share it."""
    database = store.connect(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3")
    migrations.apply(database)
    yield database
    database.close()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_planner_never_crashes_on_arbitrary_bytes(scratch_db, data):
    plan = service.plan_import(scratch_db, data)
    assert plan.ok or all(rejection.line >= 1 for rejection in plan.rejected)


CELL = st.text(alphabet=st.sampled_from(list('B01K2,"\n\r -９あ総.\x00')), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=8), max_size=8))
def test_planner_never_crashes_on_csv_like_text(scratch_db, rows):
    text = HEADER + "\n".join(",".join(cells) for cells in rows)
    plan = service.plan_import(scratch_db, text.encode())
    assert all(1 <= rejection.line <= len(text.splitlines()) for rejection in plan.rejected)


# ---------------------------------------------------------------- pending uploads

def test_pending_upload_round_trips_by_its_key(tmp_path):
    token = service.save_pending_upload(tmp_path, b"code\n")
    assert service.load_pending_upload(tmp_path, token) == b"code\n"
    service.discard_pending_upload(tmp_path, token)
    with pytest.raises(Refusal):
        service.load_pending_upload(tmp_path, token)


def test_pending_upload_refuses_a_key_that_is_not_a_random_key(tmp_path):
    (tmp_path / "secret.csv").write_bytes(b"x")
    with pytest.raises(Refusal):
        service.load_pending_upload(tmp_path, "../secret")


def test_abandoned_pending_uploads_are_purged_after_an_hour(tmp_path):
    old = service.save_pending_upload(tmp_path, b"old")
    an_hour_ago = time.time() - service.UPLOAD_MAX_AGE_SECONDS - 10
    os.utime(tmp_path / f"{old}.csv", (an_hour_ago, an_hour_ago))
    service.save_pending_upload(tmp_path, b"new")
    assert not (tmp_path / f"{old}.csv").exists()


def test_stray_bytes_in_a_utf8_file_are_refused_at_their_line_not_read_as_shift_jis(db):
    data = (HEADER + BUREAU).encode() + "K1,総務課".encode() + b"\xff\xfe,B01,1,,,\n"
    [rejection] = service.plan_import(db, data).rejected
    assert rejection.line == 3 and "FF" in rejection.reason and "UTF-8" in rejection.reason


def test_bytes_that_shift_jis_reads_as_invisible_characters_are_refused_at_their_line(db):
    data = (HEADER + BUREAU).encode("cp932") + b"K1,\xff\xfe,B01,1,,,\n"  # U+F8F3 U+F8F2
    [rejection] = service.plan_import(db, data).rejected
    assert rejection.line == 3 and "U+F8F3" in rejection.reason
    assert department_store.list_departments(db) == []


def test_a_utf16_file_is_refused_with_how_to_save_it(db):
    [rejection] = service.plan_import(db, (HEADER + BUREAU).encode("utf-16")).rejected
    assert rejection.line == 1 and "UTF-16" in rejection.reason


def test_a_bom_file_with_broken_bytes_is_refused_not_a_500(db):
    data = codecs.BOM_UTF8 + (HEADER + BUREAU).encode() + b"K1,\xe3\x81,B01,1,,,\n"
    [rejection] = service.plan_import(db, data).rejected
    assert rejection.line == 3 and "E3 81" in rejection.reason


@pytest.mark.parametrize("invisible", ["\ufffd", "\ue000", "\ufeff"])
def test_invisible_characters_in_a_utf8_file_are_refused_at_their_line(db, invisible):
    found = reasons(db, HEADER + BUREAU + f"K1,総務{invisible}課,B01,1,,,\n")
    assert list(found) == [3] and f"U+{ord(invisible):04X}" in found[3]


def test_the_cli_refuses_a_file_with_stray_bytes_naming_the_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from surveyapp.cli import cli

    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    path = tmp_path / "broken.csv"
    path.write_bytes((HEADER + BUREAU).encode() + b"K1,\xff\xfe,B01,1,,,\n")
    result = runner.invoke(cli, ["departments", "import", str(path)])
    assert result.exit_code == 1 and "3行目" in result.output and "（FF）" in result.output
