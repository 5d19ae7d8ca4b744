"""A response's stored answers read back as model values: the answers, their evidence
(note, location, date) and their attachments, and all of it as one line of text per
answer; and who may download an attachment. What the self-check form, its Excel
download, the answer exports' checks and the audit verification read (both sides)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import question_types
from surveyapp.evidence import AnswerEvidence, Proof
from surveyapp.model import N_, AnswerValue, Questionnaire
from surveyapp.refusals import NotFound
from surveyapp.store import attachments as attachment_store
from surveyapp.store import evidence as evidence_store
from surveyapp.store import responses as response_store

Answers = dict[str, AnswerValue | None]
Evidence = dict[str, AnswerEvidence | None]
ATTACHMENT_NOT_FOUND = N_("添付ファイルが見つかりません。")


def stored_answers(db: Database, response_id: int,
                   questionnaire: Questionnaire) -> tuple[Answers, Evidence]:
    """The response's answers (parsed by their question's type) and their evidence."""
    return parse_rows(questionnaire, response_store.list_answers(db, response_id))


def parse_rows(questionnaire: Questionnaire, rows: list[dict]) -> tuple[Answers, Evidence]:
    """Stored rows as model values: answers, and the evidence of those that have any."""
    answers: Answers = {}
    evidence: Evidence = {}
    for row in rows:
        answers[row["question_id"]] = parse_value(questionnaire, row)
        found = AnswerEvidence.of_row(row)
        if found:
            evidence[row["question_id"]] = found
    return answers, evidence


def parse_value(questionnaire: Questionnaire, row: Mapping) -> AnswerValue | None:
    question = questionnaire.question(row["question_id"])
    if row["value"] is None or question is None:
        return row["value"]
    return question_types.of(question).from_text(question, row["value"]) or None


@dataclass(frozen=True)
class Attachment:
    """One file attached to an answer."""

    id: int
    question_id: str
    filename: str
    size: int
    media_type: str
    sha256: str
    added_at: str
    removed_at: str | None = None

    @classmethod
    def of_row(cls, row: Mapping) -> Attachment:
        return cls(row["id"], row["question_id"], row["filename"], row["size"],
                   row["media_type"], row["sha256"], row["added_at"], row["removed_at"])


def attachments_of(db: Database, response_id: int) -> dict[str, list[Attachment]]:
    """{question id: its current attachments, oldest first}."""
    found: dict[str, list[Attachment]] = {}
    for row in attachment_store.current_links(db, response_id):
        found.setdefault(row["question_id"], []).append(Attachment.of_row(row))
    return found


def attachments_by_id(db: Database, link_ids) -> dict[int, Attachment]:
    """Attachments, removed ones included (the answer history names them)."""
    return {link: Attachment.of_row(row)
            for link, row in attachment_store.links_by_id(db, link_ids).items()}


def proofs(db: Database, response_id: int) -> dict[str, Proof]:
    """{question id: its evidence and current attachments' names} for the answers of the
    response that have any: what the audit verification shows of each answer (its
    workpaper's `self_evidence` is `Proof.text`, DESIGN.md §9, §13)."""
    files = attachments_of(db, response_id)
    found = {}
    for row in response_store.list_answers(db, response_id):
        proof = Proof(AnswerEvidence.of_row(row),
                      tuple(file.filename for file in files.get(row["question_id"], ())))
        if proof:
            found[row["question_id"]] = proof
    return found


def history_ids(text: str | None) -> list[int]:
    """The link ids an answer history row keeps ("12;15")."""
    return [int(part) for part in (text or "").split(";") if part.isdigit()]


@dataclass(frozen=True)
class Download:
    """An attachment to send, and whose answer it belongs to."""

    attachment: Attachment
    department_code: str
    audience: str
    round_id: int

    @classmethod
    def of_row(cls, row: Mapping | None) -> Download:
        """A link row with its response's 所属, audience and round; raises `NotFound`
        for None."""
        if row is None:
            raise NotFound(ATTACHMENT_NOT_FOUND)
        return cls(Attachment.of_row(row), row["department_code"], row["audience"],
                   row["round_id"])


def download(db: Database, link_id: int) -> Download:
    """The attachment `link_id`, removed or not; raises `NotFound`. Whether the caller
    may see its answer is the caller's check (the web layer's, as for the answer)."""
    return Download.of_row(attachment_store.links_by_id(db, [link_id]).get(link_id))


def download_by_file(db: Database, sha256: str) -> Download:
    """The first attachment holding the content `sha256` (the exports name files by
    sha256); raises `NotFound`."""
    return Download.of_row(
        attachment_store.link_for_file(db, sha256.lower()) if len(sha256) == 64 else None)


def undocumented_by_section(db: Database, round_id: int,
                            questionnaire: Questionnaire) -> dict[str, dict[str, int]]:
    """{所属: {section: answers at full points without evidence}} of the round's
    submitted department responses, counting only questions that take evidence (the
    scorecard's "実施している but no evidence")."""
    counts: dict[str, dict[str, int]] = {}
    for row in evidence_store.undocumented_full_marks(db, round_id, "department"):
        question = questionnaire.question(row["question_id"])
        if question is None or question.evidence == "none":
            continue
        sections = counts.setdefault(row["department_code"], {})
        sections[question.section_id] = sections.get(question.section_id, 0) + 1
    return counts


def sections_taking_evidence(questionnaire: Questionnaire) -> set[str]:
    return {q.section_id for q in questionnaire.questions_for("department")
            if q.evidence != "none"}
