"""What the demo adds for DESIGN.md §13: small generated PDFs attached to some answers,
and answers copied from last year and confirmed section by section.

Every draw comes from the loader's second generator (`extra`), so the answers the main
one draws stay as they were. The PDFs are stored as the web form stores uploads
(services/attachments.py): staged before, moved into place inside the demo's one
transaction, and removed again if it does not commit.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from sqlite_utils import Database

from surveyapp import store
from surveyapp.demo import cast
from surveyapp.formats.attachments import check_attachment
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.previous_answers import previous_response
from surveyapp.services import attachments
from surveyapp.store import carry_over as carry_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store

Attach = Callable[[Mapping[int, int], int, random.Random], None]


# --- generated PDFs ------------------------------------------------------------------------


def pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF of ASCII lines in Helvetica (every viewer has the font)."""
    text = " ".join(f"({escape(line)}) Tj 0 -20 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 770 Td {text} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def escape(line: str) -> str:
    return line.encode("ascii", "replace").decode().replace("\\", "\\\\").replace(
        "(", "\\(").replace(")", "\\)")


def document(code: str, question_id: str, fiscal_year: int, day: str | None) -> bytes:
    return pdf([f"Evidence record FY{fiscal_year}", f"Department {code}",
                f"Question {question_id}", f"Checked on {day or '-'}",
                "Generated for the surveyapp demo."])


# --- attaching them ------------------------------------------------------------------------


@contextlib.contextmanager
def files(db: Database, root: Path | None) -> Iterator[Attach]:
    """`attach(round ids by year, the dept login's user id, extra)` for the demo's
    transaction; afterwards no file is left that the database does not reference."""
    staged: list[attachments.Staged] = []
    blobs = attachments.Blobs(Path(root)) if root is not None else None

    def attach(round_ids: Mapping[int, int], dept_user: int, extra: random.Random) -> None:
        if blobs is None:
            return
        for demo_round in cast.ROUNDS:
            if demo_round.attachments:
                attach_round(db, blobs, round_ids[demo_round.fiscal_year], dept_user, extra,
                             staged)
    try:
        yield attach
    finally:
        if blobs is not None:
            attachments.cleanup(db, blobs, staged)


def attach_round(db: Database, blobs: attachments.Blobs, round_id: int, dept_user: int,
                 extra: random.Random, staged: list) -> None:
    """One PDF on a documented answer of DOCUMENTS_PER_ROUND 所属 (submitted ones), two
    on the `dept` login's 所属 and one in each of its system blocks."""
    responses = [r for r in response_store.department_responses(db, round_id)
                 if r["status"] == "submitted" and r["department_code"] != cast.DEPT_LOGIN_UNIT]
    picked = extra.sample(responses, min(cast.DOCUMENTS_PER_ROUND, len(responses)))
    own = response_store.find_department_response(db, round_id, cast.DEPT_LOGIN_UNIT)
    blocks = response_store.find_system_responses(db, round_id, cast.DEPT_LOGIN_UNIT)
    fiscal_year = round_store.get_round(db, round_id)["fiscal_year"]
    for response, count, user in [(r, 1, None) for r in picked] + (
            [(own, 2, dept_user)] if own else []) + [(r, 1, dept_user) for r in blocks]:
        documented = [row for row in response_store.list_answers(db, response["id"])
                      if row["evidence_location"]]
        for row in extra.sample(documented, min(count, len(documented))):
            data = document(response["department_code"], row["question_id"], fiscal_year,
                            row["evidence_date"])
            name = f"確認記録_{row['question_id']}_{fiscal_year}.pdf"
            item = blobs.stage(check_attachment(name, data, len(data)))
            staged.append(item)
            link = attachments.store_file(db, blobs, response["id"], row["question_id"],
                                          item, user, row["updated_at"])
            response_store.insert_history_rows(db, response["id"], [
                {"question_id": row["question_id"], "new_attachments": str(link)}],
                user, row["updated_at"])


# --- answers carried over from last year -----------------------------------------------------


def carry_over(db: Database, round_id: int, extra: random.Random) -> None:
    """For the `dept` login's 所属 and CARRY_OVER_UNITS others: each section whose
    comparable answers all equal last year's is confirmed "前年どおり確認した" and its
    answers marked re-confirmed; half of those 所属 had copied them with the button."""
    current = round_store.get_round(db, round_id)
    questionnaire = get_definition(db, current["questionnaire_id"], current["version"])
    responses = [r for r in response_store.department_responses(db, round_id)
                 if r["department_code"] != cast.DEPT_LOGIN_UNIT]
    chosen = extra.sample(responses, min(cast.CARRY_OVER_UNITS, len(responses)))
    own = response_store.find_department_response(db, round_id, cast.DEPT_LOGIN_UNIT)
    for index, response in enumerate(chosen + ([own] if own else [])):
        earlier = previous_response(db, round_id, response["department_code"], questionnaire,
                                    "department")
        if earlier is not None:
            confirm_unchanged(db, response, questionnaire, earlier, copied=index % 2 == 0)


def confirm_unchanged(db: Database, response: Mapping, questionnaire, earlier,
                      copied: bool) -> None:
    stored = {row["question_id"]: row for row in response_store.list_answers(db, response["id"])}
    for section in questionnaire.sections_for("department"):
        same = [q.id for q in section.questions
                if q.id in stored and stored[q.id]["value"] is not None
                and earlier.get(q.id) and earlier.get(q.id).comparable
                and earlier.get(q.id).stored_text == stored[q.id]["value"]]
        others = [q.id for q in section.questions if q.id in stored
                  and stored[q.id]["value"] is not None and q.id not in same]
        if same and not others:
            at = response["submitted_at"] or response["updated_at"] or store.now()
            carry_store.confirm_sections(db, response["id"], [section.id],
                                         response["updated_by"], at)
            carry_store.set_marks(db, response["id"], same, copied, True)
