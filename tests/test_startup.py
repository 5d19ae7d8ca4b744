"""A quick start: `surveyapp --help`, `questionnaires check` and the server's first
answer import no module they do not use (matplotlib, openpyxl and the like cost a
second or more). Checked by what a fresh interpreter has imported, never by time;
bench/startup.py measures the time."""

from __future__ import annotations

import json
import subprocess  # nosec B404: our own interpreter with fixed arguments
import sys

import pytest

from tests.conftest import QUESTIONNAIRES, ROOT

DRAWING_AND_SPREADSHEETS = ("matplotlib", "openpyxl", "PIL", "fontTools")
READING_DEFINITIONS = ("jsonschema", "ruamel.yaml")
THE_APP = ("surveyapp.web", "flask_limiter", "flask_wtf", "flask_babel", "waitress", "ldap3")
REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)"


def modules_after(code: str, *args: str, env: dict | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (with `args`)."""
    program = f"import atexit\natexit.register(lambda: exec({REPORT!r}))\n{code}"
    result = subprocess.run([sys.executable, "-c", program, *args],  # nosec B603
                            capture_output=True, text=True, cwd=str(ROOT), env=env,
                            timeout=120)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def loaded(modules: set[str], families: tuple[str, ...]) -> list[str]:
    return sorted(name for name in modules
                  if any(name == family or name.startswith(family + ".")
                         for family in families))


CLI = "from surveyapp.cli import main; main()"


def test_help_builds_no_app_and_imports_nothing_heavy():
    modules = modules_after(CLI, "--help")
    assert "surveyapp.cli" in modules
    assert loaded(modules, DRAWING_AND_SPREADSHEETS + READING_DEFINITIONS + THE_APP) == []


@pytest.fixture
def published_instance(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from surveyapp.cli import cli

    instance = tmp_path / "instance"
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    published = runner.invoke(cli, ["questionnaires", "publish",
                                    str(QUESTIONNAIRES / "infosec-selfcheck" / "2020.1.yaml")])
    assert published.exit_code == 0, published.output
    return instance


def test_questionnaires_check_builds_no_app_and_draws_nothing(published_instance):
    modules = modules_after(CLI, "--instance", str(published_instance), "questionnaires",
                            "check", str(QUESTIONNAIRES / "infosec-selfcheck" / "2021.1.yaml"))
    assert "jsonschema" in modules  # it did check
    assert loaded(modules, DRAWING_AND_SPREADSHEETS + THE_APP) == []


def test_the_first_answer_of_the_app_imports_nothing_it_does_not_use(tmp_path):
    code = ("import sys; from surveyapp import create_app; "
            "app = create_app({'INSTANCE_PATH': sys.argv[1], 'SECRET_KEY': 'x'}); "
            "assert app.test_client().get('/login').status_code == 200")
    modules = modules_after(code, str(tmp_path))
    assert "surveyapp.web.views.scorecards" in modules  # the whole app was built
    assert loaded(modules, DRAWING_AND_SPREADSHEETS + READING_DEFINITIONS + ("ldap3",)) == []
