"""A 所属's security manager opens the scorecard of the open FY2026 round, with its
information systems, sees the chart and prints it on one A4 page; another 所属's card
stays out of reach."""

from __future__ import annotations

import base64
import re

import pytest

pytestmark = pytest.mark.e2e

OWN_CARD = "/scorecards/rounds/3/departments/0302/"  # FY2026, the open round


def printed_pages(web) -> int:
    """Pages of the print-to-PDF output on A4, as the browser's print dialog makes it."""
    printed = web.driver.execute_cdp_cmd("Page.printToPDF", {
        "paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True})
    return len(re.findall(rb"/Type\s*/Page[^s]", base64.b64decode(printed["data"])))


def test_department_user_prints_its_scorecard_on_one_a4_page(web):
    web.log_in("dept")
    web.go("/scorecards/")
    web.follow("自所属のスコアカード")
    web.wait_for_heading("スコアカード: 医務薬事課")
    assert web.path == OWN_CARD
    systems = web.find("section[aria-labelledby=systems-heading]").text
    assert "SYS-0026" in systems and "SYS-0027" in systems
    chart = web.find(".scorecard-chart img")
    web.wait_for(lambda driver: driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", chart))
    web.shot("scorecards-01-card")
    assert printed_pages(web) == 1


def test_department_user_cannot_open_another_departments_scorecard(web):
    web.log_in("dept")
    web.go(OWN_CARD.replace("0302", "0101"))
    assert web.heading() == "ページが見つかりません"
    assert "総務課" not in web.page_text()
