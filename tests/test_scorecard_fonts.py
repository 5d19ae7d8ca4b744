"""A scorecard batch's own small font (charts.subset_font): it holds the characters of
the cards, pages drawn with it read the same, a character it lacks still comes from
IPAexGothic, and drawing outside a batch is as before. Also the page's plain texts,
wrapped footer and radar key, and the radar PNG drawn over its kept static pixels."""

from __future__ import annotations

import logging
import re

import pytest
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import charts
from tests.test_charts import page, pdf_text

FULL_GLYPHS = 12000  # IPAexGothic has about 12,200


def font_files(pdf: bytes) -> int:
    return len(re.findall(rb"/FontFile2", pdf))


def test_a_batch_font_holds_the_characters_of_the_cards_and_hardly_more(tmp_path):
    path = charts.subset_font(charts.characters_of(page()), tmp_path)
    with TTFont(path) as font:
        cmap = font.getBestCmap()
        assert {ord(c) for c in "スコアカード総務課分野別得点73.9"} <= set(cmap)
        assert ord("人") not in cmap
        assert font["maxp"].numGlyphs < FULL_GLYPHS / 10
        assert font["name"].getDebugName(1) != charts.FONT_FAMILY


def test_the_same_characters_find_the_font_made_before(tmp_path):
    first = charts.subset_font({"総", "務"}, tmp_path)
    made = first.stat().st_mtime_ns
    assert charts.subset_font({"務", "総"}, tmp_path) == first
    assert first.stat().st_mtime_ns == made
    assert charts.subset_font({"人"}, tmp_path) != first


def test_a_page_drawn_with_the_batch_font_reads_the_same(tmp_path):
    card = page("スコアカード 総務課", footer="得点は0〜100。")
    with charts.batch_font(charts.subset_font(charts.characters_of(card), tmp_path)):
        pdf = charts.scorecard_pdf([card])
    text = pdf_text(pdf)
    assert "スコアカード 総務課" in text and "ポリシー浸透" in text and "得点は0〜100。" in text
    assert font_files(pdf) == 1 and b"IPAexGothic" in pdf


def test_a_character_the_batch_font_lacks_comes_from_ipaexgothic(tmp_path):
    with charts.batch_font(charts.subset_font(charts.characters_of(page()), tmp_path)):
        pdf = charts.scorecard_pdf([page("スコアカード　人事課")])  # 人, 事: not in it
    assert font_files(pdf) == 2  # the small font and, for the two, IPAexGothic


def test_pages_drawn_after_a_batch_are_as_before_it(tmp_path):
    before = charts.scorecard_pdf([page()])
    with charts.batch_font(charts.subset_font(charts.characters_of(page()), tmp_path)):
        assert charts.scorecard_pdf([page()]) != before
    assert charts.scorecard_pdf([page()]) == before


def test_a_long_footer_wraps_onto_the_page_whole():
    footer = "得点は0〜100（小数第1位で表示）。全庁平均は各所属の得点の単純平均。" * 2
    lines = [line for line in pdf_text(charts.scorecard_pdf([page(footer=footer)]))
             .splitlines() if len(line) > 10 and line in footer]
    assert len(lines) >= 2 and "".join(lines) == footer  # in lines that fit, none lost


def test_the_radar_key_and_labels_are_text_of_the_page():
    card = page(radar={"labels": ["POL", "PWD", "IDM"], "values": [70.0, None, 55.5],
                       "reference": [60.0, 65.0, 70.0], "value_label": "総務課",
                       "reference_label": "全庁平均"})
    text = pdf_text(charts.scorecard_pdf([card]))
    assert "全庁平均" in text and "総務課" in text
    assert all(label in text for label in ("POL", "PWD", "IDM", "20", "100"))


def radar(values, name="総務課") -> charts.ChartSpec:
    return charts.ChartSpec("radar", {"labels": ["POL", "PWD", "IDM"], "values": values,
                                      "reference": [60.0, 65.0, 70.0], "title": name,
                                      "value_label": name, "reference_label": "全庁平均"})


def test_a_radar_drawn_over_its_kept_pixels_equals_a_first_drawing():
    first = charts.draw(radar([70.0, 20.0, 55.5]))
    other = charts.draw(radar([10.0, 90.0, None], "人事課"))
    assert other != first
    assert charts.draw(radar([70.0, 20.0, 55.5])) == first


def test_a_batch_font_whose_file_is_gone_is_registered_anew(tmp_path, caplog):
    first = charts.subset_font(charts.characters_of(page()), tmp_path / "a")
    with charts.batch_font(first):
        charts.scorecard_pdf([page()])
    first.unlink()  # a build's temporary folder, removed
    again = charts.subset_font(charts.characters_of(page()), tmp_path / "b")
    with caplog.at_level(logging.INFO, logger="matplotlib.font_manager"):
        with charts.batch_font(again):
            pdf = charts.scorecard_pdf([page()])
        charts.draw(radar([70.0, 20.0, 55.5]))
    assert "ポリシー浸透" in pdf_text(pdf)
    assert not [r for r in caplog.records if "not found" in r.getMessage()
                or "Rebuilding" in r.getMessage()]


COMMON = st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                   st.characters(min_codepoint=0x3000, max_codepoint=0x30FF),
                   st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                   st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F),
                   st.sampled_from("\u3099\u309a\u0301"))  # combining marks


@pytest.fixture(scope="module")
def every_common_character(tmp_path_factory):
    """A batch font of every character `COMMON` draws (a superset of any text's own)."""
    return charts.subset_font((chr(code) for low, high in (
        (0x20, 0x7E), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xFF01, 0xFF9F))
        for code in range(low, high + 1)), tmp_path_factory.mktemp("fonts"))


def laid_out(text: str, font) -> list[tuple[bytes, float]]:
    """(outline of each glyph, its x) as matplotlib lays `text` out in `font`."""
    from matplotlib._text_helpers import layout

    font.set_size(8, 72)
    glyphs = []
    for item in layout(text, font):  # each item's glyph is loaded when it is given
        vertices, codes = item.ft_object.get_path()
        glyphs.append((vertices.tobytes() + codes.tobytes(), item.x))
    return glyphs


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(COMMON, min_size=1, max_size=12))
def test_the_batch_font_lays_text_out_as_ipaexgothic_does(every_common_character, text):
    """Why a batch font may leave out the layout tables: text drawn with it first and
    IPAexGothic after has the glyphs and places IPAexGothic alone gives it."""
    from matplotlib import font_manager

    drawn = charts.drawable(text)
    alone = font_manager.get_font([str(charts.font_path())])
    batch = font_manager.get_font([str(every_common_character), str(charts.font_path())])
    assert laid_out(drawn, batch) == laid_out(drawn, alone)
