"""The overview charts keep every text apart (issue 18: bar labels ran into each other
and the heatmap's column labels were drawn over each other). Each chart is drawn for
long Japanese names, and the window extents of all its texts are compared pairwise."""

from __future__ import annotations

import itertools

import pytest

from surveyapp import charts

LONG_BANDS = ["A 良好（対策が十分に行き届いている）", "B おおむね良好（一部に改善の余地あり）",
              "C 要改善（複数の分野で対策が不足している）", "D 重点フォロー（早急な対策が必要）",
              "未提出（区分に含めない）"]
LONG_SECTIONS = ["POL ポリシー浸透と職員の理解度の把握", "PWD パスワードの設定と管理",
                 "IDM ID管理と定期的な棚卸し", "SCI 自己点検の実施と改善",
                 "TRN 教育・研修（会計年度任用職員を含む）", "AUD 情報セキュリティ監査の実施状況",
                 "PHY 物理的セキュリティとサーバ室の入退室管理",
                 "INC インシデント対応と報告体制の整備"]
LONG_UNITS = [f"{n:04} 健康福祉部地域医療推進課医療人材確保対策室第{n}班" for n in range(1, 41)]
YEARS = [f"令和{n}年度 ({2018 + n})" for n in range(1, 11)]


def texts_of(draw) -> list[tuple[str, object]]:
    """(text, window extent) of every non-empty text the drawn figure shows: the Text
    artists whose draw ran (a tick label outside the axis range exists but is not
    drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    shown = []
    plain_draw = Text.draw

    def recording_draw(text, renderer):
        plain_draw(text, renderer)
        if text.get_visible() and text.get_text().strip():
            shown.append((text.get_text(), text.get_window_extent(renderer)))

    @charts.drawing
    def drawn():
        figure = draw()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Text, "draw", recording_draw)
            FigureCanvasAgg(figure).draw()
        return figure, shown

    figure, found = drawn()
    width, height = figure.bbox.width, figure.bbox.height
    outside = [text for text, box in found
               if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1]
    return found, outside


def drawn_apart(draw) -> None:
    """The rule: no text of the chart is cut off at its edge or drawn over another."""
    found, outside = texts_of(draw)
    assert outside == [], f"texts cut off at the edge: {outside}"
    assert overlapping(found) == []


def overlapping(found) -> list[tuple[str, str]]:
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(found, 2)
            if box_a.overlaps(box_b)
            and min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 0.5
            and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 0.5]


def test_band_chart_labels_never_overlap():
    drawn_apart(lambda: charts.bands_figure(LONG_BANDS, [3, 120, 45, 8, 2],
                                            title="令和3年度 評価区分別の所属数",
                                            axis_label="所属数"))


@pytest.mark.parametrize("rows", [LONG_UNITS[:3], LONG_UNITS])
def test_heatmap_labels_and_figures_never_overlap(rows):
    values = [[(r * 7 + c * 13) % 101 if (r + c) % 9 else None for c in range(8)]
              for r in range(len(rows))]
    drawn_apart(lambda: charts.heatmap_figure(rows, LONG_SECTIONS, values,
                                              title="令和3年度 所属別・分野別得点"))


def test_heatmap_figures_are_legible():
    values = [[50.0] * 8]
    found, _outside = texts_of(
        lambda: charts.heatmap_figure(LONG_UNITS[:1], LONG_SECTIONS, values))
    figures = [box for text, box in found if text == "50.0"]
    assert figures and min(box.height for box in figures) >= 9  # px at 100 dpi: 8 pt


@pytest.mark.parametrize("years", [YEARS[:2], YEARS])
def test_trend_chart_labels_never_overlap(years):
    series = [["全庁平均（総合）", [60.5 + i for i in range(len(years))]]]
    drawn_apart(lambda: charts.trend_figure(
        years, series, title="全庁平均の推移",
        thresholds=[["A", 90.0], ["B", 70.0], ["C", 50.0]]))


def test_the_overlap_check_finds_labels_drawn_over_each_other():
    def crowded():
        from matplotlib.figure import Figure

        figure = Figure(figsize=(2, 2))
        axes = figure.add_subplot()
        axes.set_xticks(range(8), LONG_SECTIONS)
        return figure

    found, outside = texts_of(crowded)
    assert overlapping(found) != [] and outside != []


def test_long_labels_are_wrapped_to_their_width():
    assert charts.wrap_label("物理的セキュリティとサーバ室", 10, 2) == "物理的セキ\nュリティ…"
    assert charts.wrap_label("B Fairly good, some work left", 12) == \
        "B Fairly\ngood, some\nwork left"
