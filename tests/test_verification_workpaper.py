"""The workpaper (監査調書) out and back in (DESIGN.md §9): its sheet and header, the
round trip, and files with bad cells refused whole, each error with its cell."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from surveyapp.formats import verification_workbook as workbook_format
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import verification as service
from surveyapp.services import verification_workpaper as workpaper
from surveyapp.store import audit as audit_store
from surveyapp.store import responses as response_store
from surveyapp.store import verification as verification_store
from tests.verification_fixtures import *  # noqa: F403  (the fixtures)
from tests.verification_fixtures import MIN, add, verdict

KEY = b"test-secret-key"
CONTRACT_HEADER = ["department_code", "question_id", "question_text", "self_value",
                   "self_evidence", "verdict", "verified_value", "note"]


@pytest.fixture
def sampled(db, round_id, auditor):
    """U1 and U2 in the sample; U1 answered D-00, D-01, D-02, U2 D-00 and D-01 (its D-02
    is not shown: D-00 no)."""
    add(db, round_id, "U1", auditor)
    add(db, round_id, "U2", auditor)
    return round_id


def exported(db, round_id) -> bytes:
    return workpaper.build_workpaper(db, round_id, KEY, MIN)


def sheet_rows(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data))[workbook_format.SHEET]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def row_of(rows, code, question_id) -> int:
    """The sheet row number of an answer's row."""
    return next(number for number, row in enumerate(rows, start=1)
                if row[0] == code and row[1] == question_id)


def filled(data: bytes, edits: dict[str, object]) -> bytes:
    """The workbook with cells of the 検証 sheet changed, e.g. {"F2": "confirmed"}."""
    book = load_workbook(io.BytesIO(data))
    for ref, value in edits.items():
        book[workbook_format.SHEET][ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preview(db, round_id, data):
    return workpaper.preview(db, data, "監査調書.xlsx", KEY, round_id, MIN)


def cells_of(result) -> dict[str, str]:
    return {problem.cell: str(problem.reason) for problem in result.problems}


# --- export ----------------------------------------------------------------------------------


def test_the_workpaper_has_the_contract_header_and_one_row_per_answer(db, sampled):
    rows = sheet_rows(exported(db, sampled))
    assert rows[0][:8] == CONTRACT_HEADER
    assert rows[0][8:] == ["proof_location", "system_code"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("U1", "D-00", "yes"), ("U1", "D-01", "done"), ("U1", "D-02", "partial"),
        ("U2", "D-00", "no"), ("U2", "D-01", "unknown")]
    assert rows[2][2] == "IDを見直していますか。"


def test_the_workpaper_carries_the_verdicts_recorded_so_far(db, sampled, auditor):
    verdict(db, sampled, "U1", "D-01", "discrepancy", "partial", auditor, note="一部のみ",
            proof_location="ID管理台帳")
    rows = sheet_rows(exported(db, sampled))
    assert rows[row_of(rows, "U1", "D-01") - 1][5:9] == [
        "discrepancy", "partial", "一部のみ", "ID管理台帳"]


def test_self_evidence_holds_the_note_location_date_and_attachment_names(db, sampled):
    """DESIGN.md §13 in the workpaper: what the 所属 recorded as proof, on one line."""
    response = response_store.find_department_response(db, sampled, "U1")
    db.execute("UPDATE answers SET evidence = ?, evidence_location = ?, evidence_date = ? "
               "WHERE response_id = ? AND question_id = 'D-01'",
               ["年1回見直し", "ID管理台帳 第3号", "2021-06-30", response["id"]])
    db["attachment_files"].insert({"sha256": "a" * 64, "size": 10,
                                   "media_type": "application/pdf", "stored_at": "x"})
    db["answer_attachments"].insert({"response_id": response["id"], "question_id": "D-01",
                                     "sha256": "a" * 64, "filename": "見直し記録.pdf",
                                     "added_at": "2021-07-01T00:00:00+00:00"})
    rows = sheet_rows(exported(db, sampled))
    assert rows[row_of(rows, "U1", "D-01") - 1][4] == (
        "年1回見直し / 保管場所: ID管理台帳 第3号 / 日付: 2021-06-30 / 添付: 見直し記録.pdf")
    assert rows[row_of(rows, "U1", "D-02") - 1][4] is None


def test_an_empty_sample_has_no_workpaper(db, round_id):
    with pytest.raises(Invalid):
        exported(db, round_id)


def test_the_metadata_sheet_is_very_hidden(db, sampled):
    book = load_workbook(io.BytesIO(exported(db, sampled)))
    assert book[workbook_format.META_SHEET].sheet_state == "veryHidden"
    assert book[workbook_format.SHEET].protection.sheet


# --- the round trip --------------------------------------------------------------------------


def test_verdicts_go_in_from_the_workpaper(db, sampled, auditor):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    d01 = row_of(rows, "U1", "D-01")
    result = preview(db, sampled, filled(data, {
        f"F{row_of(rows, 'U1', 'D-00')}": "confirmed", f"F{d01}": "相違",
        f"G{d01}": "一部実施している", f"H{d01}": "4月分の記録なし", f"I{d01}": "ID管理台帳",
        f"F{row_of(rows, 'U2', 'D-01')}": "unverifiable"}))
    assert result.problems == []
    assert [(c.department_code, c.question_id, c.verdict, c.verified_value)
            for c in result.changes] == [("U1", "D-00", "confirmed", None),
                                         ("U1", "D-01", "discrepancy", "partial"),
                                         ("U2", "D-01", "unverifiable", None)]
    assert verification_store.verdicts(db, sampled) == []  # a preview writes nothing
    assert workpaper.apply(db, result, auditor, MIN) == 3
    stored = {(v["department_code"], v["question_id"]): v
              for v in verification_store.verdicts(db, sampled)}
    assert stored["U1", "D-01"]["proof_location"] == "ID管理台帳"
    history = verification_store.verdict_history(db, sampled, "U1")
    assert {h["via"] for h in history} == {"workpaper"}
    entry = audit_store.list_entries(db, action="verification.import")[0]
    assert '"verdicts": 3' in entry["detail"]


def test_importing_an_unchanged_export_changes_nothing(db, sampled, auditor):
    verdict(db, sampled, "U1", "D-01", "discrepancy", "partial", auditor)
    result = preview(db, sampled, exported(db, sampled))
    assert (result.changes, result.problems) == ([], [])


def test_sorted_rows_are_read_by_their_key(db, sampled, auditor):
    data = exported(db, sampled)
    book = load_workbook(io.BytesIO(data))
    sheet = book[workbook_format.SHEET]
    rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    for number, row in enumerate(reversed(rows), start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(number, column).value = value
    out = io.BytesIO()
    book.save(out)
    reversed_rows = sheet_rows(out.getvalue())
    result = preview(db, sampled, filled(out.getvalue(), {
        f"F{row_of(reversed_rows, 'U2', 'D-00')}": "confirmed"}))
    assert result.problems == [] and [c.question_id for c in result.changes] == ["D-00"]


# --- bad cells, refused whole -----------------------------------------------------------------


def test_every_bad_cell_is_named_and_nothing_is_recorded(db, sampled, auditor):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    u1 = {qid: row_of(rows, "U1", qid) for qid in ("D-00", "D-01", "D-02")}
    u2 = {qid: row_of(rows, "U2", qid) for qid in ("D-00", "D-01")}
    result = preview(db, sampled, filled(data, {
        f"F{u1['D-00']}": "maybe",  # an unknown verdict
        f"F{u1['D-01']}": "discrepancy", f"G{u1['D-01']}": "mostly",  # not a choice
        f"F{u1['D-02']}": "discrepancy",  # a discrepancy without a value
        f"A{u2['D-00']}": "U3", f"F{u2['D-00']}": "confirmed",  # a 所属 not sampled
        f"B{u2['D-01']}": "D-09", f"F{u2['D-01']}": "confirmed",  # a changed question id
    }))
    problems = cells_of(result)
    assert set(problems) == {f"検証!F{u1['D-00']}", f"検証!G{u1['D-01']}",
                             f"検証!G{u1['D-02']}", f"検証!A{u2['D-00']}",
                             f"検証!B{u2['D-01']}"}
    assert "選択肢にありません" in problems[f"検証!G{u1['D-01']}"]
    assert "確認した値を入力" in problems[f"検証!G{u1['D-02']}"]
    assert "標本に入っていません" in problems[f"検証!A{u2['D-00']}"]
    assert "D-09" in problems[f"検証!B{u2['D-01']}"]
    with pytest.raises(Invalid):
        workpaper.apply(db, result, auditor, MIN)
    assert verification_store.verdicts(db, sampled) == []


def test_a_good_row_beside_a_bad_one_is_not_recorded_either(db, sampled, auditor):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    result = preview(db, sampled, filled(data, {
        f"F{row_of(rows, 'U1', 'D-00')}": "confirmed",
        f"F{row_of(rows, 'U1', 'D-01')}": "probably"}))
    assert len(result.changes) == 1 and len(result.problems) == 1
    with pytest.raises(Invalid):
        workpaper.apply(db, result, auditor, MIN)
    assert verification_store.verdicts(db, sampled) == []


@pytest.mark.parametrize(("verdict_text", "value", "column", "reason"), [
    ("confirmed", "partial", "G", "相違のときだけ"),
    ("discrepancy", "done", "G", "自己申告と同じ"),
    ("", "partial", "F", "判定を入力"),
    ("=1+1", "", "F", "数式"),
])
def test_inconsistent_rows_are_refused_at_their_cell(db, sampled, verdict_text, value, column,
                                                     reason):
    data = exported(db, sampled)
    row = row_of(sheet_rows(data), "U1", "D-01")
    result = preview(db, sampled, filled(data, {f"F{row}": verdict_text or None,
                                                f"G{row}": value or None}))
    assert reason in cells_of(result)[f"検証!{column}{row}"]


def test_a_duplicated_row_is_refused(db, sampled):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    last = len(rows) + 1
    result = preview(db, sampled, filled(data, {f"A{last}": "U1", f"B{last}": "D-00",
                                                f"F{last}": "confirmed"}))
    assert "2つあります" in cells_of(result)[f"検証!B{last}"]


def test_an_answer_changed_after_export_is_refused(db, sampled, auditor):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    response = response_store.find_department_response(db, sampled, "U1")
    response_store.upsert_answer(db, response["id"], {
        "question_id": "D-01", "value": "none", "score": 0, "max_score": 4,
        "evidence": None}, "2021-12-01T00:00:00+00:00")
    row = row_of(rows, "U1", "D-01")
    result = preview(db, sampled, filled(data, {f"F{row}": "confirmed"}))
    assert "書き出し直して" in cells_of(result)[f"検証!D{row}"]


def test_a_finalised_department_cannot_change_through_the_workpaper(db, sampled, auditor):
    verdict(db, sampled, "U1", "D-00", "confirmed", user_id=auditor)
    service.finalise(db, sampled, "U1", auditor, MIN)
    data = exported(db, sampled)
    row = row_of(sheet_rows(data), "U1", "D-00")
    result = preview(db, sampled, filled(data, {f"F{row}": "unverifiable"}))
    assert "確定済み" in cells_of(result)[f"検証!F{row}"]


def test_a_verdict_recorded_after_the_preview_is_a_conflict(db, sampled, auditor):
    data = exported(db, sampled)
    row = row_of(sheet_rows(data), "U1", "D-00")
    result = preview(db, sampled, filled(data, {f"F{row}": "confirmed"}))
    verdict(db, sampled, "U1", "D-00", "unverifiable", user_id=auditor)
    with pytest.raises(Conflict):
        workpaper.apply(db, result, auditor, MIN)
    assert [v["verdict"] for v in verification_store.verdicts(db, sampled)] == ["unverifiable"]


# --- files refused as a whole ---------------------------------------------------------------


def test_edited_metadata_is_refused(db, sampled):
    book = load_workbook(io.BytesIO(exported(db, sampled)))
    meta = book[workbook_format.META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "row" and row[2].value == "D-01":
            row[4].value = "partial"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Invalid, match="改変"):
        preview(db, sampled, out.getvalue())


def test_a_workpaper_of_another_round_is_refused(db, sampled, agg_template, auditor):
    other = agg_template[1][2020]
    add(db, other, "U1", auditor)
    with pytest.raises(Invalid, match="別の調査回"):
        preview(db, sampled, exported(db, other))


def test_a_file_signed_with_another_key_is_refused(db, sampled):
    data = workpaper.build_workpaper(db, sampled, b"another-key", MIN)
    with pytest.raises(Invalid, match="改変"):
        preview(db, sampled, data)


@pytest.mark.parametrize(("data", "name"), [(b"not a zip", "x.xlsx"), (b"PK", "x.csv")])
def test_what_is_not_a_workbook_is_refused(db, sampled, data, name):
    with pytest.raises(Invalid):
        workpaper.preview(db, data, name, KEY, sampled, MIN)


def test_a_pending_preview_survives_as_json(db, sampled, tmp_path):
    data = exported(db, sampled)
    rows = sheet_rows(data)
    result = preview(db, sampled, filled(data, {
        f"F{row_of(rows, 'U1', 'D-00')}": "nope", f"F{row_of(rows, 'U1', 'D-01')}": "confirmed"}))
    pending = workpaper.PendingWorkpapers(tmp_path)
    owner = {"user_id": 1, "round_id": sampled}
    loaded = pending.load(pending.save(owner, result), owner)
    assert loaded.changes == result.changes
    assert [str(p) for p in loaded.problems] == [str(p) for p in result.problems]
    assert loaded.problems[0].reason.message == result.problems[0].reason.message
