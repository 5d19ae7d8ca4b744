"""Audit verification (DESIGN.md §9): plans, draws, the sample, verdicts and their
append-only history, and the links from discrepancies to improvement items.

Callers wrap writes in `store.transaction`. A sample row removed by hand stays (with
who, when and why); "the sample" is the rows without `removed_at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import one, rows

VERDICT_KEY = ("round_id", "department_code", "question_id", "system_code")

# --- plans and draws -------------------------------------------------------------------


def get_plan(db: Database, round_id: int) -> dict | None:
    return one(db, "SELECT verification_plans.*, users.login AS fieldwork_by_login "
               "FROM verification_plans LEFT JOIN users "
               "ON users.id = verification_plans.fieldwork_by WHERE round_id = ?",
               (round_id,))


def insert_plan(db: Database, round_id: int, user_id: int | None, at: str) -> None:
    db.execute("INSERT INTO verification_plans (round_id, created_at, created_by) "
               "VALUES (?, ?, ?) ON CONFLICT (round_id) DO NOTHING", (round_id, at, user_id))


def start_fieldwork(db: Database, round_id: int, user_id: int | None, at: str) -> None:
    db.execute("UPDATE verification_plans SET status = 'fieldwork', fieldwork_at = ?, "
               "fieldwork_by = ? WHERE round_id = ? AND status = 'planning'",
               (at, user_id, round_id))


def list_plans(db: Database) -> list[dict]:
    """Every round's plan with its sample size and finalised 所属."""
    return rows(db, """
        SELECT verification_plans.*,
               (SELECT COUNT(*) FROM verification_samples AS s
                WHERE s.round_id = verification_plans.round_id AND s.removed_at IS NULL)
                   AS sampled,
               (SELECT COUNT(*) FROM verification_samples AS s
                WHERE s.round_id = verification_plans.round_id AND s.removed_at IS NULL
                  AND s.finalised_at IS NOT NULL) AS finalised
        FROM verification_plans ORDER BY round_id""")


def insert_draw(db: Database, round_id: int, seed: str, size: int, user_id: int | None,
                at: str) -> int:
    cursor = db.execute("INSERT INTO verification_draws (round_id, seed, size, drawn_at, "
                        "drawn_by) VALUES (?, ?, ?, ?, ?)",
                        (round_id, seed, size, at, user_id))
    return cursor.lastrowid


def list_draws(db: Database, round_id: int) -> list[dict]:
    return rows(db, "SELECT verification_draws.*, users.login AS drawn_by_login "
                "FROM verification_draws LEFT JOIN users "
                "ON users.id = verification_draws.drawn_by WHERE round_id = ? "
                "ORDER BY verification_draws.id", (round_id,))


# --- the sample ------------------------------------------------------------------------

SAMPLE_SQL = """
    SELECT verification_samples.*, departments.name AS department_name,
           departments.parent_code AS bureau_code, verification_draws.seed,
           adders.login AS added_by_login, removers.login AS removed_by_login,
           finalisers.login AS finalised_by_login
    FROM verification_samples
    JOIN departments ON departments.code = verification_samples.department_code
    LEFT JOIN verification_draws ON verification_draws.id = verification_samples.draw_id
    LEFT JOIN users AS adders ON adders.id = verification_samples.added_by
    LEFT JOIN users AS removers ON removers.id = verification_samples.removed_by
    LEFT JOIN users AS finalisers ON finalisers.id = verification_samples.finalised_by
    WHERE verification_samples.round_id = :round_id
      AND (:code IS NULL OR verification_samples.department_code = :code)
      AND (:removed = 1) = (verification_samples.removed_at IS NOT NULL)
    ORDER BY verification_samples.department_code, verification_samples.id"""


def samples(db: Database, round_id: int, code: str | None = None) -> list[dict]:
    """The round's current sample (one 所属, with `code`), in 所属 code order."""
    return rows(db, SAMPLE_SQL, {"round_id": round_id, "code": code, "removed": 0})


def sampled_response_versions(db: Database, round_id: int) -> int:
    """The sum of the versions of the current sample's department responses: goes up
    with every save of one of them, drafts included."""
    return db.execute(
        "SELECT COALESCE(SUM(responses.version), 0) FROM verification_samples "
        "JOIN responses ON responses.round_id = verification_samples.round_id "
        "AND responses.audience = 'department' "
        "AND responses.department_code = verification_samples.department_code "
        "WHERE verification_samples.round_id = ? AND verification_samples.removed_at IS NULL",
        (round_id,)).fetchone()[0]


def removed_samples(db: Database, round_id: int) -> list[dict]:
    return rows(db, SAMPLE_SQL, {"round_id": round_id, "code": None, "removed": 1})


def get_sample(db: Database, round_id: int, code: str) -> dict | None:
    return next(iter(samples(db, round_id, code)), None)


def insert_sample(db: Database, values: dict, user_id: int | None, at: str) -> int:
    """`values` has round_id, department_code, reason, detail (a dict), draw_id, note."""
    cursor = db.execute(
        "INSERT INTO verification_samples (round_id, department_code, reason, detail, "
        "draw_id, note, added_at, added_by) VALUES (:round_id, :department_code, :reason, "
        ":detail, :draw_id, :note, :at, :user_id)",
        {**values, "detail": json.dumps(values["detail"], ensure_ascii=False),
         "at": at, "user_id": user_id})
    return cursor.lastrowid


def remove_sample(db: Database, sample_id: int, note: str, user_id: int | None,
                  at: str) -> None:
    db.execute("UPDATE verification_samples SET removed_at = ?, removed_by = ?, "
               "removed_note = ? WHERE id = ? AND removed_at IS NULL",
               (at, user_id, note, sample_id))


def set_finalised(db: Database, sample_id: int, user_id: int | None, at: str | None) -> None:
    """Finalise (with `at`) or reopen (`at` None) one sample row."""
    db.execute("UPDATE verification_samples SET finalised_at = ?, finalised_by = ? "
               "WHERE id = ?", (at, user_id if at else None, sample_id))


def removed_codes(db: Database, round_id: int) -> set[str]:
    """所属 removed by hand from the round's sample and not added back."""
    return {row["department_code"] for row in rows(
        db, "SELECT department_code FROM verification_samples AS removed "
        "WHERE round_id = :round_id AND removed_at IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM verification_samples AS current WHERE current.round_id = :round_id "
        "AND current.department_code = removed.department_code "
        "AND current.removed_at IS NULL)", {"round_id": round_id})}


def sampled_before(db: Database, fiscal_year: int) -> set[str]:
    """所属 that were in the sample of a round of an earlier fiscal year."""
    return {row["department_code"] for row in rows(
        db, "SELECT DISTINCT department_code FROM verification_samples "
        "JOIN rounds ON rounds.id = verification_samples.round_id "
        "WHERE rounds.fiscal_year < ? AND removed_at IS NULL", (fiscal_year,))}


def finalised_counts(db: Database, before_fiscal_year: int | None = None,
                     codes: Iterable[str] | None = None) -> list[dict]:
    """Verdict counts of every finalised sample, with its round's fiscal year: rows of
    round_id, fiscal_year, department_code, confirmed, discrepancies, unverifiable,
    finalised_at; only rounds before `before_fiscal_year` and 所属 in `codes` when given."""
    return rows(db, """
        SELECT s.round_id, rounds.fiscal_year, rounds.questionnaire_id, s.department_code,
               s.finalised_at,
               COUNT(v.id) FILTER (WHERE v.verdict = 'confirmed') AS confirmed,
               COUNT(v.id) FILTER (WHERE v.verdict = 'discrepancy') AS discrepancies,
               COUNT(v.id) FILTER (WHERE v.verdict = 'unverifiable') AS unverifiable
        FROM verification_samples AS s
        JOIN rounds ON rounds.id = s.round_id
        LEFT JOIN verification_verdicts AS v
               ON v.round_id = s.round_id AND v.department_code = s.department_code
        WHERE s.removed_at IS NULL AND s.finalised_at IS NOT NULL
          AND (:before IS NULL OR rounds.fiscal_year < :before)
          AND (:codes IS NULL OR s.department_code IN (SELECT value FROM json_each(:codes)))
        GROUP BY s.id ORDER BY rounds.fiscal_year, s.round_id, s.department_code""",
        {"before": before_fiscal_year,
         "codes": None if codes is None else json.dumps(list(codes))})


# --- what sampling reads about the candidates -----------------------------------------


def candidate_codes(db: Database, round_id: int, statuses: Iterable[str]) -> list[str]:
    """所属 whose department response of the round has one of `statuses`."""
    return [row["department_code"] for row in rows(
        db, "SELECT department_code FROM responses WHERE round_id = :round_id "
        "AND audience = 'department' AND status IN (SELECT value FROM json_each(:statuses)) "
        "ORDER BY department_code",
        {"round_id": round_id, "statuses": json.dumps(list(statuses))})]


# --- verdicts ------------------------------------------------------------------------------

VERDICT_SQL = """
    SELECT verification_verdicts.*, users.login AS recorded_by_login
    FROM verification_verdicts
    LEFT JOIN users ON users.id = verification_verdicts.recorded_by
    WHERE verification_verdicts.round_id = :round_id
      AND (:code IS NULL OR verification_verdicts.department_code = :code)
    ORDER BY verification_verdicts.department_code, verification_verdicts.id"""


def verdicts(db: Database, round_id: int, code: str | None = None) -> list[dict]:
    """The round's verdicts (of one 所属, with `code`)."""
    return rows(db, VERDICT_SQL, {"round_id": round_id, "code": code})


def get_verdict(db: Database, key: dict) -> dict | None:
    """The verdict on one answer; `key` has every VERDICT_KEY name."""
    return one(db, "SELECT * FROM verification_verdicts WHERE round_id = :round_id "
               "AND department_code = :department_code AND question_id = :question_id "
               "AND COALESCE(system_code, '') = COALESCE(:system_code, '')",
               {name: key[name] for name in VERDICT_KEY})


def insert_verdict(db: Database, values: dict, user_id: int | None, at: str) -> int:
    """`values` has every VERDICT_KEY name and verdict, self_value, verified_value,
    note, proof_location."""
    cursor = db.execute(
        "INSERT INTO verification_verdicts (round_id, department_code, question_id, "
        "system_code, verdict, self_value, verified_value, note, proof_location, "
        "recorded_at, recorded_by) VALUES (:round_id, :department_code, :question_id, "
        ":system_code, :verdict, :self_value, :verified_value, :note, :proof_location, "
        ":at, :user_id)", {**values, "at": at, "user_id": user_id})
    return cursor.lastrowid


def update_verdict(db: Database, verdict_id: int, values: dict, user_id: int | None,
                   at: str) -> None:
    db.execute(
        "UPDATE verification_verdicts SET verdict = :verdict, self_value = :self_value, "
        "verified_value = :verified_value, note = :note, proof_location = :proof_location, "
        "version = version + 1, recorded_at = :at, recorded_by = :user_id WHERE id = :id",
        {**values, "id": verdict_id, "at": at, "user_id": user_id})


def insert_history(db: Database, verdict_id: int, values: dict, via: str,
                   user_id: int | None, at: str) -> None:
    db.execute(
        "INSERT INTO verification_verdict_history (verdict_id, verdict, verified_value, "
        "note, proof_location, via, changed_at, changed_by) VALUES (:verdict_id, "
        ":verdict, :verified_value, :note, :proof_location, :via, :at, :user_id)",
        {"verdict_id": verdict_id, "verdict": values["verdict"],
         "verified_value": values["verified_value"], "note": values["note"],
         "proof_location": values["proof_location"], "via": via, "at": at,
         "user_id": user_id})


def verdict_history(db: Database, round_id: int, code: str) -> list[dict]:
    """Every recorded verdict of a 所属 in a round, oldest first, with the login."""
    return rows(db, "SELECT h.*, v.question_id, v.system_code, users.login AS "
                "changed_by_login FROM verification_verdict_history AS h "
                "JOIN verification_verdicts AS v ON v.id = h.verdict_id "
                "LEFT JOIN users ON users.id = h.changed_by "
                "WHERE v.round_id = ? AND v.department_code = ? ORDER BY h.id",
                (round_id, code))


# --- improvement items opened by discrepancies ----------------------------------------


def linked_verdicts(db: Database, verdict_ids: Iterable[int]) -> set[int]:
    """Those of `verdict_ids` already added to an improvement item."""
    return {row["verdict_id"] for row in rows(
        db, "SELECT DISTINCT verdict_id FROM verification_item_links "
        "WHERE verdict_id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(verdict_ids)),))}


def link_item(db: Database, verdict_id: int, item_id: int, at: str) -> None:
    db.execute("INSERT INTO verification_item_links (verdict_id, item_id, linked_at) "
               "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (verdict_id, item_id, at))


def item_discrepancies(db: Database, item_id: int) -> list[dict]:
    """The verification discrepancies behind an improvement item, with their round."""
    return rows(db, "SELECT v.*, rounds.fiscal_year FROM verification_item_links AS l "
                "JOIN verification_verdicts AS v ON v.id = l.verdict_id "
                "JOIN rounds ON rounds.id = v.round_id "
                "WHERE l.item_id = ? ORDER BY v.question_id", (item_id,))
