"""A 所属's security manager on a 375 px phone, in Japanese or English: every page of
theirs fits the screen (wide tables scroll inside their own box) and the menu keeps whole
words."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PHONE = (375, 812)
DEPARTMENT_PAGES = ("/", "/self-check", "/rounds/2/self-check/0302", "/staff/2/0302",
                    "/scorecards/rounds/2/departments/0302/", "/results/", "/results/compare",
                    "/followups/items", "/exports/", "/self-check/history")


@pytest.mark.parametrize("language", ["日本語", "English"])
def test_department_pages_fit_a_375px_phone_without_side_scrolling(web, language):
    web.log_in("dept")
    if language == "English":
        web.switch_to_english()
    web.driver.set_window_size(*PHONE)
    misfits = {}
    for path in DEPARTMENT_PAGES:
        web.go(path)
        overflow, squeezed = web.horizontal_overflow(), web.squeezed_menu_entries()
        if overflow > 0 or squeezed:
            misfits[web.path] = (overflow, squeezed)
            web.shot(f"phone-misfit-{language}" + path.replace("/", "-"))
    assert not misfits, f"pages wider than the phone (px) or with squeezed menus: {misfits}"
