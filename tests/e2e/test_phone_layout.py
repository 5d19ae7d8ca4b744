"""A 所属's security manager on a 375 px phone: every page of theirs fits the screen
(wide tables scroll inside their own box) and the menu keeps whole words."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PHONE = (375, 812)
DEPARTMENT_PAGES = ("/", "/self-check", "/rounds/2/self-check/0302", "/staff/2/0302",
                    "/scorecards/rounds/2/departments/0302/", "/results/", "/results/compare",
                    "/followups/items", "/exports/", "/self-check/history")


def test_department_pages_fit_a_375px_phone_without_side_scrolling(web):
    web.log_in("dept")
    web.driver.set_window_size(*PHONE)
    misfits = {}
    for path in DEPARTMENT_PAGES:
        web.go(path)
        overflow, squeezed = web.horizontal_overflow(), web.squeezed_menu_entries()
        if overflow > 0 or squeezed:
            misfits[web.path] = (overflow, squeezed)
            web.shot("phone-misfit" + path.replace("/", "-"))
    assert not misfits, f"pages wider than the phone (px) or with squeezed menus: {misfits}"
