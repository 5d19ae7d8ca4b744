"""Departments: 部局 (roll-up nodes, no parent) and their 所属 (which answer the forms)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import now, one, rows

FIELDS = ("code", "name", "parent_code", "headcount", "valid_from", "valid_to",
          "successor_code")


def list_departments(db: Database) -> list[dict]:
    """Every department in tree order: each 部局 followed by its 所属."""
    # A 部局 sorts by its own code, its 所属 right after it.
    return rows(db, "SELECT * FROM departments ORDER BY COALESCE(parent_code, code), "
                "parent_code IS NOT NULL, code")


def get_department(db: Database, code: str) -> dict | None:
    return one(db, "SELECT * FROM departments WHERE code = ?", (code,))


def list_bureaus(db: Database) -> list[dict]:
    return rows(db, "SELECT * FROM departments WHERE parent_code IS NULL ORDER BY code")


def list_units(db: Database, parent_code: str | None = None,
               fiscal_year: int | None = None) -> list[dict]:
    """所属 (the rows that answer forms), optionally of one 部局 and valid in one year."""
    # NULL validity bounds are open; a NULL fiscal_year matches every row.
    sql = ("SELECT * FROM departments WHERE parent_code IS NOT NULL "
           "AND (:parent_code IS NULL OR parent_code = :parent_code) "
           "AND (:fiscal_year IS NULL OR ((valid_from IS NULL OR valid_from <= :fiscal_year) "
           "AND (valid_to IS NULL OR valid_to >= :fiscal_year))) "
           "ORDER BY parent_code, code")
    return rows(db, sql, {"parent_code": parent_code, "fiscal_year": fiscal_year})


def departments_by_code(db: Database) -> dict[str, dict]:
    return {row["code"]: row for row in rows(db, "SELECT * FROM departments")}


def replaced_departments(db: Database) -> dict[str, dict]:
    """Only the departments that name a successor: all a predecessor walk needs."""
    return {row["code"]: row for row in rows(
        db, "SELECT * FROM departments WHERE successor_code IS NOT NULL")}


def upsert_departments(db: Database, departments: Iterable[dict]) -> None:
    """Insert or update whole rows (every key of FIELDS).

    Parents and successors may come later in the batch than the rows naming them,
    so foreign keys are checked at commit: call this inside `store.transaction`.
    """
    db.execute("PRAGMA defer_foreign_keys = ON")
    updated_at = now()
    for department in departments:
        params = {field: department[field] for field in FIELDS}
        db.execute(
            "INSERT INTO departments (code, name, parent_code, headcount, valid_from, "
            "valid_to, successor_code, updated_at) VALUES (:code, :name, :parent_code, "
            ":headcount, :valid_from, :valid_to, :successor_code, :updated_at) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
            "parent_code = excluded.parent_code, headcount = excluded.headcount, "
            "valid_from = excluded.valid_from, valid_to = excluded.valid_to, "
            "successor_code = excluded.successor_code, updated_at = excluded.updated_at",
            {**params, "updated_at": updated_at},
        )
