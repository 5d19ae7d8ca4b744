"""The pictures of the manual (docs/screenshots/): the pages issue 18 reworked, at
1280 and 375 px wide, in Japanese and English, taken from the running app as people see
them. Each picture is at most SCREEN_CAP px tall and stored with a reduced palette, so
the folder stays small. docs/screenshots/README.md says what each one shows.

A suite run takes them into a temporary folder (the pages are still visited, checked by
axe and pictured), so it leaves the tracked pictures alone; with RETAKE_SCREENSHOTS=1
(`scripts/screenshots.sh`) they replace the ones in docs/screenshots/, to be committed.

The pictures come from a demo instance of their own, served for this module only: the
journeys change the shared one (the department journey submits 医務薬事課's self-check),
so the pictures would otherwise depend on which tests ran before them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import fresh_web, served_demo

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RETAKE = "RETAKE_SCREENSHOTS"  # =1: write into DOCS (scripts/screenshots.sh)
WIDTHS = {"1280": (1280, 900), "375": (375, 812)}
SCREEN_CAP = 2400
PAGES = (  # (name, login, path)
    ("home-department", "dept", "/"),
    ("self-check-form", "dept", "/rounds/3/self-check/0302"),
    ("results-department", "dept", "/results/departments/0302/"),
    ("home-admin", "admin", "/"),
    ("results-round", "admin", "/results/rounds/3/"),
    ("overview", "admin", "/scorecards/rounds/3/overview"),
    ("followups", "admin", "/followups/"),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """docs/screenshots/ when asked to retake them, else a temporary folder."""
    if os.environ.get(RETAKE) == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def untouched_demo_url(tmp_path_factory) -> Iterator[str]:
    with served_demo(tmp_path_factory, "screenshots") as url:
        yield url


@pytest.fixture
def web(browser, untouched_demo_url):
    """The shared browser, logged out, on the untouched demo."""
    return fresh_web(browser, untouched_demo_url)


def picture(web, folder: Path, name: str, whole_page: bool = True) -> Path:
    """The page (or the window) as <folder>/<name>.png, palette-reduced."""
    from PIL import Image

    width, height = web.driver.get_window_size().values()
    page = web.driver.execute_script("return document.documentElement.scrollHeight;")
    inner = web.driver.execute_script("return window.innerHeight;")
    tall = min(page, SCREEN_CAP) if whole_page else inner
    path = folder / f"{name}.png"
    try:
        web.driver.set_window_size(width, tall + height - inner)
        web.driver.save_screenshot(str(path))
    finally:
        web.driver.set_window_size(width, height)
    Image.open(path).convert("RGB").quantize(colors=96).save(path, optimize=True)
    return path


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_screenshots_of_the_reworked_pages(web, axe_script, folder, width, lang):
    """Each page is also checked by axe (at 1280 px: the phone's layout is the same
    markup), so the pictures show pages without serious accessibility violations."""
    taken = []
    for login in ("dept", "admin"):
        web.log_in(login)
        if lang == "en":
            web.switch_to_english()
        web.driver.set_window_size(*WIDTHS[width])
        for name, who, path in PAGES:
            if who == login:
                web.go(path)
                if width == "1280":
                    assert_accessible(web, axe_script)
                taken.append(picture(web, folder, f"{name}-{width}-{lang}",
                                     whole_page=name != "self-check-form"))
        if login == "dept":
            web.go("/help")
            web.open_menus_around(web.link("年度比較" if lang == "ja" else "Year comparison"))
            taken.append(picture(web, folder, f"menu-{width}-{lang}", whole_page=False))
    assert all(path.stat().st_size < 600_000 for path in taken)
