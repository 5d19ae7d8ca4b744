"""The web benchmarks still run: each script with tiny sizes (`--quick`), all at once.

They are measurements, not tests, so only their exit status, the printed ratio line and
the absence of failed requests are checked, never the figures (the machine running the
tests may be busy). The scripts serve with the product's default number of processes
(two: surveyapp/serving.py forks them); the staff script runs once more in one process."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.serving import die_with_parent

RUNS = {"submissions": ("submissions.py",), "staff": ("staff.py",), "pages": ("pages.py",),
        "memory": ("memory.py",), "staff, one process": ("staff.py", "--processes", "1")}


@pytest.fixture(scope="module")
def finished() -> dict[str, subprocess.CompletedProcess]:
    """Every run started together (each is mostly waiting on its own processes)."""
    running = {name: subprocess.Popen(  # nosec B603: our own scripts, fixed arguments
        [sys.executable, str(ROOT / "bench" / script), "--quick", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=die_with_parent)
        for name, (script, *options) in RUNS.items()}
    done = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=300)
            done[name] = subprocess.CompletedProcess(process.args, process.returncode,
                                                     stdout, stderr)
    finally:  # a stopped run stops them too (their servers follow: bench/harness.py)
        for process in running.values():
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    return done


@pytest.mark.parametrize("name", RUNS)
def test_bench_script_runs_and_prints_its_ratio(finished, name):
    result = finished[name]
    assert result.returncode == 0, result.stderr
    assert "ratio " in result.stdout, result.stdout
    assert re.search(r"\b0 errors", result.stdout), result.stdout
    assert not re.search(r"\b[1-9][0-9]* errors", result.stdout), result.stdout
    processes = 1 if name.endswith("one process") else 2
    assert f" {processes} server processes of " in result.stdout, result.stdout
