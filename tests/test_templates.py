"""Markup that every list page repeats is written once, in templates/macros/: the data
table, the pager, the filter form and the score cell. The rules below fail when a page
writes one of them by hand again; the macros themselves are checked by rendering them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from surveyapp.model import Band, Text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
MACROS = TEMPLATES / "macros"
# A cell that only shows a score: <td class="num">{{ x|score }}</td>.
HAND_SCORE_CELL = re.compile(r"<td[^>]*>\s*\{\{[^}]*\|score\s*\}\}\s*</td>")


def page_templates() -> list[tuple[str, str]]:
    """(name, text) of every template outside templates/macros/."""
    return [(path.relative_to(TEMPLATES).as_posix(), path.read_text(encoding="utf-8"))
            for path in sorted(TEMPLATES.rglob("*.html")) if MACROS not in path.parents]


def written_by_hand(pattern: str) -> list[str]:
    return [name for name, text in page_templates() if re.search(pattern, text)]


# --- one home per piece of markup -----------------------------------------------------------


def test_tables_with_column_headers_come_from_the_table_macro():
    assert written_by_hand(r"<thead") == []


def test_score_cells_come_from_the_score_macros():
    assert written_by_hand(r"band-letter|score-none|n-count") == []
    assert [name for name, text in page_templates() if HAND_SCORE_CELL.search(text)] == []


def test_filter_forms_come_from_the_filter_macros():
    assert written_by_hand(r'class="filter"') == []


def test_pagers_come_from_the_pager_macro():
    assert written_by_hand(r'rel="(next|prev)"|class="pager"') == []


# --- what the macros render -----------------------------------------------------------------


@pytest.fixture
def render(app):
    """render(template source) inside a request, as a page would."""
    with app.test_request_context("/"):
        yield lambda source, **context: app.jinja_env.from_string(source).render(**context)


SCORES = '{% from "macros/scores.html" import score_cell, band_badge %}'
TABLES = '{% from "macros/tables.html" import data_table %}'


def test_a_score_cell_shows_one_decimal_its_band_letter_and_n(render):
    html = render(SCORES + "{{ score_cell(61.26, 'B', 12) }}")
    assert html == ('<td class="num band-B">61.3 <span class="band-letter">B</span>'
                    ' <span class="n-count">(n=12)</span></td>')


def test_a_score_cell_without_a_value_shows_a_dash(render):
    assert render(SCORES + "{{ score_cell(none) }}") == '<td class="num score-none">—</td>'


def test_a_band_badge_carries_its_colour_and_its_name(render):
    band = Band("C", 50, Text("要改善", "Needs improvement"))
    assert render(SCORES + "{{ band_badge(band) }}", band=band) == (
        '<span class="band-chip band-C">C 要改善</span>')
    assert render(SCORES + "{{ band_badge(none) }}") == '<span class="muted">得点なし</span>'


def test_an_empty_table_shows_its_empty_state_instead(render):
    source = TABLES + "{% call data_table(['A'], rows=[], empty=empty) %}<tr></tr>{% endcall %}"
    assert render(source, empty="Nothing yet.") == "<p>Nothing yet.</p>"
    page = render(source, empty=("Nothing yet.", "Create one."))
    assert page == '<p class="empty-state">Nothing yet.</p>\n<p>Create one.</p>'


def test_a_sticky_tables_box_takes_the_keyboard_focus_and_is_named(render):
    html = render(TABLES + "{% call data_table(['Name'], sticky=true) %}<tr></tr>{% endcall %}")
    assert re.search(r'<div class="table-scroll sticky-first"\s+tabindex="0" role="region" '
                     r'aria-label="横にスクロールできる表">', html)
    captioned = render(TABLES + "{% call data_table(['Name'], caption='得点', sticky=true) %}"
                                "<tr></tr>{% endcall %}")
    assert 'aria-label="得点"' in captioned


def test_a_plain_tables_box_is_not_a_focus_stop(render):
    html = render(TABLES + "{% call data_table(['Name']) %}<tr></tr>{% endcall %}")
    assert '<div class="table-scroll">' in html and "tabindex" not in html


def test_table_header_cells_have_scope_and_their_classes(render):
    html = render(TABLES + "{% call data_table(['Name', ('Score', 'num'), none], 'results',"
                           " caption='Caption', sticky=true) %}<tr></tr>{% endcall %}")
    assert '<div class="table-scroll sticky-first"' in html
    assert '<table class="data results">' in html and "<caption>Caption</caption>" in html
    assert re.findall(r"<th[^>]*>[^<]*</th>", html) == [
        '<th scope="col">Name</th>', '<th scope="col" class="num">Score</th>']
    assert "<tbody><tr></tr></tbody>" in html


def test_a_pager_links_the_neighbouring_pages_with_the_filters(render):
    source = ('{% from "macros/pager.html" import pager %}'
              "{{ pager('audit.index', page, more, 'Newer', 'Older', {'action': 'x'}) }}")
    assert render(source, page=1, more=False) == ""
    html = render(source, page=2, more=True)
    assert 'rel="prev" href="/admin/audit?page=1&amp;action=x"' in html
    assert 'rel="next" href="/admin/audit?page=3&amp;action=x"' in html
