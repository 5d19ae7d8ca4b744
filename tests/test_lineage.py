"""Lineage between FY2020 (2020.1) and FY2021 (2021.1), mirroring QUESTIONNAIRE_NOTES §3."""

from __future__ import annotations

from surveyapp import lineage, scoring
from surveyapp.model import (
    Band,
    Choice,
    LineageLink,
    Question,
    QuestionMatch,
    Questionnaire,
    Retired,
    Section,
    SplitProxy,
    Text,
)

YN = (Choice("yes", Text("はい"), 1), Choice("no", Text("いいえ"), 0))
YNNA = (*YN, Choice("na", Text("該当なし"), None))
QUIZ = (Choice("a", Text("ア"), correct=True), Choice("unknown", Text("わからない")))


def question(qid, text=None, choices=YN, *, links=(), audience="department", weight=2):
    section = qid.split("-")[0]
    return Question(id=qid, type="single_choice", text=Text(text or f"{qid} の設問"),
                    section_id=section, audience=audience, choices=choices, weight=weight,
                    lineage=tuple(LineageLink("2020.1", from_id, relation)
                                  for from_id, relation in links))


def questionnaire(version, questions, retired=()):
    sections = tuple(
        Section(sid, Text(sid), "department",
                tuple(q for q in questions if q.section_id == sid))
        for sid in dict.fromkeys(q.section_id for q in questions))
    return Questionnaire(id="infosec-selfcheck", version=version,
                         fiscal_year=int(version[:4]), title=Text("自己点検"),
                         method="weighted_mean", bands=(Band("D", 0, Text("重点フォロー")),),
                         sections=sections, retired=retired)


FY2020 = questionnaire("2020.1", [
    question("POL-01", audience="staff"),
    question("PWD-01", "パスワードを他人に教えたりしていませんか。", audience="staff"),
    question("IDM-01"),
    question("IDM-02", "不要なIDを削除し、記録を残しましたか。", YNNA, weight=3),
    question("SCI-01"),
    question("SCI-02", "改善策を決めましたか。"),
    question("AUD-02"),
    Question(id="AUD-03", type="quiz", text=Text("監査と自己点検の違い"), section_id="AUD",
             audience="staff", choices=QUIZ),
])

FY2021 = questionnaire("2021.1", [
    question("POL-01", audience="staff", links=[("POL-01", "same")]),
    question("POL-06", "庁外で業務用端末を使うときのルール", audience="staff"),
    question("PWD-01", "パスワードは自分だけが知っている状態で管理していますか。",
             audience="staff", links=[("PWD-01", "reworded")]),
    question("IDM-01", links=[("IDM-01", "same")]),
    question("IDM-05", "不要なIDをすべて削除又は無効化しましたか。", YNNA, weight=3,
             links=[("IDM-02", "split")]),
    question("IDM-06", "ID見直しの結果を記録しましたか。", YNNA,
             links=[("IDM-02", "split")]),
    question("IDM-07", "特権IDを見直しましたか。"),
    question("SCI-01"),
    question("SCI-02", "前回の不十分な項目について改善策を決め、確認していますか。"),
    question("AUD-02", links=[("AUD-02", "same")]),
], retired=(
    Retired("AUD-03", Text("設問の整理")),
    Retired("IDM-02", Text("2問に分割"), ("IDM-05", "IDM-06")),
))


def matches():
    return {m.to_id: m for m in lineage.match_questions(FY2020, FY2021)}


def test_every_question_of_the_later_version_gets_a_match():
    assert list(matches()) == [q.id for q in FY2021.questions]


def test_same_relation_is_comparable():
    assert matches()["IDM-01"] == QuestionMatch("IDM-01", ("IDM-01",), "same", True)


def test_reworded_question_stays_comparable():
    assert matches()["PWD-01"] == QuestionMatch("PWD-01", ("PWD-01",), "reworded", True)


def test_split_parts_are_shown_but_not_comparable():
    found = matches()
    assert found["IDM-05"] == QuestionMatch("IDM-05", ("IDM-02",), "split", False)
    assert found["IDM-06"] == QuestionMatch("IDM-06", ("IDM-02",), "split", False)


def test_questions_without_lineage_are_new():
    found = matches()
    assert found["IDM-07"] == QuestionMatch("IDM-07", (), "new", False)
    assert found["POL-06"] == QuestionMatch("POL-06", (), "new", False)


def test_unchanged_question_without_lineage_matches_by_id():
    assert matches()["SCI-01"] == QuestionMatch("SCI-01", ("SCI-01",), "same", True)


def test_changed_question_without_lineage_is_only_approximate():
    assert matches()["SCI-02"] == QuestionMatch("SCI-02", ("SCI-02",), "approximate", False)


def test_links_to_other_versions_are_not_followed():
    fy2019 = questionnaire("2019.1", [question("IDM-01"), question("PWD-01", "旧文言")])
    found = {m.to_id: m for m in lineage.match_questions(fy2019, FY2021)}
    assert found["IDM-01"].relation == "same"  # unchanged, matched by id
    assert found["PWD-01"].relation == "approximate"
    assert found["IDM-05"].relation == "new"


def test_links_that_disagree_are_approximate():
    merged = question("AUD-09", links=[("AUD-02", "same"), ("SCI-01", "merged")])
    match = lineage.match_question(FY2020, merged)
    assert match == QuestionMatch("AUD-09", ("AUD-02", "SCI-01"), "approximate", False)


def test_merged_question_is_not_comparable():
    merged = question("AUD-09", links=[("AUD-02", "merged"), ("SCI-01", "merged")])
    assert not lineage.match_question(FY2020, merged).comparable


def test_common_question_ids_are_the_comparable_pairs():
    assert lineage.common_question_ids(FY2020, FY2021) == {
        "POL-01": "POL-01", "PWD-01": "PWD-01", "IDM-01": "IDM-01",
        "SCI-01": "SCI-01", "AUD-02": "AUD-02"}


def test_a_version_compared_with_itself_is_all_common():
    common = lineage.common_question_ids(FY2021, FY2021)
    assert common == {q.id: q.id for q in FY2021.questions}


def test_retired_questions_are_listed_with_their_reason():
    retired = {r.id: r for r in lineage.retired_between(FY2020, FY2021)}
    assert set(retired) == {"IDM-02", "AUD-03"}
    assert retired["AUD-03"].reason.ja == "設問の整理"
    assert retired["IDM-02"].replaced_by == ("IDM-05", "IDM-06")


def test_question_missing_without_retired_entry_is_still_listed():
    later = questionnaire("2021.1", [question("IDM-01")])
    gone = lineage.retired_between(FY2020, later)
    assert "AUD-02" in {r.id for r in gone}
    assert all(r.reason == lineage.GONE_REASON for r in gone if r.id == "AUD-02")


def test_split_proxy_collects_all_parts():
    assert lineage.split_proxies(FY2020, FY2021) == [
        SplitProxy("IDM-02", ("IDM-05", "IDM-06"))]


def _proxy(answers):
    proxy = SplitProxy("IDM-02", ("IDM-05", "IDM-06"))
    return lineage.proxy_ratio(proxy, scoring.response_ratios(FY2021, answers))


def test_split_proxy_is_yes_only_when_every_part_is_yes():
    assert _proxy({"IDM-05": "yes", "IDM-06": "yes"}) == 1
    assert _proxy({"IDM-05": "yes", "IDM-06": "no"}) == 0
    assert _proxy({"IDM-05": "no", "IDM-06": "yes"}) == 0


def test_split_proxy_leaves_out_not_applicable_parts():
    assert _proxy({"IDM-05": "yes", "IDM-06": "na"}) == 1
    assert _proxy({"IDM-05": "na", "IDM-06": "na"}) is None


def test_mean_proxy_ratio_averages_over_responses():
    proxy = SplitProxy("IDM-02", ("IDM-05", "IDM-06"))
    sets = [{"IDM-05": 1.0, "IDM-06": 1.0}, {"IDM-05": 1.0, "IDM-06": 0.0}, {}]
    assert lineage.mean_proxy_ratio(proxy, sets) == 0.5
    assert lineage.mean_proxy_ratio(proxy, [{}]) is None
