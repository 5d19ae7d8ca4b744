"""The definition loader: safe YAML, three validation passes, the model it builds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.model import BoolOp, Compare, Not
from surveyapp.questionnaires import (
    DefinitionError,
    canonical_json,
    check_files,
    folder_resolver,
    inspect_bytes,
    inspect_file,
    load_bytes,
    load_file,
)

DEFINITIONS = Path(__file__).parent / "fixtures" / "definitions"
VALID = DEFINITIONS / "valid"
SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires" / "infosec-selfcheck"
BASE = (VALID / "2020.1.yaml").read_text("utf-8")


def errors_of(name: str) -> list:
    inspection = inspect_file(DEFINITIONS / name, folder_resolver(VALID))
    assert inspection.questionnaire is None
    return inspection.errors


def only_error(name: str):
    errors = errors_of(name)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def errors_after(old: str, new: str) -> list[str]:
    """Messages of the errors once `old` is replaced by `new` in the valid 2020.1 file."""
    assert old in BASE
    inspection = inspect_bytes(BASE.replace(old, new).encode(), "edited.yaml")
    return [str(problem) for problem in inspection.errors]


# --- the shipped files and the valid fixtures ----------------------------------------


def test_shipped_questionnaires_pass_every_check():
    problems = check_files(sorted(SHIPPED.glob("*.yaml")))
    assert [str(p) for p in problems if p.is_error] == []
    assert len(list(SHIPPED.glob("*.yaml"))) >= 2


def test_shipped_2021_follows_2020_with_retired_and_split_questions():
    fy2021 = load_file(SHIPPED / "2021.1.yaml")
    assert fy2021.previous_version == "2020.1"
    assert {item.id for item in fy2021.retired} >= {"AUD-03", "IDM-02"}
    assert fy2021.question("AUD-03") is None
    assert {link.relation for link in fy2021.question("IDM-05").lineage} == {"split"}


def test_valid_fixture_builds_every_documented_key():
    questionnaire = load_file(VALID / "2020.1.yaml")
    pwd = questionnaire.question("PWD-05")
    assert (pwd.weight, pwd.required, pwd.evidence, pwd.findings) == (3, True, "optional",
                                                                       ("指摘22",))
    assert pwd.relevant == Compare("SYS-00", "==", ("yes",))
    assert pwd.criterion_ref == "akita-taisakukijun#password@2020"
    assert pwd.choice("na").score is None and pwd.max_score == 4
    assert questionnaire.section("SYS").help.ja.startswith("所管する")
    assert [band.id for band in questionnaire.bands] == ["A", "B", "D"]


def test_audience_comes_from_the_section():
    questionnaire = load_file(VALID / "2020.1.yaml")
    assert questionnaire.question("PWD-05").audience == "department"
    assert questionnaire.question("POL-01").audience == "staff"


def test_quiz_needs_no_score_and_scores_one_for_correct():
    quiz = load_file(VALID / "2020.1.yaml").question("AUD-03")
    assert [(c.value, c.score, c.correct) for c in quiz.choices] == [
        ("a", 1.0, True), ("b", 0.0, False), ("unknown", 0.0, False)]
    assert quiz.explanation.ja.startswith("監査は")


def test_free_text_question_is_unweighted_by_default():
    note = load_file(VALID / "2020.1.yaml").question("NOTE-01")
    assert note.weight == 0 and not note.scored


def test_relevant_expression_with_in_and_not_is_parsed_into_nodes():
    relevant = load_file(VALID / "2020.1.yaml").question("IDM-02").relevant
    assert relevant == BoolOp("and", (Compare("SYS-00", "in", ("yes",)),
                                      Not(Compare("PWD-05", "==", ("na",)))))


def test_next_version_with_lineage_and_retired_ids_loads_with_weight_warning():
    inspection = inspect_file(VALID / "2021.1.yaml")
    assert inspection.questionnaire is not None
    assert [p.line for p in inspection.warnings] == [39]
    assert "重み" in inspection.warnings[0].message


def test_canonical_json_sorts_keys_and_is_stable():
    document = inspect_file(VALID / "2020.1.yaml").document
    text = canonical_json(document)
    assert json.loads(text) == document
    assert text == canonical_json(json.loads(text))
    assert text.index('"choice_sets"') < text.index('"questionnaire"')


# --- attacks and mistakes, one fixture each ------------------------------------------


def test_malformed_yaml_is_reported_with_its_line():
    problem = only_error("malformed.yaml")
    assert problem.line == 26 and "YAML の書式" in problem.message


def test_duplicate_keys_are_rejected():
    problem = only_error("duplicate_keys.yaml")
    assert problem.line == 36 and "'weight' が重複" in problem.message


def test_unknown_type_and_unknown_key_are_both_reported():
    messages = {p.line: p.message for p in errors_of("unknown_type_and_key.yaml")}
    assert "'essay' は使えません" in messages[57]
    assert "不明なキー 'colour'" in messages[58]


def test_python_object_tag_is_rejected_without_constructing_anything():
    problem = only_error("python_tag.yaml")
    assert problem.line == 6 and "!!python/object/apply:os.system" in problem.message


def test_anchors_and_aliases_are_rejected():
    assert [(p.line, p.message.split(" ")[0]) for p in errors_of("anchors.yaml")] == [
        (15, "アンカー"), (34, "エイリアス")]


def test_alias_bomb_fails_fast_without_expanding():
    started = time.perf_counter()
    errors = errors_of("alias_bomb.yaml")
    assert time.perf_counter() - started < 1
    assert errors and all("アンカー" in p.message or "エイリアス" in p.message for p in errors)


def test_file_over_one_mebibyte_is_refused_before_parsing():
    assert (DEFINITIONS / "too_large.yaml").stat().st_size > 1024 * 1024
    started = time.perf_counter()
    problem = only_error("too_large.yaml")
    assert time.perf_counter() - started < 1
    assert problem.line == 1 and "大きすぎます" in problem.message


def test_relevant_syntax_error_names_line_and_column():
    problem = only_error("relevant_syntax_error.yaml")
    assert problem.line == 44 and "10 文字目" in problem.message


def test_relevant_forward_reference_is_an_error():
    problem = only_error("relevant_forward_reference.yaml")
    assert problem.line == 44 and "前にある設問だけ" in problem.message


def test_lineage_pointing_to_missing_version_or_id_is_an_error():
    messages = sorted(p.message for p in errors_of("lineage_nowhere.yaml"))
    assert len(messages) == 2
    assert "版 2019.1 が見つかりません" in messages[0] + messages[1]
    assert "版 2020.1 に設問 PWD-99 はありません" in messages[0] + messages[1]


def test_reusing_an_id_retired_in_an_earlier_version_is_an_error():
    problem = only_error("retired_reused.yaml")
    assert "AUD-03 は版 2021.1 で廃止" in problem.message


def test_type_changed_under_the_same_id_is_an_error():
    problem = only_error("type_changed.yaml")
    assert problem.line == 64 and "multi_choice → single_choice" in problem.message


def test_number_where_a_string_is_required_is_an_error_with_its_line():
    problem = only_error("number_instead_of_string.yaml")
    assert problem.line == 5 and "引用符で囲んで" in problem.message


def test_every_problem_is_formatted_path_line_message():
    problem = only_error("duplicate_keys.yaml")
    assert str(problem).startswith(f"{DEFINITIONS / 'duplicate_keys.yaml'}:36: ")


def test_load_file_raises_definition_error_with_all_problems():
    with pytest.raises(DefinitionError) as raised:
        load_file(DEFINITIONS / "unknown_type_and_key.yaml")
    assert len([p for p in raised.value.problems if p.is_error]) == 2
    assert "ほか 1 件" in str(raised.value)


# --- semantic rules, by editing the valid file ---------------------------------------


def test_ids_are_unique_case_insensitively():
    errors = errors_after("      - id: IDM-02\n", "      - id: sys-00\n")
    assert any("'sys-00' が重複" in e for e in errors)


def test_choice_values_are_unique_within_a_question():
    errors = errors_after("{value: standard,", "{value: BASIC,")
    assert any("'BASIC' が重複" in e for e in errors)


def test_unknown_choice_set_is_an_error():
    errors = errors_after("        choices: S4\n", "        choices: S5\n")
    assert any("'S5' は choice_sets にありません" in e for e in errors)


def test_band_minimums_are_distinct_and_one_starts_at_zero():
    errors = errors_after("{id: D, min: 0,", "{id: D, min: 50,")
    assert any("min 50 が重複" in e for e in errors)
    assert any("min: 0 の評価区分" in e for e in errors)


def test_quiz_needs_a_correct_choice():
    errors = errors_after(", correct: true}", "}")
    assert any("correct: true の選択肢が 1 つ以上" in e for e in errors)


def test_japanese_text_is_required():
    errors = errors_after("{ja: システム}", "{en: Systems}")
    assert any("必須のキー 'ja'" in e for e in errors)


def test_relevant_must_name_an_existing_choice_value():
    errors = errors_after("\"{SYS-00} == 'yes'\"", "\"{SYS-00} == 'maybe'\"")
    assert any("'maybe' は設問 SYS-00 の選択肢の値ではありません" in e for e in errors)


def test_relevant_cannot_refer_to_the_other_audience():
    errors = errors_after("      - id: POL-01\n        type: multi_choice\n",
                          "      - id: POL-01\n        relevant: \"{SYS-00} == 'yes'\"\n"
                          "        type: multi_choice\n")
    assert any("回答者 (department) が違う" in e for e in errors)


def test_retired_id_cannot_be_a_question_in_the_same_file():
    errors = errors_after("sections:\n", "retired:\n  - {id: NOTE-01, reason: {ja: 整理}}\n"
                          "sections:\n")
    assert any("'NOTE-01' は設問として使えません" in e for e in errors)


def test_free_text_cannot_be_weighted_in_schema_version_1():
    errors = errors_after("        type: text\n", "        type: text\n        weight: 2\n")
    assert any("採点できません" in e for e in errors)


def test_choice_without_score_is_an_error_outside_quizzes():
    errors = errors_after("{value: standard, label: {ja: 対策基準}, score: 1}",
                          "{value: standard, label: {ja: 対策基準}}")
    assert any("'standard' に score がありません" in e for e in errors)


def test_previous_version_must_sort_before_version():
    errors = errors_after('  fiscal_year: 2020\n', '  fiscal_year: 2020\n'
                          '  previous_version: "2020.10"\n')
    assert any("より前の版" in e for e in errors)


# --- compatibility with the previous version -----------------------------------------


def next_version_errors(old: str, new: str) -> list:
    source = (VALID / "2021.1.yaml").read_text("utf-8")
    assert old in source
    inspection = inspect_bytes(source.replace(old, new).encode(), "next.yaml",
                               folder_resolver(VALID))
    return inspection.problems


def test_dropping_an_id_without_retiring_it_is_an_error():
    problems = next_version_errors("  - {id: AUD-03, reason: {ja: ほぼ全員が正答したため}}\n", "")
    assert any(p.is_error and "設問 AUD-03 がありません" in p.message for p in problems)


def test_changing_a_choice_score_sign_is_an_error():
    problems = next_version_errors("{value: unknown, label: {ja: わからない}, score: -1}",
                                   "{value: unknown, label: {ja: わからない}, score: 1}")
    assert any(p.is_error and "'unknown' の意味が違います" in p.message for p in problems)


def test_changing_a_choice_value_set_is_an_error():
    problems = next_version_errors("{value: standard,", "{value: guideline,")
    assert any(p.is_error and "選択肢の値が違います" in p.message for p in problems)


def test_changing_a_score_magnitude_is_only_a_warning():
    problems = next_version_errors("{value: partial, label: {ja: 一部実施している}, score: 2}",
                                   "{value: partial, label: {ja: 一部実施している}, score: 3}")
    assert not [p for p in problems if p.is_error]
    assert any("'partial' の score が変わりました (2 → 3)" in p.message for p in problems)


def test_missing_previous_version_is_reported_once():
    inspection = inspect_bytes((VALID / "2021.1.yaml").read_bytes(), "next.yaml",
                               lambda _id, _version: None)
    assert [p.line for p in inspection.errors] == [7]


def test_without_a_resolver_cross_version_checks_are_skipped():
    assert load_bytes((DEFINITIONS / "type_changed.yaml").read_bytes(), "x.yaml") is not None


# --- fuzzing: bad input is always problems, never a traceback -----------------------

BASE_LINES = BASE.splitlines(keepends=True)


@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_loader(data):
    inspection = inspect_bytes(data, "random.yaml", folder_resolver(VALID))
    assert inspection.questionnaire is None or not inspection.errors


@given(st.lists(st.integers(0, len(BASE_LINES) - 1), min_size=1, max_size=5, unique=True))
def test_valid_file_with_lines_removed_never_crashes(removed):
    edited = "".join(line for i, line in enumerate(BASE_LINES) if i not in removed)
    inspection = inspect_bytes(edited.encode(), "edited.yaml", folder_resolver(VALID))
    assert all(problem.line >= 1 for problem in inspection.problems)


@given(st.integers(0, len(BASE_LINES) - 1), st.text(max_size=30))
def test_valid_file_with_a_line_replaced_never_crashes(index, text):
    edited = "".join(text + "\n" if i == index else line for i, line in enumerate(BASE_LINES))
    inspection = inspect_bytes(edited.encode("utf-8", "surrogatepass"), "edited.yaml")
    assert (inspection.questionnaire is None) == bool(inspection.errors)


@pytest.mark.parametrize("data", [
    b"".join(b"k%d: v\n" % i for i in range(100_000))[: 1024 * 1024],
    b"[" + b"a," * 500_000 + b"a]",
    b"".join(b" " * i + b"- \n" for i in range(1000)),
], ids=["many-keys", "long-flow-list", "deep-nesting"])
def test_hostile_file_under_the_size_limit_fails_within_about_a_second(data):
    # CPU time, not wall time: other processes on a busy CI machine must not matter.
    started = time.process_time()
    inspection = inspect_bytes(data, "hostile.yaml")
    assert time.process_time() - started < 1.5
    assert inspection.errors and inspection.questionnaire is None


def test_evidence_label_is_carried_into_the_model():
    pwd = load_file(VALID / "2020.1.yaml").question("PWD-05")
    assert (pwd.evidence_label.ja, pwd.evidence_label.en) == ("確認日", "Date checked")


def test_unquoted_yes_and_no_are_strings_under_yaml_1_2():
    questionnaire = load_bytes(BASE.replace('"yes"', "yes").replace('"no"', "no").encode(),
                               "unquoted.yaml")
    assert [c.value for c in questionnaire.question("SYS-00").choices] == ["yes", "no"]


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema():
    from jsonschema import Draft202012Validator

    from surveyapp.questionnaires.schema_check import validator

    Draft202012Validator.check_schema(validator().schema)
