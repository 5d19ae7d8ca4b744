"""Who works in each demo 所属, and the open round's approvals (DESIGN.md §10).

Every 所属 gets an information security manager (`<code>-kanri`) who answers and
submits, and most get their head (`<code>-kacho`, an approver); all have addresses at
`example.lg.jp` but one 所属's. These accounts have no known password (one random
secret hashed once): they exist to submit, approve and receive mail. The `dept` and
`kacho` logins play that part for their 所属. In the open round most submissions are
approved, some wait for their 所属長, a few were returned with a comment, and one late
所属 has its deadline extended. A second seeded random stream keeps the answers the
same as they were before approval existed.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from surveyapp.demo import cast
from surveyapp.services import approvals, deadlines
from surveyapp.services.accounts import hash_password
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store


@dataclass(frozen=True)
class Staff:
    manager: int               # answers and submits the self-check
    approvers: tuple[int, ...]  # 所属長 (or 代理); empty: none registered yet


def email_of(login: str) -> str:
    return f"{login}@{cast.MAIL_DOMAIN}"


def staffing_rng(seed: int) -> random.Random:
    """A stream of its own, so the answers drawn from the main one stay as they were."""
    # Seeded on purpose, as the loader's: demo data, nothing here is a secret.
    return random.Random(seed + 1)  # noqa: S311  # nosec B311


def unknown_password_hash() -> str:
    """The hash the 所属's own accounts share: of a secret nobody keeps (argon2 is slow,
    so it is made once, before the demo's transaction)."""
    return hash_password(secrets.token_urlsafe(24))


def insert_staff(db: Database, units: list[cast.Unit], user_ids: dict[str, int],
                 rng: random.Random, unknown: str) -> dict[str, Staff]:
    """The login accounts get their addresses; every other 所属 its two accounts."""
    for account in cast.LOGIN_ACCOUNTS:
        user_store.set_contact(db, user_ids[account.login], email_of(account.login),
                               account is cast.APPROVER_ACCOUNT)
    others = [unit.code for unit in units if unit.code != cast.DEPT_LOGIN_UNIT]
    no_approver = set(sample(rng, others, cast.WITHOUT_APPROVER))
    no_address = set(sample(rng, sorted(set(others) - no_approver), cast.WITHOUT_ADDRESS))
    staff = {cast.DEPT_LOGIN_UNIT: Staff(user_ids["dept"], (user_ids["kacho"],))}
    for unit in units:
        if unit.code == cast.DEPT_LOGIN_UNIT:
            continue
        mail = unit.code not in no_address
        manager = add_user(db, f"{unit.code}-kanri", f"{unit.name} 情報セキュリティ管理者",
                           unit, unknown, mail, approver=False)
        heads = () if unit.code in no_approver else (
            add_user(db, f"{unit.code}-kacho", f"{unit.name}長", unit, unknown, mail,
                     approver=True),)
        staff[unit.code] = Staff(manager, heads)
    return staff


def sample(rng: random.Random, population: list[str], size: int) -> list[str]:
    """Up to `size` of them (a benchmark's small demo may have fewer 所属)."""
    return rng.sample(population, min(size, len(population)))


def add_user(db: Database, login: str, name: str, unit: cast.Unit, password_hash: str,
             mail: bool, approver: bool) -> int:
    return user_store.insert_user(db, login, "department", password_hash, unit.code, name,
                                  email=email_of(login) if mail else "", approver=approver)


def decide_open_round(db: Database, round_id: int, statuses: dict[str, str],
                      staff: dict[str, Staff], rng: random.Random) -> dict[str, int]:
    """Approve, return or leave waiting each submitted self-check; returns the counts."""
    decided = {"approved": 0, "returned": 0, "waiting": 0}
    submitted = [code for code, status in sorted(statuses.items())
                 if status == "submitted" and staff[code].approvers]
    returned = set(sample(rng, submitted, cast.RETURNED))
    for code in submitted:
        kind = "returned" if code in returned else (
            "waiting" if rng.random() < cast.WAITING_SHARE else "approved")
        if kind != "waiting":
            decide(db, round_id, code, staff[code].approvers[0], kind, rng)
        decided[kind] += 1
    decided["waiting"] += sum(1 for code, status in statuses.items()
                              if status == "submitted" and not staff[code].approvers)
    return decided


def decide(db: Database, round_id: int, code: str, approver: int, kind: str,
           rng: random.Random) -> None:
    response = response_store.find_department_response(db, round_id, code)
    at = datetime.fromisoformat(response["submitted_at"]) + timedelta(
        hours=rng.uniform(2, 96))
    comment = rng.choice(cast.RETURN_COMMENTS) if kind == "returned" else "確認しました。"
    approvals.decide(db, response["id"], approver, response["version"], kind, comment,
                     at=at.isoformat(timespec="microseconds"))


def extend_one_late(db: Database, round_id: int, statuses: dict[str, str], closes_on: str,
                    admin_id: int, rng: random.Random) -> str | None:
    """One 所属 that has not submitted gets two more weeks, with a reason."""
    late = sorted(code for code, status in statuses.items()
                  if status in ("draft", "not_started") and code != cast.DEPT_LOGIN_UNIT)
    if not late:
        return None
    code = rng.choice(late)
    new_day = datetime.fromisoformat(closes_on).date() + timedelta(days=14)
    deadlines.extend(db, round_id, code, new_day, cast.EXTENSION_REASON, admin_id)
    return code
