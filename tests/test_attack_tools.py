"""Real attack tools against the real server on loopback (slow; CI runs them).

sqlmap (level 2, risk 1) probes the login form, the department form and the results
page's sort and filter parameters; wapiti crawls the site logged in as an admin with
its XSS, SQL, CSRF and redirect modules. Neither may find anything, and the server may
log no traceback. The server runs the security world (the demo plus stored payloads)
from tests/serving.py, with the login and staff limits raised so the tools measure the
code rather than the rate limiter. Runtimes are bounded (subprocess timeouts, wapiti's
own scan and attack time limits, sqlmap pinned to SQLite).

Locally the test is skipped with a reason when a tool is missing; under CI=true it
never skips (.ci/run installs both from Debian).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess  # nosec B404: runs the attack tools with fixed argument lists
from pathlib import Path

import pytest

from tests import security_world as sw
from tests.e2e.conftest import require
from tests.serving import FAST_PASSWORD_HASHING, Browser, csrf_token, serve

pytestmark = pytest.mark.slow

UNLIMITED = "100000 per minute"
SERVER_ENV = {"SURVEYAPP_LOGIN_RATE_LIMIT": UNLIMITED,
              "SURVEYAPP_LOGIN_RATE_LIMIT_PER_ADDRESS": UNLIMITED,
              "SURVEYAPP_STAFF_RATE_LIMIT": UNLIMITED,
              "SURVEYAPP_LOGIN_LOCK_AFTER": "1000000"}
# Deadlines for a hung tool, not timings: the suite's other worker and a busy machine
# can make a scan take several times its idle minute (wapiti took 140 s at load 8).
SQLMAP_SECONDS = 300
WAPITI_SECONDS = 300


def require_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (apt-get install -y {name}; "
                              ".ci/run installs it under CI)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    world = sw.world_copy(tmp_path_factory, "attack-tools")
    with serve(world.instance, env=SERVER_ENV, prelude=FAST_PASSWORD_HASHING) as running:
        yield world, running
        assert "Traceback" not in running.log_text(), running.log_text()[-3000:]


def session_of(url: str, role: str) -> str:
    browser = Browser(url)
    browser.login(*sw.PASSWORDS[role])
    return next(cookie.value for cookie in browser.cookies if cookie.name == "session")


# --- sqlmap --------------------------------------------------------------------------------


def sqlmap(url: str, out: Path, *arguments: str) -> str:
    command = [require_tool("sqlmap"), "-u", url, "--batch", "--level=2", "--risk=1",
               "--dbms=SQLite", "--flush-session", "--disable-coloring", "--timeout=10",
               "--retries=1", f"--output-dir={out}", *arguments]
    finished = subprocess.run(command, capture_output=True, text=True,  # nosec B603
                              timeout=SQLMAP_SECONDS, check=False)
    return finished.stdout + finished.stderr


def error_codes(report: str) -> dict[int, int]:
    """{status: times} from sqlmap's "HTTP error codes detected during run" line."""
    return {int(code): int(times)
            for code, times in re.findall(r"(\d{3}) \([^)]*\) - (\d+) times", report)}


def assert_nothing_injectable(report: str, parameters: list[str]) -> None:
    """Every parameter was tested and found clean, and the CSRF token was accepted for
    most requests (a run refused with 400 throughout would test nothing; a few 400s
    are the form refusing an over-long value)."""
    assert "identified the following injection point" not in report, report[-3000:]
    for parameter in parameters:
        assert f"parameter '{parameter}' does not seem to be injectable" in report, \
            f"sqlmap did not finish testing {parameter}:\n{report[-3000:]}"
    codes = error_codes(report)
    assert codes.get(400, 0) <= max(10, sum(codes.values()) // 4), codes
    assert 500 not in codes, codes


def test_sqlmap_finds_no_injection_in_the_login_form(server, tmp_path):
    _world, running = server
    token = csrf_token(Browser(running.url).get("/login").text)
    report = sqlmap(f"{running.url}/login", tmp_path,
                    f"--data=login=admin&password=guess&csrf_token={token}",
                    "-p", "login,password", "--csrf-token=csrf_token", "--ignore-code=401",
                    f"--csrf-url={running.url}/login")
    assert_nothing_injectable(report, ["login", "password"])


def test_sqlmap_finds_no_injection_in_the_department_form(server, tmp_path):
    world, running = server
    session = session_of(running.url, "department")
    form = f"/rounds/{world.rounds['open']}/self-check/{sw.OWN}"
    report = sqlmap(f"{running.url}{form}", tmp_path,
                    "--data=version=1&q_INC-03=note&e_PWD-05=shelf&action=save&csrf_token=x",
                    "-p", "version,q_INC-03,e_PWD-05", f"--cookie=session={session}",
                    "--csrf-token=csrf_token", f"--csrf-url={running.url}{form}")
    assert_nothing_injectable(report, ["version", "q_INC-03", "e_PWD-05"])


def test_sqlmap_finds_no_injection_in_the_results_parameters(server, tmp_path):
    world, running = server
    session = session_of(running.url, "admin")
    round_id = world.rounds["open"]
    report = sqlmap(f"{running.url}/results/rounds/{round_id}/?sort=overall&dir=desc"
                    f"&bureau=01&view=sections", tmp_path,
                    "-p", "sort,dir,bureau,view", f"--cookie=session={session}",
                    "--threads=4")  # no CSRF token here, so requests may run in parallel
    assert_nothing_injectable(report, ["sort", "dir", "bureau", "view"])


# --- wapiti ----------------------------------------------------------------------------------


# wapiti 3.0.4 (Debian bookworm) compiles its exclusion patterns with the global flags
# at the end, which Python 3.11 refuses; without exclusions the scan would log itself
# out. This runs the installed wapiti with that one function corrected.
WAPITI_WITH_FIXED_EXCLUSIONS = """
import re, sys
from wapitiCore.net import crawler

def wildcard_translate(pattern):
    body = "".join(".*" if char == "*" else re.escape(char) for char in pattern)
    return re.compile("(?ms)" + body + r"\\Z")

crawler.wildcard_translate = wildcard_translate
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"""


def wapiti_command() -> list[str]:
    """The interpreter of the installed wapiti script, running the corrected entry."""
    script = Path(require_tool("wapiti"))
    interpreter = script.read_text(encoding="utf-8").splitlines()[0].removeprefix("#!").strip()
    return [interpreter, "-c", WAPITI_WITH_FIXED_EXCLUSIONS]


def cookie_file(path: Path, session: str) -> Path:
    path.write_text(json.dumps({"127.0.0.1": {"/": {"session": {
        "value": session, "expires": None, "secure": False, "port": None, "version": 0}}}}))
    return path


def test_wapiti_finds_no_xss_injection_csrf_or_redirect_on_the_logged_in_site(server,
                                                                              tmp_path):
    world, running = server
    report_path = tmp_path / "wapiti.json"
    command = [
        *wapiti_command(), "-u", f"{running.url}/", "--scope", "folder",
        "-m", "xss,permanentxss,sql,csrf,redirect", "-c",
        str(cookie_file(tmp_path / "cookies.json", session_of(running.url, "admin"))),
        "-x", f"{running.url}/logout", "-x", f"{running.url}/lang",
        "-s", f"{running.url}/results/rounds/{world.rounds['open']}/",
        "-s", f"{running.url}/responses/{world.responses['other']}",
        "--flush-session", "--store-session", str(tmp_path / "session"),
        "--store-config", str(tmp_path / "config"), "-d", "2", "--max-links-per-page", "20",
        "--max-files-per-dir", "20", "--max-scan-time", "35", "--max-attack-time", "8",
        "-t", "10", "-f", "json", "-o", str(report_path), "--no-bugreport", "-v", "2"]
    finished = subprocess.run(command, capture_output=True, text=True,  # nosec B603
                              timeout=WAPITI_SECONDS, check=False)
    assert report_path.exists(), finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["infos"]["target"].startswith(running.url)
    # Logged in: it crawled pages only an admin reaches (its log names each URL).
    assert f"GET {running.url}/admin/users" in finished.stdout, finished.stdout[-3000:]
    findings = {name: found for name, found in report["vulnerabilities"].items() if found}
    assert findings == {}, json.dumps(findings, ensure_ascii=False)[:3000]
