"""Scores kept per 所属 between requests (readmodels/kept.py, aggregate.round_scores), and
the systems and audit verification figures kept with them, always equal the DESIGN.md
§4, §9 and §12 computation from scratch, whatever writes come in between, and writes that
cannot change a score keep every figure as it was."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import migrations, store
from surveyapp.readmodels import aggregate, kept, system_results
from surveyapp.readmodels import verification as verification_figures
from surveyapp.refusals import Refusal
from surveyapp.services import approvals, audit, rounds, self_check, verification
from surveyapp.services import responses as response_service
from surveyapp.services import verification_sampling as sampling
from surveyapp.services.verification import VerdictInput
from surveyapp.store import departments as department_store
from surveyapp.store import score_changes
from surveyapp.store import users as user_store
from tests import systems_world
from tests.fixtures.aggregate import builder

MIN = 3
CODES = ("U1", "U2", "U3", "U4")
S4 = ("done", "partial", "none", "unknown", "na")
department_answers = st.fixed_dictionaries({}, optional={
    "D-00": st.sampled_from(("yes", "no")), "D-01": st.sampled_from(S4),
    "D-02": st.sampled_from(S4)})
staff_answers = st.fixed_dictionaries({}, optional={
    "S-01": st.sampled_from(("yes", "no")), "S-02": st.sampled_from(("a", "b", "unknown"))})
code = st.sampled_from(CODES)
write = st.one_of(
    st.tuples(st.just("draft"), code, department_answers),
    st.tuples(st.just("submit"), code, department_answers),
    st.tuples(st.just("reopen"), code),
    st.tuples(st.just("staff"), code, staff_answers),
    st.tuples(st.just("rename"), code),
    st.tuples(st.just("headcount"), code, st.integers(0, 30)),
    st.tuples(st.just("round"), st.sampled_from(("closed", "open"))),
    st.tuples(st.just("user")),
    st.tuples(st.just("audit"), code),
)


class World:
    """The aggregation fixture in a file, an admin, and the writes of the test."""

    def __init__(self, folder: Path) -> None:
        self.db = store.connect(folder / "kept.sqlite3")
        migrations.apply(self.db)
        self.rounds = builder.build(self.db)
        self.definition = builder.definition("2021.1")
        with store.transaction(self.db):
            self.admin = user_store.insert_user(self.db, "admin", "admin", "x")
        self.users = 0

    def apply(self, step: tuple) -> None:
        # A refused write (round closed, incomplete, locked) is a step too.
        with contextlib.suppress(Refusal):
            getattr(self, f"do_{step[0]}")(*step[1:])

    def response(self, unit: str) -> dict:
        return response_service.get_or_create_department_response(
            self.db, self.rounds[2021], unit, self.admin)

    def do_draft(self, unit: str, answers: dict) -> None:
        found = self.response(unit)
        response_service.save_draft(self.db, found["id"], found["version"], answers, {},
                                    self.admin, self.definition)

    def do_submit(self, unit: str, answers: dict) -> None:
        found = self.response(unit)
        response_service.submit(self.db, found["id"], found["version"], answers, {},
                                self.admin, self.definition)

    def do_reopen(self, unit: str) -> None:
        response_service.reopen(self.db, self.response(unit)["id"], self.admin, "訂正のため")

    def do_staff(self, unit: str, answers: dict) -> None:
        response_service.submit_staff_response(self.db, self.rounds[2021], unit,
                                               self.definition, answers)

    def do_rename(self, unit: str) -> None:
        with store.transaction(self.db):
            self.db["departments"].update(unit, {"name": f"{unit}（改称）"})

    def do_headcount(self, unit: str, headcount: int) -> None:
        with store.transaction(self.db):
            self.db["departments"].update(unit, {"headcount": headcount})

    def do_round(self, status: str) -> None:
        change = rounds.close_round if status == "closed" else rounds.open_round
        change(self.db, self.rounds[2021])

    def do_user(self) -> None:
        self.users += 1
        with store.transaction(self.db):
            user_store.insert_user(self.db, f"auditor{self.users}", "auditor", "x")

    def do_audit(self, unit: str) -> None:
        with store.transaction(self.db):
            audit.record(self.db, self.admin, "test.write", "department", unit)


def figures(scores: aggregate.RoundScores) -> tuple:
    return scores.departments, scores.bureaus, scores.prefecture, scores.round


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(write, min_size=1, max_size=12))
def test_kept_scores_equal_a_full_recompute_after_any_writes(steps):
    kept.forget()
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        reader = store.connect(Path(folder) / "kept.sqlite3")  # as another request would
        for round_id in world.rounds.values():
            aggregate.round_scores(reader, round_id, MIN)  # kept from here on
        for step in steps:
            world.apply(step)
            for round_id in world.rounds.values():
                assert figures(aggregate.round_scores(reader, round_id, MIN)) == figures(
                    aggregate.compute_round_scores(reader, round_id, MIN)), step
        reader.close()
        world.db.close()


def test_unrelated_writes_keep_the_round_scores(tmp_path):
    world = World(tmp_path)
    round_id = world.rounds[2021]
    before = aggregate.round_scores(world.db, round_id, MIN)
    world.do_user()
    world.do_audit("U1")
    world.do_draft("U3", {"D-01": "none"})  # U3's response is a draft: it does not count
    assert aggregate.round_scores(world.db, round_id, MIN) is before


def test_a_staff_answer_rescores_only_its_department(tmp_path):
    world = World(tmp_path)
    round_id = world.rounds[2021]
    before = aggregate.round_scores(world.db, round_id, MIN)
    world.do_staff("U3", {"S-01": "no", "S-02": "a"})
    after = aggregate.round_scores(world.db, round_id, MIN)
    assert after.department("U3") != before.department("U3")
    for unit in ("U1", "U2", "U4"):
        assert after.department(unit) is before.department(unit)
    assert after.bureaus[0] is before.bureaus[0]  # B1 holds U1 and U2 only
    assert after.prefecture != before.prefecture


def test_a_change_of_the_departments_recomputes_the_whole_round(tmp_path):
    world = World(tmp_path)
    round_id = world.rounds[2021]
    before = aggregate.round_scores(world.db, round_id, MIN)
    world.do_headcount("U1", 99)
    after = aggregate.round_scores(world.db, round_id, MIN)
    assert after.department("U1").headcount == 99
    assert after.department("U2") is not before.department("U2")


def test_only_writes_that_can_change_a_score_are_recorded(tmp_path):
    world = World(tmp_path)
    generation = world.db.execute("SELECT seq FROM score_generation").fetchone()[0]
    world.do_user()
    world.do_audit("U2")
    world.do_draft("U3", {"D-01": "done"})
    assert world.db.execute("SELECT seq FROM score_generation").fetchone()[0] == generation
    world.do_staff("U2", {"S-01": "yes"})
    assert world.db.execute(
        "SELECT department_code FROM score_changes WHERE seq > ?", [generation]
    ).fetchall() == [("U2",)]
    with store.transaction(world.db):
        department_store.upsert_departments(world.db, [builder.department(
            "U5", "新設課", "B1", headcount=3)])
    changed = {row[0] for row in world.db.execute(
        "SELECT department_code FROM score_changes WHERE seq > ?", [generation])}
    assert changed == {"U2", "*"}


# --- a round with system blocks, approvals and an audit verification ----------------------

TODAY = date(2026, 12, 1)
UNITS = ("K1", "K2", "K3")
BLOCKS = {"K1": ("S1", "S2", "S4"), "K2": ("S3",), "K3": ()}  # tests/systems_world.py
YN = ("yes", "no")
system_block = st.fixed_dictionaries(
    {"SPW-00": st.sampled_from(YN), "SPW-01": st.sampled_from(S4)},
    optional={"SCT-01": st.sampled_from(S4), "SCT-02": st.sampled_from(S4)})
self_check_answers = st.fixed_dictionaries({"DEP-00": st.sampled_from(YN),
                                            "DEP-01": st.sampled_from(S4)})
unit = st.sampled_from(UNITS)
verdict = st.one_of(st.tuples(st.sampled_from(("DEP-00", "DEP-01")),
                              st.sampled_from(("confirmed", "unverifiable")), st.none()),
                    st.tuples(st.just("DEP-01"), st.just("discrepancy"), st.sampled_from(S4)))
system_write = st.one_of(
    st.tuples(st.sampled_from(("save", "submit")), unit, self_check_answers,
              st.lists(system_block, min_size=3, max_size=3)),
    st.tuples(st.sampled_from(("reopen", "approve", "return")), unit),
    st.tuples(st.just("staff"), unit, st.sampled_from(YN)),
    st.tuples(st.sampled_from(("sample", "unsample", "finalise", "unfinalise")), unit),
    st.tuples(st.just("verdict"), unit, verdict),
    st.tuples(st.just("fieldwork")),
    st.tuples(st.just("system_rename"), st.sampled_from(("S1", "S3"))),
    st.tuples(st.sampled_from(("user", "audit"))),
)


class SystemsWorld:
    """tests/systems_world.py in a file: clerks and approvers of each 所属, an admin and
    an auditor, and the writes of the test through the services (a refused one, as in
    `World`, is a step too)."""

    def __init__(self, folder: Path) -> None:
        self.db = store.connect(folder / "systems.sqlite3")
        migrations.apply(self.db)
        self.world = systems_world.build(self.db)
        with store.transaction(self.db):
            self.admin = user_store.insert_user(self.db, "admin", "admin", "x")
            self.auditor = user_store.insert_user(self.db, "kansa", "auditor", "x")
            self.clerks = {code: user_store.insert_user(self.db, f"clerk{code}", "department",
                                                        "x", code) for code in UNITS}
            self.approvers = {code: user_store.insert_user(
                self.db, f"chief{code}", "department", "x", code, approver=True)
                for code in UNITS}
        self.writes = 0

    def start(self) -> SystemsWorld:
        """K1 and K2 submitted with their blocks, K1 in the audit sample: the random
        writes meet a verification at once."""
        for code in ("K1", "K2"):
            self.do_submit(code, {"DEP-00": "yes", "DEP-01": "done"},
                           [{"SPW-00": "yes", "SPW-01": "partial"}] * 3)
        self.do_sample("K1")
        return self

    @property
    def round_id(self) -> int:
        return self.world.round_id

    def apply(self, step: tuple) -> None:
        with contextlib.suppress(Refusal):
            getattr(self, f"do_{step[0]}")(*step[1:])

    def response(self, code: str) -> dict:
        return systems_world.department_response(self.db, self.world, code)

    def form(self, code: str, answers: dict, blocks: list[dict]) -> tuple:
        found = self.response(code)
        proof = {"SPW-01": systems_world.proof("台帳で確認")}
        systems = {system: (block, proof)
                   for system, block in zip(BLOCKS[code], blocks, strict=False)}
        return (found["id"], found["version"], answers, {}, systems, self.clerks[code],
                self.world.questionnaire)

    def do_save(self, code: str, answers: dict, blocks: list[dict]) -> None:
        self_check.save_form(self.db, *self.form(code, answers, blocks))

    def do_submit(self, code: str, answers: dict, blocks: list[dict]) -> None:
        self_check.submit_form(self.db, *self.form(code, answers, blocks))

    def do_reopen(self, code: str) -> None:
        response_service.reopen(self.db, self.response(code)["id"], self.admin, "訂正のため")

    def do_approve(self, code: str) -> None:
        found = self.response(code)
        approvals.approve(self.db, found["id"], self.approvers[code], found["version"])

    def do_return(self, code: str) -> None:
        found = self.response(code)
        approvals.return_for_changes(self.db, found["id"], self.approvers[code],
                                     found["version"], "根拠を追記してください")

    def do_staff(self, code: str, answer: str) -> None:
        response_service.submit_staff_response(self.db, self.round_id, code,
                                               self.world.questionnaire, {"STF-01": answer})

    def do_sample(self, code: str) -> None:
        sampling.add_department(self.db, self.round_id, code, "抜き打ち", self.auditor)

    def do_unsample(self, code: str) -> None:
        sampling.remove_department(self.db, self.round_id, code, "対象外", self.auditor)

    def do_verdict(self, code: str, given: tuple) -> None:
        question_id, kind, found = given
        verification.record_verdict(self.db, self.round_id, code,
                                    VerdictInput(question_id, kind, found), self.auditor,
                                    anonymity_min=MIN)

    def do_finalise(self, code: str) -> None:
        verification.finalise(self.db, self.round_id, code, self.auditor, MIN)

    def do_unfinalise(self, code: str) -> None:
        verification.reopen(self.db, self.round_id, code, "再確認のため", self.admin)

    def do_fieldwork(self) -> None:
        verification.start_fieldwork(self.db, self.round_id, self.auditor)

    def do_system_rename(self, code: str) -> None:
        self.writes += 1
        with store.transaction(self.db):
            self.db["systems"].update(code, {"name": f"システム{self.writes}"})

    def do_user(self) -> None:
        self.writes += 1
        with store.transaction(self.db):
            user_store.insert_user(self.db, f"auditor{self.writes}", "auditor", "x")

    def do_audit(self) -> None:
        with store.transaction(self.db):
            audit.record(self.db, self.admin, "test.write", "round", self.round_id)


def kept_figures(db, round_id: int) -> tuple:
    return (figures(aggregate.round_scores(db, round_id, MIN)),
            system_results.round_systems(db, round_id, TODAY),
            verification_figures.round_verification(db, round_id, MIN))


def computed_figures(db, round_id: int) -> tuple:
    return (figures(aggregate.compute_round_scores(db, round_id, MIN)),
            system_results.compute_round_systems(db, round_id, TODAY),
            verification_figures._round_verification(db, round_id, MIN))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(system_write, min_size=1, max_size=14))
def test_kept_system_and_verification_figures_equal_a_full_recompute(steps):
    kept.forget()
    with tempfile.TemporaryDirectory() as folder:
        world = SystemsWorld(Path(folder)).start()
        reader = store.connect(Path(folder) / "systems.sqlite3")
        kept_figures(reader, world.round_id)
        for step in steps:
            world.apply(step)
            assert kept_figures(reader, world.round_id) == computed_figures(
                reader, world.round_id), step
        reader.close()
        world.db.close()


def test_an_approval_and_a_draft_system_answer_record_no_score_change(tmp_path):
    world = SystemsWorld(tmp_path)
    world.do_submit("K2", {"DEP-00": "yes", "DEP-01": "done"}, [{"SPW-00": "no"}] * 3)
    world.do_save("K1", {"DEP-00": "no"}, [{"SPW-00": "no"}] * 3)  # creates K1's blocks
    generation = score_changes.generation(world.db)
    world.do_approve("K2")
    world.do_save("K1", {"DEP-00": "yes"}, [{"SPW-00": "yes"}] * 3)
    assert score_changes.generation(world.db) == generation


def test_a_verdict_recomputes_only_its_departments_verification(tmp_path):
    world = SystemsWorld(tmp_path)
    for code in ("K1", "K2"):
        world.do_submit(code, {"DEP-00": "yes", "DEP-01": "done"}, [{"SPW-00": "no"}] * 3)
        world.do_sample(code)
    world.do_fieldwork()  # the plan's change is the round's: everything is read again
    before = verification_figures.round_verification(world.db, world.round_id, MIN)
    world.do_verdict("K1", ("DEP-01", "discrepancy", "none"))
    after = verification_figures.round_verification(world.db, world.round_id, MIN)
    assert after.department("K2") is before.department("K2")
    assert after.department("K1").counts.discrepancies == 1
    assert after.department("K1").verified_score < before.department("K1").verified_score


def test_a_reopened_sampled_departments_draft_shows_on_its_verification(tmp_path):
    world = SystemsWorld(tmp_path)
    world.do_submit("K2", {"DEP-00": "yes", "DEP-01": "done"}, [{"SPW-00": "no"}] * 3)
    world.do_sample("K2")
    world.do_reopen("K2")
    verification_figures.round_verification(world.db, world.round_id, MIN)
    world.do_save("K2", {"DEP-01": "partial"}, [])
    line = verification_figures.round_verification(world.db, world.round_id, MIN).department(
        "K2").line("DEP-01")
    assert line.self_text == "partial"


def test_a_submission_recomputes_only_its_departments_systems(tmp_path):
    world = SystemsWorld(tmp_path)
    before = system_results.round_systems(world.db, world.round_id, TODAY)
    world.do_submit("K2", {"DEP-00": "yes", "DEP-01": "done"},
                    [{"SPW-00": "yes", "SPW-01": "none"}])
    after = system_results.round_systems(world.db, world.round_id, TODAY)
    assert after.system("S3").submitted and after.system("S3").overall == 0.0
    for code in BLOCKS["K1"]:
        assert after.system(code) is before.system(code)
