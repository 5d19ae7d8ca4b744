"""Audit verification, the write side (DESIGN.md §9): draw and adjust the sample, start
fieldwork, record verdicts, finalise a 所属.

A round's verification goes planning -> fieldwork. While planning, draws add 所属 to
the sample and admins or auditors add or remove one by hand, with a reason. Recording
the first verdict (or the explicit start) begins fieldwork and fixes the sample. Each
sampled 所属 is finalised on its own; it then sees its result, and each discrepancy on
a question tagged with findings opens an improvement item for that 所属 and finding or
is added to its open one (`verification_items`).

A draw is reproducible: `choose_sample` is a pure function of the candidates, the size
and the seed. About half the sample comes by risk, the rules taking turns
(`RISK_REASONS`: low reliability in the last verification first, so a 所属 that was
found out is looked at again, then the lowest overall score, the largest rise against
the previous round of the same questionnaire, the most full-marks answers without an
evidence note, never sampled before), the rest at random from the seed. Drawing again
with the same seed on the same data adds nothing; another seed may add 所属, never one
twice. Every change is one `BEGIN IMMEDIATE` transaction with its audit-log entry.
"""

from __future__ import annotations

import math
import random
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import question_types, store
from surveyapp.model import N_, AnswerValue, Message, Question, Questionnaire
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels.verification import RISK_REASONS, VERDICTS, VERIFIABLE_STATUSES
from surveyapp.refusals import Conflict, Invalid, Locked, NotFound, Refusal
from surveyapp.services import aggregate, audit, compare, verification_items
from surveyapp.services import rounds as round_service
from surveyapp.services.followups import previous_round
from surveyapp.services.questionnaires import get_definition
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store
from surveyapp.store import verification as verification_store

MAX_SAMPLE_SIZE = 1000
MAX_SEED_LENGTH = 64
MAX_NOTE_LENGTH = 1000
MAX_REASON_LENGTH = 500
VERIFIERS = ("admin", "auditor")


# --- who may do verification work --------------------------------------------------------


def require_verifier(db: Database, user_id: int | None) -> None:
    """Admins and auditors, active ones; None is the command line's operator."""
    if user_id is None:
        return
    user = user_store.get_user(db, user_id)
    if user is None or user["role"] not in VERIFIERS or not user["active"]:
        raise Refusal(N_("検証の作業は情報企画課と監査人だけが行えます。"))


def verifier_id(db: Database, login: str) -> int:
    """The id of the active admin or auditor called `login` (the CLI's --by)."""
    user = user_store.get_user_by_login(db, (login or "").strip())
    if user is None:
        raise NotFound(N_("ユーザー %(login)s が見つかりません。"), login=login)
    require_verifier(db, user["id"])
    return user["id"]


# --- choosing the sample (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A 所属 whose department response may be sampled, with what the risk rules read."""

    code: str
    score: float | None = None  # overall self score (§4)
    rise: float | None = None  # against the previous round of the questionnaire
    missing_evidence: int = 0  # full-marks answers without an evidence note
    sampled_before: bool = False
    last_reliability: float | None = None  # of its latest finalised verification


@dataclass(frozen=True)
class Pick:
    code: str
    reason: str  # a REASONS value
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
    reliabilities = figures.last_reliabilities(db, scores.round.fiscal_year, chains)
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
    """Full-marks answers on questions that ask for evidence, without a note."""
    asking = [q.id for q in scores.questionnaire.questions_for("department")
              if q.evidence != "none" and q.scored]
    return verification_store.full_marks_without_evidence(db, scores.round.id, asking, codes)


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


def require_round(db: Database, round_id: int) -> round_service.Round:
    found = round_service.get_round(db, round_id)
    if found is None:
        raise NotFound(N_("調査回 %(id)d が見つかりません。"), id=round_id)
    return found


def _planning(db: Database, round_id: int, user_id: int | None) -> None:
    """Create the plan on first use; refuse once fieldwork has started."""
    verification_store.insert_plan(db, round_id, user_id, store.now())
    if verification_store.get_plan(db, round_id)["status"] != "planning":
        raise Locked(N_("実地検証を開始した後は、標本の所属を変えられません。"))


def clean_reason(text: str | None, name: str = "note") -> str:
    """The reason typed for a hand-made change of the sample: required, one line."""
    reason = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not reason:
        message = N_("理由を入力してください。")
        raise Invalid(message, errors={name: Message(message)})
    if len(reason) > MAX_REASON_LENGTH:
        message = N_("理由は%(n)d文字以内で入力してください。")
        raise Invalid(message, errors={name: Message(message, n=MAX_REASON_LENGTH)},
                      n=MAX_REASON_LENGTH)
    return reason


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


def start_fieldwork(db: Database, round_id: int, user_id: int | None) -> None:
    """Fix the sample: from now on only verdicts are recorded. Idempotent."""
    require_round(db, round_id)
    with store.transaction(db):
        require_verifier(db, user_id)
        _start_fieldwork(db, round_id, user_id)


def _start_fieldwork(db: Database, round_id: int, user_id: int | None) -> None:
    plan = verification_store.get_plan(db, round_id)
    if plan is not None and plan["status"] == "fieldwork":
        return
    if not verification_store.samples(db, round_id):
        raise Invalid(N_("標本に所属がありません。先に抽出してください。"))
    verification_store.start_fieldwork(db, round_id, user_id, store.now())
    audit.record(db, user_id, "verification.fieldwork", "round", round_id,
                 sampled=[row["department_code"]
                          for row in verification_store.samples(db, round_id)])


# --- verdicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictInput:
    """One verdict as a person gave it; `verified_value` is already a stored value
    (`parse_found` reads typed text)."""

    question_id: str
    verdict: str
    verified_value: AnswerValue | None = None
    note: str = ""
    proof_location: str = ""
    system_code: str | None = None


def parse_found(question: Question, raw: Sequence[str] | str) -> AnswerValue | None:
    """The value found on site as typed (a choice value or label; several separated
    by ';'): raises `question_types.InvalidAnswer` with the reason when it is none of
    the question's choices."""
    kind = question_types.of(question)
    if isinstance(raw, str):
        return kind.from_cell(question, raw)
    return kind.coerce(question, [text for text in raw if text is not None])


def verdict_problems(question: Question, given: VerdictInput,
                     self_value: AnswerValue) -> dict[str, str]:
    """{field: message} of what is wrong with a verdict on an answer; empty when fine."""
    problems: dict[str, str] = {}
    found = given.verified_value
    if given.verdict not in VERDICTS:
        problems["verdict"] = Message(N_("判定は confirmed（確認済み）、discrepancy（相違）、"
                                         "unverifiable（確認不能）のどれかにしてください。"))
    elif given.verdict == "discrepancy" and question_types.is_empty(found):
        problems["verified_value"] = Message(N_("相違のときは、確認した値を入力してください。"))
    elif given.verdict == "discrepancy" and found == self_value:
        problems["verified_value"] = Message(N_("確認した値が自己申告と同じです。"
                                                "確認済みにしてください。"))
    elif given.verdict != "discrepancy" and not question_types.is_empty(found):
        problems["verified_value"] = Message(N_("確認した値は、相違のときだけ入力します。"))
    for name, text in (("note", given.note), ("proof_location", given.proof_location)):
        problem = _text_problem(text)
        if problem:
            problems[name] = problem
    return problems


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return Message(N_("使用できない文字が含まれています。"))
    if len(text) > MAX_NOTE_LENGTH:
        return Message(N_("%(n)d文字以内で入力してください。"), n=MAX_NOTE_LENGTH)
    return None


def clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class RecordedVerdict:
    key: tuple[str, str | None]
    version: int
    changed: bool


def record_verdict(db: Database, round_id: int, code: str, given: VerdictInput,
                   user_id: int | None, expected_version: int | None = None,
                   anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN) -> RecordedVerdict:
    """Record (or change) the verdict on one answer of a sampled 所属, from the web.

    `expected_version` is the verdict's version the page showed (0: none yet); when it
    changed since, nothing is written and `Conflict` carries the stored row. Raises
    `NotFound` (round, 所属 not sampled, no such answer), `Locked` (finalised) or
    `Invalid` (with `errors` per field).
    """
    given = _cleaned(given)
    line = answer_line(db, round_id, code, given, anonymity_min)
    problems = verdict_problems(line.question, given, line.value)
    if problems:
        raise Invalid(errors=problems)
    with store.transaction(db):
        require_verifier(db, user_id)
        result = _write_verdict(db, round_id, line, given, user_id, "web", expected_version)
        if result.changed:
            audit.record(db, user_id, "verification.verdict", "department", code,
                         round_id=round_id, question_id=given.question_id,
                         system_code=given.system_code, verdict=given.verdict,
                         verified_value=_stored(line.question, given.verified_value))
        return result


def _cleaned(given: VerdictInput) -> VerdictInput:
    return VerdictInput(given.question_id, given.verdict, given.verified_value,
                        clean_text(given.note), clean_text(given.proof_location),
                        given.system_code or None)


def answer_line(db: Database, round_id: int, code: str, given: VerdictInput,
                anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN) -> figures.AnswerLine:
    """The sampled 所属's answer a verdict is about (`NotFound` when there is none)."""
    round_, questionnaire = round_definition(db, round_id)
    if verification_store.get_sample(db, round_id, code) is None:
        raise NotFound(N_("この所属は標本に入っていません。"))
    lines = figures.department_lines(db, round_.id, code, questionnaire)
    line = next((line for line in lines
                 if line.key == (given.question_id, given.system_code)), None)
    if line is None:
        raise NotFound(N_("この所属の回答に設問 %(id)s はありません。"), id=given.question_id)
    return line


def round_definition(db: Database, round_id: int) -> tuple[round_service.Round,
                                                            Questionnaire]:
    round_ = require_round(db, round_id)
    return round_, get_definition(db, round_.questionnaire_id, round_.version)


def _stored(question: Question, value: AnswerValue | None) -> str | None:
    return None if question_types.is_empty(value) else question_types.of(question).to_text(
        value)


def _write_verdict(db: Database, round_id: int, line: figures.AnswerLine,
                   given: VerdictInput, user_id: int | None, via: str,
                   expected_version: int | None) -> RecordedVerdict:
    """Inside the caller's transaction: checks the sample's state and the version."""
    sample = verification_store.get_sample(db, round_id, line.code)
    if sample is None:
        raise NotFound(N_("この所属は標本に入っていません。"))
    if sample["finalised_at"] is not None:
        raise Locked(N_("この所属の検証は確定済みのため、判定を変えられません。"))
    _start_fieldwork(db, round_id, user_id)
    key = {"round_id": round_id, "department_code": line.code,
           "question_id": line.question.id, "system_code": line.system_code}
    stored = verification_store.get_verdict(db, key)
    if expected_version is not None and (stored["version"] if stored else 0) != expected_version:
        raise Conflict(N_("この判定は、画面を開いた後に他の人が記録しました。内容を確かめてから"
                          "記録し直してください。"), current=stored)
    values = {**key, "verdict": given.verdict, "self_value": line.self_text,
              "verified_value": _stored(line.question, given.verified_value),
              "note": given.note, "proof_location": given.proof_location}
    if stored is not None and all(stored[name] == values[name] for name in values):
        return RecordedVerdict(line.key, stored["version"], False)
    at = store.now()
    if stored is None:
        verdict_id = verification_store.insert_verdict(db, values, user_id, at)
    else:
        verdict_id = stored["id"]
        verification_store.update_verdict(db, verdict_id, values, user_id, at)
    verification_store.insert_history(db, verdict_id, values, via, user_id, at)
    return RecordedVerdict(line.key, (stored["version"] + 1) if stored else 1, True)


def record_verdicts(db: Database, round_id: int,
                    changes: Sequence[tuple[figures.AnswerLine, VerdictInput, int | None]],
                    user_id: int | None, detail: Mapping, via: str = "workpaper") -> int:
    """Record many verdicts at once, all or nothing: a workpaper's import, or several
    answers of one 所属 (`via="web"`). Each change names the version it was read
    against (None: whatever is stored). Returns how many changed."""
    for line, given, _version in changes:
        problems = verdict_problems(line.question, _cleaned(given), line.value)
        if problems:
            raise Invalid(errors=problems)
    with store.transaction(db):
        require_verifier(db, user_id)
        written = [_write_verdict(db, round_id, line, _cleaned(given), user_id, via,
                                  version) for line, given, version in changes]
        count = sum(result.changed for result in written)
        action = "verification.import" if via == "workpaper" else "verification.verdict"
        audit.record(db, user_id, action, "round", round_id, verdicts=count, **detail)
        return count


# --- finalising -----------------------------------------------------------------------------


def finalise(db: Database, round_id: int, code: str, user_id: int | None,
             anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN
             ) -> verification_items.ItemChanges:
    """Finalise a sampled 所属: its result becomes visible to it, and its discrepancies
    on questions tagged with findings open (or extend) improvement items. Raises
    `NotFound`, `Locked` (already finalised) or `Invalid` (no verdict recorded yet)."""
    round_, questionnaire = round_definition(db, round_id)
    target = verification_items.Target(round_id, round_.fiscal_year, code, questionnaire)
    with store.transaction(db):
        require_verifier(db, user_id)
        sample = verification_store.get_sample(db, round_id, code)
        if sample is None:
            raise NotFound(N_("この所属は標本に入っていません。"))
        if sample["finalised_at"] is not None:
            raise Locked(N_("この所属の検証は既に確定しています。"))
        recorded = verification_store.verdicts(db, round_id, code)
        if not recorded:
            raise Invalid(N_("判定が1件も記録されていないため、確定できません。"))
        verification_store.set_finalised(db, sample["id"], user_id, store.now())
        changes = verification_items.open_items(db, target, recorded, user_id)
        counts = figures.Counts.of(row["verdict"] for row in recorded)
        audit.record(db, user_id, "verification.finalise", "department", code,
                     round_id=round_id, confirmed=counts.confirmed,
                     discrepancies=counts.discrepancies, unverifiable=counts.unverifiable,
                     items_opened=list(changes.opened), items_extended=list(changes.extended))
        return changes


def reopen(db: Database, round_id: int, code: str, reason: str | None,
           user_id: int) -> None:
    """An admin takes back a finalisation (with the reason) so verdicts can change;
    improvement items already opened stay, and a discrepancy is never added twice."""
    reason = clean_reason(reason, "reason")
    require_round(db, round_id)
    with store.transaction(db):
        user = user_store.get_user(db, user_id)
        if user is None or user["role"] != "admin" or not user["active"]:
            raise Refusal(N_("確定の取り消しは情報企画課だけが行えます。"))
        sample = verification_store.get_sample(db, round_id, code)
        if sample is None or sample["finalised_at"] is None:
            raise Locked(N_("この所属の検証は確定していません。"))
        verification_store.set_finalised(db, sample["id"], None, None)
        audit.record(db, user_id, "verification.reopen", "department", code,
                     round_id=round_id, reason=reason)
