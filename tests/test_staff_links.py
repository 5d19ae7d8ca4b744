"""Staff links: random tokens, stored only hashed, rotatable, audit-logged."""

from __future__ import annotations

import base64
import hashlib

import pytest

from surveyapp.refusals import Locked, NotFound
from surveyapp.services import staff
from tests.test_staff_fixtures import DEPARTMENT, database_bytes, seed, set_round_status


def test_token_has_at_least_128_random_bits():
    token = staff.new_token()
    raw = base64.urlsafe_b64decode(token + "=")
    assert len(raw) * 8 >= 128
    assert len(token) == staff.TOKEN_LENGTH
    assert len({staff.new_token() for _ in range(200)}) == 200


def test_only_the_token_hash_is_stored(db):
    round_id = seed(db)
    token = staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    row = staff.link_status(db, round_id, DEPARTMENT)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in database_bytes(db)


def test_presented_token_finds_its_link(db):
    round_id = seed(db)
    token = staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    assert staff.find_link(db, token)["department_code"] == DEPARTMENT


def test_rotation_invalidates_the_old_link(db):
    round_id = seed(db)
    old = staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    new = staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    assert staff.find_link(db, old) is None
    assert staff.find_link(db, new) is not None


def test_issue_and_rotation_are_audit_logged(db):
    round_id = seed(db)
    staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    actions = [row["action"] for row in db["audit_log"].rows]
    assert actions == ["staff_link.create", "staff_link.rotate"]


def test_audit_log_never_holds_the_token(db):
    round_id = seed(db)
    token = staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    assert all(token not in str(row) for row in db["audit_log"].rows)


def test_unknown_or_malformed_token_finds_nothing(db):
    round_id = seed(db)
    staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    assert staff.find_link(db, staff.new_token()) is None
    assert staff.find_link(db, "code") is None
    assert staff.find_link(db, "x" * 42 + "!") is None


def test_no_link_for_a_closed_round(db):
    round_id = seed(db)
    set_round_status(db, round_id, "closed")
    with pytest.raises(Locked, match="終了した調査回"):
        staff.issue_link(db, round_id, DEPARTMENT, user_id=None)


def test_no_link_for_a_bureau_or_unknown_department(db):
    round_id = seed(db)
    for code in ("B01", "NOPE"):
        with pytest.raises(NotFound):
            staff.issue_link(db, round_id, code, user_id=None)


def test_participation_rate_against_headcount(db):
    round_id = seed(db)
    result = staff.participation(db, round_id, DEPARTMENT, minimum=5)
    assert (result.responses, result.headcount, result.rate) == (0, 20, 0.0)
    assert not result.results_shown


def test_participation_rate_is_none_without_headcount():
    assert staff.Participation(3, 0, 5).rate is None
    assert staff.Participation(5, 10, 5).results_shown


def test_overview_lists_units_with_link_and_code_state(db):
    round_id = seed(db)
    staff.issue_link(db, round_id, DEPARTMENT, user_id=None)
    staff.generate_codes(db, round_id, DEPARTMENT, 2, user_id=None)
    units = {unit.code: unit for unit in staff.overview(db, round_id, 2021, minimum=5)}
    assert set(units) == {DEPARTMENT, "D02"}  # the 部局 B01 is a roll-up, not listed
    assert units[DEPARTMENT].has_link and units[DEPARTMENT].codes == {"total": 2, "used": 0}
    assert not units["D02"].has_link and units["D02"].participation.rate is None
