"""Every rule of an answer's evidence (DESIGN.md §13), in one place for the web form,
the Excel round trip, the services and the read models.

An answer to a question that takes evidence (`evidence: optional | required`) may
carry a note (the existing free text), where the proof is kept (`location`: a ledger,
a document number, a folder) and the date the proof is from (`date`, not the day it was
typed or uploaded), and attachments (services/attachments.py). The rules:

- `evidence: required` asks for a note or a location, and a date (`missing`).
- A date is a real calendar day, yyyy-mm-dd, not before 2000 and not after today in
  Japan: proof from the future does not exist yet (`parse_date`).
- Texts hold no control characters and keep their length limits (`clean_text`).
- An answer is documented when it has a note, a location or an attachment: a date
  alone says when, not what or where (`documented`; the scorecard's "実施している but
  no evidence" counts use the same rule in SQL, store/evidence.py).
- On one line (`summary`, `Proof.text`), the note, location, date and attachment names
  read "note / 保管場所: … / 日付: … / 添付: a.pdf, b.png": the form, the answer history,
  the verification pages and the audit workpaper's `self_evidence` (DESIGN.md §9) show
  it so.

Pure functions over plain values: no database, no web.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from surveyapp import clock
from surveyapp.model import N_, Message, Translate

MAX_NOTE_LENGTH = 500
MAX_LOCATION_LENGTH = 200
EARLIEST_DATE = date(2000, 1, 1)

# The parts of `summary` after the note.
LOCATION_PART = N_("保管場所: %(place)s")
DATE_PART = N_("日付: %(day)s")
FILES_PART = N_("添付: %(names)s")

# Error codes of `missing` (the web form shows its own sentence for each).
NOTE_OR_LOCATION = "evidence_required"
DATE = "evidence_date_required"


@dataclass(frozen=True)
class AnswerEvidence:
    """What an answer records as its proof, besides its attachments."""

    note: str | None = None
    location: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd

    def __bool__(self) -> bool:
        return bool(self.note or self.location or self.date)

    @classmethod
    def of_row(cls, row) -> AnswerEvidence:
        """From a stored answer row (`evidence`, `evidence_location`, `evidence_date`)."""
        return cls(row.get("evidence") or None, row.get("evidence_location") or None,
                   row.get("evidence_date") or None)

    def columns(self) -> dict[str, str | None]:
        """The stored answer columns."""
        return {"evidence": self.note, "evidence_location": self.location,
                "evidence_date": self.date}


NONE = AnswerEvidence()


@dataclass(frozen=True)
class Proof:
    """An answer's evidence with the names of its current attachments: what an auditor is
    shown of it (the verification pages, the workpaper's `self_evidence`, DESIGN.md §9)."""

    evidence: AnswerEvidence = NONE
    filenames: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.evidence) or bool(self.filenames)

    def text(self, translate: Translate = str) -> str:
        """On one line (`summary`), "" when there is nothing."""
        return summary(self.evidence, self.filenames, translate)


def as_record(value: AnswerEvidence | str | None) -> AnswerEvidence:
    """Evidence given as text is its note (callers before DESIGN.md §13 passed notes)."""
    if isinstance(value, str):
        return AnswerEvidence(note=value or None)
    return value or NONE


def texts(value: AnswerEvidence | str | None) -> tuple[str, str, str]:
    """(note, location, date) as text, "" for a part left empty."""
    found = as_record(value)
    return found.note or "", found.location or "", found.date or ""


class InvalidEvidence(ValueError):
    """A typed evidence value that cannot be stored; `message` (a msgid) and `params`
    let the web layer show it in the chosen language, like a refusals.Refusal."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def today() -> date:
    """Today in the TIMEZONE setting's zone (Japan by default), where the proof and the
    people are."""
    return clock.today()


def clean_text(raw: str | None, limit: int) -> str | None:
    """Typed text with its ends trimmed, None when empty; refuses control characters
    (a pasted NUL, a bidirectional override that would disguise it) and overlong text."""
    text = (raw or "").strip()
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in text):
        raise InvalidEvidence(N_("使用できない文字（制御文字）が含まれています。"))
    if len(text) > limit:
        raise InvalidEvidence(N_("%(n)d文字以内で入力してください（現在 %(count)d文字）。"),
                              n=limit, count=len(text))
    return text or None


def parse_date(raw: str | date | None, on: date | None = None) -> str | None:
    """A proof date as ISO text, None when empty; refuses a malformed day, one before
    2000 and one after `on` (default: today in Japan)."""
    if isinstance(raw, date):
        day = raw.date() if isinstance(raw, datetime) else raw
    else:
        text = unicodedata.normalize("NFKC", raw or "").strip().replace("/", "-")
        if not text:
            return None
        day = _calendar_day(text)
    latest = on or today()
    if day > latest:
        raise InvalidEvidence(N_("根拠の日付 %(day)s は未来の日付です。根拠の資料が作成・"
                                 "確認された日（%(today)s 以前）を入力してください。"),
                              day=day.isoformat(), today=latest.isoformat())
    if day < EARLIEST_DATE:
        raise InvalidEvidence(N_("根拠の日付 %(day)s は古すぎます。"
                                 "%(first)s 以降の日付を入力してください。"),
                              day=day.isoformat(), first=EARLIEST_DATE.isoformat())
    return day.isoformat()


def _calendar_day(text: str) -> date:
    parts = text.split("-")
    try:
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            raise ValueError(text)
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise InvalidEvidence(N_("根拠の日付「%(text)s」は日付として読み取れません。"
                                 "yyyy-mm-dd の形式で入力してください（例: 2021-06-30）。"),
                              text=text[:20]) from None


def missing(evidence: AnswerEvidence | None) -> tuple[str, ...]:
    """What `evidence: required` still asks of an answer: a note or a location
    (`NOTE_OR_LOCATION`) and a date (`DATE`)."""
    evidence = evidence or NONE
    found = []
    if not (evidence.note or evidence.location):
        found.append(NOTE_OR_LOCATION)
    if not evidence.date:
        found.append(DATE)
    return tuple(found)


def documented(evidence: AnswerEvidence | None, attachments: int = 0) -> bool:
    """A note, a location or an attachment says what or where the proof is."""
    evidence = evidence or NONE
    return bool(evidence.note or evidence.location or attachments)


def summary(found: AnswerEvidence | str | None, filenames: Sequence[str] = (),
            translate: Translate = str) -> str:
    """The note, where the proof is kept, its date and the names of the attached files
    on one line, "" when there is none of them; `translate` gives the labels in the
    chosen language (the default keeps the Japanese)."""
    found = as_record(found)
    parts = [found.note or "",
             translate(Message(LOCATION_PART, place=found.location)) if found.location else "",
             translate(Message(DATE_PART, day=found.date)) if found.date else "",
             translate(Message(FILES_PART, names=", ".join(filenames))) if filenames else ""]
    return " / ".join(part for part in parts if part)
