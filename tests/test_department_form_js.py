"""static/form.js decides relevance exactly like model expressions do (run under node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp.model import BoolOp, Compare, Not
from surveyapp.web.forms import relevance_json

FORM_JS = Path(__file__).resolve().parent.parent / "static" / "form.js"
NODE = shutil.which("node")
RUNNER = """
const vm = require("vm"), fs = require("fs");
const context = vm.createContext({});
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const cases = JSON.parse(fs.readFileSync(0, "utf8"));
const results = cases.map(([ast, answers]) =>
  context.surveyRelevance(ast, (ref) => answers[ref] || []));
process.stdout.write(JSON.stringify(results));
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

refs = st.sampled_from(["A", "B", "C"])
values = st.sampled_from(["yes", "no", "na"])
compares = st.builds(Compare, refs, st.sampled_from(["==", "!=", "in"]),
                     st.lists(values, min_size=1, max_size=2).map(tuple))
expressions = st.recursive(compares, lambda inner: st.one_of(
    st.builds(Not, inner),
    st.builds(BoolOp, st.sampled_from(["and", "or"]),
              st.lists(inner, min_size=2, max_size=3).map(tuple))), max_leaves=6)
answer_sets = st.dictionaries(refs, st.one_of(values, st.lists(values, max_size=2)
                                              .map(tuple)), max_size=3)


def run_js(cases: list) -> list[bool]:
    result = subprocess.run([NODE, "-e", RUNNER, str(FORM_JS)], input=json.dumps(cases),
                            capture_output=True, text=True, check=True, timeout=30)
    return json.loads(result.stdout)


def as_js_answers(answers: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else [v] for k, v in answers.items()}


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(expressions, answer_sets), min_size=20, max_size=40))
def test_form_js_relevance_matches_the_server(cases):
    payload = [[relevance_json(expr), as_js_answers(answers)] for expr, answers in cases]
    assert run_js(payload) == [expr.evaluate(answers) for expr, answers in cases]
