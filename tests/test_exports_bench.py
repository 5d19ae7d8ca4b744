"""bench/export.py still runs (tiny size): it is a measurement, so only its figures are
checked to be printed, not their values."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_export_bench_runs_on_a_tiny_round_and_prints_its_figures():
    result = subprocess.run(  # nosec B603: our own script, fixed arguments
        [sys.executable, str(ROOT / "bench" / "export.py"), "--rows", "300"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "answers exported: 306" in result.stdout
    assert "baseline (openpyxl write-only alone)" in result.stdout
    assert "ratio figure/baseline" in result.stdout
    assert "ratio openpyxl/XlsxWriter" in result.stdout
