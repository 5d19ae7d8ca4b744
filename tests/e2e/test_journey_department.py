"""A 所属's security manager finishes the FY2026 self-check, its block for each of the
所属's information systems included: questions appear and disappear with the answers
(static/form.js), in the 所属's part and within a system's block, the draft autosaves,
survives a reload, and is submitted through the confirmation page; the 所属長 (`kacho`)
then approves it."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.e2e

AUTOSAVE_SECONDS = 1  # SURVEYAPP_AUTOSAVE_SECONDS of the e2e server (conftest.py)
# The self-check list names each round by its year and questionnaire title.
FY2026_ROW = "//tr[td[starts-with(normalize-space(), '令和8年度 情報セキュリティ自己点検')]]"
PROGRESS = "担当者を決め、年度内に手順書を改訂する予定。"
EVIDENCE = "2026-11-20 確認、所属共有フォルダに保管"
EVIDENCE_DAY = "2026-11-20"
# 医務薬事課 (the `dept` login's 所属) owns two systems in the demo register; the journey
# works in the first one's block. SPWD-01 is the per-system successor of PWD-05.
SYSTEM = "SYS-0026"
BLOCK = f"sys:{SYSTEM}:"
BLOCKS = ("SYS-0026", "SYS-0027")


def open_fy2026_form(web) -> None:
    web.go("/self-check")
    row = web.driver.find_element(By.XPATH, FY2026_ROW)
    row.find_element(By.LINK_TEXT, "回答を続ける").click()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))


def question(web, question_id: str, prefix: str = ""):
    return web.find(f"[id='question-{prefix}{question_id}']")


def checked(web, question_id: str, prefix: str = "") -> str | None:
    found = web.find_all(f"input[name='{prefix}q_{question_id}']:checked")
    return found[0].get_attribute("value") if found else None


def open_every_block(web) -> None:
    """Unfold each system's block (a complete one starts folded)."""
    for block in web.find_all("details.system-block"):
        if block.get_attribute("open") is None:
            web.click(block.find_element(By.TAG_NAME, "summary"))


def block_progress(web, code: str) -> tuple[int, int]:
    """(answered, needed) as the block's summary line shows them."""
    block = web.find(f"#system-{code}")
    return (int(block.find_element(By.CSS_SELECTOR, "[data-answered]").text),
            int(block.find_element(By.CSS_SELECTOR, "[data-needed]").text))


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
    """Pick the first choice of each shown choice question still unanswered, and write
    the evidence wherever a shown question requires it."""
    for block in web.find_all(".question"):
        if not block.is_displayed():
            continue
        radios = block.find_elements(By.CSS_SELECTOR, "input[type=radio]")
        if radios and not any(r.is_selected() for r in radios):
            web.click(radios[0])
        for evidence in block.find_elements(By.CSS_SELECTOR, ".evidence"):
            if evidence.find_elements(By.CSS_SELECTOR, ".required"):
                write_evidence(web, evidence)


def write_evidence(web, evidence) -> None:
    """A note and the record's date where the evidence is still empty (required
    evidence: a note or a location, and a date)."""
    note = evidence.find_element(By.CSS_SELECTOR, "input[type=text]")
    if not note.get_attribute("value"):
        web.click(note)
        note.send_keys(EVIDENCE)
    day = evidence.find_element(By.CSS_SELECTOR, "input[type=date]")
    if not day.get_attribute("value"):  # typed keys depend on the browser's date format
        web.driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
            "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            day, EVIDENCE_DAY)


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
    """Write the progress of each of last year's open improvement items (required). The
    demo opened none on FY2021 for 医務薬事課; a journey run before may have."""
    notes = web.find_all("#previous-year textarea")
    for note in notes:
        if not note.get_attribute("value"):
            web.click(note)
            note.send_keys(PROGRESS)
    return len(notes)


def approve_as_the_head_of_the_unit(web) -> None:
    """`kacho`, the 所属長, finds the submission waiting on the home page and approves it."""
    web.log_in("kacho")
    web.go("/")
    row = web.driver.find_element(By.XPATH, FY2026_ROW)
    row.find_element(By.LINK_TEXT, "確認して承認・差戻し").click()
    web.wait_for_element("#approval")
    assert "承認待ち" in web.find("#approval").text
    web.press("承認する")
    web.wait_for(lambda driver: "承認しました" in web.flash())
    approval = web.find("#approval").text
    assert "承認済み" in approval and "決裁時と一致しています" in approval


def test_department_answers_with_conditional_questions_autosaves_resumes_and_submits(
        web, axe_script):
    web.log_in("dept")
    open_fy2026_form(web)
    assert [b.get_attribute("id") for b in web.find_all("details.system-block")] == [
        f"system-{code}" for code in BLOCKS]
    assert not web.find_all("[id='question-PWD-05']"), "PWD-05 is asked per system now"
    open_every_block(web)
    assert_accessible(web, axe_script)
    web.choose("q_SYS-00", "no")
    assert not question(web, "REG-01").is_displayed()
    web.choose(f"{BLOCK}q_SPRC-00", "no")
    assert not question(web, "SPRC-01", BLOCK).is_displayed()
    web.shot("department-01-no-procurement")
    web.choose("q_SYS-00", "yes")
    assert question(web, "REG-01").is_displayed()
    web.choose(f"{BLOCK}q_SPRC-00", "yes")
    assert question(web, "SPRC-01", BLOCK).is_displayed()
    assert question(web, "SPRC-01", "sys:SYS-0027:").is_displayed() == (
        checked(web, "SPRC-00", "sys:SYS-0027:") == "yes"), "one block's answer shows another's"
    version = saved_version(web)
    # A different answer than the draft holds, or the click changes nothing to save.
    answer = "done" if checked(web, "SPWD-01", BLOCK) != "done" else "partial"
    web.choose(f"{BLOCK}q_SPWD-01", answer)
    assert "保存" in wait_for_autosave(web, version)
    assert status_in_sight(web), "the autosave state is out of sight"

    web.driver.refresh()
    web.wait_for(lambda driver: web.find_all("#self-check-form"))
    open_every_block(web)
    assert (checked(web, "SYS-00"), checked(web, "SPRC-00", BLOCK),
            checked(web, "SPWD-01", BLOCK)) == ("yes", "yes", answer)
    assert question(web, "SPRC-01", BLOCK).is_displayed()
    assert web.focus_hidden_under(".form-actions") == [], "focus hidden by the sticky buttons"
    web.shot("department-02-resumed")

    web.choose(f"{BLOCK}q_SPRC-00", "no")
    assert not question(web, "SPRC-01", BLOCK).is_displayed()
    assert not web.find(f"[id='section-{BLOCK}SPRC']").is_displayed(), "an empty section stays"
    web.choose("q_ROOM-00", "yes")
    assert web.find("#section-PHY").is_displayed()
    web.choose("q_ROOM-00", "no")
    assert not web.find("#section-PHY").is_displayed(), "an empty section stays on screen"
    web.driver.execute_script(HOLD_AUTOSAVE_ANSWERS, 1500)
    answer_every_open_question(web)
    for code in BLOCKS:
        answered, needed = block_progress(web, code)
        assert answered == needed > 0, f"{code}: {answered} of {needed} answered"
    reported = report_previous_year_progress(web)
    wait_for_an_autosave_on_its_way(web)
    web.press("提出")  # must not be taken for someone else's save (a false conflict)
    web.wait_for_heading("提出内容の確認")
    assert (PROGRESS in web.page_text()) == (reported > 0)
    assert_accessible(web, axe_script)
    system_table = web.driver.find_element(
        By.XPATH, f"//h2[span[@class='qid' and text()='{SYSTEM}']]/following::table[1]")
    sprc01 = system_table.find_element(
        By.XPATH, ".//tr[td/span[@class='qid' and text()='SPRC-01']]")
    assert "回答不要" in sprc01.text
    spwd01 = system_table.find_element(
        By.XPATH, ".//tr[td/span[@class='qid' and text()='SPWD-01']]")
    assert "回答不要" not in spwd01.text
    web.shot("department-03-confirm")
    web.press("この内容で提出する")
    web.wait_for(lambda driver: "自己点検を提出しました" in web.flash())
    assert "提出済み" in web.page_text()
    assert "承認待ち" in web.find("#approval").text
    web.shot("department-04-submitted")

    approve_as_the_head_of_the_unit(web)
    web.shot("department-05-approved")
