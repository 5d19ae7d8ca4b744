"""The audit's items (surveyapp/findings.yaml): 57 items with titles, one order."""

from __future__ import annotations

import re
from pathlib import Path

from surveyapp import findings
from surveyapp.findings import ordered_findings

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRES = ROOT / "questionnaires"
# The report's own list of items, copied verbatim from shared/domain/ (which is not part
# of a clone), so the titles are checked on every machine.
REPORT_ITEMS = Path(__file__).resolve().parent / "fixtures" / "audit" / "report-fy2020-items.txt"


def test_catalogue_holds_the_audits_24_findings_and_33_opinions():
    kinds = [item.kind for item in findings.catalogue().values()]
    assert (kinds.count("指摘"), kinds.count("意見"), len(kinds)) == (24, 33, 57)


def test_every_item_has_a_japanese_and_an_english_title():
    for item in findings.catalogue().values():
        assert item.title.ja and item.title.en, item.code
        assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", item.title.en), item.code


def test_titles_are_those_of_the_audit_reports_list_of_items():
    listed = {}
    for kind, number, title, page in re.findall(r"【(指摘事項|意見) ?(\d+)】 (.+?)について\t(\d+)",
                                                REPORT_ITEMS.read_text(encoding="utf-8")):
        listed[f"{kind[:2]}{number}"] = (title.replace(" ", ""), int(page))
    assert len(listed) == 57
    for code, item in findings.catalogue().items():
        assert (item.title.ja.replace(" ", ""), item.page) == listed[code], code


def test_order_is_findings_then_opinions_by_number_and_unknown_codes_last():
    given = ["意見28", "指摘22", "新項目", "意見19", "指摘6", "意見17", "意見20", "意見18",
             "指摘21", "意見17"]
    assert ordered_findings(given) == [
        "指摘6", "指摘21", "指摘22", "意見17", "意見18", "意見19", "意見20", "意見28", "新項目"]


def test_catalogue_is_in_its_own_order():
    codes = list(findings.catalogue())
    assert ordered_findings(reversed(codes)) == codes
    assert codes[:2] == ["指摘1", "指摘2"] and codes[24] == "意見1"


def test_label_is_the_code_with_its_title_in_the_chosen_language():
    assert findings.label("指摘6") == "指摘6 情報セキュリティの自己点検の実施状況"
    assert findings.label("指摘6", "en") == "指摘6 Conduct of information security self-checks"
    assert findings.label("新項目") == "新項目"


def test_every_item_a_shipped_questionnaire_tags_is_in_the_catalogue():
    tagged = set()
    for path in QUESTIONNAIRES.rglob("*.yaml"):
        for line in re.findall(r"findings: \[(.*?)\]", path.read_text(encoding="utf-8")):
            tagged.update(code.strip() for code in line.split(",") if code.strip())
    assert tagged and tagged <= set(findings.catalogue())
