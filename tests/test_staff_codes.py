"""One-time codes: unambiguous, hashed, usable exactly once (also under concurrency)."""

from __future__ import annotations

import hashlib
import math
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import store
from surveyapp.refusals import Invalid, Locked, Refusal
from surveyapp.services import responses, staff
from tests.test_staff_fixtures import (
    DEPARTMENT,
    complete_answers,
    database_bytes,
    definition,
    seed,
    seed_published,
    set_round_status,
)


def insert_response(db, round_id, department_code, questionnaire, answers) -> int:
    """Stands in for the real staff submission inside the code's transaction."""
    stamp = store.now()
    return db["responses"].insert({
        "round_id": round_id, "department_code": department_code, "audience": "staff",
        "status": "submitted", "created_at": stamp, "updated_at": stamp,
        "submitted_at": stamp}).last_pk


def submitted(db) -> int:
    return db["responses"].count


def test_code_has_at_least_50_bits_from_an_unambiguous_alphabet():
    assert math.log2(len(staff.CODE_ALPHABET)) * staff.CODE_LENGTH >= 50
    assert not set("01IO") & set(staff.CODE_ALPHABET)
    code = staff.new_code()
    assert len(code) == staff.CODE_LENGTH and set(code) <= set(staff.CODE_ALPHABET)


def test_codes_are_stored_only_hashed(db):
    round_id = seed(db)
    codes = staff.generate_codes(db, round_id, DEPARTMENT, 5, user_id=None)
    stored = {row["code_hash"] for row in db["staff_codes"].rows}
    assert stored == {hashlib.sha256(c.encode()).hexdigest() for c in codes}
    assert not any(c.encode() in database_bytes(db) for c in codes)


def test_generating_codes_is_audit_logged(db):
    round_id = seed(db)
    staff.generate_codes(db, round_id, DEPARTMENT, 3, user_id=None)
    assert [row["action"] for row in db["audit_log"].rows] == ["staff_codes.generate"]


def test_code_batch_size_is_bounded(db):
    round_id = seed(db)
    for count in (0, staff.MAX_CODES_PER_BATCH + 1):
        with pytest.raises(Invalid, match="発行する枚数"):
            staff.generate_codes(db, round_id, DEPARTMENT, count, user_id=None)


@given(st.sampled_from(["lower", "fullwidth", "hyphen", "spaces"]))
def test_code_is_accepted_as_people_type_it(variant):
    code = staff.new_code()
    typed = {"lower": code.lower(),
             "fullwidth": "".join(chr(ord(ch) + 0xFEE0) for ch in code),
             "hyphen": staff.format_code(code),
             "spaces": f"  {code[:5]} {code[5:]} "}[variant]
    assert staff.normalise_code(typed) == code


def test_code_is_usable_once(db):
    round_id = seed(db)
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    staff.submit_with_code(db, code, None, {}, insert_response)
    with pytest.raises(Invalid, match="回答コード"):
        staff.submit_with_code(db, code, None, {}, insert_response)
    assert submitted(db) == 1


def test_used_code_keeps_only_the_day(db):
    round_id = seed(db)
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    staff.submit_with_code(db, code, None, {}, insert_response)
    used_at = next(iter(db["staff_codes"].rows))["used_at"]
    assert len(used_at) == len("2021-04-01")


def test_failed_submission_leaves_the_code_unused(db):
    round_id = seed(db)
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)

    def failing(*args):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        staff.submit_with_code(db, code, None, {}, failing)
    assert staff.find_code(db, code) is not None


def test_code_refused_when_round_is_closed(db):
    round_id = seed(db)
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    set_round_status(db, round_id, "closed")
    with pytest.raises(Locked, match="受け付けていません"):
        staff.submit_with_code(db, code, None, {}, insert_response)
    assert submitted(db) == 0


def test_unknown_code_is_refused(db):
    seed(db)
    with pytest.raises(Invalid, match="回答コード"):
        staff.submit_with_code(db, staff.new_code(), None, {}, insert_response)


def test_two_concurrent_submissions_with_one_code_accept_exactly_one(app, db):
    round_id = seed(db)
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    barrier, outcomes = threading.Barrier(2), []

    def slow_insert(conn, *args):
        time.sleep(0.2)  # hold the write transaction so the other thread must wait
        return insert_response(conn, *args)

    def attempt():
        conn = store.connect(app.config["DATABASE"])
        barrier.wait()
        try:
            outcomes.append(staff.submit_with_code(conn, code, None, {}, slow_insert))
        except Refusal as error:
            outcomes.append(error.code)
        finally:
            conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert len(accepted) == 1 and outcomes.count("invalid") == 1
    assert submitted(db) == 1


def test_concurrent_real_submissions_with_one_code_store_one_response(app, db):
    round_id = seed_published(db)
    questionnaire = definition(db)
    answers = {key[2:]: value for key, value in complete_answers(questionnaire).items()}
    [code] = staff.generate_codes(db, round_id, DEPARTMENT, 1, user_id=None)
    barrier, outcomes = threading.Barrier(4), []

    def attempt():
        conn = store.connect(app.config["DATABASE"])
        barrier.wait()
        try:
            outcomes.append(staff.submit_with_code(conn, code, questionnaire, answers,
                                                   responses.submit_staff_response))
        except Refusal as error:
            outcomes.append(error.code)
        finally:
            conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("invalid") == 3 and submitted(db) == 1
