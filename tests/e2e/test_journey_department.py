"""A 所属's security manager finishes the FY2021 self-check: questions appear and
disappear with the answers (static/form.js), the draft autosaves, survives a reload,
and is submitted through the confirmation page."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.e2e

AUTOSAVE_SECONDS = 1  # SURVEYAPP_AUTOSAVE_SECONDS of the e2e server (conftest.py)
# The self-check list names each round by its year and questionnaire title.
FY2021_ROW = "//tr[td[starts-with(normalize-space(), '令和3年度 情報セキュリティ自己点検')]]"
PROGRESS = "担当者を決め、年度内に手順書を改訂する予定。"


def open_fy2021_form(web) -> None:
    web.go("/self-check")
    row = web.driver.find_element(By.XPATH, FY2021_ROW)
    row.find_element(By.LINK_TEXT, "回答を続ける").click()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))


def question(web, question_id: str):
    return web.find(f"#question-{question_id}")


def checked(web, question_id: str) -> str | None:
    found = web.find_all(f"input[name='q_{question_id}']:checked")
    return found[0].get_attribute("value") if found else None


def saved_version(web) -> int:
    """The draft's version the page holds; each autosave the server takes raises it."""
    return int(web.find("#response-version").get_attribute("value"))


def wait_for_autosave(web, version_before_change: int) -> str:
    """Wait until an autosave after the last change went through and no later one is
    due (the version stays put for two autosave periods); the status line it wrote."""
    web.wait_for(lambda driver: saved_version(web) > version_before_change)
    settled = None
    while settled != saved_version(web):
        settled = saved_version(web)
        time.sleep(AUTOSAVE_SECONDS * 2)
    return web.find("#autosave-status").text


def status_in_sight(web) -> bool:
    """The autosave state sits in the sticky bar, inside the window, wherever the page
    is scrolled to."""
    return web.driver.execute_script(
        "const s = document.getElementById('autosave-status'),"
        "      r = s.getBoundingClientRect();"
        "return s.closest('.form-actions') !== null && r.height > 0 &&"
        "       r.top >= 0 && r.bottom <= window.innerHeight;")


def answer_every_open_question(web) -> None:
    """Pick the first choice of each shown choice question still unanswered."""
    for block in web.find_all(".question"):
        radios = block.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        if block.is_displayed() and radios and not any(r.is_selected() for r in radios):
            web.click(radios[0])


# Autosave answers reach the page `arguments[0]` ms late (the server has saved already),
# so the journey can press 提出 while one is on its way, as a person sometimes will.
HOLD_AUTOSAVE_ANSWERS = """
const realFetch = window.fetch, delay = arguments[0];
window.autosavesOnTheirWay = 0;
window.fetch = function () {
  window.autosavesOnTheirWay += 1;
  return realFetch.apply(this, arguments)
    .then(answer => new Promise(done => setTimeout(() => done(answer), delay)))
    .finally(() => { window.autosavesOnTheirWay -= 1; });
};"""


def wait_for_an_autosave_on_its_way(web) -> None:
    web.wait_for(lambda driver: driver.execute_script("return window.autosavesOnTheirWay > 0;"))


def report_previous_year_progress(web) -> int:
    """Write the progress of each of last year's open improvement items (required)."""
    notes = web.find_all("#previous-year textarea")
    for note in notes:
        if not note.get_attribute("value"):
            web.click(note)
            note.send_keys(PROGRESS)
    return len(notes)


def test_department_answers_with_conditional_questions_autosaves_resumes_and_submits(
        web, axe_script):
    web.log_in("dept")
    open_fy2021_form(web)
    assert_accessible(web, axe_script)
    web.choose("q_SYS-00", "no")
    assert not question(web, "PWD-05").is_displayed()
    web.shot("department-01-no-system")
    web.choose("q_SYS-00", "yes")
    assert question(web, "PWD-05").is_displayed()
    version = saved_version(web)
    # A different answer than the draft holds, or the click changes nothing to save.
    answer = "done" if checked(web, "PWD-05") != "done" else "partial"
    web.choose("q_PWD-05", answer)
    assert "保存" in wait_for_autosave(web, version)
    assert status_in_sight(web), "the autosave state is out of sight"

    web.driver.refresh()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))
    assert (checked(web, "SYS-00"), checked(web, "PWD-05")) == ("yes", answer)
    assert question(web, "PWD-05").is_displayed()
    assert web.focus_hidden_under(".form-actions") == [], "focus hidden by the sticky buttons"
    web.shot("department-02-resumed")

    web.choose("q_SYS-00", "no")
    assert not question(web, "PWD-05").is_displayed()
    web.choose("q_ROOM-00", "yes")
    assert web.find("#section-PHY").is_displayed()
    web.choose("q_ROOM-00", "no")
    assert not web.find("#section-PHY").is_displayed(), "an empty section stays on screen"
    web.driver.execute_script(HOLD_AUTOSAVE_ANSWERS, 1500)
    answer_every_open_question(web)
    assert report_previous_year_progress(web) >= 1  # the demo's FY2020 item for 0302
    wait_for_an_autosave_on_its_way(web)
    web.press("提出")  # must not be taken for someone else's save (a false conflict)
    web.wait_for_heading("提出内容の確認")
    assert PROGRESS in web.page_text()
    assert_accessible(web, axe_script)
    pwd05 = web.driver.find_element(By.XPATH, "//tr[td/span[@class='qid' and text()='PWD-05']]")
    assert "回答不要" in pwd05.text
    web.shot("department-03-confirm")
    web.press("この内容で提出する")
    web.wait_for(lambda driver: "自己点検を提出しました" in web.flash())
    assert "提出済み" in web.page_text()
    web.shot("department-04-submitted")
