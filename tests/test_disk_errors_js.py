"""static/form.js after an autosave the server could not store (run under node with a
stand-in page): a 503 (disk full, read-only, busy) is tried again on the next tick, and
after any refused autosave, leaving the page still asks first, because the typing on
screen is not saved."""

from __future__ import annotations

import json
import shutil
import subprocess  # nosec B404: runs node on our own script
from pathlib import Path

import pytest

FORM_JS = Path(__file__).resolve().parent.parent / "static" / "form.js"
NODE = shutil.which("node")
# A page with just what form.js touches. fetch answers from the given statuses in turn;
# the script types once, runs the autosave timer `ticks` times, then tries to leave.
RUNNER = """
const vm = require("vm"), fs = require("fs");
const plan = JSON.parse(fs.readFileSync(0, "utf8"));
const listeners = {}, timers = [], status = {textContent: ""}, version = {value: "1"};
let fetches = 0;
const form = {
  getAttribute: (name) => ({"data-autosave-seconds": "20", "data-autosave-url": "/autosave",
                            "data-autosave-failed": "failed"})[name] || null,
  querySelectorAll: () => [],
  querySelector: () => ({value: "token"}),
  addEventListener: (type, fn) => { listeners[type] = fn; },
};
const byId = {"self-check-form": form, "autosave-status": status, "response-version": version};
const context = vm.createContext({
  document: {getElementById: (id) => byId[id] || null},
  window: {setInterval: (fn) => timers.push(fn),
           addEventListener: (type, fn) => { listeners[type] = fn; }},
  CSS: {escape: (text) => text},
  FormData: class { delete() {} },
  fetch: () => {
    const code = plan.statuses[Math.min(fetches++, plan.statuses.length - 1)];
    const body = code === 200 ? {version: 2, message: "saved"} : {error: "error " + code};
    return Promise.resolve({ok: code === 200, status: code,
      headers: {get: () => "application/json"}, json: () => Promise.resolve(body)});
  },
});
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
(async () => {
  listeners.input();
  for (let tick = 0; tick < plan.ticks; tick++) { timers[0](); await settle(); }
  let asked = false;
  listeners.beforeunload({preventDefault: () => { asked = true; }});
  process.stdout.write(JSON.stringify({fetches, asked, status: status.textContent}));
})();
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_page(statuses: list[int], ticks: int) -> dict:
    result = subprocess.run([NODE, "-e", RUNNER, str(FORM_JS)],  # nosec B603
                            input=json.dumps({"statuses": statuses, "ticks": ticks}),
                            capture_output=True, text=True, check=True, timeout=30)
    return json.loads(result.stdout)


def test_autosave_answered_503_is_tried_again_on_the_next_tick():
    page = run_page([503, 200], ticks=2)
    assert page["fetches"] == 2 and page["status"] == "saved"


def test_after_a_503_leaving_the_page_asks_first():
    page = run_page([503], ticks=1)
    assert page["asked"] and page["status"] == "error 503"


def test_after_a_conflict_autosave_stops_but_leaving_still_asks():
    page = run_page([409], ticks=3)
    assert page["fetches"] == 1 and page["asked"]


def test_after_a_successful_autosave_leaving_does_not_ask():
    page = run_page([200], ticks=1)
    assert page["fetches"] == 1 and not page["asked"]
