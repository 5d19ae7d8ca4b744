"""The self-check form's blocks, one per information system (DESIGN.md §12): reading a
block's posted fields, and what the page needs to draw one.

A block's fields carry its prefix (`sys:<code>:q_<id>`, `sys:<code>:e_<id>` and the
other evidence fields, services/self_check.py `field_prefix`); the page also posts
`blocks` with the code of each block it shows, so a block the page did not show (a
system registered after it was loaded) is never read as "every answer cleared".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_wtf import FlaskForm

from surveyapp.model import AnswerValue, Questionnaire
from surveyapp.readmodels import home, register
from surveyapp.services import self_check, systems
from surveyapp.services.self_check import SYSTEM, Block
from surveyapp.web import forms

POSTED_BLOCKS = "blocks"


def register_labels() -> dict[str, dict[str, str]]:
    """Display names (msgids) of the register's coded values, for selects and cells of
    the register's pages and the form's blocks."""
    return {"hosting": systems.HOSTINGS, "ismap": systems.ISMAP,
            "criticality": systems.CRITICALITIES, "ismap_state": register.ISMAP_STATES,
            "warning": register.WARNING_KINDS, "kind": systems.PROPOSAL_KINDS,
            "status": systems.PROPOSAL_STATUSES, "field": systems.LABELS}


@dataclass
class BlockView:
    """One block as the form page draws it."""

    block: Block
    system: register.RegisteredSystem | None
    prefix: str
    form: FlaskForm
    relevant: dict[str, bool]
    errors: dict[str, str] = field(default_factory=dict)  # by unprefixed field name
    conflict: dict | None = None
    answered: int = 0
    needed: int = 0
    # Last year's answers (`previous`, `previous_round`), the carry-over `marks` and the
    # `attachments` of the block's answers, as the 所属's own questions get them.
    evidence: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.answered >= self.needed

    @property
    def open(self) -> bool:
        """Shown unfolded: something to fix or still to answer."""
        return bool(self.errors or self.conflict) or not self.complete


def read_blocks(source: Any, questionnaire: Questionnaire, blocks: Sequence[Block]
                ) -> tuple[dict[str, tuple[dict, dict]], dict[str, str]]:
    """({system code: (answers, evidence)}, {prefixed field: message}) of the blocks
    the page posted."""
    posted = set(source.getlist(POSTED_BLOCKS)) if hasattr(source, "getlist") else set()
    systems, errors = {}, {}
    for block in blocks:
        if block.code not in posted or not block.editable:
            continue
        prefix = self_check.field_prefix(block.code)
        answers, evidence, problems = forms.read_answers(source, questionnaire, SYSTEM, prefix)
        systems[block.code] = (answers, evidence)
        errors.update({prefix + name: message for name, message in problems.items()})
    return systems, errors


def split_field(name: str) -> tuple[str | None, str]:
    """(system code, unprefixed field name) of a posted or error field name; the code
    is None for the 所属's own fields."""
    if not name.startswith("sys:"):
        return None, name
    _sys, code, field_name = name.split(":", 2) if name.count(":") >= 2 else (None, None, name)
    return code, field_name


def block_errors(errors: Mapping[str, str], code: str) -> dict[str, str]:
    """A block's share of the page's errors, keyed by the unprefixed field name."""
    prefix = self_check.field_prefix(code)
    return {name[len(prefix):]: message for name, message in errors.items()
            if name.startswith(prefix)}


def progress(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue | None],
             context: Mapping[str, AnswerValue | None]) -> tuple[int, int]:
    """(answered, to answer) over the block's relevant required questions (the home
    page counts the same: readmodels/home.py)."""
    return home.required_progress(questionnaire, SYSTEM, answers, context)


def block_views(questionnaire: Questionnaire, blocks: Sequence[Block],
                register_view: Mapping[str, register.RegisteredSystem],
                department: Mapping[str, AnswerValue | None], lang: str,
                posted: Any = None, errors: Mapping[str, str] | None = None,
                conflicts: Mapping[str, dict] | None = None,
                evidence: Mapping[str, dict] | None = None) -> list[BlockView]:
    """The page's blocks: the posted input when the page comes back (`posted`), else
    what is stored."""
    form_class = forms.build_form_class(questionnaire, SYSTEM, lang)
    views = []
    for block in blocks:
        prefix = self_check.field_prefix(block.code)
        if posted is not None and block.code in set(posted.getlist(POSTED_BLOCKS)):
            formdata = posted
            answers = forms.read_answers(posted, questionnaire, SYSTEM, prefix)[0]
        else:
            formdata = forms.formdata_for(block.answers, block.evidence, prefix)
            answers = block.answers
        known = {**department, **answers}
        views.append(BlockView(
            block, register_view.get(block.code), prefix,
            form_class(formdata=formdata, prefix=prefix),
            {q.id: q.is_relevant(known) for q in questionnaire.questions_for(SYSTEM)},
            block_errors(errors or {}, block.code), (conflicts or {}).get(block.code),
            *progress(questionnaire, answers, department),
            (evidence or {}).get(block.code, {})))
    return views


def anchors(questionnaire: Questionnaire, blocks: Sequence[Block]) -> dict[str, str]:
    """Prefixed field name -> the element an error summary links to."""
    result = {}
    for block in blocks:
        prefix = self_check.field_prefix(block.code)
        for question in questionnaire.questions_for(SYSTEM):
            result[prefix + forms.field_name(question)] = prefix + forms.anchor(question)
            for name in (*forms.evidence_names(question), forms.upload_name(question)):
                result[prefix + name] = prefix + name
    return result
