"""The README documents what the code offers: every CLI command and every setting."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from surveyapp import config
from surveyapp.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
THIRD_PARTY_GROUPS = {"limiter"}


def command_paths(group: click.Group, prefix: str = "surveyapp") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        if name in THIRD_PARTY_GROUPS:
            continue
        if isinstance(command, click.Group):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_readme_starts_with_the_two_commands():
    first_code_block = README.split("```")[1]
    assert "./run.sh" in first_code_block and "./test.sh" in first_code_block


@pytest.mark.parametrize("path", command_paths(cli))
def test_every_cli_command_is_in_the_readme(path):
    assert path in README


@pytest.mark.parametrize("name", [setting.name for setting in config.SETTINGS])
def test_every_setting_is_in_the_readme(name):
    assert f"`{name}`" in README


def test_command_paths_finds_nested_commands():
    assert "surveyapp init" in command_paths(cli)
