"""The web benchmarks still run: each script with tiny sizes (`--quick`), all at once.

They are measurements, not tests, so only their exit status and the printed ratio line
are checked, never the figures (the machine running the tests may be busy)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = ("submissions.py", "staff.py", "pages.py", "memory.py")


@pytest.fixture(scope="module")
def finished() -> dict[str, subprocess.CompletedProcess]:
    """Every script started together (each is mostly waiting on its own processes)."""
    running = {name: subprocess.Popen(  # nosec B603: our own scripts, fixed arguments
        [sys.executable, str(ROOT / "bench" / name), "--quick"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in SCRIPTS}
    done = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode,
                                                 stdout, stderr)
    return done


@pytest.mark.parametrize("name", SCRIPTS)
def test_bench_script_runs_and_prints_its_ratio(finished, name):
    result = finished[name]
    assert result.returncode == 0, result.stderr
    assert "ratio " in result.stdout, result.stdout
    assert re.search(r"\b0 errors", result.stdout), result.stdout
    assert not re.search(r"\b[1-9][0-9]* errors", result.stdout), result.stdout
