"""A 所属's security manager on a 375 px phone, in Japanese or English: every page of
theirs fits the screen (wide tables scroll inside their own box), no text is cut off, and
no menu entry, button, heading cell or label breaks a word across two lines. What a person
sees is checked, not the shapes of boxes (a short word like "Help" may stand in a box
taller than wide and read perfectly well)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PHONE = (375, 812)
# Round 3 is the demo's open FY2026 round: the form with its system blocks.
DEPARTMENT_PAGES = ("/", "/self-check", "/rounds/3/self-check/0302", "/staff/3/0302",
                    "/scorecards/rounds/3/departments/0302/", "/results/", "/results/compare",
                    "/followups/items", "/exports/", "/self-check/history", "/systems/",
                    "/systems/SYS-0026")


@pytest.mark.parametrize("language", ["日本語", "English"])
def test_department_pages_fit_a_375px_phone_without_side_scrolling(web, language):
    web.log_in("dept")
    if language == "English":
        web.switch_to_english()
    web.driver.set_window_size(*PHONE)
    misfits = web.misfits(DEPARTMENT_PAGES, f"phone-misfit-{language}")
    assert not misfits, f"what a reader on a 375 px phone would trip over: {misfits}"


def test_the_checks_see_a_broken_word_and_cut_text_but_not_a_short_word_in_a_tall_box(web):
    """The rules can fail: a word forced across two lines and text cut off are found; a
    four-letter word in a box taller than wide (the old false alarm) is not."""
    web.go("/login")
    web.driver.execute_script("""
        // Styles set through the CSSOM: the CSP forbids style attributes.
        const add = (tag, text, style) => {
          const e = document.createElement(tag);
          e.textContent = text;
          Object.assign(e.style, style);
          document.querySelector('main').append(e);
        };
        add('button', 'Administration', {width: '3em', overflowWrap: 'anywhere'});
        add('p', 'この説明は最後まで読めません',
            {width: '4em', overflow: 'hidden', whiteSpace: 'nowrap'});
        add('button', 'Help', {width: '2.2em', height: '4em', padding: '0'});""")
    assert any(found.startswith("Administration") for found in web.words_broken_across_lines())
    assert any("この説明は" in found for found in web.clipped_text())
    assert not any("Help" in found for found in web.words_broken_across_lines())
