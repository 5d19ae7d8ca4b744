"""A stopped test run leaves nothing behind (issue 18; tests/conftest.py): SIGTERM to
pytest (a CI timeout, `kill`) ends the run as Ctrl-C does, so the session's fixtures
tear down and stop what they started (servers, Chromium); under xdist the controller
passes the signal on to its workers first.

Each test runs pytest, with tests/conftest.py as a plugin, on a small module whose
session fixture starts a child process in a session of its own (so only the fixture's
teardown can stop it, not a signal to the process group), stops the run with SIGTERM
while the module's test waits, and looks whether the child is gone."""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404: runs pytest itself with a fixed argument list
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 180  # a deadline on a loaded machine, not a timing
INNER = '''
import subprocess, sys, time
from pathlib import Path

import pytest

OUT = Path(__file__).parent


@pytest.fixture(scope="session")
def started():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)"],
                             start_new_session=True)
    (OUT / "child").write_text(str(child.pid))
    try:
        yield child
    finally:
        child.terminate()
        child.wait()
        (OUT / "torn-down").write_text("yes")


def test_waits(started):
    (OUT / "ready").write_text("yes")
    time.sleep(900)
'''


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "two workers"])
def test_sigterm_to_pytest_tears_down_what_the_session_started(tmp_path, workers):
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTEST_", "COV_"))}
    run = subprocess.Popen(  # nosec B603: this interpreter running pytest
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), *workers,
         str(tmp_path / "test_inner.py")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    child = None
    try:
        wait_for(lambda: (tmp_path / "ready").exists() or run.poll() is not None,
                 "the inner test")
        assert run.poll() is None, run.stdout.read().decode(errors="replace")
        child = int((tmp_path / "child").read_text())
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=WAIT_SECONDS)[0].decode(errors="replace")
        assert (tmp_path / "torn-down").exists(), output
        assert not alive(child), output
    finally:
        run.kill()
        run.wait()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)
