"""DESIGN.md §2: one-way imports, Flask only in the web layer, SQL only in store."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "surveyapp"
FLASK_ALLOWED = ("web/", "cli.py", "__init__.py", "__main__.py")
SQL_ALLOWED = ("store/", "migrations.py")
SQL_METHODS = {"execute", "executemany", "executescript", "query"}
# Which of our modules each layer may import (besides itself).
ALLOWED_OURS = {
    "model": set(),
    "question_types": {"model"},
    "audiences": {"model"},
    # The audit's items (指摘/意見) with titles, in the one order everybody uses.
    "findings": {"model"},
    "evidence": {"model", "clock"},  # every rule of an answer's evidence (DESIGN.md §13)
    "scoring": {"model", "question_types", "audiences"},
    "lineage": {"model"},
    "questionnaires": {"model", "question_types", "audiences"},
    "store": {"model", "store"},
    "config": set(),
    # Stored UTC timestamps shown and exported in the TIMEZONE setting's zone.
    "clock": set(),
    "charts": {"model"},
    "exports": {"model", "findings", "clock"},
    # How every layer below the web says "no": web/errors.py and cli.py answer it.
    "refusals": {"model"},
    "serving": set(),  # process management for `surveyapp serve`: waitress, no Flask
    "memo": set(),  # memos of values built from immutable objects
    "mail": set(),  # smtplib, no database: the reminder service hands it mails
    # Write side: use-cases that change state, one transaction each. They may read
    # through the read models (lookups of rounds and definitions included).
    "services": {"store", "scoring", "lineage", "questionnaires", "charts", "exports",
                 "model", "services", "config", "refusals", "memo", "readmodels", "formats",
                 "question_types", "audiences", "findings", "clock", "evidence", "mail"},
    # Read side: page-shaped read models and the lookups both sides use; never a service.
    # They may read files through formats (the attachments folder on the storage page).
    "readmodels": {"store", "scoring", "lineage", "questionnaires", "charts", "exports",
                   "model", "readmodels", "config", "refusals", "memo", "question_types",
                   "audiences", "findings", "clock", "evidence", "formats"},
    # File formats read and written without the database.
    "formats": {"model", "scoring", "exports", "refusals", "formats", "question_types",
                "audiences", "findings", "clock", "evidence"},
    # The demo data set, loaded through the services.
    "demo": {"store", "scoring", "questionnaires", "model", "config", "refusals",
             "services", "readmodels", "demo", "question_types", "audiences", "clock",
             "evidence", "formats"},
}
# Question-type names are written only where a type is defined: its class, the model's
# docs, its WTForms builder and its macro (everything else asks the type's class).
TYPE_NAMES = {"single_choice", "multi_choice", "quiz", "number", "date", "text"}
TYPE_NAMES_ALLOWED = ("question_types.py", "model.py", "web/question_widgets.py")
# 'number', 'date' and 'text' are also ordinary words (an <input type="date">, a JSON
# Schema type, a definition's `text:` key); as those they may appear anywhere.
UNAMBIGUOUS_TYPE_NAMES = {"single_choice", "multi_choice", "quiz"}
TEMPLATES = PACKAGE.parent / "templates"


# The rooms of the use-cases, read models, formats and demo stay small enough to read.
MAX_MODULE_LINES = 450
SIZED_LAYERS = ("services", "readmodels", "formats", "demo")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def layer(path: Path) -> str:
    return relative(path).split("/")[0].removesuffix(".py")


def imported_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_flask_is_imported_only_by_the_web_layer(path):
    if relative(path).startswith(FLASK_ALLOWED) or relative(path) in FLASK_ALLOWED:
        return
    flask_imports = [n for n in imported_names(parsed(path))
                     if n.split(".")[0].startswith("flask")]
    assert flask_imports == [], f"{relative(path)} imports {flask_imports}"


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_no_module_imports_pyplot(path):
    assert not any(n.startswith("matplotlib.pyplot") for n in imported_names(parsed(path)))


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_imports_point_one_way(path):
    allowed = ALLOWED_OURS.get(layer(path))
    if allowed is None:
        return  # web, cli, migrations and the package root may import everything
    ours = {n.split(".")[1] for n in imported_names(parsed(path))
            if n.startswith("surveyapp.") and n.count(".") >= 1}
    forbidden = ours - allowed - {layer(path)}
    assert not forbidden, f"{relative(path)} may not import {sorted(forbidden)}"


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_sql_is_executed_only_in_store(path):
    if relative(path).startswith(SQL_ALLOWED):
        return
    calls = [node.func.attr for node in ast.walk(parsed(path))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in SQL_METHODS]
    assert calls == [], f"{relative(path)} runs SQL directly: {calls}"


def _is_type_access(node: ast.AST) -> bool:
    """`x.type`, `x["type"]` or `x.get("type")`: a question's type name."""
    if isinstance(node, ast.Attribute):
        return node.attr == "type"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "type"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and node.args[0].value == "type")


def _names_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node)
            if isinstance(n, ast.Constant) and n.value in TYPE_NAMES}


def type_name_uses(tree: ast.AST) -> list[str]:
    """Type names compared with a question's type, keyed in a table of several types,
    or (the unambiguous ones) written anywhere."""
    found = [n.value for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and n.value in UNAMBIGUOUS_TYPE_NAMES]
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_type_access(side) for side in sides):
                found += sorted(set().union(*(_names_in(side) for side in sides)))
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys & TYPE_NAMES) >= 2:
                found += sorted(keys & TYPE_NAMES)
    return found


@pytest.mark.parametrize("path", modules(), ids=relative)
def test_question_type_names_are_only_in_the_registry_model_and_widgets(path):
    if relative(path) in TYPE_NAMES_ALLOWED:
        return
    found = type_name_uses(parsed(path))
    assert found == [], (f"{relative(path)} names question types {found}: ask the type's "
                         "class in surveyapp/question_types.py instead")


def test_the_type_name_rule_catches_a_branch_on_a_type():
    tree = ast.parse('if q.type == "date": pass\nif raw["type"] in ("number", "text"): pass\n'
                     'LABELS = {"number": 1, "text": 2}\nx = "quiz"')
    assert sorted(type_name_uses(tree)) == sorted(
        ["date", "number", "text", "number", "text", "quiz"])


def test_the_type_name_rule_lets_ordinary_words_be():
    tree = ast.parse('field = {"type": "text", "text": q.text}\nkind = "date"')
    assert type_name_uses(tree) == []


TEMPLATE_TYPE_BRANCH = re.compile(r"\.type\s*(==|!=|in\b)"
                                  r"|['\"](single_choice|multi_choice|quiz)['\"]")


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")),
                         ids=lambda p: p.relative_to(TEMPLATES).as_posix())
def test_templates_do_not_branch_on_question_type_names(path):
    # The one macro per type in question_widgets.html is named after its type.
    found = [m.group(0) for m in TEMPLATE_TYPE_BRANCH.finditer(path.read_text("utf-8"))]
    assert found == [], f"{path.name} branches on a question type: {found}"


# Blueprint modules: one area's pages each. What two areas share lives in
# web/view_helpers.py; only the registry (web/views/__init__.py) names them all.
BLUEPRINTS = ("web/views/", "web/api.py")


def blueprint_module(name: str) -> bool:
    """`surveyapp.web.views.x`, `surveyapp.web.views.x.y` or `surveyapp.web.api`."""
    path = name.removeprefix("surveyapp.").replace(".", "/")
    return path.startswith("web/views/") or path in ("web/api", "web/views")


@pytest.mark.parametrize(
    "path", [p for p in modules() if relative(p).startswith(BLUEPRINTS)
             and relative(p) != "web/views/__init__.py"], ids=relative)
def test_views_do_not_import_other_views(path):
    module = relative(path).removesuffix(".py")
    others = {n for n in imported_names(parsed(path))
              if blueprint_module(n) and not n.replace(".", "/").endswith(module)}
    assert not others, f"{relative(path)} imports {sorted(others)}: use web/view_helpers.py"


@pytest.mark.parametrize("path", [p for p in modules() if layer(p) in SIZED_LAYERS],
                         ids=relative)
def test_use_cases_and_read_models_stay_under_450_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < MAX_MODULE_LINES, f"{relative(path)} has {lines} lines: split it"
