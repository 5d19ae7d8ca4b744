"""A 所属's security manager finishes the FY2021 self-check: questions appear and
disappear with the answers (static/form.js), the draft autosaves, survives a reload,
and is submitted through the confirmation page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.e2e


def open_fy2021_form(web) -> None:
    web.go("/self-check")
    row = web.driver.find_element(By.XPATH, "//tr[td[contains(., '令和3年度 (2021)')]]")
    row.find_element(By.LINK_TEXT, "回答を続ける").click()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))


def question(web, question_id: str):
    return web.find(f"#question-{question_id}")


def checked(web, question_id: str) -> str | None:
    found = web.find_all(f"input[name='q_{question_id}']:checked")
    return found[0].get_attribute("value") if found else None


def wait_for_autosave(web) -> str:
    """The status line the autosave writes once the server stored the draft."""
    status = web.find("#autosave-status")
    web.wait_for(lambda driver: status.text.strip() != "")
    return status.text


def answer_every_open_question(web) -> None:
    """Pick the first choice of each shown choice question still unanswered."""
    for block in web.find_all(".question"):
        radios = block.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        if block.is_displayed() and radios and not any(r.is_selected() for r in radios):
            web.click(radios[0])


def test_department_answers_with_conditional_questions_autosaves_resumes_and_submits(web):
    web.log_in("dept")
    open_fy2021_form(web)
    web.choose("q_SYS-00", "no")
    assert not question(web, "PWD-05").is_displayed()
    web.shot("department-01-no-system")
    web.choose("q_SYS-00", "yes")
    assert question(web, "PWD-05").is_displayed()
    web.choose("q_PWD-05", "partial")
    assert "保存" in wait_for_autosave(web)

    web.driver.refresh()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))
    assert (checked(web, "SYS-00"), checked(web, "PWD-05")) == ("yes", "partial")
    assert question(web, "PWD-05").is_displayed()
    web.shot("department-02-resumed")

    web.choose("q_SYS-00", "no")
    assert not question(web, "PWD-05").is_displayed()
    web.choose("q_ROOM-00", "yes")
    assert web.find("#section-PHY").is_displayed()
    web.choose("q_ROOM-00", "no")
    assert not web.find("#section-PHY").is_displayed(), "an empty section stays on screen"
    answer_every_open_question(web)
    web.press("提出")
    web.wait_for_heading("提出内容の確認")
    pwd05 = web.driver.find_element(By.XPATH, "//tr[td/span[@class='qid' and text()='PWD-05']]")
    assert "回答不要" in pwd05.text
    web.shot("department-03-confirm")
    web.press("この内容で提出する")
    web.wait_for(lambda driver: "自己点検を提出しました" in web.flash())
    assert "提出済み" in web.page_text()
    web.shot("department-04-submitted")
