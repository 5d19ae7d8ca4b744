"""情報企画課 opens an improvement item for 医務薬事課 on an audit finding; the 所属's
security manager updates its progress (status, due date, notes) and sees it recorded."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.e2e

FINDING = "指摘6"
FINDING_LABEL = "指摘6 情報セキュリティの自己点検の実施状況"  # an item with its title
NOTE = "自己点検の結果を所属会議で共有し、不十分な項目の担当を決めた。"


def select_by_text_containing(select, *words: str) -> None:
    menu = Select(select)
    for option in menu.options:
        if all(word in option.text for word in words):
            menu.select_by_value(option.get_attribute("value"))
            return
    raise AssertionError(f"no option with {words}")


def admin_creates_an_item(web) -> str:
    """On the FY2021 round: the item then also appears in 医務薬事課's FY2026 form as
    前年度の改善状況, which the department journey reports on if it runs later."""
    web.log_in("admin")
    web.go("/followups/items/new")
    select_by_text_containing(web.find("#round"), "令和3年度", "情報セキュリティ自己点検")
    web.press("次へ")
    select_by_text_containing(web.wait_for_element("#department"), "（0302）")
    Select(web.find("#finding")).select_by_visible_text(FINDING_LABEL)
    web.press("次へ")
    web.click(web.wait_for_element("input[name=question_ids]"))
    web.find("#owner").send_keys("庶務係")
    web.press("作成する")
    web.wait_for(lambda driver: "改善計画を作成しました" in web.flash())
    return web.path


# A date field shows its parts in the order of the browser's language: 年/月/日 in a
# Japanese Chromium, mm/dd/yyyy in Debian's chromium without chromium-l10n.
DATE_KEYS = (lambda y, m, d: (y, Keys.ARROW_RIGHT, m, d), lambda y, m, d: (m, d, y))


def type_date(field, iso_date: str) -> None:
    """Type a date into a date field as a person does, in whichever order it shows."""
    year, month, day = iso_date.split("-")
    for keys in DATE_KEYS:
        field.clear()
        field.send_keys(*keys(year, month, day))
        if field.get_attribute("value") == iso_date:
            return
    raise AssertionError(f"could not type {iso_date} into the date field")


def test_department_user_updates_the_progress_of_an_improvement_item(web, axe_script):
    item_path = admin_creates_an_item(web)
    web.log_in("dept")
    web.go("/followups/items")
    web.click(web.link(f"#{item_path.rstrip('/').rsplit('/', 1)[-1]}"))
    web.wait_for_heading(FINDING)
    web.follow("編集する")
    web.wait_for_heading("の編集")
    assert not web.find_all("input[name=question_ids]"), "only 情報企画課 chooses questions"
    Select(web.find("#status")).select_by_visible_text("対応中")
    type_date(web.find("#due_on"), "2022-03-31")
    web.find("#notes").send_keys(NOTE)
    assert_accessible(web, axe_script)
    web.shot("followups-01-edit")
    web.press("保存する")

    web.wait_for(lambda driver: "改善計画を保存しました" in web.flash())
    details = web.find("dl.followup-item").text
    assert "対応中" in details and "2022年3月31日" in details and NOTE in details
    assert "dept" in details  # 最終更新 names who saved it
    history = [row.text for row in web.find_all("table.followup-history tbody tr")]
    assert any("dept" in row and "未着手" in row and "対応中" in row for row in history)
    web.shot("followups-02-saved")
