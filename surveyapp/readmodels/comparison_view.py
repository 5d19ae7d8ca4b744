"""View models of the year-over-year page: per section the questions and how they map
from last year, the compared 所属 rows with their changes, the retired questions.
Built from one `compare.Comparison`, never per 所属 from the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from surveyapp import lineage
from surveyapp.model import (
    QuestionMatch,
    Section,
)
from surveyapp.readmodels.compare import Change, Comparison, DepartmentComparison, FigureChanges
from surveyapp.readmodels.results_view import scored_sections

RETIRED = "retired"


@dataclass(frozen=True)
class QuestionChange:
    """One question that is not `same` between the two versions (a mark on the page)."""

    question_id: str
    relation: str  # reworded, split, merged, approximate, new, retired
    from_ids: tuple[str, ...]
    replaced_by: tuple[str, ...] = ()


def section_changes(comparison: Comparison) -> dict[str, list[QuestionChange]]:
    """{section id: its questions that changed}, the later version's sections first;
    a retired question is listed under its section of the earlier version."""
    before, after = comparison.before.questionnaire, comparison.after.questionnaire
    changes: dict[str, list[QuestionChange]] = {}
    for match in comparison.questions:
        if match.relation != lineage.SAME:
            section_id = after.question(match.to_id).section_id
            changes.setdefault(section_id, []).append(_question_change(match))
    for retired in retired_questions(comparison):
        changes.setdefault(before.question(retired.question_id).section_id, []).append(
            retired)
    return changes


def _question_change(match: QuestionMatch) -> QuestionChange:
    return QuestionChange(match.to_id, match.relation, match.from_ids)


def retired_questions(comparison: Comparison) -> list[QuestionChange]:
    before, after = comparison.before.questionnaire, comparison.after.questionnaire
    return [QuestionChange(entry.id, RETIRED, (entry.id,), entry.replaced_by)
            for entry in lineage.retired_between(before, after)]


def compared_departments(comparison: Comparison, visible: Callable[[str], bool],
                         bureau_code: str | None) -> list[DepartmentComparison]:
    """The 所属 rows a user may see, optionally of one 部局, in tree order."""
    return [d for d in comparison.departments
            if visible(d.code) and (bureau_code is None or d.parent_code == bureau_code)]


@dataclass(frozen=True)
class ChangeCell:
    change: Change | None  # None: the section has no figure on either side
    common: Change | None  # the common-items figures, only where not strictly comparable


@dataclass(frozen=True)
class ComparisonRow:
    code: str | None  # None for the prefecture row
    name: str
    from_codes: tuple[str, ...]
    cells: tuple[ChangeCell, ...]  # overall, then one per `compared_sections`


def comparison_rows(comparison: Comparison, departments: Sequence[DepartmentComparison],
                    prefecture_name: str = "全庁") -> list[ComparisonRow]:
    """The prefecture first, then the given 所属, as cells ready to print."""
    sections = compared_sections(comparison)
    strict = all(comparison.section_comparable.values())
    rows = [ComparisonRow(None, prefecture_name, (),
                          change_cells(comparison.prefecture, sections, strict))]
    rows += [ComparisonRow(d.code, d.name, d.from_codes,
                           change_cells(d.changes, sections, strict)) for d in departments]
    return rows


def change_cells(changes: FigureChanges, sections: Sequence[Section],
                 strict: bool) -> tuple[ChangeCell, ...]:
    overall = ChangeCell(changes.overall, None if strict else changes.overall_common)
    per_section = (changes.sections.get(s.id) for s in sections)
    return (overall, *(ChangeCell(None, None) if item is None else
                       ChangeCell(item.change, None if item.comparable else item.common)
                       for item in per_section))


def compared_sections(comparison: Comparison) -> list[Section]:
    """Sections with a score on either side, the later version's first."""
    later = list(scored_sections(comparison.after.questionnaire))
    ids = {s.id for s in later}
    return later + [s for s in scored_sections(comparison.before.questionnaire)
                    if s.id not in ids]
