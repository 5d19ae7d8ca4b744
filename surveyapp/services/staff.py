"""Anonymous staff access: per-所属 survey links and optional one-time codes.

Design of the link secret (why it is shown only once):
a link is `/s/<token>` with `token = secrets.token_urlsafe(32)` (256 random bits). The
database keeps only `sha256(token)`, so a copy of the database or a backup cannot be
turned into working links, and nobody (not even an admin) can read a link back later.
The raw token therefore exists only in the response to the POST that issued it: the
page shows it once (with `Cache-Control: no-store`) and offers "reissue" afterwards.
Reissuing revokes the old link in the same transaction, so it stops working at once.
This was chosen over storing the token encrypted because it needs no key management
and leaks nothing if the database leaks; the cost (a lost link must be reissued and
handed out again) is small for a link that is mailed to staff once per round.

A plain sha256 is enough for the hash: the token has 256 bits of entropy, so no
brute force or rainbow table applies, and a lookup by hash needs a deterministic one.

One-time codes (optional, for 所属 that hand out printed slips): 10 characters from a
32-letter alphabet without 0/O/1/I (50 bits), shown once on a printable page, stored
as sha256. A code is marked used in the same `BEGIN IMMEDIATE` transaction that
inserts the response, guarded by `used_at IS NULL`, so it can never count twice. The
code row keeps only the day it was used, not the time, so it cannot be matched to a
response by timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_, AnswerValue, Questionnaire
from surveyapp.refusals import Invalid, Locked, NotFound
from surveyapp.services import audit
from surveyapp.store import departments as department_store
from surveyapp.store import rounds as round_store
from surveyapp.store import staff as staff_store

TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # len(secrets.token_urlsafe(32))
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
MAX_CODES_PER_BATCH = 500


CODE_REFUSED = N_("回答コードが正しくないか、すでに使用されています。"
                  "配布された用紙のコードをもう一度確認してください。")
ROUND_CLOSED = N_("この調査回は現在回答を受け付けていません。")


@dataclass(frozen=True)
class Participation:
    """Staff responses of one 所属 in one round, against its headcount."""

    responses: int
    headcount: int
    minimum: int

    @property
    def rate(self) -> float | None:
        return self.responses / self.headcount if self.headcount > 0 else None

    @property
    def results_shown(self) -> bool:
        return self.responses >= self.minimum


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and set(token) <= TOKEN_CHARS


# --- links -----------------------------------------------------------------------


def issue_link(db: Database, round_id: int, department_code: str, user_id: int) -> str:
    """Create the 所属's staff link, revoking any earlier one; returns the raw token,
    which is never stored and cannot be recovered later."""
    token = new_token()
    with store.transaction(db):
        _require_round_and_department(db, round_id, department_code,
                                      N_("終了した調査回のリンクは発行できません。"))
        revoked = staff_store.revoke_links(db, round_id, department_code)
        link_id = staff_store.insert_link(db, round_id, department_code, hash_secret(token))
        audit.record(db, user_id, "staff_link.rotate" if revoked else "staff_link.create",
                     "staff_link", link_id, round_id=round_id,
                     department_code=department_code)
    return token


def find_link(db: Database, token: str) -> dict | None:
    """The active link for a presented token, or None."""
    if not looks_like_token(token):
        return None
    wanted = hash_secret(token)
    link = staff_store.link_by_hash(db, wanted)
    if link is None or not hmac.compare_digest(link["token_hash"], wanted):
        return None
    return link


def replaced_link(db: Database, token: str) -> dict | None:
    """The link a presented token belonged to, when it was replaced by a reissued one
    (so staff holding it are told so, instead of "not found"); else None."""
    if not looks_like_token(token):
        return None
    return staff_store.replaced_link_by_hash(db, hash_secret(token))


def link_status(db: Database, round_id: int, department_code: str) -> dict | None:
    """When the active link was issued (never the token itself)."""
    return staff_store.active_link(db, round_id, department_code)


def uses_codes(db: Database, round_id: int, department_code: str) -> bool:
    return staff_store.code_counts(db, round_id, department_code)["total"] > 0


# --- one-time codes --------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """`ABCDE-FGHJK`: easier to read off a printed slip."""
    return f"{code[:5]}-{code[5:]}"


def normalise_code(raw: str) -> str:
    """Accept what people type: full-width characters (IME), lower case, spaces and
    hyphens of any width."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return "".join(ch for ch in text if ch not in " -\u2010\u2011\u2012\u2013\u2014\u2212\u30fc")


def generate_codes(db: Database, round_id: int, department_code: str, count: int,
                   user_id: int) -> list[str]:
    """Create `count` new one-time codes; the raw codes are returned once, only hashes
    are stored."""
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise Invalid(N_("発行する枚数は1から%(n)d までの数で指定してください。"),
                      n=MAX_CODES_PER_BATCH)
    codes = _distinct_codes(count)
    with store.transaction(db):
        _require_round_and_department(db, round_id, department_code,
                                      N_("終了した調査回のコードは発行できません。"))
        staff_store.insert_codes(db, round_id, department_code, [hash_secret(c) for c in codes])
        audit.record(db, user_id, "staff_codes.generate", "department", department_code,
                     round_id=round_id, count=count)
    return codes


def find_code(db: Database, raw: str) -> dict | None:
    """The unused code for what was typed, with its round's status; None otherwise."""
    code = normalise_code(raw)
    if len(code) != CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
        return None
    wanted = hash_secret(code)
    row = staff_store.code_by_hash(db, wanted)
    if row is None or row["used_at"] or not hmac.compare_digest(row["code_hash"], wanted):
        return None
    return row


SubmitFn = Callable[[Database, int, str, Questionnaire, Mapping[str, AnswerValue]], int]


def submit_with_code(db: Database, raw_code: str, questionnaire: Questionnaire,
                     answers: Mapping[str, AnswerValue], submit: SubmitFn) -> int:
    """Use the code and store the response in one transaction; raises `Invalid` (no
    such unused code) or `Locked` (the round is not open) and stores nothing when
    refused."""
    with store.transaction(db):
        code = find_code(db, raw_code)
        if code is None:
            raise Invalid(CODE_REFUSED)
        if code["round_status"] != "open":
            raise Locked(ROUND_CLOSED)
        if not staff_store.use_code(db, code["id"], _today()):
            raise Invalid(CODE_REFUSED)
        return submit(db, code["round_id"], code["department_code"], questionnaire, answers)


def code_summary(db: Database, round_id: int, department_code: str) -> dict:
    return staff_store.code_counts(db, round_id, department_code)


# --- participation ---------------------------------------------------------------


def participation(db: Database, round_id: int, department_code: str,
                  minimum: int) -> Participation:
    department = department_store.get_department(db, department_code)
    headcount = department["headcount"] if department else 0
    count = staff_store.staff_response_count(db, round_id, department_code)
    return Participation(count, headcount, minimum)


@dataclass(frozen=True)
class UnitAccess:
    """One 所属's row in the admin's list: its participation and how staff get in."""

    code: str
    name: str
    parent_code: str
    participation: Participation
    has_link: bool
    codes: dict


def overview(db: Database, round_id: int, fiscal_year: int, minimum: int) -> list[UnitAccess]:
    """Every 所属 valid in the round's fiscal year, in tree order."""
    counts = round_store.staff_submissions(db, round_id)
    linked = staff_store.departments_with_link(db, round_id)
    codes = staff_store.code_totals(db, round_id)
    return [UnitAccess(unit["code"], unit["name"], unit["parent_code"],
                       Participation(counts.get(unit["code"], 0), unit["headcount"], minimum),
                       unit["code"] in linked, codes.get(unit["code"], {"total": 0, "used": 0}))
            for unit in department_store.list_units(db, fiscal_year=fiscal_year)]


def _require_round_and_department(db: Database, round_id: int, department_code: str,
                                  closed_message: str) -> None:
    round_ = round_store.get_round(db, round_id)
    department = department_store.get_department(db, department_code)
    if round_ is None or department is None or department["parent_code"] is None:
        raise NotFound  # a 部局 is a roll-up node, never answers
    if round_["status"] == "closed":
        raise Locked(closed_message)


def _distinct_codes(count: int) -> list[str]:
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[new_code()] = None
    return list(codes)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
