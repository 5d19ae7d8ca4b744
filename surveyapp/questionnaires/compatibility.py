"""Pass 3: checks against other published versions (lineage and previous_version).

Other versions come from a *resolver*: `(questionnaire_id, version) -> Questionnaire`
or None when that version does not exist. When checking files it reads sibling files
`<dir>/<version>.yaml`; when publishing it reads the database (see `resolvers.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from surveyapp.model import N_, Message, Question, Questionnaire
from surveyapp.questionnaires.problems import Collector, DefinitionError, Location
from surveyapp.questionnaires.views import (
    ChoiceView,
    QuestionView,
    entries,
    mapping,
    string,
    version_key,
)

Resolver = Callable[[str, str], "Questionnaire | None"]
MAX_CHAIN = 100


class VersionLookup:
    """Resolves each version once and reports a missing or broken one where it is named."""

    def __init__(self, questionnaire_id: str, resolver: Resolver, collector: Collector) -> None:
        self.questionnaire_id = questionnaire_id
        self.resolver = resolver
        self.collector = collector
        self.found: dict[str, Questionnaire | DefinitionError | None] = {}

    def quiet(self, version: str) -> Questionnaire | None:
        if version not in self.found:
            try:
                self.found[version] = self.resolver(self.questionnaire_id, version)
            except DefinitionError as error:
                self.found[version] = error
        result = self.found[version]
        return result if isinstance(result, Questionnaire) else None

    def get(self, version: str, location: Location) -> Questionnaire | None:
        """The version, reporting where it is first named when it is missing or broken."""
        seen_before = version in self.found
        questionnaire = self.quiet(version)
        result = self.found[version]
        if seen_before:
            return questionnaire
        if isinstance(result, DefinitionError):
            self.collector.add(location, Message(
                N_("版 %(version)s の定義に誤りがあるため比較できません: %(error)s"),
                version=version, error=Message.of(result)))
        elif result is None:
            self.collector.add(location, Message(
                N_("%(id)s の版 %(version)s が見つかりません "
                   "(公開済みの版にも同じフォルダにもありません)"),
                id=self.questionnaire_id, version=version))
        return questionnaire


def check_versions(document: object, questions: list[QuestionView], resolver: Resolver | None,
                   collector: Collector) -> None:
    header = mapping(mapping(document).get("questionnaire"))
    questionnaire_id, version = string(header.get("id")), string(header.get("version"))
    if resolver is None or questionnaire_id is None or version is None:
        return
    lookup = VersionLookup(questionnaire_id, resolver, collector)
    previous_version = string(header.get("previous_version"))
    if previous_version:
        previous = lookup.get(previous_version, ("questionnaire", "previous_version"))
        if previous is not None:
            check_against_previous(mapping(document), questions, previous, lookup, collector)
    for question in questions:
        check_lineage(question, version, lookup, collector)


def check_lineage(question: QuestionView, version: str, lookup: VersionLookup,
                  collector: Collector) -> None:
    for location, link in entries(question.raw, "lineage", question.location):
        source, source_id = string(link.get("from")), string(link.get("id"))
        if source is None or source_id is None:
            continue
        if version_key(source) >= version_key(version):
            collector.add((*location, "from"), Message(
                N_("lineage.from (%(source)s) はこの版 (%(version)s) より前の版にしてください"),
                source=source, version=version))
            continue
        earlier = lookup.get(source, (*location, "from"))
        if earlier is not None and earlier.question(source_id) is None:
            collector.add((*location, "id"), Message(
                N_("版 %(version)s に設問 %(id)s はありません"), version=source, id=source_id))


def retired_before(previous: Questionnaire, lookup: VersionLookup) -> dict[str, str]:
    """Every id retired in `previous` or any version before it: casefold id -> version."""
    retired: dict[str, str] = {}
    current: Questionnaire | None = previous
    seen: set[str] = set()
    while current is not None and current.version not in seen and len(seen) < MAX_CHAIN:
        seen.add(current.version)
        retired.update({item.id.casefold(): current.version for item in current.retired})
        older = current.previous_version
        current = lookup.quiet(older) if older else None
    return retired


def check_against_previous(document: dict, questions: list[QuestionView],
                           previous: Questionnaire, lookup: VersionLookup,
                           collector: Collector) -> None:
    retired_earlier = retired_before(previous, lookup)
    for question in questions:
        if question.id.casefold() in retired_earlier:
            collector.add((*question.location, "id"), Message(
                N_("設問 ID %(id)s は版 %(version)s で廃止されたため再利用できません。"
                   "新しい ID を使ってください"),
                id=question.id, version=retired_earlier[question.id.casefold()]))
        old = previous.question(question.id)
        if old is not None:
            compare_question(question, old, previous.version, collector)
    check_dropped(document, questions, previous, collector)


def check_dropped(document: dict, questions: list[QuestionView], previous: Questionnaire,
                  collector: Collector) -> None:
    kept = {question.id for question in questions}
    retired = {string(item.get("id")) for _, item in entries(document, "retired")}
    for old in previous.questions:
        if old.id not in kept and old.id not in retired:
            collector.add(("questionnaire", "previous_version"), Message(
                N_("版 %(version)s の設問 %(id)s がありません。"
                   "廃止するなら retired に理由と共に記載してください"),
                version=previous.version, id=old.id))


def compare_question(new: QuestionView, old: Question, old_version: str,
                     collector: Collector) -> None:
    where = {"version": old_version, "id": new.id}  # 版 … の設問 … that every message names
    if new.type is not None and new.type != old.type:
        collector.add((*new.location, "type"), Message(
            N_("版 %(version)s の設問 %(id)s と型が違います (%(old)s → %(new)s)。"
               "型を変えるなら新しい ID にしてください"), **where, old=old.type, new=new.type))
        return
    if new.weight != old.weight:
        collector.warn((*new.location, "weight"), Message(
            N_("版 %(version)s の設問 %(id)s から重みが変わりました (%(old)s → %(new)s)。"
               "スコアカードに注記されます"), **where, old=f"{old.weight:g}",
            new=f"{new.weight:g}"))
    if new.audience is not None and new.audience != old.audience:
        collector.warn(new.location, Message(
            N_("版 %(version)s の設問 %(id)s から回答者が変わりました (%(old)s → %(new)s)"),
            **where, old=old.audience, new=new.audience))
    if new.is_choice and new.choices is not None:
        compare_choices(new, old, where, collector)


def compare_choices(new: QuestionView, old: Question, where: dict, collector: Collector) -> None:
    old_values, new_values = {c.value for c in old.choices}, new.values()
    if old_values != new_values:
        added = ", ".join(sorted(new_values - old_values)) or Message(N_("なし"))
        removed = ", ".join(sorted(old_values - new_values)) or Message(N_("なし"))
        collector.add((*new.location, "choices"), Message(
            N_("版 %(version)s の設問 %(id)s と選択肢の値が違います (追加: %(added)s、"
               "削除: %(removed)s)。意味が変わるなら新しい ID にしてください"),
            **where, added=added, removed=removed))
        return
    for choice in new.choices or ():
        compare_choice(new, choice, old, where, collector)


def compare_choice(new: QuestionView, choice: ChoiceView, old: Question, where: dict,
                   collector: Collector) -> None:
    """What changes a choice's meaning depends on the type (a quiz: right or wrong)."""
    before = old.choice(choice.value)
    new.kind.check_choice_change(choice, before.score, before.correct, where, collector)
