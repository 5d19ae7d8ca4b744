"""A realistic, deterministic demo: 所属, accounts, the register of information systems,
FY2020 and FY2021 rounds with answers and an open FY2026 round partly answered, with a
block per system, and in the open round 所属長 approvals (who and what: cast.py,
register.py, staffing.py).

Everything random comes from `random.Random(seed)`, so the same seed always gives the
same 所属, answers and submission times; a round added later (FY2026) draws from a
generator of its own, so adding it left the earlier rounds' data as it was. Each 所属
has a "maturity" (how well its security practice works) that drives its answers; it
mostly rises from FY2020 to FY2021, so scores differ between 所属 and mostly improve
between years. A system's answers vary around its 所属's maturity.

The demo only loads into an instance without departments, rounds or demo accounts;
otherwise it refuses, so running it twice never duplicates anything. All writes go
through the store modules in one transaction: it is all there or nothing is.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlite_utils import Database

from surveyapp import config, question_types, store
from surveyapp import evidence as evidence_rules
from surveyapp.demo import cast, documents, items, staffing, verification
from surveyapp.demo import register as demo_register
from surveyapp.evidence import AnswerEvidence
from surveyapp.model import N_, AnswerValue, Questionnaire
from surveyapp.readmodels import register as register_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.refusals import Conflict
from surveyapp.services import audit, rounds
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.services.accounts import hash_password
from surveyapp.services.answer_rows import answer_rows, new_rows_history
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store
from surveyapp.store import systems as system_store
from surveyapp.store import users as user_store

JST = timezone(timedelta(hours=9), "JST")
SCREENING = {"SYS-00": "has_system", "ROOM-00": "has_room"}


@dataclass(frozen=True)
class DemoSummary:
    bureaus: int
    units: int
    round_ids: dict[int, int]
    department_responses: int
    staff_responses: int
    answers: int
    accounts: tuple[cast.DemoAccount, ...]
    systems: int = 0  # in the register
    system_responses: int = 0  # system blocks answered
    verifications: tuple[verification.DemoVerification, ...] = ()
    approvals: dict[str, int] = field(default_factory=dict)  # the open round's decisions


# --- answers ---------------------------------------------------------------------------


def answer_form(questionnaire: Questionnaire, audience: str, maturity: float,
                unit: cast.Unit, rng: random.Random, fixed: dict | None = None,
                context: dict | None = None) -> dict[str, AnswerValue]:
    """One filled-in form, question by question, skipping what `relevant` hides
    (reading `context` too: a system block's 所属 answers); `fixed` answers given."""
    answers: dict[str, AnswerValue] = {}
    fixed = fixed or {}
    for question in questionnaire.questions_for(audience):
        if not question.is_relevant({**(context or {}), **answers}):
            continue
        if question.id in fixed:
            value: AnswerValue | None = fixed[question.id]
        elif question.id in SCREENING:
            value = "yes" if getattr(unit, SCREENING[question.id]) else "no"
        else:
            value = question_types.of(question).demo_answer(
                question, maturity, questionnaire.fiscal_year, rng)
        if value is not None:
            answers[question.id] = value
    return answers


def evidence_notes(questionnaire: Questionnaire, answers: dict[str, AnswerValue],
                   fiscal_year: int, rng: random.Random,
                   extra: random.Random | None = None,
                   gaps: float = 0.0) -> dict[str, AnswerEvidence]:
    """Evidence for answers that have points: a short note, where the record is kept and
    the day it is from (DESIGN.md §13). With `extra` (a second generator, so the main
    one draws as before), that share `gaps` of such answers has none at all, the
    scorecard's "実施している but no evidence"."""
    found = {}
    for question_id, value in answers.items():
        question = questionnaire.question(question_id)
        choice = question.choice(value) if isinstance(value, str) else None
        if question.evidence != "none" and choice is not None and (choice.score or 0) > 0:
            day = min(random_day(rng, f"{fiscal_year}-04-01", f"{fiscal_year}-09-30"),
                      evidence_rules.today().isoformat())
            place = rng.choice(cast.EVIDENCE_PLACES)
            if extra is not None and extra.random() < gaps:
                continue
            number = extra.randint(1, 300) if extra is not None else 1
            found[question_id] = AnswerEvidence(
                f"{day} 確認", f"{place}（{fiscal_year}年度 第{number}号）", day)
    return found


def random_day(rng: random.Random, first: str, last: str) -> str:
    start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return (start + timedelta(days=rng.randint(0, (end - start).days))).date().isoformat()


def random_time(rng: random.Random, first: str, last: str) -> str:
    """A working-hours moment (Japan time) between two days, as stored UTC text."""
    day = datetime.fromisoformat(random_day(rng, first, last))
    local = day.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59),
                        second=rng.randint(0, 59), tzinfo=JST)
    return local.astimezone(UTC).isoformat(timespec="microseconds")


# --- writing -------------------------------------------------------------------------


def refuse_if_loaded(db: Database) -> None:
    if department_store.list_departments(db) or round_store.list_rounds(db):
        raise Conflict(N_("このデータベースには既に所属または調査回が登録されています。"
                          "デモデータは新しく初期化したインスタンスにだけ読み込めます。"))
    taken = [a.login for a in cast.LOGIN_ACCOUNTS if user_store.get_user_by_login(db, a.login)]
    if taken:
        raise Conflict(N_("ログイン名 %(logins)s は既に使われています。"
                          "デモデータは新しく初期化したインスタンスにだけ読み込めます。"),
                       logins=", ".join(taken))


def publish_versions(db: Database, questionnaires_dir: Path,
                     user_id: int) -> dict[str, Questionnaire]:
    """Publish the shipped versions, oldest first (publishing the same bytes is a no-op)."""
    definitions = {}
    for demo_round in cast.ROUNDS:
        path = Path(questionnaires_dir) / cast.QUESTIONNAIRE_ID / f"{demo_round.version}.yaml"
        questionnaire_service.publish(db, path.read_bytes(), str(path), user_id,
                                      folder=path.parent)
        definitions[demo_round.version] = get_definition(
            db, cast.QUESTIONNAIRE_ID, demo_round.version)
    return definitions


def insert_accounts(db: Database, hashes: dict[str, str]) -> dict[str, int]:
    return {account.login: user_store.insert_user(
                db, account.login, account.role, hashes[account.login],
                account.department_code, account.display_name)
            for account in cast.LOGIN_ACCOUNTS}


def write_response(db: Database, round_id: int, unit: cast.Unit, audience: str,
                   rows: list[dict], submitted_at: str | None,
                   user_id: int | None = None, system_code: str | None = None) -> int:
    """One response with its answers and their history, as a real submission leaves it."""
    at = submitted_at or store.now()
    # Created and last saved when it was answered, not when the demo was loaded.
    response_id = response_store.insert_response(db, round_id, unit.code, audience, user_id,
                                                 at=at, system_code=system_code)
    written = [row for row in rows if row["value"] is not None or row["evidence"] is not None
               or row["evidence_location"] is not None or row["evidence_date"] is not None]
    response_store.upsert_answers(db, response_id, written, at)
    response_store.insert_history_rows(db, response_id, new_rows_history(written), user_id, at)
    if submitted_at is not None:
        response_store.mark_submitted(db, response_id, user_id, submitted_at)
    return response_id


@dataclass
class Counts:
    department_responses: int = 0
    staff_responses: int = 0
    system_responses: int = 0
    answers: int = 0

    def add(self, audience: str, rows: list[dict]) -> None:
        name = f"{audience}_responses"
        setattr(self, name, getattr(self, name) + 1)
        self.answers += sum(1 for row in rows if row["value"] is not None)


def department_statuses(units: list[cast.Unit], demo_round: cast.DemoRound,
                        rng: random.Random) -> dict[str, str]:
    """submitted for most 所属; a few drafts and not started ones (指摘6's gap)."""
    others = [u.code for u in units if u.code != cast.DEPT_LOGIN_UNIT]
    drafts, not_started = unsubmitted_counts(demo_round, len(others))
    picked = rng.sample(others, drafts + not_started)
    statuses = dict.fromkeys((u.code for u in units), "submitted")
    statuses.update(dict.fromkeys(picked[:drafts], "draft"))
    statuses.update(dict.fromkeys(picked[drafts:], "not_started"))
    if demo_round.final_status == "open":
        statuses[cast.DEPT_LOGIN_UNIT] = "draft"  # so `dept` can finish and submit it
    return statuses


def unsubmitted_counts(demo_round: cast.DemoRound, others: int) -> tuple[int, int]:
    """The round's drafts and not started 所属; when there are fewer other 所属 than that
    (the small prefectures of the bench scripts' quick runs), half of them in the same
    proportion, so that the rest still submit."""
    wanted = demo_round.drafts + demo_round.not_started
    if wanted <= others:
        return demo_round.drafts, demo_round.not_started
    drafts = demo_round.drafts * (others // 2) // wanted
    return drafts, others // 2 - drafts


def load_department_response(db: Database, round_id: int, unit: cast.Unit, status: str,
                             context: RoundContext) -> None:
    definition, demo_round, rng = context.definition, context.demo_round, context.rng
    maturity = unit.maturity_in(demo_round.fiscal_year)
    systems = owned_systems(db, unit, context)
    fixed = {"SYS-00": "yes" if systems else "no"} if asks_systems(definition) else {}
    answers = answer_form(definition, "department", maturity, unit, rng, fixed)
    if status == "draft":
        answers = dict(list(answers.items())[:rng.randint(3, max(3, len(answers) // 2))])
    notes = evidence_notes(definition, answers, demo_round.fiscal_year, rng, context.extra,
                           demo_round.undocumented_share)
    rows = answer_rows(definition, answers, notes)
    submitted_at = (random_time(rng, demo_round.opens_on, demo_round.last_answer_day)
                    if status == "submitted" else None)
    write_response(db, round_id, unit, "department", rows, submitted_at,
                   context.staff[unit.code].manager)
    context.counts.add("department", rows)
    for system in systems:
        load_block(db, round_id, unit, system, answers, submitted_at, context)


def asks_systems(definition: Questionnaire) -> bool:
    return bool(definition.questions_for("system"))


def owned_systems(db: Database, unit: cast.Unit, context: RoundContext) -> list[dict]:
    if not asks_systems(context.definition):
        return []
    return register_reads.owned_systems(db, unit.code, context.demo_round.fiscal_year)


def load_block(db: Database, round_id: int, unit: cast.Unit, system: dict,
               department: dict[str, AnswerValue], submitted_at: str | None,
               context: RoundContext) -> None:
    """One system's block, answered around its 所属's maturity; with an unsubmitted
    draft, some blocks are not started yet and others half done."""
    definition, demo_round, rng = context.definition, context.demo_round, context.rng
    if submitted_at is None and rng.random() < 0.4:
        return
    maturity = cast.clip(rng.gauss(unit.maturity_in(demo_round.fiscal_year), 0.12))
    fixed = demo_register.screening(system, procured=rng.random() < 0.35)
    answers = answer_form(definition, "system", maturity, unit, rng, fixed, department)
    if submitted_at is None:
        answers = dict(list(answers.items())[:rng.randint(3, len(answers))])
    notes = evidence_notes(definition, answers, demo_round.fiscal_year, rng)
    rows = answer_rows(definition, answers, notes, department)
    write_response(db, round_id, unit, "system", rows, submitted_at,
                   context.staff[unit.code].manager, system["code"])
    context.counts.add("system", rows)


def staff_count(unit: cast.Unit, fiscal_year: int, rng: random.Random) -> int:
    if unit.small_sample:
        return rng.randint(2, 4)
    rate = cast.clip(rng.uniform(0.35, 0.9) + (0.08 if fiscal_year >= 2021 else 0))
    return max(5, round(unit.headcount * rate))


def load_staff_responses(db: Database, round_id: int, unit: cast.Unit,
                         context: RoundContext) -> None:
    definition, demo_round, rng = context.definition, context.demo_round, context.rng
    # Staff follow their 所属 loosely: each person varies around its maturity.
    level = 0.6 * unit.maturity_in(demo_round.fiscal_year) + 0.25
    for _ in range(staff_count(unit, demo_round.fiscal_year, rng)):
        answers = answer_form(definition, "staff", cast.clip(rng.gauss(level, 0.15)), unit, rng)
        rows = answer_rows(definition, answers, {})
        submitted_at = random_time(rng, demo_round.opens_on, demo_round.last_answer_day)
        write_response(db, round_id, unit, "staff", rows, submitted_at)
        context.counts.add("staff", rows)


@dataclass
class RoundContext:
    definition: Questionnaire
    demo_round: cast.DemoRound
    rng: random.Random
    user_ids: dict[str, int]
    counts: Counts
    staff: dict[str, staffing.Staff]
    approvals_rng: random.Random  # decisions and extensions (staffing.py)
    progress: Callable[[], None] = lambda: None  # called once per 所属 and round
    decided: dict[str, int] = field(default_factory=dict)
    # Draws for what DESIGN.md §13 added (evidence without notes, attachments), kept
    # apart so the main generator draws the same answers as before.
    extra: random.Random | None = None


def progress_steps() -> int:
    """How often `load_demo` calls its `progress` callback: once per 所属 and round."""
    return len(cast.ROUNDS) * sum(len(names) for _, _, names in cast.BUREAUS)


def load_round(db: Database, units: list[cast.Unit], context: RoundContext) -> int:
    demo_round = context.demo_round
    created = rounds.create_round(db, demo_round.fiscal_year, cast.QUESTIONNAIRE_ID,
                                  demo_round.version, demo_round.opens_on,
                                  demo_round.closes_on, context.user_ids["admin"],
                                  approval_required=demo_round.approval_required,
                                  attachments_allowed=demo_round.attachments)
    rounds.open_round(db, created.id, context.user_ids["admin"])
    statuses = department_statuses(units, demo_round, context.rng)
    for unit in units:
        if statuses[unit.code] != "not_started":
            load_department_response(db, created.id, unit, statuses[unit.code], context)
        load_staff_responses(db, created.id, unit, context)
        context.progress()
    if demo_round.approval_required:
        load_approvals(db, created.id, statuses, context)
    if demo_round.final_status == "closed":
        rounds.close_round(db, created.id, context.user_ids["admin"])
    return created.id


def load_approvals(db: Database, round_id: int, statuses: dict[str, str],
                   context: RoundContext) -> None:
    rng = context.approvals_rng
    context.decided.update(staffing.decide_open_round(db, round_id, statuses,
                                                      context.staff, rng))
    staffing.extend_one_late(db, round_id, statuses, context.demo_round.closes_on,
                             context.user_ids["admin"], rng)


def load_demo(db: Database, questionnaires_dir: Path, seed: int = cast.DEMO_SEED,
              progress: Callable[[], None] = lambda: None,
              attachments_root: Path | None = None) -> DemoSummary:
    """Load the whole demo in one transaction; raises `Conflict` when data exists.
    `progress` is called `progress_steps()` times, for a progress bar. With
    `attachments_root` (the instance's attachments folder) some answers get small
    generated PDFs; without it, none."""
    refuse_if_loaded(db)
    # argon2 is deliberately slow: hash before taking the write lock.
    hashes = {account.login: hash_password(account.password)
              for account in cast.LOGIN_ACCOUNTS}
    unknown = staffing.unknown_password_hash()
    approvals_rng = staffing.staffing_rng(seed)
    # Seeded on purpose: the demo must be reproducible, and nothing here is a secret.
    rng = random.Random(seed)  # noqa: S311  # nosec B311
    extra = random.Random(seed + 1)  # noqa: S311  # nosec B311
    counts = Counts()
    with documents.files(db, attachments_root) as attach, store.transaction(db):
        refuse_if_loaded(db)  # again under the lock: another run may have just finished
        units = cast.plan_units(rng)
        department_store.upsert_departments(db, cast.department_rows(units))
        user_ids = insert_accounts(db, hashes)
        staff = staffing.insert_staff(db, units, user_ids, approvals_rng, unknown)
        systems = list(demo_register.system_rows({unit.code for unit in units}))
        system_store.upsert_systems(db, systems, user_ids["admin"])
        definitions = publish_versions(db, questionnaires_dir, user_ids["admin"])
        contexts = [RoundContext(definitions[demo_round.version], demo_round,
                                 round_rng(rng, seed, demo_round), user_ids, counts, staff,
                                 approvals_rng, progress, extra=extra)
                    for demo_round in cast.ROUNDS]
        round_ids = {context.demo_round.fiscal_year: load_round(db, units, context)
                     for context in contexts}
        items.load_improvement_items(db, round_ids[cast.ROUNDS[0].fiscal_year], rng,
                                     user_ids["admin"])
        items.load_system_items(db, round_ids[cast.ROUNDS[-1].fiscal_year], user_ids["admin"])
        verifications = verification.load_verifications(
            db, round_ids, {unit.code: unit.maturity_in(2021) for unit in units}, rng,
            user_ids["auditor"], config.DEFAULTS["ANONYMITY_MIN_RESPONSES"],
            cast.DEPT_LOGIN_UNIT)
        documents.carry_over(db, round_ids[cast.CARRY_OVER_YEAR], extra)
        attach(round_ids, user_ids["dept"], extra)
        audit.record(db, user_ids["admin"], "demo.load", seed=seed, units=len(units))
    return DemoSummary(bureaus=len(cast.BUREAUS), units=len(units), round_ids=round_ids,
                       department_responses=counts.department_responses,
                       staff_responses=counts.staff_responses, answers=counts.answers,
                       accounts=cast.LOGIN_ACCOUNTS, systems=len(systems),
                       system_responses=counts.system_responses,
                       approvals={k: v for c in contexts for k, v in c.decided.items()},
                       verifications=tuple(verifications))


FIRST_ROUNDS_UNTIL = 2021  # the rounds of the first release share one generator


def round_rng(shared: random.Random, seed: int, demo_round: cast.DemoRound) -> random.Random:
    """The shared generator for FY2020 and FY2021; a round added later draws from one
    of its own, so the earlier rounds' data stays what it was."""
    if demo_round.fiscal_year <= FIRST_ROUNDS_UNTIL:
        return shared
    return random.Random(seed + demo_round.fiscal_year)  # noqa: S311  # nosec B311


def summary_lines(summary: DemoSummary) -> list[str]:
    """What the command prints: the figures, then the demo logins and passwords."""
    years = ", ".join(f"{year}年度 = 調査回 {rid}" for year, rid in summary.round_ids.items())
    lines = [
        f"部局 {summary.bureaus} / 所属 {summary.units}",
        f"調査回: {years}",
        f"情報システム {summary.systems} / システムごとの回答 {summary.system_responses}",
        f"所属回答 {summary.department_responses} / 職員回答 {summary.staff_responses} / "
        f"回答 {summary.answers}",
        f"所属長の承認 (受付中の調査回): 承認済み {summary.approvals.get('approved', 0)} / "
        f"承認待ち {summary.approvals.get('waiting', 0)} / "
        f"差戻し {summary.approvals.get('returned', 0)}",
    ]
    lines += [f"監査検証: 調査回 {found.round_id} {len(found.sampled)}所属 確定、"
              f"相違 {found.discrepancies}件、改善計画 {len(set(found.items))}件"
              for found in summary.verifications]
    lines.append("デモ用ログイン (login / password):")
    lines += [f"  {a.role:<10} {a.login:<8} {a.password}" for a in summary.accounts]
    return lines
