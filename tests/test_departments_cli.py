"""`surveyapp departments import CSV`: the report, the exit status, nothing half-written."""

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli
from tests.conftest import FIXTURES

CSV_DIR = FIXTURES / "departments"


@pytest.fixture
def run(instance_path, monkeypatch):
    """run(*args) -> click Result, against a fresh instance."""
    # --instance sets this variable; registering it first makes monkeypatch restore it.
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--instance", str(instance_path), *args])
    assert invoke("init").exit_code == 0
    return invoke


def stored_codes(instance_path):
    database = store.connect(instance_path / "surveyapp.sqlite3")
    try:
        return [row["code"] for row in store.rows(database, "SELECT code FROM departments")]
    finally:
        database.close()


def test_import_reports_added_rows_with_line_numbers(run, instance_path):
    result = run("departments", "import", str(CSV_DIR / "valid_cp932.csv"))
    assert result.exit_code == 0, result.output
    assert "追加 added: 7" in result.output
    assert "+ 2行目 K0101 総務課" in result.output
    assert len(stored_codes(instance_path)) == 7


def test_second_import_reports_changed_fields_old_to_new(run, tmp_path):
    run("departments", "import", str(CSV_DIR / "valid_utf8.csv"))
    changed = tmp_path / "changed.csv"
    changed.write_text((CSV_DIR / "valid_utf8.csv").read_text().replace("総務課,B01,35",
                                                                        "総務課,B01,36"))
    result = run("departments", "import", str(changed))
    assert result.exit_code == 0
    assert "変更 changed: 1" in result.output and "headcount: 35 → 36" in result.output


def test_rejected_rows_exit_1_and_write_nothing(run, instance_path):
    result = run("departments", "import", str(CSV_DIR / "bad.csv"))
    assert result.exit_code == 1
    assert "! 4行目" in result.output and "何も書き込んでいません" in result.output
    assert stored_codes(instance_path) == []


def test_missing_file_exits_non_zero(run, tmp_path):
    assert run("departments", "import", str(tmp_path / "none.csv")).exit_code != 0
