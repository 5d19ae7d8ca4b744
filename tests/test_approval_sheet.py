"""The approval sheet (承認票, DESIGN.md §10): an A4 PDF whose Japanese text is
searchable, naming 所属, round, submitter, approver, decision, score, answers, hash."""

from __future__ import annotations

import re

import pytest

from surveyapp import charts
from surveyapp.readmodels import approval_sheet, approval_states
from surveyapp.services import responses as responses_service
from surveyapp.store import responses as response_store
from tests.closed_network import pdf_references
from tests.test_approvals import approve, flow, return_it  # noqa: F401 - the fixture
from tests.test_charts import pdf_text

A4_POINTS = (595.44, 841.68)  # 8.27 x 11.69 inches


def sheet(db, response_id: int) -> bytes:
    """The sheet as the web view builds it: the response and its answers loaded."""
    response = response_store.get_response(db, response_id)
    questionnaire = responses_service.definition_for(db, response)
    answers, evidence = responses_service.load_answers(db, response_id, questionnaire)
    return approval_sheet.sheet_pdf(db, response, questionnaire, answers, evidence)


@pytest.fixture
def approved_pdf(db, flow):  # noqa: F811
    approve(db, flow, comment="内容を確認しました")
    return sheet(db, flow.response_id)


def test_the_sheet_is_an_a4_pdf(approved_pdf):
    assert approved_pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", approved_pdf)
    assert boxes and all((float(w), float(h)) == A4_POINTS for w, h in boxes)


def test_the_sheets_japanese_text_is_searchable(db, flow, approved_pdf):  # noqa: F811
    text = pdf_text(approved_pdf).replace("\n", "")  # a long cell wraps onto lines
    for expected in ("自己点検 承認票", "テストU1", "テスト用自己点検", "令和3年度",
                     "承認者", "chief", "clerk", "内容を確認しました", "総合得点",
                     "SYS-00", "所管する情報システムがありますか。", "いいえ",
                     "決裁時と一致しています"):
        assert expected in text, expected


def test_the_sheet_carries_the_approved_hash(db, flow, approved_pdf):  # noqa: F811
    response = response_store.get_response(db, flow.response_id)
    assert approval_states.answer_set_sha256(db, response) in pdf_text(approved_pdf)


def test_the_sheet_says_when_the_answers_changed_after_the_decision(db, flow):  # noqa: F811
    return_it(db, flow)
    version = response_store.get_response(db, flow.response_id)["version"]
    responses_service.save_draft(db, flow.response_id, version, {"NOTE-01": "追記"}, {},
                                 flow.clerk["id"])
    text = pdf_text(sheet(db, flow.response_id))
    assert "決裁後に変更されています" in text and "差戻し" in text


def test_a_sheet_before_any_decision_says_not_approved(db, flow):  # noqa: F811
    text = pdf_text(sheet(db, flow.response_id))
    assert "未承認" in text and "提出済み（承認待ち）" in text


def test_the_sheet_names_no_other_host(approved_pdf):
    assert pdf_references(approved_pdf) == []


def test_a_long_answer_table_goes_on_to_further_pages():
    rows = [[f"Q-{n:03d} 設問", "実施している", "4/4", ""] for n in range(120)]
    pdf = charts.approval_sheet_pdf(
        title="自己点検 承認票", subtitle="令和3年度", facts=[["所属", "総務課"]],
        answers={"heading": "回答内容", "columns": ["設問", "回答", "点数", "根拠"],
                 "widths": [0.42, 0.3, 0.08, 0.2], "rows": rows}, footer="")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3
    text = pdf_text(pdf)
    assert "Q-000" in text and "Q-119" in text and "回答内容（続き）" in text


