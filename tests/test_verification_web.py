"""The verification pages (DESIGN.md §9) on the aggregation fixture: plan and sample,
fieldwork, finalising, the workpaper upload, figures, and who sees what."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from surveyapp.store import audit as audit_store
from surveyapp.store import verification as verification_store
from tests.verification_fixtures import *  # noqa: F403  (the fixtures)
from tests.verification_fixtures import add, verdict, verified_u1


@pytest.fixture
def people(make_user):
    make_user("kansa", "auditor")
    make_user("chief", "admin")
    make_user("u1-user", "department", "U1")
    make_user("u2-user", "department", "U2")


@pytest.fixture
def as_auditor(client, people, login_as):
    login_as(client, "kansa")
    return client


def user_id(db, login):
    return db.execute("SELECT id FROM users WHERE login = ?", [login]).fetchone()[0]


def plan_url(round_id):
    return f"/verification/rounds/{round_id}/"


def page_url(round_id, code):
    return f"/verification/rounds/{round_id}/departments/{code}/"


# --- plan and sample --------------------------------------------------------------------------


def test_the_plan_page_draws_and_shows_reasons(as_auditor, db, round_id):
    response = as_auditor.post(f"/verification/rounds/{round_id}/draw",
                               data={"size": "2", "seed": "7"})
    assert response.status_code == 302
    page = as_auditor.get(plan_url(round_id)).text
    assert "総合得点が低い" in page and "総合得点 0.0" in page
    assert "無作為抽出" in page and "シード 7" in page
    assert len(verification_store.samples(db, round_id)) == 2


def test_a_bad_size_is_explained_on_the_plan_page(as_auditor, round_id):
    response = as_auditor.post(f"/verification/rounds/{round_id}/draw",
                               data={"size": "zero", "seed": ""}, follow_redirects=True)
    assert "1から1000までの整数" in response.text


def test_adding_and_removing_by_hand_with_reasons(as_auditor, db, round_id):
    as_auditor.post(f"/verification/rounds/{round_id}/add",
                    data={"department": "U4", "note": "通報があったため"})
    assert "通報があったため" in as_auditor.get(plan_url(round_id)).text
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U4/remove",
                               data={"note": ""}, follow_redirects=True)
    assert "理由を入力してください" in response.text
    as_auditor.post(f"/verification/rounds/{round_id}/departments/U4/remove",
                    data={"note": "担当者不在"})
    page = as_auditor.get(plan_url(round_id)).text
    assert "標本から外した所属" in page and "担当者不在" in page


def test_the_plan_page_offers_only_submitted_departments(as_auditor, round_id):
    page = as_auditor.get(plan_url(round_id)).text
    assert 'value="U1"' in page and 'value="U3"' not in page  # U3's response is a draft


# --- fieldwork --------------------------------------------------------------------------------


def test_the_fieldwork_page_lists_answers_with_value_and_evidence(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    page = as_auditor.get(page_url(round_id, "U1")).text
    assert 'id="q-D-01"' in page and "実施している" in page and "一部実施している" in page
    assert "判定済み 0 / 3" in page


def test_a_verdict_is_recorded_from_the_page(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U1/verdicts",
                               data={"question_id": "D-01", "verdict": "discrepancy",
                                     "verified_value": "partial", "note": "一部の月のみ",
                                     "proof_location": "ID管理台帳", "version": "0"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#q-D-01")
    stored = verification_store.verdicts(db, round_id, "U1")
    assert [(v["verdict"], v["verified_value"], v["proof_location"]) for v in stored] == [
        ("discrepancy", "partial", "ID管理台帳")]


def test_a_refused_verdict_keeps_what_was_typed(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U1/verdicts",
                               data={"question_id": "D-01", "verdict": "discrepancy",
                                     "verified_value": "", "note": "消さないで",
                                     "proof_location": "書庫", "version": "0"})
    assert response.status_code == 422
    assert "相違のときは、確認した値を入力してください" in response.text
    assert "消さないで" in response.text and 'value="書庫"' in response.text


def test_a_verdict_changed_meanwhile_is_a_conflict(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    verdict(db, round_id, "U1", "D-00", "confirmed", user_id=user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U1/verdicts",
                               data={"question_id": "D-00", "verdict": "unverifiable",
                                     "note": "私のメモ", "version": "0"})
    assert response.status_code == 409 and "私のメモ" in response.text


def test_an_unknown_answer_is_not_found(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U1/verdicts",
                               data={"question_id": "S-01", "verdict": "confirmed"})
    assert response.status_code == 404


def test_finalising_opens_items_and_locks_the_page(as_auditor, db, round_id):
    verified_u1(db, round_id, user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/departments/U1/finalise",
                               follow_redirects=True)
    assert "新規 1件" in response.text
    assert "判定を記録する" not in response.text and "確定しました" in response.text


# --- what a department user sees --------------------------------------------------------------


def test_a_department_sees_its_result_only_once_finalised(client, people, login_as, db,
                                                          round_id):
    verified_u1(db, round_id, user_id(db, "kansa"))
    login_as(client, "u1-user")
    assert client.get(page_url(round_id, "U1")).status_code == 404
    verdict_page = f"/verification/rounds/{round_id}/departments/U1/verdicts"
    assert client.post(verdict_page, data={"question_id": "D-00"}).status_code == 404
    from surveyapp.services import verification as service
    service.finalise(db, round_id, "U1", user_id(db, "kansa"), 5)
    page = client.get(page_url(round_id, "U1"))
    assert page.status_code == 200 and "監査検証の結果" in page.text
    assert "ID管理台帳" in page.text and "<form" not in page.text.split("<main")[1]
    assert client.get("/verification/").status_code == 200


def test_another_departments_result_is_not_found(client, people, login_as, db, round_id):
    verified_u1(db, round_id, user_id(db, "kansa"))
    from surveyapp.services import verification as service
    service.finalise(db, round_id, "U1", user_id(db, "kansa"), 5)
    login_as(client, "u2-user")
    assert client.get(page_url(round_id, "U1")).status_code == 404
    assert client.get("/verification/departments/U1/").status_code == 404
    assert client.get(plan_url(round_id)).status_code == 404


# --- the workpaper upload ---------------------------------------------------------------------


def filled_workpaper(data: bytes, edits: dict) -> bytes:
    book = load_workbook(io.BytesIO(data))
    sheet = book["検証"]
    for row in sheet.iter_rows(min_row=2):
        wanted = edits.get((row[0].value, row[1].value))
        if wanted:
            row[5].value, row[6].value = wanted
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_workpaper_round_trip_through_the_pages(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    download = as_auditor.get(f"/verification/rounds/{round_id}/workpaper.xlsx")
    assert download.status_code == 200
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    data = filled_workpaper(download.data, {("U1", "D-01"): ("discrepancy", "none")})
    preview = as_auditor.post(f"/verification/rounds/{round_id}/workpaper",
                              data={"file": (io.BytesIO(data), "調書.xlsx")},
                              content_type="multipart/form-data")
    assert preview.status_code == 200 and "記録する判定（1件）" in preview.text
    assert verification_store.verdicts(db, round_id) == []
    applied = as_auditor.post(f"/verification/rounds/{round_id}/workpaper/apply")
    assert applied.status_code == 302
    assert [v["verified_value"] for v in verification_store.verdicts(db, round_id)] == ["none"]
    actions = {e["action"] for e in audit_store.list_entries(db)}
    assert {"verification.export", "verification.import"} <= actions


def test_a_workpaper_with_bad_cells_shows_them_and_cannot_be_applied(as_auditor, db,
                                                                      round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    data = as_auditor.get(f"/verification/rounds/{round_id}/workpaper.xlsx").data
    data = filled_workpaper(data, {("U1", "D-01"): ("discrepancy", "mostly"),
                                   ("U1", "D-00"): ("confirmed", None)})
    preview = as_auditor.post(f"/verification/rounds/{round_id}/workpaper",
                              data={"file": (io.BytesIO(data), "調書.xlsx")},
                              content_type="multipart/form-data")
    assert "検証!G3" in preview.text and "記録する</button>" not in preview.text
    applied = as_auditor.post(f"/verification/rounds/{round_id}/workpaper/apply")
    assert applied.status_code == 400
    assert verification_store.verdicts(db, round_id) == []


def test_a_file_that_is_no_workpaper_is_refused_with_a_message(as_auditor, db, round_id):
    add(db, round_id, "U1", user_id(db, "kansa"))
    response = as_auditor.post(f"/verification/rounds/{round_id}/workpaper",
                               data={"file": (io.BytesIO(b"a,b\n"), "x.csv")},
                               content_type="multipart/form-data")
    assert response.status_code == 400 and ".xlsx" in response.text


# --- figures ---------------------------------------------------------------------------------


def test_the_results_page_shows_prefecture_reliability_and_a_chart(as_auditor, db, round_id):
    verified_u1(db, round_id, user_id(db, "kansa"))
    from surveyapp.services import verification as service
    service.finalise(db, round_id, "U1", user_id(db, "kansa"), 5)
    page = as_auditor.get(f"/verification/rounds/{round_id}/results").text
    assert "50.0%" in page and "指摘21" in page
    chart = page.split('src="/scorecards/charts/')[1].split('"')[0]
    image = as_auditor.get(f"/scorecards/charts/{chart}")
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_the_reliability_history_page(client, people, login_as, db, round_id):
    verified_u1(db, round_id, user_id(db, "kansa"))
    from surveyapp.services import verification as service
    service.finalise(db, round_id, "U1", user_id(db, "kansa"), 5)
    login_as(client, "u1-user")
    page = client.get("/verification/departments/U1/")
    assert page.status_code == 200 and "50.0%" in page.text
    chart = page.text.split('src="/scorecards/charts/')[1].split('"')[0]
    assert client.get(f"/scorecards/charts/{chart}").status_code == 200


# --- where the figures show up ------------------------------------------------------------


@pytest.fixture
def finalised_u1(db, round_id, people):
    """U1 verified (D-01 found partial) and finalised; U4 sampled, not finalised."""
    kansa = user_id(db, "kansa")
    add(db, round_id, "U4", kansa)
    verified_u1(db, round_id, kansa)
    verdict(db, round_id, "U4", "D-02", "discrepancy", "none", kansa)
    from surveyapp.services import verification as service
    service.finalise(db, round_id, "U1", kansa, 5)
    return round_id


def test_the_api_gives_every_sampled_department_to_auditors(client, login_as,
                                                             finalised_u1):
    login_as(client, "kansa")
    found = client.get(f"/api/v1/rounds/{finalised_u1}/verification").get_json()
    assert found["round"]["id"] == finalised_u1
    assert found["prefecture"] == {"sampled": 2, "finalised": 1, "reliability": 0.5,
                                   "confirmed": 1, "discrepancies": 1, "unverifiable": 1}
    u1 = next(d for d in found["departments"] if d["code"] == "U1")
    assert u1["reliability"] == 0.5 and u1["verified_score"] == pytest.approx(60.0)
    assert u1["self_score"] == pytest.approx(570 / 7) and u1["reason"] == "manual"
    assert {d["code"]: d["finalised"] for d in found["departments"]} == {"U1": True,
                                                                         "U4": False}


def test_the_api_gives_a_department_user_its_own_finalised_result_only(
        client, login_as, finalised_u1):
    login_as(client, "u1-user")
    found = client.get(f"/api/v1/rounds/{finalised_u1}/verification").get_json()
    assert [d["code"] for d in found["departments"]] == ["U1"]
    client.post("/logout")
    login_as(client, "u2-user")
    found = client.get(f"/api/v1/rounds/{finalised_u1}/verification").get_json()
    assert found["departments"] == []


def test_the_api_answers_404_for_an_unknown_round(client, login_as, people):
    login_as(client, "kansa")
    response = client.get("/api/v1/rounds/999/verification")
    assert response.status_code == 404 and "error" in response.get_json()


def test_the_results_table_has_a_reliability_column_and_a_filter(as_auditor, finalised_u1):
    page = as_auditor.get(f"/results/rounds/{finalised_u1}/").text
    assert "信頼度" in page and "50.0%" in page and "検証中" in page
    filtered = as_auditor.get(f"/results/rounds/{finalised_u1}/?verification=finalised").text
    assert ">U1<" in filtered and ">U2<" not in filtered and ">U4<" not in filtered
    sampled = as_auditor.get(f"/results/rounds/{finalised_u1}/?verification=sampled").text
    assert ">U4<" in sampled and ">U2<" not in sampled
    every = as_auditor.get(f"/results/rounds/{finalised_u1}/?verification=nonsense").text
    assert ">U2<" in every


def test_the_results_tables_links_keep_the_verification_filter(as_auditor, finalised_u1):
    page = as_auditor.get(f"/results/rounds/{finalised_u1}/?verification=sampled&band=A").text
    header = re.search(r'<a href="([^"]+sort=overall[^"]*)"', page).group(1)
    assert "verification=sampled" in header and "band=A" in header


def test_a_departments_results_page_shows_its_finalised_verification(client, login_as,
                                                                     finalised_u1):
    login_as(client, "u1-user")
    page = client.get(f"/results/departments/U1/?round={finalised_u1}").text
    assert "監査検証" in page and "60.0" in page and "50.0%" in page


def test_the_scorecard_and_its_pdf_carry_the_verification(client, login_as, finalised_u1):
    login_as(client, "u1-user")
    card = client.get(f"/scorecards/rounds/{finalised_u1}/departments/U1/").text
    assert "verification-heading" in card and "60.0" in card
    pdf = client.get(f"/scorecards/rounds/{finalised_u1}/departments/U1/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_an_unfinalised_verification_is_not_on_the_scorecard(as_auditor, finalised_u1):
    card = as_auditor.get(f"/scorecards/rounds/{finalised_u1}/departments/U4/").text
    assert "verification-heading" not in card


def test_the_improvement_item_is_marked_and_lists_its_discrepancy(client, login_as, db,
                                                                  finalised_u1):
    item_id = db.execute("SELECT id FROM improvement_items WHERE source = 'verification'"
                         ).fetchone()[0]
    login_as(client, "u1-user")
    page = client.get(f"/followups/items/{item_id}").text
    assert "監査検証から" in page and "監査検証で見つかった相違" in page
    assert "一部実施している" in page and "ID管理台帳" in page
    assert "監査検証から" in client.get("/followups/items").text


def test_the_pdf_page_has_the_verification_table(db, finalised_u1):
    from surveyapp.readmodels import scorecards

    card = scorecards.build_scorecard(db, finalised_u1, "U1", 5)
    table = next(t for t in scorecards.pdf_page(card, 5)["tables"]
                 if t["heading"] == "監査検証（確定）")
    assert table["rows"] == [["1", "1", "1", "50.0%", "81.4", "60.0"]]


def test_the_pages_of_a_round_without_a_sample(as_auditor, round_id):
    for path in (f"/verification/rounds/{round_id}/", f"/verification/rounds/{round_id}/results",
                 "/verification/"):
        assert as_auditor.get(path).status_code == 200, path
    assert as_auditor.get(f"/verification/rounds/{round_id}/workpaper.xlsx").status_code == 302
