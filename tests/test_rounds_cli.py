"""`surveyapp rounds create/open/close/list`."""

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli


@pytest.fixture
def run(instance_path, monkeypatch):
    """run(*args) -> click Result, against a fresh instance with FY2021 published."""
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--instance", str(instance_path), *args])
    assert invoke("init").exit_code == 0
    database = store.connect(instance_path / "surveyapp.sqlite3")
    database["questionnaire_versions"].insert({
        "questionnaire_id": "infosec-selfcheck", "version": "2021.1", "fiscal_year": 2021,
        "title": "FY2021", "source": b"x", "sha256": "0" * 64, "canonical_json": "{}",
        "published_at": store.now()})
    database.close()
    return invoke


def create(run, *extra):
    return run("rounds", "create", "--fiscal-year", "2021", "--questionnaire",
               "infosec-selfcheck", "--version", "2021.1", *extra)


def test_create_prints_the_new_round_as_draft(run):
    result = create(run, "--opens", "2021-06-01", "--closes", "2021-07-31")
    assert result.exit_code == 0, result.output
    assert "round 1 created: FY2021 infosec-selfcheck 2021.1 (draft)" in result.output


def test_create_with_unpublished_version_exits_1_with_one_line(run):
    result = run("rounds", "create", "--fiscal-year", "2021", "--questionnaire",
                 "infosec-selfcheck", "--version", "9.9")
    assert result.exit_code == 1
    assert "公開されていません" in result.output


def test_create_refuses_closing_before_opening(run):
    result = create(run, "--opens", "2021-07-01", "--closes", "2021-06-01")
    assert result.exit_code == 1


def test_open_then_close_moves_through_the_states(run):
    create(run)
    assert "round 1: open" in run("rounds", "open", "1").output
    assert "round 1: closed" in run("rounds", "close", "1").output


def test_closing_a_draft_round_exits_1(run):
    create(run)
    assert run("rounds", "close", "1").exit_code == 1


def test_unknown_round_exits_1(run):
    result = run("rounds", "open", "42")
    assert result.exit_code == 1 and "見つかりません" in result.output


def test_list_shows_each_round_with_its_status(run):
    create(run, "--opens", "2021-06-01")
    result = run("rounds", "list")
    assert result.output.split("\n")[0].split("\t") == [
        "1", "FY2021", "infosec-selfcheck", "2021.1", "draft", "2021-06-01", "-"]


def test_create_requires_approval_unless_told_not_to(run):
    assert "(draft), approval required" in create(run).output
    other = run("rounds", "create", "--fiscal-year", "2022", "--questionnaire",
                "infosec-selfcheck", "--version", "2021.1", "--no-approval")
    assert other.exit_code == 0 and "(draft), no approval" in other.output


def test_create_with_attachments_says_so(run):
    result = create(run, "--attachments")
    assert result.exit_code == 0, result.output
    assert ("round 1 created: FY2021 infosec-selfcheck 2021.1 (draft), approval required, "
            "attachments") in result.output


def test_the_attachments_setting_is_turned_on_and_off(run):
    create(run)
    assert "round 1: attachments on" in run("rounds", "attachments", "1", "on").output
    assert "round 1: attachments off" in run("rounds", "attachments", "1", "off").output


def test_the_attachments_setting_of_an_unknown_round_exits_1(run):
    result = run("rounds", "attachments", "9", "on")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
