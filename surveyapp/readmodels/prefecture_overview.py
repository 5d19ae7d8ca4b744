"""全庁の概況 (the prefecture overview of one round, for admins and auditors): the band
chart, the trend of the prefecture average and the heatmap of every 所属 by section,
as chart specs (drawn by `surveyapp.charts`, cached under their data) and as the
figures the page shows in tables (the heatmap as an HTML table, its image for print).
The charts take the page's language (`lang`, `translate`); their defaults are Japanese."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.charts import ChartSpec
from surveyapp.model import N_, Message, Translate, fiscal_year_label
from surveyapp.readmodels import aggregate, kept, results_view
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.readmodels.scorecards import band_text

UNSUBMITTED_LABEL = N_("未提出（区分に含めない）")


@dataclass(frozen=True)
class Overview:
    round: round_reads.Round
    heatmap: ChartSpec
    bands: ChartSpec
    trend: ChartSpec
    band_counts: tuple[results_view.BandCount, ...]
    trend_points: tuple[tuple[round_reads.Round, float | None], ...]
    scores: RoundScores  # the heatmap's figures, drawn as a table on the page

    @property
    def sections(self) -> tuple:
        return results_view.scored_sections(self.scores.questionnaire)

    @property
    def heat_rows(self) -> list[tuple[DepartmentResult, list[float | None]]]:
        """Per 所属, its score in each of `sections`: the figures the heatmap draws."""
        return list(zip(self.scores.departments, self.heatmap.data["values"], strict=True))


def overview(db: Database, round_id: int, anonymity_min: int, lang: str = "ja",
             translate: Translate = str) -> Overview:
    """The admin/auditor charts of one round; raises NotFound for an unknown round.
    Kept per round and language until a score changes (readmodels/kept.py): the heatmap
    of every 所属 and the trend over the earlier rounds are built once, not per view.
    `translate` must depend on `lang` only."""
    return kept.memoised(db, ("overview", round_id, anonymity_min, lang),
                         lambda: _overview(db, round_id, anonymity_min, lang, translate))


def _overview(db: Database, round_id: int, anonymity_min: int, lang: str,
              translate: Translate) -> Overview:
    scores = aggregate.round_scores(db, round_id, anonymity_min)
    counts = results_view.band_counts(scores.questionnaire, scores.departments)
    points = trend_points(db, scores, anonymity_min)
    return Overview(scores.round, heatmap_spec(scores, lang, translate),
                    bands_spec(scores, counts, lang, translate),
                    trend_spec(scores, points, lang, translate), counts, points, scores)


def heatmap_spec(scores: RoundScores, lang: str = "ja", translate: Translate = str) -> ChartSpec:
    sections = results_view.scored_sections(scores.questionnaire)
    year = fiscal_year_label(scores.round.fiscal_year, lang)
    return ChartSpec("heatmap", {
        "row_labels": [f"{d.code} {d.name}" for d in scores.departments],
        "column_labels": [f"{s.id} {s.title.get(lang)}" for s in sections],
        # Cells are drawn as figures (white on the dark ends of the scale).
        "values": [[d.sections.get(s.id) for s in sections] for d in scores.departments],
        "title": translate(Message(N_("%(year)s 所属別・分野別得点"), year=year))})


def bands_spec(scores: RoundScores, counts: Sequence[results_view.BandCount],
               lang: str = "ja", translate: Translate = str) -> ChartSpec:
    year = fiscal_year_label(scores.round.fiscal_year, lang)
    return ChartSpec("bands", {
        "labels": [translate(Message(UNSUBMITTED_LABEL)) if c.unsubmitted
                   else band_text(c.band, lang, translate) for c in counts],
        "counts": [c.count for c in counts],
        "title": translate(Message(N_("%(year)s 評価区分別の所属数"), year=year)),
        "axis_label": translate(Message(N_("所属数")))})


def trend_points(db: Database, scores: RoundScores,
                 anonymity_min: int) -> tuple[tuple[round_reads.Round, float | None], ...]:
    """Prefecture overall of every non-draft round of the questionnaire up to this one."""
    current = scores.round
    rounds = sorted((r for r in round_reads.list_rounds(db)
                     if r.questionnaire_id == current.questionnaire_id
                     and r.status != "draft" and r.fiscal_year <= current.fiscal_year),
                    key=lambda r: (r.fiscal_year, r.id))
    return tuple((r, scores.prefecture.overall if r.id == current.id else
                  aggregate.round_scores(db, r.id, anonymity_min).prefecture.overall)
                 for r in rounds)


def trend_spec(scores: RoundScores, points: Sequence[tuple[round_reads.Round, float | None]],
               lang: str = "ja", translate: Translate = str) -> ChartSpec:
    bands = sorted(scores.questionnaire.bands, key=lambda b: -b.min)
    return ChartSpec("trend", {
        "x_labels": [fiscal_year_label(r.fiscal_year, lang) for r, _ in points],
        "series": [[translate(Message(N_("全庁平均（総合）"))), [value for _, value in points]]],
        "title": translate(Message(N_("全庁平均の推移"))),
        "thresholds": [[b.id, b.min] for b in bands if b.min > 0]})
