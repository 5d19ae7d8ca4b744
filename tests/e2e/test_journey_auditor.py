"""An auditor compares FY2021 with the open FY2026 round, reads its results, and takes
a 所属's FY2026 scorecard PDF and the FY2026 scores and system scores workbooks away as
files; and reads the demo's finalised audit verification of FY2021 (sample, figures with
their chart, a 所属's verdicts)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.axe import assert_accessible

pytestmark = pytest.mark.e2e

DOWNLOAD_SECONDS = 30
DEMO_UNITS = 40
FY2026_ROW = "//tr[td[contains(., '令和8年度 (2026)')] and td[contains(., '情報セキュリティ')]]"


def select_round(web, select_id: str, fiscal_year: str) -> None:
    """Choose the self-check round of that year (another journey may add rounds)."""
    menu = Select(web.find(f"#{select_id}"))
    for option in menu.options:
        if fiscal_year in option.text and "情報セキュリティ自己点検" in option.text:
            menu.select_by_value(option.get_attribute("value"))
            return
    raise AssertionError(f"no {fiscal_year} round in #{select_id}")


def downloaded(folder: Path, before: set[Path], suffix: str) -> Path:
    """The file a click just saved: new in `folder`, complete (no .crdownload)."""
    deadline = time.monotonic() + DOWNLOAD_SECONDS
    while time.monotonic() < deadline:
        new = [p for p in folder.iterdir() if p not in before and p.suffix == suffix]
        if new and not list(folder.glob("*.crdownload")):
            return new[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file in {folder} after {DOWNLOAD_SECONDS}s")


def compare_fy2021_with_fy2026(web, axe_script) -> None:
    web.go("/results/compare")
    select_round(web, "from", "令和3年度")
    select_round(web, "to", "令和8年度")
    web.press("比較する")
    web.wait_for(lambda driver: "from=" in driver.current_url)
    assert "令和3年度 情報セキュリティ自己点検・浸透状況アンケート（版 2021.1） → 令和8年度 情報" \
        in web.page_text()
    units = web.find_all("table.compare-table tbody tr td:first-child")
    assert len([cell for cell in units if cell.text.strip()]) >= DEMO_UNITS - 2
    assert_accessible(web, axe_script)
    web.shot("auditor-01-compare")


def read_fy2026_results(web, axe_script) -> None:
    """The auditor lands on the latest round; FY2026 is that or one link away."""
    web.go("/results/")
    web.wait_for_heading("結果:")
    if "令和8年度 情報セキュリティ自己点検" not in web.heading():
        web.follow("令和8年度 (2026) 2026.1")
        web.wait_for_heading("令和8年度 情報セキュリティ自己点検")
    assert len(web.find_all("main table tbody tr")) >= DEMO_UNITS
    assert_accessible(web, axe_script)
    web.shot("auditor-02-results")


def download_scorecard_pdf(web, axe_script, downloads: Path) -> Path:
    web.go("/scorecards/")
    row = web.driver.find_element(
        By.XPATH, FY2026_ROW)
    row.find_element(By.LINK_TEXT, "所属の一覧").click()
    web.wait_for_heading("スコアカード:")
    card = web.driver.find_element(By.XPATH, "//tr[td[contains(., '医務薬事課')]]")
    card.find_element(By.LINK_TEXT, "表示").click()
    web.wait_for_heading("医務薬事課")
    assert_accessible(web, axe_script)
    web.shot("auditor-03-scorecard")
    before = set(downloads.iterdir())
    web.click(web.link("PDF をダウンロード"))
    return downloaded(downloads, before, ".pdf")


def download_workbook(web, downloads: Path, label: str) -> Path:
    """One of the FY2026 round's XLSX files on the exports page."""
    web.go("/exports/")
    row = web.driver.find_element(
        By.XPATH, FY2026_ROW)
    before = set(downloads.iterdir())
    web.click(row.find_element(By.LINK_TEXT, label))
    return downloaded(downloads, before, ".xlsx")


def first_sheet(workbook_file: Path) -> tuple[str, tuple, list[tuple]]:
    """(title, header, rows) of a downloaded workbook's first sheet."""
    assert zipfile.is_zipfile(workbook_file)
    sheet = load_workbook(workbook_file).worksheets[0]
    header, *rows = sheet.iter_rows(values_only=True)
    return sheet.title, header, rows


def test_auditor_compares_years_and_downloads_a_scorecard_pdf_and_an_xlsx_export(
        web, axe_script, downloads):
    web.log_in("auditor")
    compare_fy2021_with_fy2026(web, axe_script)
    read_fy2026_results(web, axe_script)

    pdf = download_scorecard_pdf(web, axe_script, downloads)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "0302" in pdf.name

    title, header, units = first_sheet(download_workbook(web, downloads, "得点（XLSX）"))
    assert title == "得点"
    assert len(units) == DEMO_UNITS
    unit = next(row for row in units if row[header.index("所属コード")] == "0302")
    assert isinstance(unit[header.index("総合得点")], float)

    _title, header, systems = first_sheet(
        download_workbook(web, downloads, "システム別得点（XLSX）"))
    owned = {row[header.index("システムコード")] for row in systems
             if row[header.index("所管所属コード")] == "0302"}
    assert owned == {"SYS-0026", "SYS-0027"}

def test_auditor_reads_the_fy2021_verification_sample_figures_and_verdicts(web, axe_script):
    web.log_in("auditor")
    web.go("/verification/")
    row = web.driver.find_element(
        By.XPATH, "//tr[td[starts-with(normalize-space(), '令和3年度 情報セキュリティ自己点検')]]")
    row.find_element(By.LINK_TEXT, "計画と標本").click()
    web.wait_for_heading("監査検証の計画と標本")
    assert len(web.find_all("main table tbody tr th[scope=row] a")) == 6
    assert_accessible(web, axe_script)
    web.shot("auditor-04-verification-plan")

    web.click(web.find("p.actions").find_element(By.LINK_TEXT, "検証結果"))
    web.wait_for_heading("監査検証の結果")
    chart = web.find("figure img")
    web.wait_for(lambda driver: driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0;", chart))
    assert "信頼度" in web.page_text()
    assert_accessible(web, axe_script)
    web.shot("auditor-05-verification-results")

    web.click(web.find("main table tbody tr th[scope=row] a"))
    web.wait_for_heading("実地検証:")
    assert "相違" in web.page_text() or "確認済み" in web.page_text()
    assert_accessible(web, axe_script)
    web.shot("auditor-06-verification-department")
