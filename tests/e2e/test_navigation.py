"""The main menu in a real browser: groups that open with the keyboard (a disclosure:
<details>/<summary>, no inline script), one menu button on a phone, one group open at a
time, Escape closing it, and no serious accessibility violation with a group open."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.e2e

PHONE = (375, 812)
OPEN_GROUP = "document.querySelector('.nav-group details[open] > summary')"


def open_group(web) -> str | None:
    return web.driver.execute_script(f"const s = {OPEN_GROUP}; return s && s.textContent;")


def tab_to(web, text: str, limit: int = 40) -> None:
    """Press TAB until the focused element's text is `text`."""
    body = web.find("body")
    for _ in range(limit):
        body.send_keys(Keys.TAB)
        focused = web.driver.switch_to.active_element
        if focused.text.strip() == text:
            return
        body = focused
    raise AssertionError(f"{text!r} was not reached with TAB")


def test_a_group_opens_with_the_keyboard_and_escape_closes_it(web, axe_script):
    web.log_in("admin")
    web.go("/help")
    tab_to(web, "結果")
    web.driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert open_group(web) == "結果"
    web.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert web.driver.switch_to.active_element.text == "結果"  # the group's first page
    assert_accessible(web, axe_script)
    web.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert open_group(web) is None
    assert web.driver.switch_to.active_element.text == "結果"  # back on the summary


def test_opening_a_group_closes_the_other(web):
    web.log_in("admin")
    web.go("/help")
    for label in ("結果", "管理"):
        web.click(web.driver.find_element("xpath", f"//summary[normalize-space()='{label}']"))
    assert open_group(web) == "管理"


def test_the_menu_is_one_button_on_a_phone_and_its_pages_are_reached_through_it(web):
    web.log_in("dept")
    web.driver.set_window_size(*PHONE)
    web.go("/help")
    header = web.find(".site-header").rect["height"]
    assert header < 120, f"the header takes {header} px of a phone's screen"
    assert not web.link("年度比較").is_displayed()
    web.follow("年度比較")  # opens メニュー and 結果, as a person would
    web.wait_for_heading("年度比較")


def test_every_group_of_a_department_user_holds_its_pages(web):
    web.log_in("dept")
    web.go("/help")
    groups = web.driver.execute_script(
        "return Array.from(document.querySelectorAll('.nav-group details > summary'))"
        ".map(s => s.textContent.trim());")
    assert groups == ["回答", "結果", "フォローアップ", "dept"]
