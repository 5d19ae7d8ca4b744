"""The approval sheet (承認票) of one self-check: an A4 PDF to attach to 電子決裁
(DESIGN.md §10, `GET /responses/<id>/approval.pdf`).

It names the 所属, the round, who submitted and when, who decided and when, the
decision and its comment, the overall score, every answer (the 所属's, then each of
its information systems' block, DESIGN.md §12), and the sha256 of the answer set that
was approved, with a line saying whether the answers stored now still
hash to it. Japanese, like the scorecards (the prefecture's working language).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import audiences, charts, question_types, scoring
from surveyapp.evidence import summary as evidence_summary
from surveyapp.model import Question, Questionnaire, fiscal_year_label
from surveyapp.readmodels import approval_states as approvals
from surveyapp.readmodels.deadlines import time_text
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store

AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)
SYSTEM = audiences.SYSTEM.name
DECISION_TEXT = {"approved": "承認", "returned": "差戻し"}


@dataclass(frozen=True)
class SystemAnswers:
    """One system's block of the self-check, as the caller loaded it."""

    code: str
    name: str
    answers: Mapping
    evidence: Mapping


def sheet_pdf(db: Database, response: Mapping, questionnaire: Questionnaire,
              answers: Mapping, evidence: Mapping,
              systems: Sequence[SystemAnswers] = ()) -> bytes:
    return charts.approval_sheet_pdf(**sheet_data(db, response, questionnaire, answers,
                                                  evidence, systems))


def sheet_data(db: Database, response: Mapping, questionnaire: Questionnaire,
               answers: Mapping, evidence: Mapping,
               systems: Sequence[SystemAnswers] = ()) -> dict:
    """The plain data `charts.approval_sheet_pdf` lays out, for a department response
    (a store row with its round), its answers and its system blocks as the caller
    loaded them."""
    view = approvals.approval_view(db, response)
    unit = department_store.get_department(db, response["department_code"])
    scores = scoring.self_check_scores(questionnaire, answers,
                                       [system.answers for system in systems])
    return {
        "title": f"自己点検 承認票　{unit['name']}",
        "subtitle": f"{fiscal_year_label(response['fiscal_year'])}　"
                    f"{questionnaire.title.get('ja')}　調査票 {questionnaire.id} "
                    f"{questionnaire.version}",
        "facts": facts(db, response, unit, view, scores),
        "answers": answer_table(questionnaire, answers, evidence, systems),
        "footer": "回答の sha256 は、承認時点の回答（設問ID・保存値・根拠）の正規化 JSON の"
                  "ハッシュ値です（計算方法は利用の手引きを参照）。"}


def facts(db: Database, response: Mapping, unit: Mapping, view: approvals.ApprovalView,
          scores) -> list[list[str]]:
    decision = view.current or (view.decisions[0] if view.decisions else None)
    rows = [["所属", f"{unit['name']}（{unit['code']}）"],
            ["状態", status_text(view, response)],
            ["提出者", person(db, response["submitted_by"])],
            ["提出日時", time_text(response["submitted_at"]) or "—"]]
    rows += decision_facts(decision)
    band = f"　{scores.band.id} {scores.band.label.get('ja')}" if scores.band else ""
    rows.append(["総合得点", f"{charts.score_text(scores.overall)}{band}"])
    rows += hash_facts(view, decision)
    return rows


def status_text(view: approvals.ApprovalView, response: Mapping) -> str:
    if not view.required and response["status"] == "submitted":
        return "提出済み（この調査回は承認不要）"
    return approvals.STATUS_TEXT[view.status]


def decision_facts(decision: approvals.Decision | None) -> list[list[str]]:
    if decision is None:
        return [["承認者", "—（未承認）"], ["承認日時", "—"]]
    who = decision.decided_by_name or decision.decided_by_login
    rows = [["決裁", DECISION_TEXT[decision.decision]],
            ["承認者" if decision.decision == "approved" else "差し戻した人",
             f"{who}（{decision.decided_by_login}）"],
            ["決裁日時", time_text(decision.decided_at)]]
    if decision.comment:
        rows.append(["コメント", " ".join(decision.comment.split())])
    return rows


def hash_facts(view: approvals.ApprovalView,
               decision: approvals.Decision | None) -> list[list[str]]:
    if decision is None:
        return [["回答の sha256", view.answers_sha256]]
    same = view.matches(decision)
    return [["決裁時の sha256", decision.answers_sha256],
            ["現在の回答", "決裁時と一致しています" if same
             else f"決裁後に変更されています（現在 {view.answers_sha256[:16]}…）"]]


def person(db: Database, user_id: int | None) -> str:
    user = user_store.get_user(db, user_id) if user_id else None
    if user is None:
        return "—"
    return f"{user['display_name']}（{user['login']}）" if user["display_name"] \
        else user["login"]


def answer_table(questionnaire: Questionnaire, answers: Mapping, evidence: Mapping,
                 systems: Sequence[SystemAnswers] = ()) -> dict:
    """The 所属's answers by section, then each system's block under a heading row
    naming the system (its questions' relevance reads the 所属's answers too)."""
    rows = section_rows(questionnaire, AUDIENCE, answers, evidence)
    for system in systems:
        rows.append([f"◆ 情報システム {system.code} {system.name}", "", "", ""])
        rows += section_rows(questionnaire, SYSTEM, system.answers, system.evidence, answers)
    return {"heading": "回答内容", "columns": ["設問", "回答", "点数", "根拠"],
            "widths": [0.42, 0.3, 0.08, 0.2], "rows": rows}


def section_rows(questionnaire: Questionnaire, audience: str, answers: Mapping,
                 evidence: Mapping, context: Mapping | None = None) -> list[list[str]]:
    rows = []
    for section in questionnaire.sections_for(audience):
        rows.append([f"■ {section.title.get('ja')}", "", "", ""])
        rows += [answer_row(q, answers, evidence, context) for q in section.questions]
    return rows


def answer_row(question: Question, answers: Mapping, evidence: Mapping,
               context: Mapping | None = None) -> list[str]:
    value = answers.get(question.id)
    text = f"{question.id} {question.text.get('ja')}"
    if not question.is_relevant({**(context or {}), **answers}):
        return [text, "回答不要", "—", ""]
    if question_types.is_empty(value):
        return [text, "（未回答）", "—", evidence_summary(evidence.get(question.id))]
    points = scoring.answer_points(question, value) if question.scored else None
    shown = "—" if points is None or not question.max_score \
        else f"{points:g}/{question.max_score:g}"
    return [text, question_types.of(question).to_cell(question, value, "ja"), shown,
            evidence_summary(evidence.get(question.id))]
