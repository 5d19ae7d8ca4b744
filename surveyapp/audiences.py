"""Audiences: who answers a section or question (`audience:` in a definition, DESIGN.md
§1, §3, §4), one entry each with every rule that depends on it.

- who answers it (`respondent`) and how the pages name it (`label`);
- which form holds its questions (`form`: the 所属's self-check on the web and in Excel,
  or the anonymous staff survey behind a 所属's link) and how results name that form;
- whether its answers are anonymous: then staff rows of an export carry no identity and
  a 所属's figures count only from the anonymity minimum on (`counts`);
- how a 所属's `r` of one of its questions comes about: the mean of `r` over the
  所属's responses of that audience (`mean_ratios`): the one submitted department
  response, every submitted staff response, or one response per information system the
  所属 owns (`per_system`, DESIGN.md §12: the owner 所属's self-check holds one block of
  them per system; a 所属 without systems leaves them out);
- whose earlier answers a `relevant` expression may read (`relevance_from`): a system
  question reads the same system's answers and its 所属's department answers, which
  the form asks first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from surveyapp.model import N_, Question

SELF_CHECK = "self_check"  # the 所属's form (web and Excel), answered by its users
STAFF_SURVEY = "staff_survey"  # the anonymous form behind a 所属's staff link


@dataclass(frozen=True)
class Audience:
    name: str
    label: str  # msgid: the respondent as a definition page names it
    respondent: str  # msgid: the respondent in a results table column
    form: str  # SELF_CHECK or STAFF_SURVEY
    form_label: str  # msgid: the form, as results pages name it
    anonymous: bool  # no identity kept; small groups are never shown (§1)
    per_system: bool = False  # answered once per information system the 所属 owns
    relevance_from: tuple[str, ...] = ()  # other audiences `relevant` may refer to

    def minimum_responses(self, anonymity_min: int) -> int:
        """Responses a 所属 needs before this audience's answers count in its figures."""
        return anonymity_min if self.anonymous else 1

    def counts(self, responses: int, anonymity_min: int) -> bool:
        return responses >= self.minimum_responses(anonymity_min)

    def mean_ratios(self, questions: Iterable[Question], ratio_sets: Sequence[Mapping],
                    anonymity_min: int) -> dict[str, float]:
        """A 所属's `r` per question of this audience (DESIGN.md §4): the mean over its
        responses' `r` (`ratio_sets`, one mapping per response); nothing at all when
        it has fewer responses than `minimum_responses`."""
        if not self.counts(len(ratio_sets), anonymity_min):
            return {}
        means = {}
        for question in questions:
            values = [ratios[question.id] for ratios in ratio_sets if question.id in ratios]
            if values:
                means[question.id] = math.fsum(values) / len(values)
        return means


DEPARTMENT = Audience("department", N_("所属代表"), N_("所属"), SELF_CHECK,
                      N_("所属の自己点検"), anonymous=False)
STAFF = Audience("staff", N_("職員（匿名）"), N_("職員"), STAFF_SURVEY,
                 N_("職員アンケート"), anonymous=True)

SYSTEM = Audience("system", N_("情報システムごと"), N_("システム"), SELF_CHECK,
                  N_("所属の自己点検（システムごと）"), anonymous=False, per_system=True,
                  relevance_from=("department",))

REGISTRY: dict[str, Audience] = {audience.name: audience
                                 for audience in (DEPARTMENT, STAFF, SYSTEM)}
NAMES = tuple(REGISTRY)  # the `audience` values a definition may use


def lookup(name: str) -> Audience:
    """The audience called `name`; KeyError for a name no entry registers."""
    return REGISTRY[name]


def form_audience(form: str) -> str:
    """The audience whose questions `form` asks once (the 所属's own questions on the
    self-check; a per-system audience's questions come as one block per system)."""
    return next(audience.name for audience in REGISTRY.values()
                if audience.form == form and not audience.per_system)


def named() -> list[str]:
    """The audiences whose answers carry their 所属 (every one but the anonymous): an
    answer history and a department's own exports list them."""
    return [audience.name for audience in REGISTRY.values() if not audience.anonymous]


def per_system_audiences(form: str = SELF_CHECK) -> tuple[str, ...]:
    """The audiences `form` asks once per information system."""
    return tuple(audience.name for audience in REGISTRY.values()
                 if audience.form == form and audience.per_system)


def may_refer(question_audience: str, target_audience: str) -> bool:
    """Whether a `relevant` expression of a question of `question_audience` may read an
    answer to a question of `target_audience`."""
    audience = REGISTRY.get(question_audience)
    return question_audience == target_audience or (
        audience is not None and target_audience in audience.relevance_from)
