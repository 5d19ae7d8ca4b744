"""Follow-ups per information system (DESIGN.md §12): for each audit item, the systems
whose own score on it is below the threshold, lowest first, with the system questions
below threshold / 100. A 所属's score rolls its systems up (a mean), so a weak system can
hide behind strong ones; these lists show it anyway. The 所属's lists are
readmodels/followup_lists.py, which carries these alongside."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from surveyapp.model import Questionnaire
from surveyapp.readmodels.system_results import RoundSystems


@dataclass(frozen=True)
class SystemGap:
    question_id: str
    ratio: float


@dataclass(frozen=True)
class SystemEntry:
    code: str
    name: str
    owner_code: str
    owner_name: str
    bureau_code: str | None
    score: float
    gaps: tuple[SystemGap, ...]  # lowest `r` first

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(gap.question_id for gap in self.gaps)


def system_gaps(questionnaire: Questionnaire, finding: str, ratios: Mapping[str, float],
                threshold: float) -> tuple[SystemGap, ...]:
    limit = threshold / 100
    gaps = [SystemGap(q.id, ratios[q.id]) for q in questionnaire.questions
            if finding in q.findings and q.scored and q.id in ratios and ratios[q.id] < limit]
    return tuple(sorted(gaps, key=lambda gap: gap.ratio))


def system_entries(systems: RoundSystems | None, finding: str,
                   threshold: float) -> tuple[SystemEntry, ...]:
    """The submitted systems scored below `threshold` on `finding`, lowest first."""
    if systems is None:
        return ()
    entries = [
        SystemEntry(system.code, system.name, system.owner_code or "", system.owner_name,
                    system.bureau_code, system.scores.findings[finding],
                    system_gaps(systems.questionnaire, finding, system.ratios, threshold))
        for system in systems.systems
        if system.submitted and system.scores.findings.get(finding) is not None
        and system.scores.findings[finding] < threshold]
    return tuple(sorted(entries, key=lambda entry: (entry.score, entry.code)))


def keep(entries: tuple[SystemEntry, ...],
         wanted: Callable[[SystemEntry], bool]) -> tuple[SystemEntry, ...]:
    return tuple(entry for entry in entries if wanted(entry))


def allowed_systems(systems: RoundSystems, department_code: str) -> dict[str, str]:
    """{code: name} of the systems an item of the 所属 in the round may name: those it
    answers for (or owns) in the round."""
    return {system.code: system.name for system in systems.of_department(department_code)}
