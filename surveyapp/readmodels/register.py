"""The information-system register as pages show it (情報システム台帳, DESIGN.md §12):
who owns each system in a fiscal year, the register's warnings, filters.

Ownership follows reorganisations: a system registered to a 所属 that is not valid in
the fiscal year belongs to that 所属's successor (and its successor's, down the chain).
A chain that ends without a 所属 valid that year leaves the system without an owner:
one of the register's warnings, which need no questionnaire:
- `ismap_expired`: ISMAP registration recorded, its expiry date passed;
- `ismap_expiring`: it expires within `EXPIRY_WARNING_DAYS` days;
- `cloud_without_ismap`: a cloud system with no ISMAP information (nothing recorded, or
  registered without an expiry date);
- `owner_gone`: the owner 所属 no longer exists (no valid successor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlite_utils import Database

from surveyapp.model import N_
from surveyapp.readmodels.aggregate import predecessor_codes, valid_in
from surveyapp.store import departments as department_store
from surveyapp.store import systems as system_store

EXPIRY_WARNING_DAYS = 90
WARNINGS = {
    "ismap_expired": N_("ISMAP の登録の有効期限（%(expires)s）が切れています"),
    "ismap_expiring": N_("ISMAP の登録の有効期限（%(expires)s）が%(days)d日以内に切れます"),
    "cloud_without_ismap": N_("クラウドサービスですが、ISMAP の登録情報（登録の有無・有効期限）"
                              "がありません"),
    "owner_gone": N_("所管の所属 %(owner)s は廃止され、後継の所属がありません"),
}
# The same, as short names for a filter or a count.
WARNING_KINDS = {
    "ismap_expired": N_("ISMAP 期限切れ"),
    "ismap_expiring": N_("ISMAP 期限が近い"),
    "cloud_without_ismap": N_("クラウドで ISMAP 情報なし"),
    "owner_gone": N_("所管所属なし"),
}
# ISMAP states a list can be filtered by (DESIGN.md §12: "filter by ... ISMAP expiry").
ISMAP_STATES = {
    "valid": N_("登録あり（有効）"),
    "expiring": N_("有効期限が近い"),
    "expired": N_("期限切れ"),
    "missing": N_("登録情報なし"),
    "not_registered": N_("登録なし・対象外"),
}


@dataclass(frozen=True)
class RegisterWarning:
    kind: str  # a WARNINGS key
    params: dict

    @property
    def message(self) -> str:  # the msgid: web.i18n.refusal_text translates it
        return WARNINGS[self.kind]


@dataclass(frozen=True)
class RegisteredSystem:
    """One system as the register shows it in one fiscal year."""

    row: dict  # the stored row (systems table)
    owner: dict | None  # the 所属 that owns it this year; None when gone
    bureau: dict | None  # the owner's 部局
    in_use: bool  # valid in the fiscal year
    ismap_state: str  # an ISMAP_STATES key
    warnings: tuple[RegisterWarning, ...]

    @property
    def code(self) -> str:
        return self.row["code"]

    @property
    def owner_code(self) -> str | None:
        return self.owner["code"] if self.owner else None


# --- ownership ---------------------------------------------------------------------------


def owner_in(owner_code: str, departments: Mapping[str, Mapping],
             fiscal_year: int) -> str | None:
    """The 所属 that owns a system registered to `owner_code` in `fiscal_year`: that
    所属 while it is valid, else its successor's, down the chain; None at a dead end."""
    seen, code = set(), owner_code
    while code in departments and code not in seen:
        department = departments[code]
        if valid_in(department, fiscal_year) and department["parent_code"] is not None:
            return code
        seen.add(code)
        code = department["successor_code"]
    return None


def owned_systems(db: Database, department_code: str, fiscal_year: int) -> list[dict]:
    """The systems `department_code` owns in `fiscal_year`, in code order: those in use
    that year, registered to it or to a 所属 it replaced."""
    departments = department_store.departments_by_code(db)
    return owned_rows(db, departments, department_code, fiscal_year)


def owned_rows(db: Database, departments: Mapping[str, Mapping], department_code: str,
               fiscal_year: int) -> list[dict]:
    if department_code not in departments:
        return []
    codes = predecessor_codes(departments, department_code)
    return [row for row in system_store.systems_of_owners(db, codes)
            if valid_in(row, fiscal_year)
            and owner_in(row["owner_code"], departments, fiscal_year) == department_code]


def is_owned_by(db: Database, system: Mapping, department_code: str,
                fiscal_year: int) -> bool:
    departments = department_store.departments_by_code(db)
    return owner_in(system["owner_code"], departments, fiscal_year) == department_code


# --- warnings ------------------------------------------------------------------------------


def ismap_state(row: Mapping, today: date) -> str:
    if row["ismap"] in ("no", "na"):
        return "not_registered"
    if row["ismap"] != "yes" or not row["ismap_expires"]:
        return "missing"
    expires = date.fromisoformat(row["ismap_expires"])
    if expires < today:
        return "expired"
    return "expiring" if expires <= today + timedelta(days=EXPIRY_WARNING_DAYS) else "valid"


def warnings_of(row: Mapping, owner: Mapping | None, state: str) -> tuple[RegisterWarning, ...]:
    found = []
    if state == "expired":
        found.append(RegisterWarning("ismap_expired", {"expires": row["ismap_expires"]}))
    if state == "expiring":
        found.append(RegisterWarning("ismap_expiring", {"expires": row["ismap_expires"],
                                                        "days": EXPIRY_WARNING_DAYS}))
    if row["hosting"] == "cloud" and state == "missing":
        found.append(RegisterWarning("cloud_without_ismap", {}))
    if owner is None:
        found.append(RegisterWarning("owner_gone", {"owner": row["owner_code"]}))
    return tuple(found)


# --- the register ----------------------------------------------------------------------------


def register(db: Database, fiscal_year: int, today: date) -> list[RegisteredSystem]:
    """Every registered system as it stands in `fiscal_year`, in code order; warnings
    only for systems in use that year (a retired one has nothing left to fix)."""
    departments = department_store.departments_by_code(db)
    return [registered(row, departments, fiscal_year, today)
            for row in system_store.list_systems(db)]


def registered(row: dict, departments: Mapping[str, Mapping], fiscal_year: int,
               today: date) -> RegisteredSystem:
    in_use = valid_in(row, fiscal_year)
    owner_code = owner_in(row["owner_code"], departments, fiscal_year)
    owner = departments.get(owner_code) if owner_code else None
    bureau = departments.get(owner["parent_code"]) if owner else None
    state = ismap_state(row, today)
    warnings = warnings_of(row, owner, state) if in_use else ()
    return RegisteredSystem(row, owner, bureau, in_use, state, warnings)


def owned_register(db: Database, department_code: str, fiscal_year: int,
                   today: date) -> list[RegisteredSystem]:
    """`owned_systems` as the register shows them (departments read once, not per row)."""
    departments = department_store.departments_by_code(db)
    return [registered(row, departments, fiscal_year, today)
            for row in owned_rows(db, departments, department_code, fiscal_year)]


def system_view(db: Database, code: str, fiscal_year: int,
                today: date) -> RegisteredSystem | None:
    row = system_store.get_system(db, code)
    if row is None:
        return None
    return registered(row, department_store.departments_by_code(db), fiscal_year, today)


@dataclass(frozen=True)
class Filters:
    """What a register list is narrowed to; empty strings match everything."""

    query: str = ""  # part of the code, name, vendor or cloud service
    bureau: str = ""
    owner: str = ""
    hosting: str = ""
    criticality: str = ""
    ismap: str = ""  # an ISMAP_STATES key
    warning: str = ""  # a WARNINGS key, or "any"
    retired: bool = False  # also list systems not in use in the fiscal year


def filtered(systems: Iterable[RegisteredSystem], filters: Filters) -> list[RegisteredSystem]:
    return [system for system in systems if matches(system, filters)]


def matches(system: RegisteredSystem, filters: Filters) -> bool:
    row, query = system.row, filters.query.strip().casefold()
    texts = (row["code"], row["name"], row["vendor"] or "", row["cloud_service"] or "")
    kinds = {warning.kind for warning in system.warnings}
    checks = (
        filters.retired or system.in_use,
        not query or any(query in text.casefold() for text in texts),
        not filters.bureau or (system.bureau or {}).get("code") == filters.bureau,
        not filters.owner or system.owner_code == filters.owner,
        not filters.hosting or row["hosting"] == filters.hosting,
        not filters.criticality or row["criticality"] == filters.criticality,
        not filters.ismap or system.ismap_state == filters.ismap,
        not filters.warning or (bool(kinds) if filters.warning == "any"
                                else filters.warning in kinds),
    )
    return all(checks)


def warning_counts(systems: Iterable[RegisteredSystem]) -> dict[str, int]:
    """Systems per warning kind, every kind listed."""
    counts = dict.fromkeys(WARNINGS, 0)
    for system in systems:
        for warning in system.warnings:
            counts[warning.kind] += 1
    return counts
