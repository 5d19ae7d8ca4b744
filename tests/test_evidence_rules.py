"""surveyapp/evidence.py: the rules of an answer's evidence (DESIGN.md §13)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import evidence
from surveyapp.evidence import AnswerEvidence, InvalidEvidence

TODAY = date(2021, 11, 15)


@pytest.mark.parametrize("typed, stored", [
    ("2021-06-30", "2021-06-30"), (" 2021-06-30 ", "2021-06-30"), ("2021/6/3", "2021-06-03"),
    ("２０２１－０６－３０", "2021-06-30"), ("", None), (None, None),
    (date(2021, 1, 4), "2021-01-04"), ("2021-11-15", "2021-11-15")])
def test_a_proof_date_is_stored_as_iso_text(typed, stored):
    assert evidence.parse_date(typed, TODAY) == stored


@pytest.mark.parametrize("typed", ["2021-11-16", "2099-01-01"])
def test_a_proof_date_in_the_future_is_refused(typed):
    with pytest.raises(InvalidEvidence, match="未来の日付"):
        evidence.parse_date(typed, TODAY)


@pytest.mark.parametrize("typed", ["2021-02-30", "2021-13-01", "昨日", "2021-06", "20210630",
                                   "2021-06-30T10:00", "-1-01-01", "2021-6-3-1"])
def test_a_malformed_proof_date_is_refused(typed):
    with pytest.raises(InvalidEvidence, match="日付として読み取れません"):
        evidence.parse_date(typed, TODAY)


def test_a_proof_date_before_2000_is_refused():
    with pytest.raises(InvalidEvidence, match="古すぎます"):
        evidence.parse_date("1999-12-31", TODAY)


@given(st.text(max_size=30))
def test_any_typed_date_is_stored_or_refused_with_a_message(typed):
    try:
        stored = evidence.parse_date(typed, TODAY)
    except InvalidEvidence as refused:
        assert refused.message
    else:
        assert stored is None or date.fromisoformat(stored) <= TODAY


@pytest.mark.parametrize("text", ["台帳\x00", "保管\u202eexe.pdf", "改行\n入り", "タブ\tも"])
def test_control_characters_in_evidence_text_are_refused(text):
    with pytest.raises(InvalidEvidence, match="制御文字"):
        evidence.clean_text(text, 200)


def test_evidence_text_is_trimmed_and_limited():
    assert evidence.clean_text("  文書管理システム 第3号  ", 200) == "文書管理システム 第3号"
    assert evidence.clean_text("   ", 200) is None
    with pytest.raises(InvalidEvidence, match="200文字以内"):
        evidence.clean_text("あ" * 201, 200)


@pytest.mark.parametrize("given_evidence, missing", [
    (None, (evidence.NOTE_OR_LOCATION, evidence.DATE)),
    (AnswerEvidence(note="確認済み"), (evidence.DATE,)),
    (AnswerEvidence(location="第3号"), (evidence.DATE,)),
    (AnswerEvidence(date="2021-06-30"), (evidence.NOTE_OR_LOCATION,)),
    (AnswerEvidence(note="確認済み", date="2021-06-30"), ()),
    (AnswerEvidence(location="第3号", date="2021-06-30"), ())])
def test_required_evidence_is_a_note_or_a_location_and_a_date(given_evidence, missing):
    assert evidence.missing(given_evidence) == missing


@pytest.mark.parametrize("given_evidence, attachments, documented", [
    (None, 0, False), (AnswerEvidence(date="2021-06-30"), 0, False),
    (AnswerEvidence(date="2021-06-30"), 1, True), (AnswerEvidence(note="済"), 0, True),
    (AnswerEvidence(location="第3号"), 0, True)])
def test_a_date_alone_does_not_document_an_answer(given_evidence, attachments, documented):
    assert evidence.documented(given_evidence, attachments) is documented


def test_a_note_given_as_text_is_the_evidence_note():
    assert evidence.as_record("台帳") == AnswerEvidence(note="台帳")
    assert evidence.texts(AnswerEvidence("a", None, "2021-06-30")) == ("a", "", "2021-06-30")
    assert not AnswerEvidence() and AnswerEvidence(date="2021-06-30")


def test_a_summary_puts_note_location_date_and_file_names_on_one_line():
    found = AnswerEvidence("年2回点検", "文書番号 情企第12号", "2021-06-30")
    assert evidence.summary(found, ["点検記録.pdf", "台帳.xlsx"]) == (
        "年2回点検 / 保管場所: 文書番号 情企第12号 / 日付: 2021-06-30"
        " / 添付: 点検記録.pdf, 台帳.xlsx")


@pytest.mark.parametrize("given_evidence, names, text", [
    (None, (), ""), (AnswerEvidence(), (), ""), ("台帳", (), "台帳"),
    (AnswerEvidence(date="2021-06-30"), (), "日付: 2021-06-30"),
    (None, ("a.pdf",), "添付: a.pdf")])
def test_a_summary_leaves_out_the_parts_that_are_empty(given_evidence, names, text):
    assert evidence.summary(given_evidence, names) == text


def test_a_summary_translates_its_labels_but_not_the_data():
    english = {evidence.LOCATION_PART: "Kept at: %(place)s",
               evidence.DATE_PART: "Date: %(day)s", evidence.FILES_PART: "Files: %(names)s"}

    def translate(message):
        return english[message.message] % message.params

    found = AnswerEvidence("点検", "台帳", "2021-06-30")
    assert evidence.summary(found, ["記録.pdf"], translate) == (
        "点検 / Kept at: 台帳 / Date: 2021-06-30 / Files: 記録.pdf")
