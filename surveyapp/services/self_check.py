"""The 所属's self-check as one form (DESIGN.md §12): its department response and, when
the round's questionnaire has `audience: system` questions, one block per information
system the 所属 owns that fiscal year. Each block is a response of its own (audience
`system`, with its system code), so every answer carries its system.

The form has one version, the department response's: saving any block bumps it, so
the conflict check covers the whole form. Saving and submitting write the department
response and every block in one transaction; a block's status follows the department
response's (submitted with it, reopened with it: services/responses.py `reopen`).
A block's `relevant` expressions read the same system's answers and the 所属's
department answers, so each block's stored scores are worked out again on every save.

A system the 所属 no longer owns keeps its block while the 所属 holds its answers, so
nothing typed is lost; a system that moved to this 所属 during the round brings its
unsubmitted answers along.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlite_utils import Database

from surveyapp import audiences, store
from surveyapp.model import Questionnaire
from surveyapp.readmodels import register
from surveyapp.readmodels.answers import parse_rows
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import answer_rows, attachments, carry_over, responses
from surveyapp.services.answer_rows import EvidenceInput
from surveyapp.services.responses import Answers, Evidence, SaveResult
from surveyapp.store import responses as response_store
from surveyapp.store import systems as system_store

SYSTEM = audiences.SYSTEM.name
SystemInput = Mapping[str, tuple[Answers, EvidenceInput]]  # system code -> its block's input


@dataclass(frozen=True)
class Block:
    """One system's block of a 所属's form."""

    system: dict  # the register row
    response: dict | None  # its response in the round; None until something is saved
    answers: Answers = field(default_factory=dict)
    evidence: Evidence = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.system["code"]

    @property
    def editable(self) -> bool:
        return self.response is None or self.response["status"] in responses.EDITABLE


def field_prefix(system_code: str) -> str:
    """How a block's fields are named on the web form and in error maps:
    `sys:<code>:q_<question id>` (a system code never holds a colon)."""
    return f"sys:{system_code}:"


def asks_systems(questionnaire: Questionnaire) -> bool:
    return bool(questionnaire.questions_for(SYSTEM))


def blocks(db: Database, round_id: int, fiscal_year: int, department_code: str,
           questionnaire: Questionnaire) -> list[Block]:
    """The 所属's blocks in system-code order: the systems it owns in the round's year,
    then any other system whose answers it holds."""
    if not asks_systems(questionnaire):
        return []
    held = {row["system_code"]: row for row in
            response_store.find_system_responses(db, round_id, department_code)}
    owned = register.owned_systems(db, department_code, fiscal_year)
    codes = {system["code"] for system in owned}
    systems = owned + [system_store.get_system(db, code) for code in held if code not in codes]
    stored = stored_answers(db, questionnaire, [row["id"] for row in held.values()])
    result = []
    for system in sorted(systems, key=lambda row: row["code"]):
        response = held.get(system["code"]) or response_store.find_system_response(
            db, round_id, system["code"])
        answers, evidence = stored.get(response["id"], ({}, {})) if response else ({}, {})
        result.append(Block(system, response, answers, evidence))
    return result


def stored_answers(db: Database, questionnaire: Questionnaire,
                   response_ids: list[int]) -> dict[int, tuple[Answers, Evidence]]:
    """{response id: (answers, evidence)} of several responses, read at once."""
    grouped: dict[int, list[dict]] = {response_id: [] for response_id in response_ids}
    for row in response_store.list_answers_of(db, response_ids):
        grouped[row["response_id"]].append(row)
    return {response_id: parse_rows(questionnaire, rows)
            for response_id, rows in grouped.items()}


def blocks_of(db: Database, response: Mapping, questionnaire: Questionnaire) -> list[Block]:
    """The blocks that go with a department response."""
    return blocks(db, response["round_id"], response["fiscal_year"],
                  response["department_code"], questionnaire)


# --- writing -----------------------------------------------------------------------------


def save_form(db: Database, response_id: int, expected_version: int, answers: Answers,
              evidence: EvidenceInput, systems: SystemInput, user_id: int | None,
              questionnaire: Questionnaire | None = None,
              previous_year: Mapping[str, str] | None = None,
              files: attachments.Changes | None = None,
              carry: carry_over.CarryInput | None = None,
              system_files: Mapping[str, attachments.Changes] | None = None) -> SaveResult:
    """`responses.save_draft` for the whole form: the department answers (with their
    `files` and `carry`), the 前年度の改善状況 block and each system block's (`systems`,
    with the attachments in `system_files`; a block not named keeps what is stored),
    one transaction, one version. Raises as `save_draft`; a `Conflict`'s `current`
    carries the stored blocks too; an `Invalid` about a block's attachments names its
    fields with the block's `field_prefix`."""
    with store.transaction(db):
        result = with_blocks_on_conflict(db, response_id, lambda: responses.save_draft(
            db, response_id, expected_version, answers, evidence, user_id, questionnaire,
            previous_year=previous_year, files=files, carry=carry))
        response = responses.get_response(db, response_id)
        questionnaire = questionnaire or responses.definition_for(db, response)
        department, _notes = responses.load_answers(db, response_id, questionnaire)
        changed = write_blocks(db, response, questionnaire, department, systems, user_id,
                               result.saved_at, files=system_files or {})
        if changed and not result.changed:  # only a block changed: the form did
            response_store.touch_response(db, response_id, user_id, result.saved_at)
            result = replace(result, version=result.version + 1)
        return replace(result, changed=result.changed + changed)


def submit_form(db: Database, response_id: int, expected_version: int, answers: Answers,
                evidence: EvidenceInput, systems: SystemInput, user_id: int | None,
                questionnaire: Questionnaire | None = None,
                previous_year: Mapping[str, str] | None = None,
                carry: carry_over.CarryInput | None = None) -> SaveResult:
    """`responses.submit` for the whole form: every block must be complete as well
    (`Invalid.errors` names a block's fields with its `field_prefix`); the blocks are
    submitted with the department response, atomically."""
    with store.transaction(db):
        response, questionnaire = with_blocks_on_conflict(
            db, response_id, lambda: responses.editable_response(
                db, response_id, expected_version, questionnaire))
        stored = response_store.list_answers(db, response_id)
        department, _notes = answer_rows.merged_answers(questionnaire, response["audience"],
                                                        stored, answers, evidence)
        problems = block_problems(db, response, questionnaire, department, systems)
        try:
            result = responses.submit(db, response_id, expected_version, answers, evidence,
                                      user_id, questionnaire, previous_year=previous_year,
                                      carry=carry)
        except Invalid as incomplete:
            if not problems:
                raise
            raise Invalid(responses.INCOMPLETE,
                          errors={**incomplete.errors, **problems}) from None
        if problems:
            raise Invalid(responses.INCOMPLETE, errors=problems)
        changed = write_blocks(db, response, questionnaire, department, systems, user_id,
                               result.saved_at, create=True)
        response_store.set_system_status(db, response, "submitted", user_id, result.saved_at)
        return replace(result, changed=result.changed + changed)


def with_blocks_on_conflict(db: Database, response_id: int, save):
    """`save()`; a `Conflict` it raises carries the stored blocks in its `current`."""
    try:
        return save()
    except Conflict as conflict:
        response = responses.get_response(db, response_id)
        questionnaire = responses.definition_for(db, response)
        conflict.current = replace(conflict.current, systems={
            block.code: (block.answers, block.evidence)
            for block in blocks_of(db, response, questionnaire)})
        raise


def block_problems(db: Database, response: Mapping, questionnaire: Questionnaire,
                   department: Answers, systems: SystemInput) -> dict[str, str]:
    """Field name -> error code of what keeps each block from being submitted."""
    problems = {}
    for block in blocks_of(db, response, questionnaire):
        if not block.editable:
            continue
        answers, evidence = merged_block(questionnaire, block, systems)
        errors = responses.submission_errors(questionnaire, SYSTEM,
                                             {**department, **answers}, evidence)
        problems.update({field_prefix(block.code) + name: code
                         for name, code in errors.items()})
    return problems


def merged_block(questionnaire: Questionnaire, block: Block,
                 systems: SystemInput) -> tuple[Answers, Evidence]:
    posted_answers, posted_evidence = systems.get(block.code, ({}, {}))
    return answer_rows.overlaid(questionnaire, SYSTEM, (block.answers, block.evidence),
                                posted_answers, posted_evidence)


def write_blocks(db: Database, response: dict, questionnaire: Questionnaire,
                 department: Answers, systems: SystemInput, user_id: int | None, at: str,
                 create: bool = False,
                 files: Mapping[str, attachments.Changes] | None = None) -> tuple[str, ...]:
    """Write each editable block's changed rows and attachments (`files`, by system
    code), scored with the department answers as `relevant` context; a block is created
    when something is typed or attached into it or, with `create`, always. Returns the
    changed answers as `<system code>:<question id>`."""
    changed: list[str] = []
    files = files or {}
    for block in blocks_of(db, response, questionnaire):
        posted_answers, posted_evidence = systems.get(block.code, ({}, {}))
        typed = any(value not in (None, "", ()) for value in posted_answers.values()) or any(
            posted_evidence.values()) or bool(files.get(block.code))
        if not block.editable or (block.response is None and not (typed or create)):
            continue
        target = block_response(db, response, block, user_id, at)
        ids = write_block(db, target, questionnaire, block, (systems, files.get(block.code)),
                          department, user_id, at)
        if ids:
            response_store.touch_response(db, target["id"], user_id, at)
        changed += [f"{block.code}:{question_id}" for question_id in ids]
    return tuple(changed)


def write_block(db: Database, target: dict, questionnaire: Questionnaire, block: Block,
                posted: tuple[SystemInput, attachments.Changes | None], department: Answers,
                user_id: int | None, at: str) -> tuple[str, ...]:
    """Write one block's changed rows and attachments, scored with the 所属's answers as
    context."""
    systems, files = posted
    merged = merged_block(questionnaire, block, systems)
    plan = answer_rows.plan_write(db, target, questionnaire,
                                  response_store.list_answers(db, target["id"]), merged,
                                  context=department)
    try:
        return answer_rows.apply_write(db, target, questionnaire, plan, user_id, at, files)
    except Invalid as refused:  # its fields are the block's
        refused.errors = {field_prefix(block.code) + name: reason
                          for name, reason in refused.errors.items()}
        raise


def block_response(db: Database, response: Mapping, block: Block, user_id: int | None,
                   at: str) -> dict:
    """The block's response, created on first use, or taken over from the 所属 that
    owned the system before (its answers are not submitted: `Block.editable`)."""
    found = block.response
    if found is None:
        response_store.insert_response(db, response["round_id"], response["department_code"],
                                       SYSTEM, user_id, at=at, system_code=block.code)
    elif found["department_code"] != response["department_code"]:
        response_store.reassign_response(db, found["id"], response["department_code"])
    return response_store.find_system_response(db, response["round_id"], block.code)
