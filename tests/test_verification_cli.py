"""`surveyapp verification sample|export|import` (DESIGN.md §9) on the aggregation
fixture: the printed sample, reproducibility, the workpaper round trip, refusals."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from surveyapp import store
from surveyapp.cli import cli
from surveyapp.services import accounts
from surveyapp.store import verification as verification_store
from tests.conftest import TEST_PASSWORD
from tests.fixtures.aggregate import builder


@pytest.fixture
def instance(instance_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    assert CliRunner().invoke(cli, ["--instance", str(instance_path), "init"]).exit_code == 0
    database = store.connect(instance_path / "surveyapp.sqlite3")
    rounds = builder.build(database)
    accounts.create_user(database, "kansa", "auditor", TEST_PASSWORD)
    accounts.create_user(database, "u1", "department", TEST_PASSWORD, "U1")
    database.close()
    return instance_path, rounds[2021]


def run(instance, *args):
    return CliRunner().invoke(cli, ["--instance", str(instance[0]), *args])


def connect(instance):
    return store.connect(instance[0] / "surveyapp.sqlite3")


def test_sample_prints_one_line_per_department_with_its_reason(instance):
    result = run(instance, "verification", "sample", "--round", str(instance[1]), "--size",
                 "2", "--seed", "7")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "U2\tlowest_score"
    assert len(lines) == 2 and lines[1].endswith("\trandom")
    assert "seed: 7" in result.stderr


def test_sampling_again_with_the_seed_prints_the_same_and_adds_nothing(instance):
    args = ("verification", "sample", "--round", str(instance[1]), "--size", "2", "--seed",
            "s1")
    first, again = run(instance, *args), run(instance, *args)
    assert first.stdout == again.stdout
    assert "added: 0" in again.stderr
    database = connect(instance)
    assert len(verification_store.samples(database, instance[1])) == 2
    database.close()


def test_sample_refuses_an_unknown_round(instance):
    result = run(instance, "verification", "sample", "--round", "99", "--size", "2")
    assert result.exit_code == 1 and "調査回 99 が見つかりません" in result.output


def filled(path, verdicts):
    """Fill the exported workpaper at `path`: {(code, question id): (verdict, value)}."""
    book = load_workbook(path)
    sheet = book["検証"]
    for row in sheet.iter_rows(min_row=2):
        wanted = verdicts.get((row[0].value, row[1].value))
        if wanted:
            row[5].value, row[6].value = wanted
    book.save(path)


def test_the_workpaper_goes_out_and_back_in(instance, tmp_path):
    round_id = str(instance[1])
    run(instance, "verification", "sample", "--round", round_id, "--size", "3", "--seed", "x")
    out = tmp_path / "調書.xlsx"
    exported = run(instance, "verification", "export", "--round", round_id, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert load_workbook(io.BytesIO(out.read_bytes())).sheetnames[0] == "検証"
    filled(out, {("U1", "D-01"): ("discrepancy", "partial"), ("U4", "D-02"): ("confirmed", None)})
    dry = run(instance, "verification", "import", str(out), "--round", round_id, "--by", "kansa",
              "--dry-run")
    assert dry.exit_code == 0 and "U1\tD-01\t- -> discrepancy partial" in dry.stdout
    done = run(instance, "verification", "import", str(out), "--round", round_id, "--by", "kansa")
    assert done.exit_code == 0, done.output
    assert "2 verdict(s) recorded" in done.stdout
    database = connect(instance)
    assert len(verification_store.verdicts(database, instance[1])) == 2
    database.close()


def test_an_import_with_bad_cells_names_them_and_records_nothing(instance, tmp_path):
    round_id = str(instance[1])
    run(instance, "verification", "sample", "--round", round_id, "--size", "3", "--seed", "x")
    out = tmp_path / "workpaper.xlsx"
    run(instance, "verification", "export", "--round", round_id, "--out", str(out))
    filled(out, {("U1", "D-01"): ("discrepancy", None), ("U1", "D-00"): ("confirmed", None)})
    result = run(instance, "verification", "import", str(out), "--round", round_id, "--by",
                 "kansa")
    assert result.exit_code == 1
    assert "検証!G3: 相違のときは、確認した値を入力してください。" in result.stderr
    assert "何も記録していません" in result.stderr
    database = connect(instance)
    assert verification_store.verdicts(database, instance[1]) == []
    database.close()


@pytest.mark.parametrize("login", ["u1", "nobody"])
def test_import_is_for_admins_and_auditors_only(instance, tmp_path, login):
    round_id = str(instance[1])
    run(instance, "verification", "sample", "--round", round_id, "--size", "1", "--seed", "x")
    out = tmp_path / "workpaper.xlsx"
    run(instance, "verification", "export", "--round", round_id, "--out", str(out))
    result = run(instance, "verification", "import", str(out), "--round", round_id, "--by",
                 login)
    assert result.exit_code == 1


def test_the_exported_workpaper_is_in_the_audit_log(instance, tmp_path):
    round_id = str(instance[1])
    run(instance, "verification", "sample", "--round", round_id, "--size", "3", "--seed", "x")
    run(instance, "verification", "export", "--round", round_id,
        "--out", str(tmp_path / "workpaper.xlsx"))
    database = connect(instance)
    entries = list(database.query(
        "SELECT user_id, target_id FROM audit_log WHERE action = 'verification.export'"))
    database.close()
    assert entries == [{"user_id": None, "target_id": round_id}]
