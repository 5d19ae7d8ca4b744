"""Real-browser journeys: Debian's Chromium driven by selenium against the real app.

One demo instance and one waitress server (a subprocess, as `surveyapp serve` runs it)
and one headless Chromium serve the whole session, so the journeys stay fast. Journeys
share the server's data: each one works on its own questionnaire, round or item, or on
state no other journey changes.

Without /usr/bin/chromium or /usr/bin/chromedriver the journeys are skipped with the
reason; under CI (CI=true) they fail instead, so a broken browser install is never
mistaken for a pass.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail under CI: a missing browser (or attack tool,
    tests/test_attack_tools.py) must never look like a pass."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI: {reason}", pytrace=False)
    print(f"\nskipping: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[Path, Path]:
    for binary in (CHROMIUM, CHROMEDRIVER):
        require(binary.exists(), f"{binary} is missing (apt-get install chromium chromium-driver)")
    return CHROMIUM, CHROMEDRIVER


# --- the server -----------------------------------------------------------------------


def load_demo_instance(instance: Path) -> None:
    """What `surveyapp init` and `surveyapp demo` do, without two more interpreters."""
    from surveyapp import create_app, migrations, store
    from surveyapp.demo import loader as demo

    app = create_app({"INSTANCE_PATH": str(instance)})
    database = store.connect(app.config["DATABASE"])
    try:
        migrations.apply(database)
        demo.load_demo(database, Path(app.config["QUESTIONNAIRES_DIR"]))
    finally:
        database.close()


# Fast autosave so the journey sees it, and room for one browser's many logins.
SERVER_SETTINGS = {"SURVEYAPP_AUTOSAVE_SECONDS": "1",
                   "SURVEYAPP_LOGIN_RATE_LIMIT": "200 per minute",
                   "SURVEYAPP_LOGIN_RATE_LIMIT_PER_ADDRESS": "400 per minute"}


@contextlib.contextmanager
def served_demo(tmp_path_factory, name: str) -> Iterator[str]:
    """A fresh instance with the demo, served by waitress (tests/serving.py): its URL."""
    from tests.serving import serve

    instance = tmp_path_factory.mktemp(name) / "instance"
    instance.mkdir()
    load_demo_instance(instance)
    with serve(instance, env=SERVER_SETTINGS) as server:
        yield server.url


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> Iterator[str]:
    """The demo server the journeys share."""
    with served_demo(tmp_path_factory, "e2e") as url:
        yield url


# --- the browser ----------------------------------------------------------------------


def chromium_options(binary: Path, profile: Path, downloads: Path):
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = str(binary)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", "--lang=ja", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "intl.accept_languages": "ja"})
    return options


@pytest.fixture(scope="session")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(browser_binaries, tmp_path_factory, downloads):
    """One headless Chromium for the session; no Selenium Manager lookups or downloads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.serving import die_with_parent

    chromium, chromedriver = browser_binaries
    profile = tmp_path_factory.mktemp("chromium-profile")
    # chromedriver ends with this process, however it ends, and takes Chromium along.
    service = Service(executable_path=str(chromedriver),
                      popen_kw={"preexec_fn": die_with_parent})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
        driver = webdriver.Chrome(service=service,
                                  options=chromium_options(chromium, profile, downloads))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def fresh_web(browser, url: str):
    """The shared browser on `url`, logged out, at desktop size, with a fresh cookie jar."""
    from tests.e2e.browsing import Web

    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.set_window_size(1280, 900)
    SCREENSHOTS.mkdir(exist_ok=True)
    return Web(browser, url, SCREENSHOTS)


@pytest.fixture
def web(browser, server_url):
    return fresh_web(browser, server_url)


@pytest.fixture(scope="session")
def axe_script(tmp_path_factory) -> str:
    from tests.e2e import axe

    require(shutil.which("npm") is not None, "npm is missing (needed to fetch axe-core)")
    try:
        return axe.load_source(HERE / ".cache")
    except axe.Unavailable as error:
        require(False, str(error))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed journey leaves a screenshot of where the browser stood: FAILED-<test>.png."""
    report = yield
    web = item.funcargs.get("web") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and web is not None:
        web.shot(f"FAILED-{item.name}")
    return report
