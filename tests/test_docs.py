"""The documentation tells the truth about the code and holds together: README.md is a
short front door that starts with the two commands and links every page of docs/;
docs/operations.md lists every CLI command and every setting with its default;
docs/admin-guide.md names every action the audit log records; every relative link of
README.md and docs/*.md leads to an existing file (and heading)."""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import click
import pytest

from surveyapp import config
from surveyapp.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
ADMIN_GUIDE = (ROOT / "docs" / "admin-guide.md").read_text(encoding="utf-8")
README_MAX_BYTES = 25_000
THIRD_PARTY_GROUPS = {"limiter"}
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
SLUG_KEEPS = {"Nd", "Nl", "Pc"}


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


def without_code(markdown: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger): lower case; letters of every
    script, marks, decimal and letter numbers, `_`, `-` and spaces kept, every other
    character (punctuation such as （）「」・/, symbols) dropped; each space a `-`."""
    text = re.sub(r"[`*]", "", heading).lower()
    kept = (ch for ch in text if ch in " -" or unicodedata.category(ch) in SLUG_KEEPS
            or unicodedata.category(ch)[0] in "LM")
    return "".join(kept).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    text = without_code(path.read_text(encoding="utf-8"))
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def broken(source: Path, target: str) -> str | None:
    file_part, _, anchor = target.partition("#")
    destination = (source.parent / file_part).resolve() if file_part else source
    if not destination.exists():
        return f"{target}: no such file"
    headings = anchors(destination.read_text(encoding="utf-8")) if anchor else set()
    if anchor and destination.suffix == ".md" and anchor not in headings:
        return f"{target}: no heading with this anchor"
    return None


def audit_actions() -> set[str]:
    """Every action name handed to `audit.record` in the package (a literal, a
    conditional of literals, or a local variable assigned literals)."""
    actions = set()
    for path in (ROOT / "surveyapp").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef):
                actions |= actions_recorded_in(function)
    return actions


def actions_recorded_in(function: ast.FunctionDef) -> set[str]:
    found = set()
    for call in ast.walk(function):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "record" and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "audit" and len(call.args) >= 3):
            found |= string_constants(call.args[2], function)
    return found


def string_constants(node: ast.expr, function: ast.FunctionDef) -> set[str]:
    """The strings `node` can evaluate to: a literal, either branch of `a if c else b`,
    or whatever a local variable of that name is assigned."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return string_constants(node.body, function) | string_constants(node.orelse, function)
    if isinstance(node, ast.Name):
        assigned = [each.value for each in ast.walk(function) if isinstance(each, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == node.id for t in each.targets)]
        return {text for value in assigned for text in string_constants(value, function)}
    return set()


def settings_table() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", OPERATIONS, re.MULTILINE)
    return dict(rows)


def shown_default(value: object) -> str:
    if value == "":
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


def test_readme_starts_with_the_two_commands():
    first_code_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_code_block.splitlines()[1:]]
    assert [command for command in commands if command][:2] == ["./run.sh", "./test.sh"]


def test_readme_stays_a_short_front_door():
    assert len(README.encode("utf-8")) <= README_MAX_BYTES


def test_readme_links_every_page_of_docs():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README_PATH)}
    assert [page.name for page in DOCS if page.resolve() not in linked] == []


@pytest.mark.parametrize("path", [README_PATH, *DOCS], ids=lambda path: path.name)
def test_every_relative_link_resolves(path):
    problems = [broken(path, target) for target in relative_links(path)]
    assert [problem for problem in problems if problem] == []


@pytest.mark.parametrize("path", command_paths(cli))
def test_every_cli_command_is_in_the_operations_guide(path):
    assert path in OPERATIONS


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_in_the_settings_table_with_its_default(setting):
    assert settings_table().get(setting.name) == shown_default(setting.default)


@pytest.mark.parametrize("action", sorted(audit_actions()))
def test_every_audit_action_is_in_the_admin_guide(action):
    assert f"`{action}`" in ADMIN_GUIDE


def test_command_paths_finds_nested_commands():
    assert "surveyapp init" in command_paths(cli)


def test_audit_actions_finds_literal_conditional_and_assigned_names():
    actions = audit_actions()
    assert {"user.create", "staff_link.rotate", "rounds.open", "rounds.reopen"} <= actions
    assert "closed" not in actions


def test_github_slug_keeps_japanese_and_drops_punctuation():
    assert github_slug("Backups / バックアップ") == "backups--バックアップ"
    assert github_slug("Scorecards (スコアカード)") == "scorecards-スコアカード"
    assert github_slug("編集するとき（同時編集の保護）") == "編集するとき同時編集の保護"
    assert github_slug("Checking files: `surveyapp questionnaires check PATH...`") == (
        "checking-files-surveyapp-questionnaires-check-path")


def test_a_link_to_a_missing_heading_is_reported():
    assert broken(README_PATH, "docs/operations.md#no-such-heading") is not None
    assert broken(README_PATH, "docs/operations.md#settings") is None
