"""Follow-ups per information system (DESIGN.md §12). The lists of systems below a
finding's threshold are computed with the 所属's lists (readmodels/followup_lists.py
`system_entries`); here is what an improvement item of a 所属 may name."""

from __future__ import annotations

from surveyapp.readmodels.system_results import RoundSystems


def allowed_systems(systems: RoundSystems, department_code: str) -> dict[str, str]:
    """{code: name} of the systems an item of the 所属 in the round may name: those it
    answers for (or owns) in the round."""
    return {system.code: system.name for system in systems.of_department(department_code)}
