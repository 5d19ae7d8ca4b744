"""The demo's audit verification (DESIGN.md §9), done the way auditors do it: through
`services.verification`, inside the demo's one transaction, every choice from the
demo's `random.Random`.

FY2020: three 所属 are drawn and the `dept` login's 医務薬事課 is added by hand (so a
department user has a finalised result to look at), all checked and finalised. FY2021:
six 所属 are drawn (those FY2020 found out come first, as the next round's sample
favours low reliability), checked and finalised; their discrepancies on questions
tagged with audit items open improvement items. A 所属 at lower maturity is more often
found to have overstated an answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import question_types
from surveyapp.model import Choice, Question
from surveyapp.readmodels import verification as figures
from surveyapp.services import verification
from surveyapp.services import verification_sampling as sampling

# (fiscal year, sample size); the 所属 drawn in FY2020 are the demo's first verification.
SAMPLES = ((2020, 3), (2021, 6))
PROOF_PLACES = ("情報システム管理台帳", "所属長決裁文書", "共有フォルダの点検記録",
                "アカウント棚卸表", "研修受講記録", "委託契約書")
CONFIRMED_NOTES = ("記録を確認した", "担当者の説明と記録が一致", "設定画面で確認")
FOUND_NOTES = ("記録が一部の月で欠けていた", "手順書はあるが運用されていなかった",
               "対象の一部だけで実施していた")
UNVERIFIABLE_NOTE = "記録の保管場所が確認できなかった"


@dataclass(frozen=True)
class DemoVerification:
    round_id: int
    sampled: tuple[str, ...]
    discrepancies: int
    items: tuple[int, ...]  # improvement items opened or extended


def load_verifications(db: Database, round_ids: Mapping[int, int], maturity: Mapping[str, float],
                       rng: random.Random, auditor_id: int, anonymity_min: int,
                       always: str) -> list[DemoVerification]:
    """Both years' verification; `always` (a 所属 code) is added to the first sample."""
    done = []
    for fiscal_year, size in SAMPLES:
        round_id = round_ids[fiscal_year]
        # The submitted 所属 (what add_department accepts): cheap, where the draw's
        # candidates score the round, and nothing is memoised inside the demo's transaction.
        candidates = set(figures.candidate_codes(db, round_id))
        if not candidates:  # a tiny data set (the benchmarks') may have no submission
            continue
        draw = sampling.draw_sample(db, round_id, size, str(fiscal_year), auditor_id,
                                    anonymity_min)
        codes = [pick.code for pick in draw.picks]
        if fiscal_year == SAMPLES[0][0] and always in candidates - set(codes):
            sampling.add_department(db, round_id, always, "所属からの希望により追加",
                                    auditor_id)
            codes.append(always)
        done.append(verify_round(db, round_id, codes, maturity, rng, auditor_id))
    return done


def verify_round(db: Database, round_id: int, codes: list[str],
                 maturity: Mapping[str, float], rng: random.Random,
                 auditor_id: int) -> DemoVerification:
    verification.start_fieldwork(db, round_id, auditor_id)
    _round, questionnaire = verification.round_definition(db, round_id)
    found, items = 0, []
    for code in codes:
        lines = figures.department_lines(db, round_id, code, questionnaire)
        changes = [(line, verdict_for(line.question, line.value, maturity[code], rng), None)
                   for line in lines]
        found += sum(given.verdict == "discrepancy" for _, given, _ in changes)
        verification.record_verdicts(db, round_id, changes, auditor_id, {"demo": True},
                                     via="web")
        result = verification.finalise(db, round_id, code, auditor_id)
        items += [*result.opened, *result.extended]
    return DemoVerification(round_id, tuple(codes), found, tuple(items))


def verdict_for(question: Question, value, maturity: float,
                rng: random.Random) -> verification.VerdictInput:
    """What an auditor finds: mostly as reported; a full-marks answer is overstated
    (one step lower in truth) more often the weaker the 所属."""
    place = rng.choice(PROOF_PLACES)
    lower = _one_step_lower(question, value)
    if lower is not None and rng.random() < 0.08 + 0.3 * (1 - maturity):
        return verification.VerdictInput(question.id, "discrepancy", lower.value,
                                         rng.choice(FOUND_NOTES), place)
    if rng.random() < 0.05:
        return verification.VerdictInput(question.id, "unverifiable", None, UNVERIFIABLE_NOTE)
    return verification.VerdictInput(question.id, "confirmed", None,
                                     rng.choice(CONFIRMED_NOTES), place)


def _one_step_lower(question: Question, value) -> Choice | None:
    """The choice with the next lower score than a full-marks single answer, if any."""
    kind = question_types.of(question)
    if not question.scored or kind.multiple or not isinstance(value, str):
        return None
    chosen = question.choice(value)
    if chosen is None or chosen.score is None or chosen.score != question.max_score:
        return None
    lower = [c for c in question.choices if c.score is not None and c.score < chosen.score
             and c.score >= 0]
    return max(lower, key=lambda c: c.score, default=None)
