"""A staff member who uses no mouse fills in and sends the survey with TAB, SPACE and
ENTER only, and can always see where the focus is."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.e2e.browsing import issue_staff_link, open_staff_page

pytestmark = pytest.mark.e2e

MAX_TABS = 300

FOCUSED = """
const e = document.activeElement, style = getComputedStyle(e);
const group = e.name ? document.getElementsByName(e.name) : [];
return {tag: e.tagName.toLowerCase(), type: e.type || '', text: e.textContent.trim(),
        answered: Array.from(group).some(g => g.checked),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
"""


def press(web, *keys) -> None:
    ActionChains(web.driver).send_keys(*keys).perform()


def fill_in_with_keys(web) -> list[dict]:
    """TAB through the page: SPACE on each unanswered choice, a few words in each text
    box, ENTER on the send button. Returns every element that had the focus."""
    visited = []
    for _ in range(MAX_TABS):
        press(web, Keys.TAB)
        focused = web.driver.execute_script(FOCUSED)
        visited.append(focused)
        if focused["type"] in ("radio", "checkbox") and not focused["answered"]:
            press(web, Keys.SPACE)
        elif focused["tag"] == "textarea":
            press(web, "特になし")
        elif focused["tag"] == "button" and focused["text"] == "回答を送信する":
            press(web, Keys.ENTER)
            return visited
    raise AssertionError(f"no send button within {MAX_TABS} tabs")


def test_staff_member_answers_and_sends_the_survey_with_the_keyboard_only(web):
    web.log_in("dept")
    open_staff_page(web)
    link = issue_staff_link(web)
    web.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    web.driver.get(link)
    web.wait_for_heading("情報セキュリティ浸透状況アンケート")

    visited = fill_in_with_keys(web)
    web.wait_for_heading("ご回答ありがとうございました")
    without_outline = [v for v in visited if not v["outline"]]
    assert not without_outline, f"focus not visible on {without_outline}"
    kinds = {v["type"] for v in visited}
    assert {"radio", "textarea", "submit"} <= kinds
