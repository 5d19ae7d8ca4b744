"""Every scorecard of a round as files (`surveyapp scorecards build`): a PNG radar chart
and/or a PDF page per 所属, named safely for any file system, drawn in worker processes
when there are many, and a ZIP of them that is byte-for-byte the same for the same cards."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from surveyapp import charts
from surveyapp.charts import ChartSpec
from surveyapp.model import N_
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.scorecards import (
    RoundContext,
    Scorecard,
    cards_of_round,
    pdf_spec,
    radar_spec,
    round_context,
)
from surveyapp.refusals import Invalid

FORMATS = ("png", "pdf")
# Below this many cards, starting worker processes costs more than it saves.
PARALLEL_FROM = 8
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same cards always zip to the same bytes


@dataclass(frozen=True)
class CardTask:
    """One 所属's files: plain data, so a 'spawn'ed worker process can draw them."""

    stem: str
    specs: tuple[tuple[str, ChartSpec], ...]  # (suffix, spec)


@dataclass(frozen=True)
class BuildResult:
    files: tuple[Path, ...]
    archive: Path


_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\s]+')
MAX_STEM_BYTES = 120
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                              *(f"LPT{i}" for i in range(1, 10))})


def safe_stem(code: str, name: str) -> str:
    """`<code>_<name>` usable as a file name on Windows, macOS and Linux."""
    text = _FORBIDDEN.sub("_", unicodedata.normalize("NFKC", f"{code}_{name}"))
    while len(text.encode("utf-8")) > MAX_STEM_BYTES:
        text = text[:-1]
    text = text.strip(" ._") or "_"
    # CON, NUL, COM1 … cannot be file names on Windows, whatever follows the dot.
    return f"_{text}" if text.split(".")[0].upper() in WINDOWS_RESERVED else text


def unique_stems(cards: Iterable[Scorecard]) -> list[str]:
    """Safe stems in card order; a clash after cleaning gets -2, -3 …"""
    stems, seen = [], set()
    for card in cards:
        stem = base = safe_stem(card.code, card.department.name)
        number = 1
        while stem.lower() in seen:
            number += 1
            stem = f"{base}-{number}"
        seen.add(stem.lower())
        stems.append(stem)
    return stems


def card_tasks(context: RoundContext, formats: Sequence[str]) -> list[CardTask]:
    cards = cards_of_round(context)
    tasks = []
    for card, stem in zip(cards, unique_stems(cards), strict=True):
        specs = []
        if "png" in formats:
            specs.append(("png", radar_spec(card)))
        if "pdf" in formats:
            specs.append(("pdf", pdf_spec(card, context.scores.anonymity_min)))
        tasks.append(CardTask(stem, tuple(specs)))
    return tasks


def render_task(task: CardTask, out_dir: str, cache_dir: str | None) -> list[str]:
    """Write one 所属's files (a worker function: plain arguments, module level)."""
    cache = charts.ChartCache(cache_dir) if cache_dir else None
    written = []
    for suffix, spec in task.specs:
        content = cache.get(spec)[1] if cache else charts.draw(spec)
        path = Path(out_dir) / f"{task.stem}.{suffix}"
        path.write_bytes(content)
        written.append(str(path))
    return written


def parse_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",")
                                 if part.strip()))
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown or not chosen:
        raise Invalid(N_("形式は %(formats)s から選んでください: %(text)s"),
                      formats=", ".join(FORMATS), text=text)
    return chosen


def worker_count(tasks: int, jobs: int | None) -> int:
    if jobs is not None:
        return max(1, jobs)
    return 1 if tasks < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, tasks // 4))


@dataclass(frozen=True)
class BuildPlan:
    round: round_reads.Round
    tasks: tuple[CardTask, ...]


def plan_build(db: Database, round_id: int, formats: Sequence[str],
               anonymity_min: int) -> BuildPlan:
    """Every 所属's files to write; raises NotFound for an unknown round."""
    context = round_context(db, round_id, anonymity_min)
    return BuildPlan(context.scores.round, tuple(card_tasks(context, formats)))


def run_build(plan: BuildPlan, out_dir: Path, *, jobs: int | None = None,
              cache_dir: Path | None = None, font_dir: Path | None = None,
              on_done: Callable[[int], None] = lambda _n: None) -> BuildResult:
    """Write the planned files and a ZIP of them into `out_dir`. The pages are drawn
    with the Japanese font cut down to the characters of the cards still to draw
    (`charts.subset_font`, kept in `font_dir`, else for this build only)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="surveyapp-fonts-") as scratch:
        font = pages_font(plan.tasks, cache_dir, font_dir or Path(scratch))
        files = [Path(p) for p in render_all(plan.tasks, out_dir, cache_dir, jobs, on_done,
                                             font)]
    archive = out_dir / f"scorecards_round{plan.round.id}_FY{plan.round.fiscal_year}.zip"
    write_zip(archive, files)
    return BuildResult(tuple(files), archive)


def pages_font(tasks: Sequence[CardTask], cache_dir: Path | None,
               font_dir: Path) -> Path | None:
    """The small font for the PDF pages still to draw (None when there is none: every
    page is in the chart cache already, or only PNGs are built)."""
    cache = charts.ChartCache(cache_dir) if cache_dir else None
    pages = [spec for task in tasks for _suffix, spec in task.specs
             if spec.kind == "scorecard_pdf" and not (cache and cache.has(spec))]
    if not pages:
        return None
    return charts.subset_font(set().union(*(charts.characters_of(spec.data)
                                            for spec in pages)), font_dir)


def render_all(tasks: Sequence[CardTask], out_dir: Path, cache_dir: Path | None,
               jobs: int | None, on_done: Callable[[int], None],
               font: Path | None = None) -> list[str]:
    workers = worker_count(len(tasks), jobs)
    cache = str(cache_dir) if cache_dir else None
    if workers == 1:
        with charts.batch_font(font):
            return [path for task in tasks
                    for path in _reported(render_task(task, str(out_dir), cache), on_done)]
    from concurrent.futures import ProcessPoolExecutor  # only a batch build needs them
    from multiprocessing import get_context

    context = get_context("spawn")  # fork would copy a process holding SQLite and locks
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=charts.use_font,
                             initargs=(str(font) if font else None,)) as pool:
        done = pool.map(render_task, tasks, [str(out_dir)] * len(tasks),
                        [cache] * len(tasks), chunksize=max(1, len(tasks) // (workers * 8)))
        return [path for written in done for path in _reported(written, on_done)]


def _reported(written: list[str], on_done: Callable[[int], None]) -> list[str]:
    on_done(1)
    return written


def write_zip(archive: Path, files: Sequence[Path]) -> None:
    """Sorted entries with a fixed date: equal cards give an equal archive."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in sorted(files, key=lambda p: p.name):
            info = zipfile.ZipInfo(path.name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
