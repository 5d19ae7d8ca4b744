"""A staff member answers the anonymous awareness survey on a phone (375 px wide)
through the link the 所属 issued, without ever scrolling sideways."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.axe import assert_accessible
from tests.e2e.browsing import issue_staff_link, open_staff_page, staff_responses

pytestmark = pytest.mark.e2e

PHONE = (375, 812)


def answer_every_question(web) -> None:
    """First choice of each choice question, a line of text in each text box."""
    for block in web.find_all(".staff-question"):
        choices = block.find_elements(By.CSS_SELECTOR, "input[type=radio], input[type=checkbox]")
        if choices:
            web.click(choices[0])
        for box in block.find_elements(By.CSS_SELECTOR, "textarea, input[type=text]"):
            box.send_keys("特になし。")


def test_staff_member_answers_through_the_link_on_a_375px_phone_without_side_scrolling(
        web, axe_script):
    web.log_in("dept")
    open_staff_page(web)
    answered_before = staff_responses(web)
    link = issue_staff_link(web)
    web.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})  # someone else's phone

    web.driver.set_window_size(*PHONE)
    assert web.driver.execute_script("return window.innerWidth;") == PHONE[0]
    web.driver.get(link)
    web.wait_for_heading("情報セキュリティ浸透状況アンケート")
    assert web.horizontal_overflow() <= 0
    assert web.clipped_text() == [] and web.words_broken_across_lines() == []
    assert_accessible(web, axe_script)
    answer_every_question(web)
    web.shot("staff-01-phone-answered")
    web.press("回答を送信する")
    web.wait_for_heading("ご回答ありがとうございました")
    assert web.horizontal_overflow() <= 0
    assert_accessible(web, axe_script)
    web.shot("staff-02-phone-thanks")

    web.driver.set_window_size(1280, 900)
    web.log_in("dept")
    open_staff_page(web)
    assert staff_responses(web) == answered_before + 1
