"""surveyapp.charts: PNG/PDF bytes from plain data, literal text, content-addressed cache."""

from __future__ import annotations

import re
import struct
import sys
import zlib

import matplotlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import charts
from surveyapp.charts import ChartCache, ChartSpec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MATHTEXT_NAMES = ["R&D $5", r"$\frac{1}{2}$ 課", "$x^2$ 室", "a\\b $", r"\alpha", "$$", "$_$"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    return struct.unpack(">II", data[16:24])


def bands(labels=("A 良好", "B おおむね良好", "C 要改善"), counts=(3, 5, 1), **extra) -> ChartSpec:
    return ChartSpec("bands", {"labels": list(labels), "counts": list(counts), **extra})


# --- PDF text, read the way a viewer's search does ----------------------------------------


def pdf_streams(pdf: bytes) -> list[bytes]:
    return [inflated(raw) for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)]


def inflated(raw: bytes) -> bytes:
    """A stream's content: inflated when compressed. A compressed stream whose last
    byte is 0x0D loses it to the `\r?` of `pdf_streams` (once a flaky empty text); that
    byte falls in the checksum, so what inflates is the whole content."""
    try:
        return zlib.decompressobj().decompress(raw)
    except zlib.error:
        return raw


def to_unicode_map(streams: list[bytes]) -> dict[int, str]:
    mapping = {}
    for stream in streams:
        for start, end, targets in re.findall(
                rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*\[([^\]]*)\]", stream):
            codes = range(int(start, 16), int(end, 16) + 1)
            values = re.findall(rb"<([0-9a-fA-F]+)>", targets)
            mapping.update({code: bytes.fromhex(v.decode()).decode("utf-16-be")
                            for code, v in zip(codes, values, strict=False)})
    return mapping


def literal_strings(text_object: bytes) -> list[bytes]:
    """The (…) strings of a BT … ET block, with PDF escapes undone."""
    strings, current, depth, i = [], bytearray(), 0, 0
    while i < len(text_object):
        byte = text_object[i:i + 1]
        if depth and byte == b"\\":
            following = text_object[i + 1:i + 4]
            octal = re.match(rb"[0-7]{1,3}", following)
            if octal:
                current.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t"}
            current += escapes.get(following[:1], following[:1])
            i += 2
            continue
        if byte == b"(":
            if depth:
                current += byte
            depth += 1
        elif byte == b")":
            depth -= 1
            if depth:
                current += byte
            else:
                strings.append(bytes(current))
                current = bytearray()
        elif depth:
            current += byte
        i += 1
    return strings


def pdf_text(pdf: bytes) -> str:
    streams = pdf_streams(pdf)
    mapping = to_unicode_map(streams)
    lines = []
    for stream in streams:
        # BT and ET are operators: whitespace on both sides, never inside a string.
        for block in re.findall(rb"(?:^|\s)BT\s(.*?)\sET(?=\s|$)", stream, re.S):
            codes = b"".join(literal_strings(block))
            lines.append("".join(mapping.get(int.from_bytes(codes[i:i + 2], "big"), "?")
                                 for i in range(0, len(codes) - 1, 2)))
    return "\n".join(lines)


def page(title="スコアカード　総務課", **extra) -> dict:
    return {"title": title, "subtitle": "令和3年度 (2021)", "facts": [["総合得点", "73.9"]],
            "radar": {"labels": ["POL", "PWD", "IDM"], "values": [70.0, None, 55.5],
                      "reference": [60.0, 65.0, 70.0]},
            "tables": [{"heading": "分野別得点", "columns": ["分野", "得点"],
                        "rows": [["ポリシー浸透", "70.0"]], "widths": [0.4, 0.2]}],
            **extra}


# --- drawing -----------------------------------------------------------------------------


def test_radar_chart_is_a_png_of_plausible_size():
    data = charts.radar_png(["ポリシー浸透", "パスワード", "ID管理", "研修"], [70, 80.5, None, 40],
                            [65, 70, 71, 60], value_label="総務課", reference_label="全庁平均")
    width, height = png_size(data)
    assert 300 <= width <= 1200 and 300 <= height <= 1200
    assert 5_000 < len(data) < 500_000


def test_band_heatmap_and_trend_charts_are_pngs():
    drawn = [
        charts.draw(bands()),
        charts.heatmap_png(["0101 総務課", "0102 人事課"], ["POL", "PWD"],
                           [[50.0, None], [90.0, 10.0]]),
        charts.trend_png(["令和2年度 (2020)", "令和3年度 (2021)"], [("全庁平均", [60.0, 67.4])],
                         thresholds=[("B", 70.0)]),
    ]
    assert all(data.startswith(PNG_SIGNATURE) and len(data) > 3_000 for data in drawn)


def test_heatmap_grows_with_the_number_of_departments():
    few = png_size(charts.heatmap_png(["a"], ["POL"], [[1.0]]))
    many = png_size(charts.heatmap_png([str(i) for i in range(40)], ["POL"], [[1.0]] * 40,
                                       annotate_up_to=0))
    assert many[1] > few[1] * 2


@pytest.mark.parametrize("name", MATHTEXT_NAMES)
def test_mathtext_in_names_is_drawn_literally(name):
    # Malformed mathtext such as "$_$" raises under mathtext; literal text cannot fail.
    data = charts.radar_png([name, "PWD", "IDM"], [10, 20, 30], [30, 20, 10], title=name,
                            value_label=name, reference_label="全庁平均")
    assert data.startswith(PNG_SIGNATURE)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("$\\^_{}%&#~総務課 aZ0🔒\t\u0000"), min_size=1,
               max_size=12))
def test_any_department_name_draws_without_error_or_warning(name):
    data = charts.bands_png([name, f"{name}2"], [1, 2], title=name, axis_label=name)
    assert data.startswith(PNG_SIGNATURE)


def test_characters_without_a_glyph_become_the_substitute_mark():
    assert charts.drawable("課🔒\t$") == f"課{charts.MISSING_GLYPH} $"


def test_drawing_leaves_global_matplotlib_settings_alone():
    before = dict(matplotlib.rcParams)
    charts.draw(bands())
    assert dict(matplotlib.rcParams) == before
    assert "matplotlib_fontja" not in sys.modules  # its import would call japanize()


def test_the_bundled_japanese_font_file_is_used():
    assert charts.font_path().name == "ipaexg.ttf" and charts.font_path().is_file()


def test_equal_data_draws_equal_bytes():
    assert charts.draw(bands()) == charts.draw(bands())


# --- PDF ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scorecard_pdf() -> bytes:
    return charts.scorecard_pdf([page("スコアカード 総務課 $5"), page("スコアカード　人事課")])


def test_pdf_embeds_the_japanese_font_as_truetype_type42(scorecard_pdf):
    assert scorecard_pdf.startswith(b"%PDF-")
    assert b"/CIDFontType2" in scorecard_pdf and b"/FontFile2" in scorecard_pdf
    assert b"/Type3" not in scorecard_pdf
    assert b"IPAexGothic" in scorecard_pdf


def test_pdf_department_names_are_searchable_text(scorecard_pdf):
    text = pdf_text(scorecard_pdf)
    assert "スコアカード 総務課 $5" in text
    assert "人事課" in text and "ポリシー浸透" in text


def test_pdf_has_one_page_per_card(scorecard_pdf):
    assert len(re.findall(rb"/Type\s*/Page\b", scorecard_pdf)) == 2


def long_table(heading: str, rows: int) -> dict:
    return {"heading": heading, "columns": ["項目", "得点"],
            "rows": [[f"{heading}{n}", "50.0"] for n in range(rows)], "widths": [0.4, 0.2]}


def test_a_page_too_long_goes_on_over_continuation_pages():
    tall = page(tables=[long_table("分野", 20), long_table("指摘", 40), long_table("システム", 4)])
    parts = charts.split_page(tall)
    assert len(parts) == 2
    assert parts[1]["title"] == "スコアカード　総務課（続き）" and parts[1]["radar"] is None
    headings = [[t["heading"] for t in part["tables"]] for part in parts]
    assert headings == [["分野", "指摘"], ["指摘（続き）", "システム"]]
    rows = [row[0] for part in parts for t in part["tables"] for row in t["rows"]]
    assert rows == [row[0] for t in tall["tables"] for row in t["rows"]]  # none lost
    for part in parts:
        top = charts.tables_top(len(part["facts"]), part["radar"] is not None)
        used = sum(charts.table_height(len(t["rows"])) for t in part["tables"])
        assert top - used >= charts.PAGE_BOTTOM
    assert len(re.findall(rb"/Type\s*/Page\b", charts.scorecard_pdf([tall]))) == 2


def test_a_page_that_fits_stays_one_page():
    assert charts.split_page(page()) == [page()]


def test_pdf_bytes_do_not_depend_on_the_time():
    assert charts.scorecard_pdf([page()]) == charts.scorecard_pdf([page()])


def test_long_table_text_is_cut_to_fit():
    assert charts.clip("あ" * 200, 0.3).endswith("…")
    assert len(charts.clip("あ" * 200, 0.3)) < 20
    assert charts.clip("短い", 0.3) == "短い"


# --- naming and caching ----------------------------------------------------------------


def test_chart_key_is_the_sha256_of_kind_scope_data_and_code_version(monkeypatch):
    key = charts.chart_key(bands())
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert charts.chart_key(bands()) == key
    assert charts.chart_key(bands(counts=(3, 5, 2))) != key
    assert charts.chart_key(ChartSpec("bands", bands().data, scope="0101")) != key
    monkeypatch.setattr(charts, "CHART_VERSION", "next")
    assert charts.chart_key(bands()) != key


@pytest.fixture
def counted_draws(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    original = charts.DRAWERS["bands"][0]

    def counting(**data):
        calls.append(data)
        return original(**data)
    monkeypatch.setitem(charts.DRAWERS, "bands", (counting, "png"))
    return calls


def test_a_cached_chart_is_not_drawn_again(tmp_path, counted_draws):
    first = ChartCache(tmp_path).get(bands())
    second = ChartCache(tmp_path).get(bands())
    assert first == second and len(counted_draws) == 1
    assert (tmp_path / f"{first[0]}.png").read_bytes() == first[1]


def test_changed_data_is_drawn_again(tmp_path, counted_draws):
    cache = ChartCache(tmp_path)
    first, _ = cache.get(bands())
    second, _ = cache.get(bands(counts=(0, 0, 9)))
    assert first != second and len(counted_draws) == 2


def test_registering_a_chart_does_not_draw_it(tmp_path, counted_draws):
    key = ChartCache(tmp_path).register(bands())
    assert counted_draws == [] and not (tmp_path / f"{key}.png").exists()
    assert ChartCache(tmp_path).fetch(key).path.exists() and len(counted_draws) == 1


def test_cache_remembers_who_may_see_a_chart(tmp_path):
    key = ChartCache(tmp_path).register(ChartSpec("bands", bands().data, scope="0302"))
    assert ChartCache(tmp_path).lookup(key).scope == "0302"


@pytest.mark.parametrize("key", ["../secret", "0" * 63, "G" * 64, "", "0" * 64 + "/x"])
def test_cache_lookup_accepts_only_hash_names(tmp_path, key):
    assert ChartCache(tmp_path).lookup(key) is None


def test_unknown_hash_is_not_found(tmp_path):
    assert ChartCache(tmp_path).fetch("a" * 64) is None
