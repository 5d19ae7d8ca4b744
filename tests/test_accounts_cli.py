"""`surveyapp users create` and `surveyapp users token`."""

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli
from surveyapp.services import accounts
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def run(instance_path, monkeypatch):
    """run(*args, input=None) -> click Result, against a fresh instance."""
    # --instance sets this variable; registering it first makes monkeypatch restore it.
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--instance", str(instance_path), *args], input=input)
    assert invoke("init").exit_code == 0
    return invoke


@pytest.fixture
def database(instance_path):
    connection = store.connect(instance_path / "surveyapp.sqlite3")
    yield connection
    connection.close()


def test_create_reads_the_password_from_stdin(run, database):
    result = run("users", "create", "kikaku", "--role", "admin", "--password-stdin",
                 input=TEST_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert accounts.authenticate(database, "kikaku", TEST_PASSWORD) is not None


def test_create_prompts_twice_for_the_password(run, database):
    result = run("users", "create", "kansa", "--role", "auditor",
                 input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "もう一度" in result.output
    assert TEST_PASSWORD not in result.output
    assert accounts.authenticate(database, "kansa", TEST_PASSWORD) is not None


def test_create_refuses_a_short_password(run, database):
    result = run("users", "create", "kikaku", "--role", "admin", "--password-stdin",
                 input="short\n")
    assert result.exit_code == 1
    assert "12文字以上" in result.output
    assert user_store.get_user_by_login(database, "kikaku") is None


def test_create_refuses_a_department_user_without_department(run):
    result = run("users", "create", "soumu", "--role", "department", "--password-stdin",
                 input=TEST_PASSWORD + "\n")
    assert result.exit_code == 1
    assert "所属を指定" in result.output


def test_token_prints_a_working_token(run, database):
    run("users", "create", "kansa", "--role", "auditor", "--password-stdin",
        input=TEST_PASSWORD + "\n")
    result = run("users", "token", "kansa")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert accounts.user_for_token(database, token)["login"] == "kansa"


def test_token_for_an_unknown_user_fails(run):
    result = run("users", "token", "nobody")
    assert result.exit_code == 1
    assert "nobody" in result.output
