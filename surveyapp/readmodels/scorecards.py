"""Scorecards: one page per 所属 and round, as HTML data, a radar chart and a PDF page.

A `RoundContext` holds what every card of a round needs, computed once (the round's
scores, the comparison with the previous round of the same questionnaire, the
prefecture's quiz correct rates), so a card costs no further query and building all
~300 cards costs the same few queries as building one. Chart specs carry only plain
data, so the CLI can draw them in worker processes; `charts.ChartCache` keeps each
chart under the hash of its data and draws it again only when the data changes.

Writing every card of a round to files is scorecard_files.py; the prefecture overview
(全庁の概況: its charts and the heatmap's table) is prefecture_overview.py. The PDF is Japanese (the
prefecture's working language and the UI's source language).
The charts the HTML pages show take the page's language (`lang` and a `translate` of
messages, from the web layer); their defaults, and the CLI, draw them in Japanese.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import findings, question_types
from surveyapp.charts import ChartSpec
from surveyapp.findings import ordered_findings
from surveyapp.model import (
    N_,
    Band,
    Message,
    Question,
    Questionnaire,
    Translate,
    fiscal_year_label,
)
from surveyapp.readmodels import aggregate, compare, followup_lists, results_view, system_results
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.readmodels.results_view import delta_text, score_text
from surveyapp.readmodels.results_view import percent as percent_text
from surveyapp.readmodels.verification import SampledDepartment, round_verification
from surveyapp.refusals import NotFound
from surveyapp.store import departments as department_store

PREFECTURE_LABEL = N_("全庁平均")
UNSCORED_LABEL = N_("得点なし")
# The PDF is Japanese only: whose answers the overall rests on (aggregate.SCORE_BASES).
BASIS_TEXT = {"department": "（所属回答）", "staff": "（職員回答）", "combined": "（合算）"}
OPEN_STATUS_TEXT = {"not_started": "未着手", "in_progress": "対応中"}


# --- the card ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionRow:
    id: str
    title: str
    score: float | None
    prefecture: float | None
    previous: float | None
    comparable: bool | None  # None: no previous round to compare with
    undocumented: int | None = None  # 実施している without evidence (§13); None: n/a

    @property
    def delta(self) -> float | None:
        return compare.Change(self.previous, self.score).delta


@dataclass(frozen=True)
class FindingRow:
    finding: str
    score: float | None
    prefecture: float | None


@dataclass(frozen=True)
class QuizRow:
    question_id: str
    text: str
    rate: float | None        # the 所属's staff: share of correct answers (0-1)
    prefecture: float | None  # every submitted staff answer of the round, pooled


@dataclass(frozen=True)
class OpenItem:
    """An improvement item (改善計画) of the 所属 not yet done, from this or an earlier round."""

    finding: str
    fiscal_year: int
    owner: str
    status: str  # a followup_lists.STATUSES value other than "done"
    due_on: str | None
    system_code: str | None = None  # the information system it is about, if any

    @property
    def subject(self) -> str:
        return f"{self.finding}（{self.system_code}）" if self.system_code else self.finding


@dataclass(frozen=True)
class Scorecard:
    round: round_reads.Round
    questionnaire: Questionnaire
    department: DepartmentResult
    bureau_name: str
    prefecture_overall: float | None
    previous_round: round_reads.Round | None
    previous_overall: float | None
    sections: tuple[SectionRow, ...]
    findings: tuple[FindingRow, ...]
    quiz: tuple[QuizRow, ...]         # empty while the 所属 has too few staff answers
    open_items: tuple[OpenItem, ...]
    systems: tuple[system_results.SystemResult, ...] = ()  # its systems (DESIGN.md §12)
    verification: SampledDepartment | None = None  # its finalised audit verification

    @property
    def code(self) -> str:
        return self.department.code

    @property
    def band(self) -> Band | None:
        return self.department.band

    @property
    def overall_delta(self) -> float | None:
        return compare.Change(self.previous_overall, self.department.overall).delta


@dataclass(frozen=True)
class RoundContext:
    """Everything the cards of one round share, computed once."""

    scores: RoundScores
    comparison: compare.Comparison | None
    prefecture_quiz: Mapping[str, float | None]
    bureau_names: Mapping[str, str]
    open_items: Mapping[str, tuple[OpenItem, ...]]
    undocumented: Mapping[str, Mapping[str, int]]  # 所属 -> section -> answers
    verified: Mapping[str, SampledDepartment]  # the 所属 whose verification is finalised
    systems: system_results.RoundSystems | None = None

    def previous(self, code: str) -> compare.DepartmentComparison | None:
        if self.comparison is None:
            return None
        return next((d for d in self.comparison.departments if d.code == code), None)


def previous_round(db: Database, current: round_reads.Round) -> round_reads.Round | None:
    """The latest earlier non-draft round of the same questionnaire."""
    earlier = [r for r in round_reads.list_rounds(db)
               if r.questionnaire_id == current.questionnaire_id and r.status != "draft"
               and (r.fiscal_year, r.id) < (current.fiscal_year, current.id)]
    return max(earlier, key=lambda r: (r.fiscal_year, r.id), default=None)


def round_context(db: Database, round_id: int, anonymity_min: int) -> RoundContext:
    """Raises NotFound for an unknown round."""
    current = aggregate.round_scores(db, round_id, anonymity_min)
    earlier = previous_round(db, current.round)
    comparison = None
    if earlier is not None:
        comparison = compare.compare_rounds(db, earlier.id, round_id, anonymity_min)
        current = comparison.after
    bureaus = {row["code"]: row["name"] for row in department_store.list_bureaus(db)}
    verified = round_verification(db, round_id, anonymity_min).finalised
    return RoundContext(current, comparison, prefecture_quiz_rates(db, current),
                        bureaus, open_items(db, current.round),
                        answer_reads.undocumented_by_section(db, round_id,
                                                             current.questionnaire),
                        {found.code: found for found in verified},
                        system_results.round_systems(db, round_id))


def open_items(db: Database, current: round_reads.Round) -> dict[str, tuple[OpenItem, ...]]:
    """{所属 code: its open items of this questionnaire up to this round}, one query."""
    found: dict[str, list[OpenItem]] = {}
    for item in followup_lists.list_items(db):
        if (item.is_open and item.questionnaire_id == current.questionnaire_id
                and item.fiscal_year <= current.fiscal_year):
            found.setdefault(item.department_code, []).append(OpenItem(
                item.finding, item.fiscal_year, item.owner, item.status, item.due_on,
                item.system_code))
    return {code: tuple(items) for code, items in found.items()}


def staff_quiz_questions(questionnaire: Questionnaire) -> list[Question]:
    return [q for q in questionnaire.questions_for("staff")
            if question_types.of(q).has_correct_answers and q.scored]


def prefecture_quiz_rates(db: Database, scores: RoundScores) -> dict[str, float | None]:
    """Correct rate of each staff quiz question over every submitted staff answer."""
    questionnaire = scores.questionnaire
    counts = aggregate.choice_distribution(db, scores.round.id, questionnaire, "staff",
                                           scores.anonymity_min)
    rates = {}
    for question in staff_quiz_questions(questionnaire):
        found = counts.get(question.id, {})
        figures = question_types.of(question).summarise_counts(question, found,
                                                               sum(found.values()))
        rates[question.id] = figures["correct_rate"]
    return rates


def build_scorecard(db: Database, round_id: int, code: str,
                    anonymity_min: int) -> Scorecard:
    """One 所属's card; raises NotFound when the round or the 所属 is not there."""
    return scorecard(round_context(db, round_id, anonymity_min), code)


def scorecard(context: RoundContext, code: str) -> Scorecard:
    scores = context.scores
    result = scores.department(code)
    if result is None:
        raise NotFound(N_("所属が見つかりません。"))
    previous = context.previous(code)
    return Scorecard(
        round=scores.round, questionnaire=scores.questionnaire, department=result,
        bureau_name=context.bureau_names.get(result.parent_code or "", ""),
        prefecture_overall=scores.prefecture.overall,
        previous_round=context.comparison.before.round if context.comparison else None,
        previous_overall=previous.changes.overall.before if previous else None,
        sections=section_rows(scores, result, previous,
                              context.undocumented.get(code, {}) if result.submitted else None),
        findings=finding_rows(scores, result),
        quiz=quiz_rows(scores.questionnaire, result, context.prefecture_quiz),
        open_items=context.open_items.get(code, ()),
        systems=context.systems.of_department(code) if context.systems else (),
        verification=context.verified.get(code))


def section_rows(scores: RoundScores, result: DepartmentResult,
                 previous: compare.DepartmentComparison | None,
                 undocumented: Mapping[str, int] | None = None) -> tuple[SectionRow, ...]:
    """`undocumented`: per section, full-marks answers without evidence (None: unsubmitted)."""
    rows = []
    taking = answer_reads.sections_taking_evidence(scores.questionnaire)
    for section in results_view.scored_sections(scores.questionnaire):
        change = previous.changes.sections.get(section.id) if previous else None
        rows.append(SectionRow(
            section.id, section.title.ja, result.sections.get(section.id),
            scores.prefecture.sections.get(section.id),
            change.change.before if change else None,
            None if previous is None else bool(change and change.comparable),
            undocumented.get(section.id, 0)
            if undocumented is not None and section.id in taking else None))
    return tuple(rows)


def finding_rows(scores: RoundScores, result: DepartmentResult) -> tuple[FindingRow, ...]:
    return tuple(FindingRow(finding, result.findings.get(finding),
                            scores.prefecture.findings.get(finding))
                 for finding in ordered_findings(scores.questionnaire.findings))


def quiz_rows(questionnaire: Questionnaire, result: DepartmentResult,
              prefecture: Mapping[str, float | None]) -> tuple[QuizRow, ...]:
    """A quiz's `r` is its correct rate; staff ratios exist only above the minimum."""
    if result.staff_hidden:
        return ()
    return tuple(QuizRow(q.id, q.text.ja, result.ratios.get(q.id), prefecture.get(q.id))
                 for q in staff_quiz_questions(questionnaire))


def cards_of_round(context: RoundContext) -> list[Scorecard]:
    return [scorecard(context, result.code) for result in context.scores.departments]


# --- text shown on the charts and the PDF ------------------------------------------------


def band_text(band: Band | None, lang: str = "ja", translate: Translate = str) -> str:
    if band is None:
        return translate(Message(UNSCORED_LABEL))
    return f"{band.id} {band.label.get(lang)}"


def staff_text(result: DepartmentResult, anonymity_min: int) -> str:
    rate = percent_text(result.response_rate)
    text = f"{result.staff_responses} / {result.headcount}人（{rate}）"
    if result.staff_hidden:
        text += f"　回答が{anonymity_min}人未満のため職員の設問は集計していません"
    return text


# --- chart specs -----------------------------------------------------------------------


def radar_data(card: Scorecard, lang: str = "ja", translate: Translate = str) -> dict:
    return {"labels": [card.questionnaire.section(row.id).title.get(lang)
                       for row in card.sections],
            "values": [row.score for row in card.sections],
            "reference": [row.prefecture for row in card.sections],
            "value_label": card.department.name,
            "reference_label": translate(Message(PREFECTURE_LABEL))}


def radar_spec(card: Scorecard, lang: str = "ja", translate: Translate = str) -> ChartSpec:
    return ChartSpec("radar", radar_data(card, lang, translate), scope=card.code)


def pdf_spec(card: Scorecard, anonymity_min: int) -> ChartSpec:
    return ChartSpec("scorecard_pdf", {"pages": [pdf_page(card, anonymity_min)]},
                     scope=card.code)


def pdf_page(card: Scorecard, anonymity_min: int) -> dict:
    """The plain data `charts.draw_page` lays out on one A4 page."""
    result = card.department
    return {
        "title": f"スコアカード　{result.name}",
        "subtitle": f"{fiscal_year_label(card.round.fiscal_year)}　{card.bureau_name}　"
                    f"所属コード {result.code}　調査票 {card.round.questionnaire_id} "
                    f"{card.round.version}",
        "facts": pdf_facts(card, anonymity_min),
        "radar": radar_data(card),
        "tables": [table for table in (section_table(card), finding_table(card),
                                       system_results.pdf_table(card.systems),
                                       quiz_table(card), items_table(card),
                                       verification_table(card)) if table],
        "footer": "得点は0〜100（小数第1位で表示）。全庁平均は各所属の得点の単純平均。"
                  "「比較不可」の分野は設問の構成が前回と異なります。「根拠なしの実施」は満点の"
                  "回答のうち根拠（メモ・保管場所・添付）のないものの件数です。",
    }


def pdf_facts(card: Scorecard, anonymity_min: int) -> list[list[str]]:
    result = card.department
    basis = BASIS_TEXT.get(result.basis or "", "")
    overall = f"{score_text(result.overall)}　{band_text(card.band)}　{basis}".rstrip()
    facts = [["総合得点", overall],
             ["全庁平均", score_text(card.prefecture_overall)],
             ["自己点検", "提出済み" if result.submitted else "未提出"],
             ["職員アンケート", staff_text(result, anonymity_min)]]
    if card.previous_round is not None:
        facts.append(["前回比", f"{delta_text(card.overall_delta)}（"
                      f"{fiscal_year_label(card.previous_round.fiscal_year)}: "
                      f"{score_text(card.previous_overall)}）"])
    return facts


def section_table(card: Scorecard) -> dict:
    return {"heading": "分野別得点",
            "columns": ["分野", "得点", "全庁平均", "前回", "増減", "根拠なしの実施"],
            "widths": [0.34, 0.1, 0.12, 0.1, 0.16, 0.16],
            "rows": [[f"{row.id} {row.title}", score_text(row.score),
                      score_text(row.prefecture), score_text(row.previous),
                      change_text(row),
                      "—" if row.undocumented is None else f"{row.undocumented}件"]
                     for row in card.sections]}


def change_text(row: SectionRow) -> str:
    if row.comparable is False:
        return f"{delta_text(row.delta)}（比較不可）" if row.delta is not None else "比較不可"
    return delta_text(row.delta)


def finding_table(card: Scorecard) -> dict | None:
    if not card.findings:
        return None
    return {"heading": "監査項目別得点", "columns": ["監査項目", "得点", "全庁平均"],
            "widths": [0.62, 0.13, 0.15],
            "rows": [[findings.label(row.finding), score_text(row.score),
                      score_text(row.prefecture)]
                     for row in card.findings]}


def quiz_table(card: Scorecard) -> dict | None:
    if not card.quiz:
        return None
    return {"heading": "職員クイズの正答率", "columns": ["設問", "所属", "全庁"],
            "widths": [0.7, 0.13, 0.15],
            "rows": [[f"{row.question_id} {row.text}", percent_text(row.rate),
                      percent_text(row.prefecture)] for row in card.quiz]}


def items_table(card: Scorecard) -> dict | None:
    if not card.open_items:
        return None
    return {"heading": "未完了の改善計画", "columns": ["監査項目", "年度", "担当", "状況", "期限"],
            "widths": [0.24, 0.18, 0.26, 0.12, 0.15],
            "rows": [[item.subject, fiscal_year_label(item.fiscal_year), item.owner or "—",
                      OPEN_STATUS_TEXT.get(item.status, item.status), item.due_on or "—"]
                     for item in card.open_items]}


def verification_table(card: Scorecard) -> dict | None:
    """The finalised audit verification's figures (DESIGN.md §9), when there is one."""
    found = card.verification
    if found is None:
        return None
    return {"heading": "監査検証（確定）",
            "columns": ["確認済み", "相違", "確認不能", "信頼度", "自己点検の得点", "検証後の得点"],
            "widths": [0.13, 0.1, 0.13, 0.13, 0.2, 0.2],
            "rows": [[str(found.counts.confirmed), str(found.counts.discrepancies),
                      str(found.counts.unverifiable), percent_text(found.reliability),
                      score_text(found.self_score), score_text(found.verified_score)]]}
