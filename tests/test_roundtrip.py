"""services.excel_roundtrip and formats.selfcheck_workbook: the downloadable form, the
preview of an upload, applying it."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from surveyapp.evidence import AnswerEvidence
from surveyapp.formats import selfcheck_workbook
from surveyapp.readmodels import response_history as answer_history
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import excel_roundtrip as roundtrip
from surveyapp.services import responses as response_service
from surveyapp.services import rounds
from tests.test_responses import publish_form

KEY = b"test-secret-key"


@pytest.fixture
def survey(db, make_user):
    setup = publish_form(db)
    setup.user = make_user("unit1", "department", "U1")
    make_user("unit2", "department", "U2")
    setup.admin = make_user("admin1", "admin")
    setup.response_id = response_service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.user["id"])["id"]
    response_service.save_draft(db, setup.response_id, 1,
                                {"SYS-00": "yes", "PWD-05": "partial", "NOTE-01": "=1+1"},
                                {"PWD-05": AnswerEvidence("2021-05-01", date="2021-05-01")},
                                setup.user["id"])
    return setup


def download(db, survey, code="U1"):
    data = roundtrip.form_for_download(db, survey.round_id, code, survey.user["id"], KEY)
    return openpyxl.load_workbook(io.BytesIO(data))


def row_of(workbook, question_id) -> int:
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    return next(row for row in range(2, sheet.max_row + 1)
                if sheet.cell(row, selfcheck_workbook.ID_COLUMN).value == question_id)


def fill(workbook, **answers) -> bytes:
    """answers: question id (with '_' for '-') -> answer cell, or (answer, evidence)."""
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    for key, value in answers.items():
        row = row_of(workbook, key.replace("_", "-"))
        answer, note = value if isinstance(value, tuple) else (value, ...)
        sheet.cell(row, selfcheck_workbook.ANSWER_COLUMN).value = answer
        if note is not ...:
            sheet.cell(row, selfcheck_workbook.EVIDENCE_COLUMN).value = note
    return saved(workbook)


def saved(workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def preview(db, survey, data, filename="form.xlsx", code="U1", round_id=None):
    return roundtrip.preview(db, data, filename, KEY, round_id or survey.round_id, code)


def stored(db, survey):
    return response_service.load_answers(db, survey.response_id)


# --- the form -----------------------------------------------------------------------


def test_form_has_one_row_per_department_question_with_the_current_answers(db, survey):
    sheet = download(db, survey)[selfcheck_workbook.FORM_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == selfcheck_workbook.HEADER
    assert [row[1] for row in rows[1:]] == [
        "SYS-00", "PWD-05", "PWD-06", "CNT-01", "DAY-01", "MC-01", "QZ-01", "NOTE-01"]
    pwd = rows[2]
    assert pwd[4] == "一部実施している" and pwd[5] == "2021-05-01"
    assert "実施している（done）" in pwd[3] and "該当なし（na）" in pwd[3]


def test_form_neutralises_text_answers(db, survey):
    workbook = download(db, survey)
    cell = workbook[selfcheck_workbook.FORM_SHEET].cell(row_of(workbook, "NOTE-01"),
                                               selfcheck_workbook.ANSWER_COLUMN)
    assert cell.value == "'=1+1" and cell.data_type == "s"


def test_form_protects_all_but_the_answer_and_evidence_cells(db, survey):
    workbook = download(db, survey)
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    row = row_of(workbook, "PWD-05")
    assert sheet.protection.sheet
    assert sheet.cell(row, selfcheck_workbook.ID_COLUMN).protection.locked
    assert not sheet.cell(row, selfcheck_workbook.ANSWER_COLUMN).protection.locked
    assert not sheet.cell(row, selfcheck_workbook.EVIDENCE_COLUMN).protection.locked
    no_evidence = row_of(workbook, "SYS-00")
    assert sheet.cell(no_evidence, selfcheck_workbook.EVIDENCE_COLUMN).protection.locked


def test_metadata_sheet_is_very_hidden_and_signed(db, survey):
    meta = download(db, survey)[selfcheck_workbook.META_SHEET]
    rows = list(meta.iter_rows(values_only=True))
    values = {row[0]: row[1] for row in rows if row[0] != selfcheck_workbook.ORIGINAL}
    downloaded = {row[1]: row[2:] for row in rows if row[0] == selfcheck_workbook.ORIGINAL}
    assert meta.sheet_state == "veryHidden"
    assert values["department_code"] == "U1" and values["version"] == 2
    assert len(values["checksum"]) == 64
    assert downloaded["PWD-05"] == ("partial", "2021-05-01", None, "2021-05-01")


def test_download_creates_the_draft_on_first_use(db, survey, make_user):
    user = make_user("unit3", "department", "U3")
    roundtrip.form_for_download(db, survey.round_id, "U3", user["id"], KEY)
    assert response_service.find_department_response(db, survey.round_id, "U3") is not None


# --- preview ------------------------------------------------------------------------


def test_unchanged_file_previews_no_changes(db, survey):
    result = preview(db, survey, saved(download(db, survey)))
    assert (result.changes, result.problems, result.conflict) == ([], [], False)


def test_preview_lists_old_and_new_answers(db, survey):
    data = fill(download(db, survey), PWD_05=("実施している", "2021-06-01"), CNT_01=12,
                MC_01="画面ロック;shred", DAY_01=datetime(2021, 4, 1), QZ_01="b")
    result = preview(db, survey, data)
    assert result.problems == []
    changes = {c.question_id: c for c in result.changes}
    assert (changes["PWD-05"].old, changes["PWD-05"].new) == ("一部実施している", "実施している")
    assert (changes["PWD-05"].old_evidence, changes["PWD-05"].new_evidence) == (
        "2021-05-01 / 2021-05-01", "2021-06-01 / 2021-05-01")
    assert result.answers == {"PWD-05": "done", "CNT-01": "12", "MC-01": ("lock", "shred"),
                              "DAY-01": "2021-04-01", "QZ-01": "b"}


def test_preview_applies_nothing(db, survey):
    before = stored(db, survey)
    preview(db, survey, fill(download(db, survey), PWD_05="実施していない"))
    assert stored(db, survey) == before
    assert response_service.get_response(db, survey.response_id)["version"] == 2


@pytest.mark.parametrize(("cells", "reason"), [
    ({"PWD_05": "ときどき"}, "選択肢にありません"),
    ({"SYS_00": "はい;いいえ"}, "1つだけ"),
    ({"DAY_01": "2021/13/01"}, "yyyy-mm-dd"),
    ({"CNT_01": "たくさん"}, "数値"),
    ({"PWD_06": "=A1"}, "数式"),
    ({"PWD_06": True}, "TRUE"),
    ({"SYS_00": ("yes", "メモ")}, "根拠を記入できません"),
    ({"PWD_05": ("done", "x" * 501)}, "500文字以内"),
])
def test_invalid_cells_are_listed_with_the_reason(db, survey, cells, reason):
    result = preview(db, survey, fill(download(db, survey), **cells))
    (problem,) = result.problems
    assert reason in problem.reason and problem.cell[0] in "EF"
    assert result.answers == {} and result.changes == []


def test_unknown_and_repeated_question_rows_are_invalid(db, survey):
    workbook = download(db, survey)
    sheet = workbook[selfcheck_workbook.FORM_SHEET]
    sheet.protection.sheet = False
    sheet.append(["", "NOPE-01", "", "", "yes", None])
    sheet.append(["", "SYS-00", "", "", "no", None])
    reasons = [p.reason for p in preview(db, survey, saved(workbook)).problems]
    assert reasons == ["この設問IDは様式にありません。", "同じ設問の行が2つあります。"]


def test_cleared_answer_is_a_change_to_empty(db, survey):
    result = preview(db, survey, fill(download(db, survey), PWD_05=(None, None)))
    assert result.answers == {"PWD-05": None}
    assert result.evidence == {"PWD-05": AnswerEvidence(date="2021-05-01")}  # H kept


def test_stored_text_is_never_a_formula_anywhere_in_the_form(db, survey):
    response_service.save_draft(db, survey.response_id, 2, {"NOTE-01": '=HYPERLINK("x")'},
                                {"PWD-05": "@SUM(1)"}, survey.user["id"])
    workbook = download(db, survey)
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert [c for c in cells if c.data_type == "f"] == []
    assert preview(db, survey, saved(workbook)).changes == []


def test_control_characters_in_stored_text_read_back_unchanged(db, survey):
    response_service.save_draft(db, survey.response_id, 2, {"NOTE-01": "a\x01b"}, {},
                                survey.user["id"])
    assert preview(db, survey, saved(download(db, survey))).changes == []


def test_neutralised_text_reads_back_unchanged(db, survey):
    result = preview(db, survey, fill(download(db, survey), NOTE_01="'=1+1"))
    assert result.changes == []


# --- refusals -----------------------------------------------------------------------


def test_another_departments_file_is_refused(db, survey, make_user):
    other = make_user("unit3", "department", "U3")
    data = roundtrip.form_for_download(db, survey.round_id, "U3", other["id"], KEY)
    with pytest.raises(Invalid, match="別の所属"):
        preview(db, survey, data)


def test_a_file_for_another_round_is_refused(db, survey):
    with pytest.raises(Invalid, match="別の調査回"):
        preview(db, survey, saved(download(db, survey)), round_id=survey.round_id + 1)


def test_edited_metadata_is_refused(db, survey):
    workbook = download(db, survey)
    meta = workbook[selfcheck_workbook.META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "department_code":
            row[1].value = "U2"
    with pytest.raises(Invalid, match="改変"):
        preview(db, survey, saved(workbook), code="U2")


def test_a_file_signed_with_another_key_is_refused(db, survey):
    data = roundtrip.form_for_download(db, survey.round_id, "U1", survey.user["id"], b"other")
    with pytest.raises(Invalid, match="改変"):
        preview(db, survey, data)


def test_submitted_response_cannot_be_changed_by_upload(db, survey):
    data = fill(download(db, survey), PWD_06="done")
    response_service.submit(db, survey.response_id, 2, {}, {}, survey.user["id"])
    with pytest.raises(Invalid, match="提出済み"):
        preview(db, survey, data)


def test_closed_round_is_refused(db, survey):
    data = saved(download(db, survey))
    rounds.close_round(db, survey.round_id)
    with pytest.raises(Invalid, match="受け付けていません"):
        preview(db, survey, data)


@pytest.mark.parametrize("filename", ["form.xlsm", "form.xls", "form.csv", "form"])
def test_only_xlsx_files_are_accepted(db, survey, filename):
    with pytest.raises(Invalid, match=r"\.xlsx"):
        preview(db, survey, saved(download(db, survey)), filename=filename)


def test_a_workbook_with_macros_is_refused(db, survey):
    data = io.BytesIO(saved(download(db, survey)))
    with zipfile.ZipFile(data, "a") as package:
        package.writestr("xl/vbaProject.bin", b"\x00" * 16)
    with pytest.raises(Invalid, match="マクロ"):
        preview(db, survey, data.getvalue())


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken", b""])
def test_damaged_files_are_refused(db, survey, data):
    with pytest.raises(Invalid):
        preview(db, survey, data)


def test_a_zip_without_the_form_is_refused(db, survey):
    workbook = openpyxl.Workbook()
    with pytest.raises(Invalid, match="様式ではありません"):
        preview(db, survey, saved(workbook))


def test_oversized_files_are_refused(db, survey):
    with pytest.raises(Invalid, match="大きすぎます"):
        preview(db, survey, b"PK" + b"\x00" * selfcheck_workbook.MAX_UPLOAD_BYTES)


# --- applying -----------------------------------------------------------------------


def test_apply_saves_a_draft_with_history(db, survey):
    result = preview(db, survey, fill(download(db, survey), PWD_05="done", PWD_06="na"))
    saved_result = roundtrip.apply(db, result, survey.user["id"])
    assert set(saved_result.changed) == {"PWD-05", "PWD-06"}
    answers, _notes = stored(db, survey)
    assert (answers["PWD-05"], answers["PWD-06"]) == ("done", "na")
    history = answer_history.response_history(db, response_id=survey.response_id)
    assert {"PWD-05", "PWD-06"} <= {row["question_id"] for row in history}


def test_apply_is_refused_while_cells_are_invalid(db, survey):
    result = preview(db, survey, fill(download(db, survey), PWD_05="ときどき", PWD_06="done"))
    with pytest.raises(Invalid, match="誤りのあるセル"):
        roundtrip.apply(db, result, survey.user["id"])
    assert "PWD-06" not in stored(db, survey)[0]


def test_answers_saved_after_download_are_kept_when_the_file_left_them_alone(db, survey):
    data = fill(download(db, survey), PWD_06="done")
    response_service.save_draft(db, survey.response_id, 2, {"SYS-00": "no"}, {},
                                survey.user["id"])
    result = preview(db, survey, data)
    assert result.saved_since_download and not result.conflict
    assert result.answers == {"PWD-06": "done"}
    roundtrip.apply(db, result, survey.user["id"])
    answers = stored(db, survey)[0]
    assert (answers["SYS-00"], answers["PWD-06"]) == ("no", "done")


def test_same_question_changed_on_both_sides_needs_overwrite(db, survey):
    data = fill(download(db, survey), PWD_05="done")
    response_service.save_draft(db, survey.response_id, 2, {"PWD-05": "none"}, {},
                                survey.user["id"])
    result = preview(db, survey, data)
    (change,) = result.changes
    assert change.conflict and (change.old, change.new) == ("実施していない", "実施している")
    with pytest.raises(Invalid, match="上書き"):
        roundtrip.apply(db, result, survey.user["id"])
    assert stored(db, survey)[0]["PWD-05"] == "none"
    roundtrip.apply(db, result, survey.user["id"], overwrite=True)
    assert stored(db, survey)[0]["PWD-05"] == "done"


def test_the_same_answer_given_on_both_sides_is_no_change(db, survey):
    data = fill(download(db, survey), PWD_05="done")
    response_service.save_draft(db, survey.response_id, 2, {"PWD-05": "done"}, {},
                                survey.user["id"])
    assert preview(db, survey, data).changes == []


def test_edited_downloaded_answers_are_refused(db, survey):
    workbook = download(db, survey)
    for row in workbook[selfcheck_workbook.META_SHEET].iter_rows():
        if row[0].value == selfcheck_workbook.ORIGINAL and row[1].value == "PWD-05":
            row[2].value = "done"
    with pytest.raises(Invalid, match="改変"):
        preview(db, survey, saved(workbook))


def test_saved_between_preview_and_apply_raises_conflict(db, survey):
    result = preview(db, survey, fill(download(db, survey), PWD_06="done"))
    response_service.save_draft(db, survey.response_id, 2, {"SYS-00": "no"}, {},
                                survey.user["id"])
    with pytest.raises(Conflict):
        roundtrip.apply(db, result, survey.user["id"])
    assert "PWD-06" not in stored(db, survey)[0]


# --- pending previews ---------------------------------------------------------------


def test_pending_preview_survives_the_json_round_trip(db, survey, tmp_path):
    result = preview(db, survey, fill(download(db, survey), MC_01="lock;shred"))
    pending = roundtrip.PendingUploads(tmp_path)
    owner = {"user_id": 1, "round_id": survey.round_id, "department_code": "U1"}
    token = pending.save(owner, result)
    loaded = pending.load(token, owner)
    assert loaded.answers == result.answers and loaded.changes == result.changes


def test_pending_preview_is_only_for_its_owner(db, survey, tmp_path):
    pending = roundtrip.PendingUploads(tmp_path)
    token = pending.save({"user_id": 1}, preview(db, survey, saved(download(db, survey))))
    assert pending.load(token, {"user_id": 2}) is None
    assert pending.load("../../etc/passwd", {"user_id": 1}) is None


def test_old_pending_previews_are_swept(db, survey, tmp_path):
    pending = roundtrip.PendingUploads(tmp_path)
    token = pending.save({"user_id": 1}, preview(db, survey, saved(download(db, survey))))
    pending.sweep(now=datetime.now().timestamp() + roundtrip.PENDING_MAX_AGE_SECONDS + 60)
    assert pending.load(token, {"user_id": 1}) is None
