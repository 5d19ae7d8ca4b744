"""Charts as PNG and PDF bytes, drawn with matplotlib's Figure API (never pyplot).

Every drawing function takes plain data (strings, numbers, lists; never database rows)
and returns bytes, so it runs the same in a web request, in the CLI and in a worker
process started with 'spawn'. A chart is named by the sha256 of its kind, its data and
`CHART_VERSION` (`chart_key`); `ChartCache` keeps the PNG/PDF under that name and draws
again only when the data changes.

Text: the IPAexGothic font shipped by matplotlib-fontja is registered with the font
manager by file path. Importing `matplotlib_fontja` would call its `japanize()`, which
changes the process-wide default font, so the package is located without importing it.
Style settings apply only while drawing (`rc_context`), under a lock because rcParams is
process-global. Mathtext is off: a 所属 named `R&D $5` is drawn as written. Characters
the font lacks are drawn as 〓 (the customary substitute mark) instead of warning.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib costs about a second of CPU to import, so it is imported inside the
# functions that draw (tests/test_startup.py): a process that never draws never pays.

# Bump when a drawing function changes its output, so cached charts are drawn again.
CHART_VERSION = "5"
FONT_FAMILY = "IPAexGothic"
FONT_FILE = "ipaexg.ttf"
MISSING_GLYPH = "〓"
DPI = 100
A4_INCHES = (8.27, 11.69)
SCORE_LIMITS = (0, 100)
# Okabe-Ito colours: told apart with every common colour-vision deficiency.
MINE, REFERENCE, GRID = "#0072B2", "#E69F00", "#BBBBBB"
BAND_COLOURS = ("#009E73", "#56B4E9", "#E69F00", "#D55E00", "#CC79A7", "#999999")
# Fixed metadata keeps equal data -> equal bytes (PNG and PDF carry no timestamps).
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}

_DRAW_LOCK = threading.RLock()
_HEX_KEY = re.compile(r"[0-9a-f]{64}")


# --- font and style ------------------------------------------------------------------


def font_path() -> Path:
    """The bundled IPAexGothic file, found without importing matplotlib_fontja."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib-fontja is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILE


# Longest heatmap row label, in characters; the full names are in the tables.
HEATMAP_LABEL_CHARS = 20
# Label widths in columns (a full-width character takes two) before a line is wrapped.
HEATMAP_COLUMN_WIDTH = 12  # about the width of a heatmap column at 8 pt
BAND_LABEL_WIDTH = 26
YEAR_LABEL_WIDTH = 12
HEATMAP_ROW_INCHES = 0.24
DARK_BELOW, DARK_ABOVE = 15, 85  # scores whose RdYlGn colour needs white figures
HEATMAP_COLUMN_INCHES = 0.85


@functools.cache
def register_font() -> None:
    """Make the family name resolvable; adding a font changes no default."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_path()))


@functools.cache
def _font_charmap() -> frozenset[int]:
    from matplotlib import ft2font

    return frozenset(ft2font.FT2Font(str(font_path())).get_charmap())


def drawable(text: object) -> str:
    """`text` as the font can draw it: composed (NFC: a kana and a combining voicing
    mark, as a Mac may type them, are one character), control characters become
    spaces, characters without a glyph become 〓 (so nothing warns about a missing
    glyph)."""
    charmap = _font_charmap()
    chars = []
    for char in unicodedata.normalize("NFC", str(text)):
        if char == "\n":
            chars.append(char)
        elif not char.isprintable():
            chars.append(" ")
        else:
            chars.append(char if ord(char) in charmap else MISSING_GLYPH)
    return "".join(chars)


# --- a batch's own small font -----------------------------------------------------------
#
# A PDF embeds the part of the Japanese font its text uses: matplotlib subsets the font
# file for every PDF, and fontTools then reads the tables of all of IPAexGothic's 12,000
# glyphs, about 180 ms per file, more than the rest of a scorecard page
# (bench/scorecards.py). A batch of cards therefore subsets the font once, to the
# characters its cards can use, and draws with that small copy first: each PDF then
# subsets a few hundred glyphs. IPAexGothic stays the fallback for any character the
# copy lacks. The copy only makes drawing faster: the glyphs and where they go are the
# same; it lacks what a PDF page does not use (hinting, layout and vertical tables).

SUBSET_VERSION = "2"  # bump when `subset_font` makes a different file
# Tables a page does not need: vertical metrics, and the layout tables, since shaping
# composed text with IPAexGothic gives each character its own glyph and applies no
# default positioning (tests/test_scorecard_fonts.py).
UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx")
# What drawing adds to the data's text: ASCII (tick labels, figures), the substitute
# mark, the marks of cut text and of an empty score, and the continuation pages' title.
BASE_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x7F)) | set("〓…—　（続き）")
_batch_family: list[str] = []  # the family of the font `use_font` set, if any


def characters_of(data: object) -> set[str]:
    """Every character the strings in chart data (nested mappings and lists) are drawn
    with (`drawable`)."""
    found: set[str] = set()
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.update(drawable(item))
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return found


def subset_font(characters: Iterable[str], directory: Path) -> Path:
    """A copy of IPAexGothic with the glyphs of `characters` (and `BASE_CHARACTERS`)
    only, under a family name of its own, kept in `directory` under the digest of what
    it holds (so a second batch of the same characters finds it). Combining marks stay
    out: a mark that NFC cannot fold into its base (rare) is drawn with its base from
    IPAexGothic, which places it as IPAexGothic's own layout tables do."""
    wanted = "".join(sorted(char for char in set(drawable("".join(characters)))
                            | BASE_CHARACTERS if not unicodedata.category(char).startswith("M")))
    digest = hashlib.sha256(f"{SUBSET_VERSION}\0{font_path().stat().st_size}\0{wanted}"
                            .encode()).hexdigest()[:16]
    path = Path(directory) / f"ipaexg-{digest}.ttf"
    if not path.exists():
        _write_file(path, _subset_bytes(wanted, f"{FONT_FAMILY} {digest}"))
    return path


def _subset_bytes(characters: str, family: str) -> bytes:
    from fontTools import subset

    options = subset.Options(glyph_names=False, recommended_glyphs=True,
                             notdef_outline=True, name_IDs=["*"], name_languages=["*"],
                             name_legacy=True, legacy_kern=True,
                             hinting=False)
    options.drop_tables += list(UNUSED_TABLES)
    buffer = io.BytesIO()
    with subset.load_font(str(font_path()), options) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(char) for char in characters])
        subsetter.subset(font)
        # Its own family (the font manager tells fonts apart by it); the PostScript
        # name (ID 6) stays, so a PDF still names IPAexGothic.
        for record in font["name"].names:
            if record.nameID in (1, 3, 4, 16):
                record.string = family
        subset.save_font(font, buffer, options)
    return buffer.getvalue()


def _write_file(path: Path, content: bytes) -> None:
    """Write through a temporary file so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    os.replace(temporary, path)


def use_font(path: str | Path | None) -> None:
    """Draw scorecard pages with the font file at `path` first (a `subset_font`),
    IPAexGothic for what it lacks; None: IPAexGothic alone again. For this process (a
    worker's initializer, or `batch_font`). Other charts keep IPAexGothic, so their
    bytes do not depend on the batch that drew them."""
    if path is None:
        _batch_family.clear()
        return
    from matplotlib import font_manager

    register_font()
    family = font_manager.FontProperties(fname=str(path)).get_name()
    manager = font_manager.fontManager
    known = [entry for entry in manager.ttflist if entry.name == family]
    # The same family is the same glyphs (its name holds their digest): one registered
    # before is used again. One whose file is gone (a build's temporary folder) is
    # dropped first: matplotlib would rebuild its whole font list on meeting it and lose
    # IPAexGothic with it.
    if not any(os.path.isfile(entry.fname) for entry in known):
        manager.ttflist[:] = [entry for entry in manager.ttflist if entry.name != family]
        manager.addfont(str(path))
    _batch_family[:] = [family]


@contextmanager
def batch_font(path: str | Path | None) -> Iterator[None]:
    """`use_font(path)` while the block runs (nothing with None)."""
    use_font(path)
    try:
        yield
    finally:
        use_font(None)


def style() -> dict:
    return {
        "font.family": [FONT_FAMILY],
        "font.size": 9,
        "text.parse_math": False,   # `$` and `\` are drawn literally
        "text.usetex": False,
        "axes.unicode_minus": True,
        "pdf.fonttype": 42,         # TrueType: Japanese text stays selectable
        "ps.fonttype": 42,
        "pdf.compression": 6,
        "svg.hashsalt": "surveyapp",
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
    }


def drawing(function: Callable) -> Callable:
    """Run a drawing function with our style, one at a time per process."""
    @functools.wraps(function)
    def draw(*args, **kwargs):
        import matplotlib

        register_font()
        with _DRAW_LOCK, matplotlib.rc_context(style()):
            return function(*args, **kwargs)
    return draw


def png_bytes(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=PNG_METADATA)
    return buffer.getvalue()


def nan_for_none(values: Sequence[float | None]) -> list[float]:
    return [math.nan if value is None else float(value) for value in values]


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --- the charts --------------------------------------------------------------------------


@drawing
def radar_png(labels: Sequence[str], values: Sequence[float | None],
              reference: Sequence[float | None], *, title: str = "",
              value_label: str = "", reference_label: str = "") -> bytes:
    """Section scores (0-100) of one 所属 against a reference such as the prefecture."""
    figure, radar = _kept_figure(("radar", *_radar_key(labels, value_label, reference_label)),
                                 lambda: _new_radar_figure(labels, value_label,
                                                           reference_label))
    radar.show(values, reference, value_label, reference_label)
    figure.texts[0].set_text(drawable(title))
    return radar.png(figure.texts[0])


# Figures kept between drawings, static parts drawn once (bench/scorecards.py: a card of
# a round of 300 所属 is the same chart with other values). Only used under _DRAW_LOCK.
KEPT_FIGURES = 8
_kept: dict[tuple, tuple[Figure, RadarChart | None]] = {}


def _kept_figure(key: tuple, build: Callable[[], tuple[Figure, RadarChart | None]]
                 ) -> tuple[Figure, RadarChart | None]:
    if key not in _kept:
        if len(_kept) >= KEPT_FIGURES:
            del _kept[next(iter(_kept))]
        _kept[key] = build()
    return _kept[key]


def _radar_key(labels: Sequence[str], value_label: str, reference_label: str) -> tuple:
    """What a kept radar's static parts depend on: the labels around it, and which
    series the legend names (its texts are set per drawing)."""
    return tuple(labels), bool(value_label), bool(reference_label)


def _new_radar_figure(labels: Sequence[str], value_label: str,
                      reference_label: str) -> tuple[Figure, RadarChart]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 4.6))
    FigureCanvasAgg(figure)
    # A fixed layout: the room tight_layout found for the longest section titles, without
    # its search on every drawing.
    axes = figure.add_axes((0.2, 0.12, 0.56, 0.64), projection="polar")
    figure.text(0.5, 0.96, "", ha="center", va="top", fontsize=12)  # the title
    return figure, RadarChart(axes, labels, value_label, reference_label)


class RadarChart:
    """A radar chart on polar axes: axes, grid, ticks and labels made once; `show` sets
    the two series (reference and values) and the legend's names. As a PNG (`png`) the
    static parts are also drawn once: each chart restores their pixels and draws only
    the series, the legend and the title over them."""

    def __init__(self, axes, labels: Sequence[str], value_label: str,
                 reference_label: str) -> None:
        count = max(len(labels), 1)
        self.angles = [2 * math.pi * i / count for i in range(count)] + [0.0]
        self.lines, self.fills = [], []
        for colour, name in ((REFERENCE, reference_label), (MINE, value_label)):
            (line,) = axes.plot(self.angles, [math.nan] * len(self.angles), color=colour,
                                linewidth=2, marker="o", markersize=3,
                                label=drawable(name) if name else None)
            (fill,) = axes.fill(self.angles, [0.0] * len(self.angles), color=colour,
                                alpha=0.12)
            self.lines.append(line)
            self.fills.append(fill)
        axes.set_xticks(self.angles[:-1], [drawable(label) for label in labels])
        axes.set_ylim(*SCORE_LIMITS)
        axes.set_yticks([20, 40, 60, 80, 100], ["20", "40", "60", "80", "100"], fontsize=7)
        axes.grid(color=GRID, linewidth=0.6)
        self.legend = (axes.legend(loc="upper right", bbox_to_anchor=(1.25, 1.12),
                                   fontsize=8) if value_label or reference_label else None)
        self.axes = axes
        self.background = None  # the PNG's static pixels, once drawn

    def png(self, title) -> bytes:
        """The figure as PNG bytes: the static pixels, then the series, the legend and
        `title` (the figure's text that changes) drawn over them."""
        import matplotlib.image

        canvas = self.axes.figure.canvas
        changing = [*self.fills, *self.lines, self.legend, title]
        if self.background is None:
            shown = [artist.get_visible() if artist else False for artist in changing]
            for artist in filter(None, changing):
                artist.set_visible(False)
            canvas.draw()
            self.background = canvas.copy_from_bbox(self.axes.figure.bbox)
            for artist, visible in zip(changing, shown, strict=True):
                if artist:
                    artist.set_visible(visible)
        else:
            canvas.restore_region(self.background)
        for artist in filter(None, changing):
            self.axes.figure.draw_artist(artist)
        buffer = io.BytesIO()
        matplotlib.image.imsave(buffer, canvas.buffer_rgba(), format="png", dpi=DPI,
                                metadata=PNG_METADATA)
        return buffer.getvalue()

    def show(self, values: Sequence[float | None], reference: Sequence[float | None],
             value_label: str, reference_label: str) -> None:
        for line, fill, series in zip(self.lines, self.fills, (reference, values),
                                      strict=True):
            closed = nan_for_none(list(series) + list(series[:1]))
            line.set_ydata(closed)
            whole = not any(math.isnan(v) for v in closed)  # a gap filled to 0 reads as 0
            fill.set_visible(whole)
            if whole:
                fill.set_xy(list(zip(self.angles, closed, strict=True)))
        if self.legend is not None:
            names = [name for name in (reference_label, value_label) if name]
            for text, name in zip(self.legend.get_texts(), names, strict=True):
                text.set_text(drawable(name))


@drawing
def bands_png(labels: Sequence[str], counts: Sequence[int], *, title: str = "",
              axis_label: str = "") -> bytes:
    """How many 所属 fall in each band (the last label may be "not submitted")."""
    return png_bytes(bands_figure(labels, counts, title=title, axis_label=axis_label))


def bands_figure(labels: Sequence[str], counts: Sequence[int], *, title: str = "",
                 axis_label: str = "") -> Figure:
    """Horizontal bars, one band per row: a long band name has its own line and is
    wrapped, never drawn over its neighbour's."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 1.2 + 0.5 * max(len(labels), 1)), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    colours = [BAND_COLOURS[i % len(BAND_COLOURS)] for i in positions]
    bars = axes.barh(positions, counts, color=colours, height=0.6)
    axes.bar_label(bars, labels=[str(count) for count in counts], padding=3)
    axes.set_yticks(positions, [wrap_label(label, BAND_LABEL_WIDTH) for label in labels])
    axes.invert_yaxis()  # the best band on top, as in the table below the chart
    axes.set_xlabel(drawable(axis_label))
    axes.set_xlim(0, max([*counts, 1]) * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    if title:
        axes.set_title(drawable(title))
    return figure


@drawing
def heatmap_png(row_labels: Sequence[str], column_labels: Sequence[str],
                values: Sequence[Sequence[float | None]], *, title: str = "",
                annotate_up_to: int = 80) -> bytes:
    """所属 (rows) × sections (columns), 0-100; empty cells are grey."""
    return png_bytes(heatmap_figure(row_labels, column_labels, values, title=title,
                                    annotate_up_to=annotate_up_to))


def heatmap_figure(row_labels: Sequence[str], column_labels: Sequence[str],
                   values: Sequence[Sequence[float | None]], *, title: str = "",
                   annotate_up_to: int = 80) -> Figure:
    """Column labels stay horizontal and are wrapped to their column (`POL` and its
    title below it), so neighbours never meet; figures are drawn at 8 pt."""
    import matplotlib
    from matplotlib.figure import Figure

    height = 2.2 + HEATMAP_ROW_INCHES * max(len(row_labels), 1)
    width = 3.2 + HEATMAP_COLUMN_INCHES * max(len(column_labels), 1)
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    grid = [nan_for_none(row) for row in values] or [[math.nan]]
    colours = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#DDDDDD")
    image = axes.imshow(grid, cmap=colours, vmin=SCORE_LIMITS[0], vmax=SCORE_LIMITS[1],
                        aspect="auto", interpolation="nearest")
    axes.set_xticks(range(len(column_labels)),
                    [column_label(label) for label in column_labels], fontsize=8)
    axes.set_yticks(range(len(row_labels)), [short_label(r) for r in row_labels],
                    fontsize=8)
    axes.xaxis.tick_top()
    axes.tick_params(length=0)
    if len(row_labels) <= annotate_up_to:
        annotate_cells(axes, values)
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, aspect=40)
    if title:
        figure.suptitle(drawable(title))
    return figure


def column_label(text: object) -> str:
    """A heatmap column label: the section id on the first line, its title wrapped
    below (at most two lines, cut with …)."""
    first, _, rest = drawable(text).partition(" ")
    if not rest:
        return wrap_label(first, HEATMAP_COLUMN_WIDTH, 3)
    return first + "\n" + wrap_label(rest, HEATMAP_COLUMN_WIDTH, 2)


def wrap_label(text: object, width: int, max_lines: int = 3) -> str:
    """`text` in lines of at most `width` columns (a full-width character takes two),
    breaking at a space where there is one; the last line is cut with … when the text
    needs more than `max_lines`."""
    lines: list[str] = []
    for word in drawable(text).split(" "):
        lines = _add_word(lines, word, width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _cut(lines[-1], width - 2) + "…"
    return "\n".join(lines)


def _add_word(lines: list[str], word: str, width: int) -> list[str]:
    if lines and columns(lines[-1]) + 1 + columns(word) <= width:
        return [*lines[:-1], f"{lines[-1]} {word}"]
    pieces = []
    while columns(word) > width:  # a word longer than a line (Japanese has no spaces)
        head = _cut(word, width)
        pieces.append(head)
        word = word[len(head):]
    return [*lines, *pieces, word] if word else [*lines, *pieces]


def columns(text: str) -> int:
    """Columns `text` takes in a label: a full-width (CJK) character counts 2."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def _cut(text: str, width: int) -> str:
    """The start of `text` that fits in `width` columns."""
    kept, used = [], 0
    for char in text:
        used += columns(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept)


def short_label(text: object, limit: int = HEATMAP_LABEL_CHARS) -> str:
    """A heatmap label cut to `limit` characters: a 所属 name may be 100 characters
    long, and a longer label leaves the grid no room (the full names are in tables)."""
    label = drawable(text)
    return label if len(label) <= limit else label[:limit - 1] + "…"


def annotate_cells(axes, values: Sequence[Sequence[float | None]]) -> None:
    for row, cells in enumerate(values):
        for column, value in enumerate(cells):
            axes.text(column, row, score_text(value), ha="center", va="center",
                      fontsize=8, color=figure_colour(value))


def figure_colour(value: float | None) -> str:
    """White on the dark ends of the colour scale (deep red, deep green), else dark."""
    dark = value is not None and (value <= DARK_BELOW or value >= DARK_ABOVE)
    return "#FFFFFF" if dark else "#222222"


@drawing
def trend_png(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
              *, title: str = "", thresholds: Sequence[tuple[str, float]] = ()) -> bytes:
    """Scores over rounds (fiscal years); `thresholds` draws band limits as lines."""
    return png_bytes(trend_figure(x_labels, series, title=title, thresholds=thresholds))


def trend_figure(x_labels: Sequence[str],
                 series: Sequence[tuple[str, Sequence[float | None]]], *, title: str = "",
                 thresholds: Sequence[tuple[str, float]] = ()) -> Figure:
    """The figure widens with the number of years, and a year's label is wrapped at
    its space (令和3年度 / (2021)), so labels keep apart however many years there are."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.4, 1.8 + 0.85 * len(x_labels)), 3.8),
                    layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(x_labels)))
    for label, minimum in thresholds:
        axes.axhline(minimum, color=GRID, linewidth=0.8, linestyle=":")
        # Outside the plot at the right, so a band name never covers a value label.
        axes.text(1.01, minimum, drawable(label), transform=axes.get_yaxis_transform(),
                  fontsize=7, color="#666666", va="center", ha="left")
    for index, (name, values) in enumerate(series):
        line = nan_for_none(values)
        axes.plot(positions, line, marker="o", label=drawable(name),
                  color=(MINE, REFERENCE, *BAND_COLOURS)[index % 8])
        for x, y in zip(positions, line, strict=False):
            if not math.isnan(y):
                axes.annotate(f"{y:.1f}", (x, y), textcoords="offset points",
                              xytext=(0, 6), ha="center", fontsize=7)
    axes.set_xticks(positions, [wrap_label(label, YEAR_LABEL_WIDTH) for label in x_labels])
    axes.set_xlim(-0.5, max(len(x_labels) - 0.5, 0.5))
    axes.set_ylim(*SCORE_LIMITS)
    axes.spines[["top", "right"]].set_visible(False)
    if series:
        axes.legend(loc="lower right", fontsize=8)
    if title:
        axes.set_title(drawable(title))
    return figure


GAP_BIN = 5  # points per bar of the (self − verified) histogram


@drawing
def gaps_png(gaps: Sequence[float], *, title: str = "", axis_label: str = "",
             count_label: str = "") -> bytes:
    """How far self-reports were off: the number of 所属 per GAP_BIN points of
    (self score − verified score); bars right of zero overstated, left understated."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.4))
    axes = figure.add_subplot()
    low = GAP_BIN * math.floor(min([*gaps, 0]) / GAP_BIN)
    high = GAP_BIN * (math.floor(max([*gaps, 0]) / GAP_BIN) + 1)
    edges = list(range(int(low), int(high) + GAP_BIN, GAP_BIN))
    counts, _edges, bars = axes.hist(list(gaps), bins=edges, color=MINE, edgecolor="white")
    axes.bar_label(bars, labels=[str(int(c)) if c else "" for c in counts], padding=2)
    axes.axvline(0, color=REFERENCE, linewidth=1.5)
    axes.set_xlabel(drawable(axis_label))
    axes.set_ylabel(drawable(count_label))
    axes.set_ylim(0, max([*counts, 1]) * 1.25)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    if title:
        axes.set_title(drawable(title))
    figure.tight_layout()
    return png_bytes(figure)


# --- the scorecard page (PDF) ------------------------------------------------------------


@dataclass(frozen=True)
class PageTable:
    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # fractions of the text width, one per column


@drawing
def scorecard_pdf(pages: Sequence[Mapping]) -> bytes:
    """One A4 page per mapping (see `draw_page` for the keys), as one PDF."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    # A batch's small font first (`use_font`), IPAexGothic for anything it lacks.
    with (matplotlib.rc_context({"font.family": [*_batch_family, FONT_FAMILY]}),
          PdfPages(buffer, metadata=PDF_METADATA) as pdf):
        for page in pages:
            for part in split_page(page):
                figure, radar = _page_figure(part.get("radar"))
                draw_page(figure, radar, **part)
                pdf.savefig(figure)
    return buffer.getvalue()


def _page_figure(radar: Mapping | None) -> tuple[Figure, RadarChart | None]:
    """A kept A4 figure, emptied of the last page's text; with a radar chart of these
    labels at the top right when the page has one."""
    # Per font too: the radar's labels are laid out once, in the font of the time.
    key = ("page", *_batch_family, *(_radar_key(radar["labels"], radar.get(
        "value_label", ""), radar.get("reference_label", "")) if radar else ()))
    figure, chart = _kept_figure(key, lambda: _new_page_figure(radar))
    for text in list(figure.texts):
        text.remove()
    page_texts(figure).clear()
    return figure, chart


def _new_page_figure(radar: Mapping | None) -> tuple[Figure, RadarChart | None]:
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_INCHES)
    texts = _plain_texts_class()(figure)
    figure.add_artist(texts)
    chart = None
    if radar is not None:
        axes = figure.add_axes(PAGE_RADAR, projection="polar")
        # No legend on the axes: the page draws its key (`draw_key`).
        chart = RadarChart(axes, radar["labels"], "", "")
        axes.tick_params(labelsize=6)
        _fix_tick_labels(figure, axes, texts)
        for y, colour in zip(KEY_ROWS, (REFERENCE, MINE), strict=True):
            figure.add_artist(_key_line(figure, y, colour))
    FigureCanvasPdf(figure)
    return figure, chart


PAGE_RADAR = (0.62, 0.70, 0.28, 0.2)  # where a page's radar chart is (figure fractions)
KEY_RIGHT, KEY_ROWS, KEY_SIZE = 0.97, (0.918, 0.905), 7  # its key, top right
KEY_LINE = 0.03  # length of a key's line sample


def _fix_tick_labels(figure: Figure, axes, texts) -> None:
    """Lay the radar's tick labels out once, where matplotlib puts them, and keep them
    as plain texts of the page: the same on every page, measured once instead of on
    every page (bench/scorecards.py)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        canvas.draw()
        renderer = canvas.get_renderer()
        to_page = figure.transFigure.inverted()
        for label in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
            if not label.get_visible() or not label.get_text():
                continue
            box = label.get_window_extent(renderer)
            _w, _h, descent = renderer.get_text_width_height_descent(
                label.get_text(), label.get_fontproperties(), ismath=False)
            x, y = to_page.transform((box.x0, box.y0 + descent))
            texts.keep(x, y, label.get_text(), label.get_fontsize(), label.get_color())
    axes.tick_params(labelbottom=False, labelleft=False)


def _key_line(figure: Figure, y: float, colour: str):
    from matplotlib.lines import Line2D

    return Line2D([0, KEY_LINE], [y + 0.002] * 2, color=colour, linewidth=2, marker="o",
                  markersize=3, transform=figure.transFigure)


def draw_key(figure: Figure, radar: Mapping) -> None:
    """The radar chart's key at the top right: a line of each series' colour and its
    name, right-aligned (names measured, not laid out as Text objects)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure, font = TextToPath(), FontProperties(size=KEY_SIZE)
    names = (radar.get("reference_label", ""), radar.get("value_label", ""))
    widths = [measure.get_text_width_height_descent(drawable(name), font, ismath=False)[0]
              for name in names]
    left = KEY_RIGHT - max(widths, default=0) / (A4_INCHES[0] * 72)
    lines = [artist for artist in figure.artists if getattr(artist, "get_xdata", None)]
    for line, name, y in zip(lines, names, KEY_ROWS, strict=True):
        line.set_xdata([left - KEY_LINE - 0.008, left - 0.008])
        line.set_visible(bool(name))
        page_texts(figure).add(left, y, drawable(name), KEY_SIZE)


def page_texts(figure: Figure):
    """The page's `PlainTexts`."""
    return next(artist for artist in figure.artists if isinstance(artist, _plain_texts_class()))


@functools.cache
def _plain_texts_class() -> type:
    """`PlainTexts`, made once matplotlib is imported (it is imported only to draw)."""
    from matplotlib.artist import Artist
    from matplotlib.colors import to_rgba
    from matplotlib.font_manager import FontProperties

    class PlainTexts(Artist):
        """Strings at fixed positions of a page (figure fractions, left and baseline
        aligned, one line each) drawn straight through the renderer: what
        `Figure.text` draws for them, without a Text object measuring and laying out
        each one first (a scorecard page has about 150; bench/scorecards.py)."""

        def __init__(self, figure: Figure) -> None:
            super().__init__()
            self.set_figure(figure)
            self.set_transform(figure.transFigure)
            self.set_zorder(3)  # where a Text is: above the radar chart
            self.items: list[tuple[float, float, str, float, object]] = []
            self.kept: list[tuple[float, float, str, float, object]] = []  # every page's

        def keep(self, x: float, y: float, text: str, size: float, colour: object) -> None:
            self.kept.append((x, y, text, size, colour))

        def add(self, x: float, y: float, text: str, size: float,
                colour: object = "#000000") -> None:
            if "\n" in text:  # several lines: a Text spaces them
                self.figure.text(x, y, text, fontsize=size, color=colour)
            elif text:
                self.items.append((x, y, text, size, colour))

        def clear(self) -> None:
            self.items.clear()

        def draw(self, renderer) -> None:
            if not self.get_visible():
                return
            fonts: dict[float, FontProperties] = {}
            transform = self.get_transform()
            for x, y, text, size, colour in [*self.kept, *self.items]:
                if size not in fonts:
                    fonts[size] = FontProperties(size=size)
                gc = renderer.new_gc()  # set as Text.draw sets it
                gc.set_foreground(to_rgba(colour), isRGBA=True)
                gc.set_alpha(None)
                gc.set_antialiased(True)
                gc.set_snap(None)
                renderer.draw_text(gc, *transform.transform((x, y)), text, fonts[size], 0.0)
                gc.restore()

    return PlainTexts


PAGE_TOP = 0.905  # below the title and subtitle
PAGE_BOTTOM = 0.05  # above the footer
FOOTER_LINES = 3
TABLE_LINE = 0.0165
CONTINUED = "（続き）"


def tables_top(facts: int, radar: bool) -> float:
    """Where a page's tables start: below its facts, and below the radar chart."""
    y = PAGE_TOP - 0.018 * facts
    return (min(y, 0.68) if radar else y) - 0.01


def table_height(rows: int) -> float:
    """What `draw_table` uses for a table of `rows` rows (heading and header included)."""
    return TABLE_LINE * (rows + 2.6)


def split_page(page: Mapping) -> list[dict]:
    """The page, and as many continuation pages as its tables need (a table too long
    for the rest of a page goes on with its heading marked 続き): a page never runs past
    its footer."""
    parts = [dict(page, tables=[])]
    room = tables_top(len(page["facts"]), page.get("radar") is not None) - PAGE_BOTTOM
    for table in page["tables"]:
        rows, heading = list(table["rows"]), table["heading"]
        while True:
            fits = int(room / TABLE_LINE - 2.6)
            if rows and fits < min(len(rows), 3):  # not even a few rows: a new page
                parts.append(dict(page, title=page["title"] + CONTINUED, facts=[],
                                  radar=None, tables=[]))
                room = tables_top(0, False) - PAGE_BOTTOM
                continue
            taken, rows = rows[:fits], rows[fits:]
            parts[-1]["tables"].append(dict(table, heading=heading, rows=taken))
            room -= table_height(len(taken))
            if not rows:
                break
            heading = table["heading"] + CONTINUED
            room = 0  # the rest goes on the next page
    return parts


def draw_page(figure: Figure, chart: RadarChart | None, *, title: str, subtitle: str,
              facts: Sequence[Sequence[str]], radar: Mapping | None,
              tables: Sequence[Mapping], footer: str = "") -> None:
    """Title and facts on top, the radar chart (if any, on `chart`) at the right, tables
    below."""
    texts = page_texts(figure)
    texts.add(0.06, 0.955, drawable(title), 15)
    texts.add(0.06, 0.935, drawable(subtitle), 9, "#444444")
    y = PAGE_TOP
    for label, value in facts:
        texts.add(0.06, y, drawable(label), 9, "#444444")
        texts.add(0.25, y, drawable(value), 9)
        y -= 0.018
    if chart is not None:
        chart.show(radar["values"], radar["reference"], "", "")
        draw_key(figure, radar)
    y = tables_top(len(facts), radar is not None)
    for table in tables:
        y = draw_table(figure, PageTable(table["heading"], tuple(table["columns"]),
                                         tuple(tuple(r) for r in table["rows"]),
                                         tuple(table["widths"])), y)
    # The footer in lines that fit the page (7 pt: 8/7 as many characters as at 8 pt).
    for number, line in enumerate(wrap(drawable(footer), 0.88, 90 * 8 / 7)[:FOOTER_LINES]):
        texts.add(0.06, 0.038 - 0.011 * number, line, 7, "#666666")


def draw_table(figure: Figure, table: PageTable, top: float,
               line: float = TABLE_LINE) -> float:
    """Draw `table` from `top` down; returns the y below it. Text is cut to fit."""
    texts = page_texts(figure)
    texts.add(0.06, top, drawable(table.heading), 10)
    y = top - line * 1.1
    # IPAexGothic has no bold face: the header row is set apart by colour.
    for cells, colour in [(table.columns, "#555555"), *((row, "#000000") for row in table.rows)]:
        x = 0.06
        for cell, width in zip(cells, table.widths, strict=False):
            texts.add(x, y, drawable(clip(cell, width)), 8, colour)
            x += width * 0.88
        y -= line
    return y - line * 0.5


def clip(text: str, width: float, chars_per_unit: float = 90) -> str:
    """Cut `text` to what fits in `width` (a fraction of the page) at 8 pt."""
    limit = max(int(width * chars_per_unit), 4)
    return text if columns(text) <= limit else _cut(text, limit - 1) + "…"


# --- the approval sheet (PDF) ---------------------------------------------------------------

SHEET_TOP, SHEET_BOTTOM, SHEET_LINE = 0.955, 0.06, 0.0165


@drawing
def approval_sheet_pdf(title: str, subtitle: str, facts: Sequence[Sequence[str]],
                       answers: Mapping, footer: str = "") -> bytes:
    """An A4 approval sheet (所属長 approval, to attach to 電子決裁): the title and the
    facts on the first page, then the `answers` table (heading, columns, rows, widths)
    over as many pages as it needs, each page numbered. Table cells wrap instead of
    being cut: what was approved is printed in full."""
    from matplotlib.backends.backend_pdf import FigureCanvasPdf, PdfPages
    from matplotlib.figure import Figure

    widths = tuple(answers["widths"])
    rows = [wrapped_row(row, widths) for row in answers["rows"]]
    pages = sheet_pages(rows, first_top=facts_bottom(facts))
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata=PDF_METADATA) as pdf:
        for number, chunk in enumerate(pages, start=1):
            figure = Figure(figsize=A4_INCHES)
            FigureCanvasPdf(figure)
            top = draw_sheet_head(figure, title, subtitle, facts) if number == 1 else SHEET_TOP
            heading = answers["heading"] if number == 1 else f"{answers['heading']}（続き）"
            draw_wrapped_table(figure, heading, answers["columns"], widths, chunk, top)
            figure.text(0.06, 0.025, drawable(f"{footer}　{number} / {len(pages)}"),
                        fontsize=7, color="#666666")
            pdf.savefig(figure)
    return buffer.getvalue()


def facts_bottom(facts: Sequence[Sequence[str]]) -> float:
    """Where the answers table starts on the first page."""
    lines = sum(len(wrap(str(value), 0.78)) for _label, value in facts)
    return 0.905 - 0.02 * lines - 0.01


def draw_sheet_head(figure: Figure, title: str, subtitle: str,
                    facts: Sequence[Sequence[str]]) -> float:
    figure.text(0.06, SHEET_TOP, drawable(title), fontsize=15)
    figure.text(0.06, 0.935, drawable(subtitle), fontsize=9, color="#444444")
    y = 0.905
    for label, value in facts:
        figure.text(0.06, y, drawable(label), fontsize=9, color="#444444")
        for line in wrap(str(value), 0.78):
            figure.text(0.25, y, drawable(line), fontsize=9)
            y -= 0.02
    return facts_bottom(facts)


def wrapped_row(row: Sequence[str], widths: Sequence[float]) -> list[list[str]]:
    return [wrap(str(cell), width) for cell, width in zip(row, widths, strict=False)]


def sheet_pages(rows: Sequence[list[list[str]]], first_top: float) -> list[list]:
    """Wrapped rows cut into pages by the lines they take (fewer on the first page,
    below the facts); a row is never split."""
    pages: list[list] = [[]]
    room = int((first_top - SHEET_BOTTOM) / SHEET_LINE) - 2
    for row in rows:
        height = max((len(cell) for cell in row), default=1)
        if pages[-1] and height > room:
            pages.append([])
            room = int((SHEET_TOP - SHEET_BOTTOM) / SHEET_LINE) - 2
        pages[-1].append(row)
        room -= height
    return pages


def draw_wrapped_table(figure: Figure, heading: str, columns: Sequence[str],
                       widths: Sequence[float], rows: Sequence[list[list[str]]],
                       top: float) -> None:
    figure.text(0.06, top, drawable(heading), fontsize=10)
    y = top - SHEET_LINE * 1.1
    for cells, colour in [([[c] for c in columns], "#555555"),
                          *((row, "#000000") for row in rows)]:
        x = 0.06
        for lines, width in zip(cells, widths, strict=False):
            for index, line in enumerate(lines):
                figure.text(x, y - index * SHEET_LINE, drawable(line), fontsize=8,
                            color=colour)
            x += width * 0.88
        y -= SHEET_LINE * max((len(lines) for lines in cells), default=1)


def wrap(text: str, width: float, chars_per_unit: float = 90) -> list[str]:
    """`text` in lines that fit `width` (a fraction of the page) at 8 pt, measured as
    `clip` does (a wide character counts twice); its own line breaks are kept."""
    limit = max(int(width * chars_per_unit), 4)
    lines = []
    for paragraph in text.split("\n"):
        while columns(paragraph) > limit:
            head = _cut(paragraph, limit)
            lines.append(head)
            paragraph = paragraph[len(head):]
        lines.append(paragraph)
    return lines


# --- naming and caching charts by content ---------------------------------------------

DRAWERS: dict[str, tuple[Callable[..., bytes], str]] = {
    "radar": (radar_png, "png"),
    "bands": (bands_png, "png"),
    "heatmap": (heatmap_png, "png"),
    "trend": (trend_png, "png"),
    "gaps": (gaps_png, "png"),
    "scorecard_pdf": (scorecard_pdf, "pdf"),
    "approval_sheet_pdf": (approval_sheet_pdf, "pdf"),
}
MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf"}


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: a `DRAWERS` kind and its keyword arguments (JSON-able data).

    `scope` says who may see it: a 所属 code, or "" for prefecture-wide charts.
    """

    kind: str
    data: Mapping
    scope: str = ""

    @property
    def suffix(self) -> str:
        return DRAWERS[self.kind][1]


def canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def chart_key(spec: ChartSpec) -> str:
    """sha256 of the chart code version, kind, scope and data: the chart's name."""
    text = canonical_json([CHART_VERSION, spec.kind, spec.scope, spec.data])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def draw(spec: ChartSpec) -> bytes:
    return DRAWERS[spec.kind][0](**spec.data)


def is_chart_key(text: str) -> bool:
    return bool(_HEX_KEY.fullmatch(text))


@dataclass(frozen=True)
class CachedChart:
    key: str
    kind: str
    scope: str
    path: Path

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.path.suffix.lstrip(".")]


class ChartCache:
    """Charts kept as `<directory>/<key>.<png|pdf>` beside `<key>.json`, their spec.

    `register` only writes the spec (cheap, done while a page renders); the chart is
    drawn the first time it is asked for (`fetch`) and never again for the same data.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def register(self, spec: ChartSpec) -> str:
        key = chart_key(spec)
        path = self._spec_path(key)
        if not path.exists():
            record = {"kind": spec.kind, "scope": spec.scope, "data": spec.data}
            _write_file(path, canonical_json(record).encode("utf-8"))
        return key

    def has(self, spec: ChartSpec) -> bool:
        """Whether `spec`'s chart is drawn already."""
        return (self.directory / f"{chart_key(spec)}.{spec.suffix}").exists()

    def lookup(self, key: str) -> CachedChart | None:
        """The chart named `key` (drawn or not yet), None when unknown."""
        if not is_chart_key(key):
            return None
        record = self._read_spec(key)
        if record is None:
            return None
        suffix = DRAWERS[record["kind"]][1]
        return CachedChart(key, record["kind"], record["scope"],
                           self.directory / f"{key}.{suffix}")

    def fetch(self, key: str) -> CachedChart | None:
        """The chart with its file drawn (drawing it now if needed)."""
        found = self.lookup(key)
        return None if found is None else self.drawn(found)

    def drawn(self, found: CachedChart) -> CachedChart:
        """`found` with its file present: drawn from its spec the first time."""
        if not found.path.exists():
            record = self._read_spec(found.key)
            _write_file(found.path, draw(ChartSpec(record["kind"], record["data"],
                                                   record["scope"])))
        return found

    def get(self, spec: ChartSpec) -> tuple[str, bytes]:
        """Register and fetch in one step: (key, bytes)."""
        found = self.fetch(self.register(spec))
        return found.key, found.path.read_bytes()

    def _spec_path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def _read_spec(self, key: str) -> dict | None:
        try:
            return json.loads(self._spec_path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

