"""Survey rounds: one per fiscal year and questionnaire, draft -> open -> closed
(reading them is readmodels/rounds.py).

A closed round may be opened again (an admin's decision, audit-logged as a reopen),
but never put back to draft. At most one round of a questionnaire is open at a time,
so "the open round" is well defined for the forms and the staff links.
"""

from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_
from surveyapp.readmodels.rounds import Round, require_round
from surveyapp.refusals import Conflict, Invalid, Locked
from surveyapp.services import audit
from surveyapp.store import rounds as round_store

FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 2000, 2100


# ---------------------------------------------------------------- creating

def parse_fiscal_year(value: int | str) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        raise Invalid(N_("年度は西暦の数字で入力してください（例: 2021）"))
    year = int(text)
    if not FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR:
        raise Invalid(N_("年度は%(first)dから%(last)dの間で入力してください"),
                      first=FIRST_FISCAL_YEAR, last=LAST_FISCAL_YEAR)
    return year


def parse_date(value: str | date | None, label: str) -> str | None:
    """ISO yyyy-mm-dd text, or None when empty."""
    if isinstance(value, date):
        return value.isoformat()
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(N_("%(label)sは yyyy-mm-dd の形式で入力してください（%(text)s）"),
                      label=label, text=text) from None


def create_round(db: Database, fiscal_year: int | str, questionnaire_id: str, version: str,
                 opens_on: str | date | None = None, closes_on: str | date | None = None,
                 user_id: int | None = None, approval_required: bool = True,
                 attachments_allowed: bool = False) -> Round:
    """A new round in draft; the questionnaire version must be published. Every refusal
    is `Invalid`: the admin changes the form (a taken year included) and tries again.
    New rounds require 所属長 approval unless `approval_required` is False (§10).
    `attachments_allowed`: whether its forms accept evidence attachments (off: where
    the proof is kept and its date only; many bodies forbid uploads, §13)."""
    year = parse_fiscal_year(fiscal_year)
    opens, closes = parse_date(opens_on, N_("開始日")), parse_date(closes_on, N_("締切日"))
    if opens and closes and closes < opens:
        raise Invalid(N_("締切日（%(closes)s）が開始日（%(opens)s）より前です"),
                      closes=closes, opens=opens)
    with store.transaction(db):
        if round_store.get_published_version(db, questionnaire_id, version) is None:
            raise Invalid(N_("調査票 %(questionnaire)s の版 %(version)s は公開されていません"),
                          questionnaire=questionnaire_id, version=version)
        if round_store.find_round(db, year, questionnaire_id) is not None:
            raise Invalid(N_("%(year)d年度の調査票 %(questionnaire)s の調査回はすでにあります"),
                          year=year, questionnaire=questionnaire_id)
        round_id = round_store.insert_round(db, year, questionnaire_id, version, opens, closes,
                                            approval_required)
        round_store.set_attachments_allowed(db, round_id, attachments_allowed)
        audit.record(db, user_id, "rounds.create", "round", round_id, fiscal_year=year,
                     questionnaire_id=questionnaire_id, version=version,
                     opens_on=opens, closes_on=closes, approval_required=approval_required,
                     attachments_allowed=attachments_allowed)
    return require_round(db, round_id)


# ---------------------------------------------------------------- state changes

def open_round(db: Database, round_id: int, user_id: int | None = None) -> Round:
    """draft -> open, or closed -> open again (logged as a reopen)."""
    with store.transaction(db):
        current = require_round(db, round_id)
        if current.status == "open":
            raise Locked(N_("調査回 %(id)d はすでに受付中です"), id=round_id)
        others = [other for other in round_store.list_open_rounds(db, current.questionnaire_id)
                  if other["id"] != round_id]
        if others:
            raise Conflict(N_("同じ調査票の%(year)d年度の調査回（%(id)d）が受付中です。"
                             "先に締め切ってください"),
                          year=others[0]["fiscal_year"], id=others[0]["id"])
        round_store.set_status(db, round_id, "open")
        action = "rounds.reopen" if current.status == "closed" else "rounds.open"
        audit.record(db, user_id, action, "round", round_id, old_status=current.status)
    return require_round(db, round_id)


def close_round(db: Database, round_id: int, user_id: int | None = None) -> Round:
    """open -> closed: department forms and staff links stop accepting answers."""
    with store.transaction(db):
        current = require_round(db, round_id)
        if current.status != "open":
            raise Locked(N_("調査回 %(id)d は受付中ではないため締め切れません"), id=round_id)
        round_store.set_status(db, round_id, "closed")
        audit.record(db, user_id, "rounds.close", "round", round_id, old_status="open")
    return require_round(db, round_id)


# ---------------------------------------------------------------- settings

def set_attachments(db: Database, round_id: int, allowed: bool,
                    user_id: int | None = None) -> Round:
    """Whether the round's forms accept evidence attachments (DESIGN.md §13). Turning
    it off keeps the attachments already stored (and downloadable); the forms then ask
    for where the proof is kept and its date only."""
    with store.transaction(db):
        current = require_round(db, round_id)
        if current.attachments_allowed != allowed:
            round_store.set_attachments_allowed(db, round_id, allowed)
            audit.record(db, user_id, "rounds.attachments", "round", round_id,
                         attachments_allowed=allowed)
    return require_round(db, round_id)
