"""`surveyapp questionnaires check / publish / list`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from surveyapp.cli import cli

DEFINITIONS = Path(__file__).parent / "fixtures" / "definitions"
VALID = DEFINITIONS / "valid"
SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires" / "infosec-selfcheck"


@pytest.fixture
def run(instance_path, monkeypatch):
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--instance", str(instance_path), *map(str, args)])
    assert invoke("init").exit_code == 0
    return invoke


def test_check_accepts_the_shipped_files(run):
    result = run("questionnaires", "check", *sorted(SHIPPED.glob("*.yaml")))
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_check_prints_every_error_with_path_and_line_and_exits_1(run):
    path = DEFINITIONS / "unknown_type_and_key.yaml"
    result = run("questionnaires", "check", path)
    assert result.exit_code == 1
    assert f"{path}:57: " in result.output and f"{path}:58: " in result.output
    assert "Traceback" not in result.output


def test_check_shows_warnings_but_exits_0(run):
    result = run("questionnaires", "check", VALID / "2021.1.yaml")
    assert result.exit_code == 0
    assert "警告 (warning)" in result.output and "1 warning(s)" in result.output


def test_check_reports_a_missing_file_as_a_problem(run, tmp_path):
    result = run("questionnaires", "check", tmp_path / "missing.yaml")
    assert result.exit_code == 1 and "missing.yaml:1: ファイルを読めません" in result.output


def test_publish_then_list_shows_the_sha256(run):
    path = VALID / "2020.1.yaml"
    published = run("questionnaires", "publish", path)
    assert published.exit_code == 0, published.output
    assert "published" in published.output
    listing = run("questionnaires", "list")
    assert hashlib.sha256(path.read_bytes()).hexdigest() in listing.output
    assert "demo-check\t2020.1\tFY2020" in listing.output


def test_publish_same_file_twice_reports_unchanged(run):
    run("questionnaires", "publish", VALID / "2020.1.yaml")
    again = run("questionnaires", "publish", VALID / "2020.1.yaml")
    assert again.exit_code == 0 and "unchanged" in again.output


def test_publish_resolves_the_previous_version_from_the_same_folder(run):
    result = run("questionnaires", "publish", VALID / "2021.1.yaml")
    assert result.exit_code == 0, result.output


def test_publish_of_an_invalid_file_exits_1_without_traceback(run):
    result = run("questionnaires", "publish", DEFINITIONS / "python_tag.yaml")
    assert result.exit_code == 1
    assert "python_tag.yaml:6: タグ" in result.output
    assert "not published" in result.output and "Traceback" not in result.output


def test_publish_of_changed_bytes_under_same_version_exits_1_with_one_line(run, tmp_path):
    run("questionnaires", "publish", VALID / "2020.1.yaml")
    edited = tmp_path / "2020.1.yaml"
    edited.write_bytes((VALID / "2020.1.yaml").read_bytes() + b"# edited\n")
    result = run("questionnaires", "publish", edited)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "公開済みの版は変更できません" in result.output


# --- check against the instance's published versions -------------------------------


def test_check_finds_the_previous_version_among_the_published_ones(run, tmp_path):
    """2021.1 alone in a folder: its previous version 2020.1 is only in the database."""
    assert run("questionnaires", "publish", VALID / "2020.1.yaml").exit_code == 0
    alone = tmp_path / "alone" / "2021.1.yaml"
    alone.parent.mkdir()
    alone.write_bytes((VALID / "2021.1.yaml").read_bytes())
    result = run("questionnaires", "check", alone)
    assert result.exit_code == 0, result.output
    assert "comparing with the published versions" in result.output


def test_check_without_the_previous_version_anywhere_is_an_error(run, tmp_path):
    alone = tmp_path / "alone" / "2021.1.yaml"
    alone.parent.mkdir()
    alone.write_bytes((VALID / "2021.1.yaml").read_bytes())
    result = run("questionnaires", "check", alone)
    assert result.exit_code == 1 and "公開済みの版にも同じフォルダにもありません" in result.output


def test_check_reports_a_published_version_changed_since_with_its_line(run, tmp_path):
    assert run("questionnaires", "publish", VALID / "2020.1.yaml").exit_code == 0
    edited = tmp_path / "2020.1.yaml"
    edited.write_bytes((VALID / "2020.1.yaml").read_bytes() + b"# edited\n")
    result = run("questionnaires", "check", edited)
    assert result.exit_code == 1
    line = next(number for number, text in enumerate(edited.read_text().splitlines(), 1)
                if text.strip().startswith("version:"))
    assert f"{edited}:{line}: " in result.output and "別の内容で公開済み" in result.output


def test_check_of_the_published_file_itself_passes(run):
    assert run("questionnaires", "publish", VALID / "2020.1.yaml").exit_code == 0
    assert run("questionnaires", "check", VALID / "2020.1.yaml").exit_code == 0


def test_check_with_a_named_instance_without_database_exits_1_with_one_line(tmp_path,
                                                                           monkeypatch):
    monkeypatch.delenv("SURVEYAPP_INSTANCE", raising=False)
    result = CliRunner().invoke(cli, ["--instance", str(tmp_path / "empty"), "questionnaires",
                                      "check", str(VALID / "2020.1.yaml")])
    assert result.exit_code == 1 and "surveyapp init" in result.output
    assert "Traceback" not in result.output
