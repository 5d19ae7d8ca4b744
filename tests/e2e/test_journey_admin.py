"""情報企画課 publishes a new questionnaire through the web page and opens a round for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.e2e

# The rounds list names a round's questionnaire by its title.
ROUND_ROW = "//tr[td[normalize-space()='令和4年度 テレワーク点検']]"
DEFINITION = Path(__file__).resolve().parent / "fixtures" / "e2e-minicheck" / "2022.1.yaml"


def publish_definition(web) -> None:
    web.go("/questionnaires/publish")
    web.find("input[type=file]").send_keys(str(DEFINITION))
    web.shot("admin-01-publish-form")
    web.press("検証して公開する")
    web.wait_for_heading("公開しました")
    web.shot("admin-02-published")


def create_round(web) -> None:
    web.go("/rounds/new")
    Select(web.find("#version_id")).select_by_visible_text("令和4年度 テレワーク点検（版 2022.1）")
    year = web.find("#fiscal_year")
    year.clear()
    year.send_keys("2022")
    web.press("作成する")
    web.wait_for_heading("回答状況")
    assert "調査回を作成しました" in web.flash()


def open_round(web) -> None:
    web.go("/rounds/")
    row = web.driver.find_element(By.XPATH, ROUND_ROW)
    row.find_element(By.LINK_TEXT, "受付開始").click()
    web.wait_for_heading("受付の開始")
    web.press("受付を開始する")
    web.wait_for(lambda driver: "受付を開始しました" in web.flash())
    web.shot("admin-03-round-open")


def test_admin_publishes_a_questionnaire_and_opens_a_round_for_it(web):
    web.log_in("admin")
    publish_definition(web)
    web.follow("公開した版を表示する")
    web.wait_for_heading("令和4年度 テレワーク点検")
    assert "3 問（所属代表 2、職員 1）" in web.page_text()
    create_round(web)
    open_round(web)
    row = web.driver.find_element(By.XPATH, ROUND_ROW)
    assert "受付中" in row.text
    web.log_out()
    web.log_in("dept")
    web.go("/self-check")
    assert "令和4年度 テレワーク点検" in web.page_text()
