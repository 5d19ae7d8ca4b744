"""The central pages' wide tables on a 1280 px screen (issue 18: the results table hid
its last columns and broke headings mid-word, 職員回/答): the page never scrolls
sideways, a table wider than the page scrolls inside its own box and can be scrolled to
its last column, its first column (which 所属 a row is) stays in view meanwhile, and no
heading, button or menu entry breaks a word or is cut off."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

DESKTOP = (1280, 900)
CENTRAL_PAGES = ("/", "/results/rounds/3/", "/results/rounds/3/?view=findings",
                 "/results/rounds/3/questions", "/results/departments/0302/",
                 "/scorecards/rounds/3/overview", "/followups/", "/results/compare",
                 "/systems/", "/systems/rounds/3/")
# Each sideways-scrolling table box: how far it scrolls, and where its first header cell
# and its last header cell stand before and after scrolling it to the end.
SCROLL_TO_END = """
return Array.from(document.querySelectorAll('.table-scroll.sticky-first')).map(box => {
  const heads = box.querySelectorAll('thead th');
  const first = heads[0], last = heads[heads.length - 1];
  const before = first.getBoundingClientRect().left;
  box.scrollLeft = box.scrollWidth;
  const shown = box.getBoundingClientRect(), end = last.getBoundingClientRect();
  const result = {table: box.querySelector('table').className,
                  scrolls: box.scrollWidth > box.clientWidth,
                  firstMoved: Math.abs(first.getBoundingClientRect().left - before),
                  lastInView: end.right <= shown.right + 1 && end.left >= shown.left - 1};
  box.scrollLeft = 0;
  return result;
});
"""


@pytest.mark.parametrize("language", ["日本語", "English"])
def test_central_pages_fit_1280px_without_side_scrolling_or_broken_words(web, language):
    web.log_in("admin")
    if language == "English":
        web.switch_to_english()
    web.driver.set_window_size(*DESKTOP)
    misfits = web.misfits(CENTRAL_PAGES, f"desktop-misfit-{language}")
    assert not misfits, f"what a reader at 1280 px would trip over: {misfits}"


@pytest.mark.parametrize(("path", "wider_than_the_page"), [
    ("/results/rounds/3/", True), ("/results/rounds/3/?view=findings", True),
    ("/scorecards/rounds/3/overview", True), ("/scorecards/rounds/2/overview", False)])
def test_a_wide_table_scrolls_to_its_last_column_with_its_first_column_in_view(
        web, path, wider_than_the_page):
    web.log_in("admin")
    web.switch_to_english()  # the longer headings
    web.driver.set_window_size(*DESKTOP)
    web.go(path)
    boxes = web.driver.execute_script(SCROLL_TO_END)
    assert boxes, f"no table with a sticky first column on {path}"
    for box in boxes:
        assert box["lastInView"], f"{box['table']}: the last column cannot be reached"
        assert box["firstMoved"] < 1, f"{box['table']}: the first column scrolled away"
    # The results table in English is wider than the page: the scrolling is exercised;
    # FY2026's twenty sections make the heatmap scroll too, FY2021's eight fit.
    assert any(box["scrolls"] for box in boxes) == wider_than_the_page
