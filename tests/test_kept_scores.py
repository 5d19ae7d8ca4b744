"""Scores kept per 所属 between requests (readmodels/kept.py, aggregate.round_scores)
always equal the DESIGN.md §4 computation from scratch, whatever writes come in between,
and writes that cannot change a score keep every figure as it was."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp import migrations, store
from surveyapp.readmodels import aggregate, kept
from surveyapp.refusals import Refusal
from surveyapp.services import audit, rounds
from surveyapp.services import responses as response_service
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store
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
