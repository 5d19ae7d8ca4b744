"""Cross-version question mapping for year-over-year comparison (DESIGN.md §3).

A later version names, per question, what it came from (`lineage`). `same` and
`reworded` are comparable; `split`, `merged` and `approximate` are shown but marked; a
question with no link to the earlier version is `new`. Only direct links to the earlier
version are followed: comparing non-adjacent versions does not walk the chain, so a
question reached only through an intermediate version shows as new there.

Pure functions over `surveyapp.model`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from surveyapp.model import (
    LineageLink,
    Question,
    QuestionMatch,
    Questionnaire,
    Retired,
    SplitProxy,
    Text,
)

NEW = "new"
SAME = "same"
APPROXIMATE = "approximate"
GONE_REASON = Text("この版には含まれていません", "Not in this version")


def match_questions(from_q: Questionnaire, to_q: Questionnaire) -> list[QuestionMatch]:
    """One match for every question of `to_q`, in its order."""
    return [match_question(from_q, question) for question in to_q.questions]


def match_question(from_q: Questionnaire, question: Question) -> QuestionMatch:
    links = links_from(question, from_q.version)
    if links:
        return _match_by_links(from_q, question, links)
    return _match_by_id(from_q, question)


def links_from(question: Question, version: str) -> tuple[LineageLink, ...]:
    return tuple(link for link in question.lineage if link.from_version == version)


def _match_by_links(
    from_q: Questionnaire, question: Question, links: tuple[LineageLink, ...]
) -> QuestionMatch:
    relations = {link.relation for link in links}
    # Links that disagree about the relation cannot claim more than "similar".
    relation = relations.pop() if len(relations) == 1 else APPROXIMATE
    from_ids = tuple(link.id for link in links)
    comparable = (
        len(links) == 1 and links[0].comparable and from_q.question(from_ids[0]) is not None)
    return QuestionMatch(question.id, from_ids, relation, comparable)


def _match_by_id(from_q: Questionnaire, question: Question) -> QuestionMatch:
    """Without a link, an id present in both counts only when the question is unchanged.

    Ids are never reused, so the same id is the same topic; but without the author's
    word that the meaning held, only an unchanged question is claimed comparable.
    """
    earlier = from_q.question(question.id)
    if earlier is None:
        return QuestionMatch(question.id, (), NEW, False)
    if same_meaning(earlier, question):
        return QuestionMatch(question.id, (earlier.id,), SAME, True)
    return QuestionMatch(question.id, (earlier.id,), APPROXIMATE, False)


def same_meaning(a: Question, b: Question) -> bool:
    """Same type, wording, audience and choices (values, labels and points)."""
    return (a.type, a.text, a.audience, a.choices) == (b.type, b.text, b.audience, b.choices)


def common_question_ids(from_q: Questionnaire, to_q: Questionnaire) -> dict[str, str]:
    """Comparable pairs as {to_id: from_id}: the "common items only" basis."""
    return {
        match.to_id: match.from_ids[0]
        for match in match_questions(from_q, to_q)
        if match.comparable
    }


def retired_between(from_q: Questionnaire, to_q: Questionnaire) -> tuple[Retired, ...]:
    """Questions of `from_q` that `to_q` no longer asks under their id.

    Uses `to_q`'s `retired` entry (with its reason and `replaced_by`) when it has one,
    so a split question appears here too, pointing at its parts.
    """
    reasons = {entry.id: entry for entry in to_q.retired}
    return tuple(
        reasons.get(question.id, Retired(question.id, GONE_REASON))
        for question in from_q.questions
        if to_q.question(question.id) is None
    )


def split_proxies(from_q: Questionnaire, to_q: Questionnaire) -> list[SplitProxy]:
    """Each earlier question split into several later ones, with all its parts."""
    parts: dict[str, list[str]] = {}
    for match in match_questions(from_q, to_q):
        if match.relation == "split":
            for from_id in match.from_ids:
                parts.setdefault(from_id, []).append(match.to_id)
    return [SplitProxy(from_id, tuple(to_ids)) for from_id, to_ids in parts.items()]


def proxy_ratio(proxy: SplitProxy, to_ratios: Mapping[str, float]) -> float | None:
    """The later answers read as the earlier question: the weakest part's `r`.

    `to_ratios` are one response's `scoring.response_ratios` for the later version, so
    relevance, 該当なし and unanswered parts are already left out. For yes/no parts the
    minimum is "IDM-05 = yes AND IDM-06 = yes": 1 only when every part is yes. None when
    no part has an `r`.
    """
    ratios = [to_ratios[part] for part in proxy.to_ids if part in to_ratios]
    return min(ratios) if ratios else None


def mean_proxy_ratio(
    proxy: SplitProxy, ratio_sets: Iterable[Mapping[str, float]]
) -> float | None:
    """Across several responses (a 所属's staff): the mean of their proxy ratios."""
    ratios = [r for r in (proxy_ratio(proxy, ratios) for ratios in ratio_sets)
              if r is not None]
    return math.fsum(ratios) / len(ratios) if ratios else None
