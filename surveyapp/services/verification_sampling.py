"""Audit verification: drawing and adjusting the sample (DESIGN.md §9).

While a round's verification is planning, draws add 所属 to the sample and admins or
auditors add or remove one by hand, with a reason; once fieldwork has started
(`verification.start_fieldwork`, or the first verdict) the sample is fixed.

A draw is reproducible: `choose_sample` is a pure function of the candidates, the size
and the seed. About half the sample comes by risk, the rules taking turns
(`RISK_REASONS`: low reliability in the last verification first, so a 所属 that was
found out is looked at again, then the lowest overall score, the largest rise against
the previous round of the same questionnaire, the most full-marks answers without
evidence (no note, location or attachment), never sampled before), the rest at random
from the seed. Drawing again with the same seed on the same data adds nothing; another
seed may add 所属, never one twice. The candidates are the 所属 whose department
response is submitted (or approved, once approval exists), less those removed by hand.
"""

from __future__ import annotations

import math
import random
import secrets
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_, Message
from surveyapp.readmodels import aggregate, compare, verification_history
from surveyapp.readmodels.followup_lists import previous_round
from surveyapp.readmodels.rounds import require_round
from surveyapp.readmodels.verification import RISK_REASONS, VERIFIABLE_STATUSES
from surveyapp.refusals import Invalid, Locked, NotFound
from surveyapp.services import audit
from surveyapp.services.verification import clean_reason, require_verifier
from surveyapp.store import departments as department_store
from surveyapp.store import evidence as evidence_store
from surveyapp.store import verification as verification_store

MAX_SAMPLE_SIZE = 1000
MAX_SEED_LENGTH = 64


# --- choosing the sample (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A 所属 whose department response may be sampled, with what the risk rules read."""

    code: str
    score: float | None = None  # overall self score (§4)
    rise: float | None = None  # against the previous round of the questionnaire
    missing_evidence: int = 0  # full-marks answers without evidence
    sampled_before: bool = False
    last_reliability: float | None = None  # of its latest finalised verification


@dataclass(frozen=True)
class Pick:
    code: str
    reason: str  # a REASON_LABELS key
    detail: Mapping = field(default_factory=dict)  # the figure behind the reason


def risk_ranking(reason: str, candidates: Sequence[Candidate], seed: str) -> list[Pick]:
    """The candidates a risk rule would take, best first, each with its figure."""
    if reason == "low_reliability":
        found = [c for c in candidates if c.last_reliability is not None
                 and c.last_reliability < 1]
        found.sort(key=lambda c: (c.last_reliability, c.code))
        return [Pick(c.code, reason, {"reliability": c.last_reliability}) for c in found]
    if reason == "lowest_score":
        found = sorted((c for c in candidates if c.score is not None),
                       key=lambda c: (c.score, c.code))
        return [Pick(c.code, reason, {"score": c.score}) for c in found]
    if reason == "largest_rise":
        found = sorted((c for c in candidates if c.rise is not None and c.rise > 0),
                       key=lambda c: (-c.rise, c.code))
        return [Pick(c.code, reason, {"rise": c.rise}) for c in found]
    if reason == "missing_evidence":
        found = sorted((c for c in candidates if c.missing_evidence > 0),
                       key=lambda c: (-c.missing_evidence, c.code))
        return [Pick(c.code, reason, {"answers": c.missing_evidence}) for c in found]
    never = sorted(c.code for c in candidates if not c.sampled_before)
    seeded(seed, reason).shuffle(never)  # all equal: the seed decides the order
    return [Pick(code, reason) for code in never]


def seeded(seed: str, purpose: str) -> random.Random:
    # Reproducible on purpose (the same seed draws the same sample): nothing secret.
    return random.Random(f"{seed}/{purpose}")  # noqa: S311  # nosec B311


def choose_sample(candidates: Sequence[Candidate], size: int, seed: str) -> list[Pick]:
    """`size` 所属 (all when there are fewer): the first half, rounded up, by the risk
    rules taking turns, each taking its best candidate not yet taken; the rest at
    random from `seed` among the others."""
    rankings = [risk_ranking(reason, candidates, seed) for reason in RISK_REASONS]
    wanted = min(size, len(candidates))
    by_risk = math.ceil(wanted / 2)
    picks: list[Pick] = []
    taken: set[str] = set()
    while len(picks) < by_risk:
        turn = [next((p for p in ranking if p.code not in taken), None) for ranking in rankings]
        if not any(turn):
            break  # no rule has anyone left: the rest is random
        for pick in turn:
            if pick is not None and pick.code not in taken and len(picks) < by_risk:
                picks.append(pick)
                taken.add(pick.code)
    rest = sorted(c.code for c in candidates if c.code not in taken)
    chosen = seeded(seed, "random").sample(rest, wanted - len(picks))
    return picks + [Pick(code, "random", {"seed": seed}) for code in sorted(chosen)]


# --- the candidates of a round (reads the database) -------------------------------------


def candidates(db: Database, round_id: int, anonymity_min: int) -> list[Candidate]:
    """The round's 所属 with a submitted (or approved) department response, except those
    removed from the sample by hand, with every figure the risk rules read."""
    scores = aggregate.round_scores(db, round_id, anonymity_min)
    removed = verification_store.removed_codes(db, round_id)
    codes = [code for code in verification_store.candidate_codes(db, round_id,
                                                                  VERIFIABLE_STATUSES)
             if code not in removed and scores.department(code) is not None]
    chains = predecessor_chains(db, codes)
    earlier = verification_store.sampled_before(db, scores.round.fiscal_year)
    reliabilities = verification_history.last_reliabilities(db, scores.round.fiscal_year, chains)
    rises = score_rises(db, round_id, anonymity_min)
    missing = missing_evidence(db, scores, codes)
    return [Candidate(code, scores.department(code).overall, rises.get(code),
                      missing.get(code, 0), bool(earlier & set(chains[code])),
                      reliabilities.get(code)) for code in codes]


def predecessor_chains(db: Database, codes: Iterable[str]) -> dict[str, tuple[str, ...]]:
    departments = department_store.departments_by_code(db)
    return {code: aggregate.predecessor_codes(departments, code) for code in codes}


def score_rises(db: Database, round_id: int, anonymity_min: int) -> dict[str, float]:
    """{所属: overall change against the previous round of the same questionnaire},
    over the questions both versions share where the versions differ."""
    before = previous_round(db, round_id)
    if before is None:
        return {}
    comparison = compare.compare_rounds(db, before.id, round_id, anonymity_min)
    rises = {}
    for department in comparison.departments:
        change = department.changes.overall_common
        delta = change.delta if change.delta is not None else department.changes.overall.delta
        if delta is not None:
            rises[department.code] = delta
    return rises


def missing_evidence(db: Database, scores: aggregate.RoundScores,
                     codes: Sequence[str]) -> dict[str, int]:
    """{所属: full-marks answers on scored questions that ask for evidence, without
    any (no note, location or attachment)} among `codes`."""
    asking = {q.id for q in scores.questionnaire.questions_for("department")
              if q.evidence != "none" and q.scored}
    wanted = set(codes)
    return dict(Counter(
        row["department_code"]
        for row in evidence_store.undocumented_full_marks(db, scores.round.id, "department")
        if row["department_code"] in wanted and row["question_id"] in asking))


# --- drawing and adjusting the sample -------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    id: int
    seed: str
    picks: tuple[Pick, ...]
    added: tuple[str, ...]  # codes that were not in the sample before


def new_seed() -> str:
    return str(secrets.randbelow(10**8))


def clean_seed(seed: str | int | None) -> str:
    text = unicodedata.normalize("NFKC", str(seed if seed is not None else "")).strip()
    if not text:
        return new_seed()
    if len(text) > MAX_SEED_LENGTH or not text.isprintable():
        message = N_("シードは%(n)d文字以内で入力してください（改行などは使えません）。")
        raise Invalid(message, errors={"seed": Message(message, n=MAX_SEED_LENGTH)},
                      n=MAX_SEED_LENGTH)
    return text


def clean_size(size: int | str) -> int:
    text = unicodedata.normalize("NFKC", str(size)).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SAMPLE_SIZE:
        message = N_("抽出する所属の数は1から%(n)dまでの整数で入力してください。")
        raise Invalid(message, errors={"size": Message(message, n=MAX_SAMPLE_SIZE)},
                      n=MAX_SAMPLE_SIZE)
    return int(text)


def draw_sample(db: Database, round_id: int, size: int | str, seed: str | int | None,
                user_id: int | None, anonymity_min: int) -> Draw:
    """Draw `size` 所属 (see `choose_sample`) and add those not in the sample yet.

    Raises `NotFound` (no such round), `Invalid` (a bad size or seed, nobody to draw
    from) or `Locked` (fieldwork has started).
    """
    size, seed = clean_size(size), clean_seed(seed)
    require_round(db, round_id)
    found = candidates(db, round_id, anonymity_min)
    if not found:
        raise Invalid(N_("自己点検を提出した所属がないため、抽出できません。"))
    picks = choose_sample(found, size, seed)
    with store.transaction(db):
        require_verifier(db, user_id)
        _planning(db, round_id, user_id)
        at = store.now()
        draw_id = verification_store.insert_draw(db, round_id, seed, size, user_id, at)
        current = {row["department_code"] for row in verification_store.samples(db, round_id)}
        added = [pick for pick in picks if pick.code not in current]
        for pick in added:
            verification_store.insert_sample(db, {
                "round_id": round_id, "department_code": pick.code, "reason": pick.reason,
                "detail": dict(pick.detail), "draw_id": draw_id, "note": ""}, user_id, at)
        audit.record(db, user_id, "verification.draw", "round", round_id, seed=seed,
                     size=size, drawn=[p.code for p in picks], added=[p.code for p in added])
    return Draw(draw_id, seed, tuple(picks), tuple(pick.code for pick in added))


def _planning(db: Database, round_id: int, user_id: int | None) -> None:
    """Create the plan on first use; refuse once fieldwork has started."""
    verification_store.insert_plan(db, round_id, user_id, store.now())
    if verification_store.get_plan(db, round_id)["status"] != "planning":
        raise Locked(N_("実地検証を開始した後は、標本の所属を変えられません。"))


def add_department(db: Database, round_id: int, code: str, note: str | None,
                   user_id: int | None) -> None:
    """Add a 所属 to the sample by hand, with the reason why. It must have a submitted
    (or approved) department response: there is nothing else to verify."""
    note = clean_reason(note)
    round_ = require_round(db, round_id)
    with store.transaction(db):
        require_verifier(db, user_id)
        _planning(db, round_id, user_id)
        if code not in verification_store.candidate_codes(db, round_id, VERIFIABLE_STATUSES):
            _refuse_unknown(db, code, round_.fiscal_year)
        if verification_store.get_sample(db, round_id, code) is not None:
            message = N_("この所属は既に標本に入っています。")
            raise Invalid(message, errors={"department": Message(message)})
        verification_store.insert_sample(db, {
            "round_id": round_id, "department_code": code, "reason": "manual",
            "detail": {}, "draw_id": None, "note": note}, user_id, store.now())
        audit.record(db, user_id, "verification.add", "department", code,
                     round_id=round_id, note=note)


def _refuse_unknown(db: Database, code: str, fiscal_year: int) -> None:
    department = department_store.get_department(db, code)
    if department is None or department["parent_code"] is None or not aggregate.valid_in(
            department, fiscal_year):
        message = N_("所属が見つかりません。")
    else:
        message = N_("この所属は自己点検を提出していないため、検証の対象にできません。")
    raise Invalid(message, errors={"department": Message(message)})


def remove_department(db: Database, round_id: int, code: str, note: str | None,
                      user_id: int | None) -> None:
    """Take a 所属 out of the sample by hand, with the reason why (the row stays, so
    the plan shows who removed it and why; a later draw does not take it again)."""
    note = clean_reason(note)
    require_round(db, round_id)
    with store.transaction(db):
        require_verifier(db, user_id)
        sample = verification_store.get_sample(db, round_id, code)
        if sample is None:
            raise NotFound(N_("この所属は標本に入っていません。"))
        _planning(db, round_id, user_id)
        verification_store.remove_sample(db, sample["id"], note, user_id, store.now())
        audit.record(db, user_id, "verification.remove", "department", code,
                     round_id=round_id, note=note, reason=sample["reason"])


