"""The departments CSV (DESIGN.md §5) read into rows, with no database: header
`code,name,parent_code,headcount` plus optional `valid_from,valid_to,successor_code`,
each record checked and normalised on its own (full-width digits and codes accepted)
with the cells every register shares (formats/register_csv.py). What a row refers to
(parents, successors) and what importing would change is services/departments.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from surveyapp.formats import register_csv
from surveyapp.formats.register_csv import MAX_ROWS  # noqa: F401  (the file's limit)
from surveyapp.model import N_
from surveyapp.refusals import Invalid

REQUIRED_COLUMNS = ("code", "name", "parent_code", "headcount")
OPTIONAL_COLUMNS = ("valid_from", "valid_to", "successor_code")
COMPARED_FIELDS = ("name", "parent_code", "headcount", "valid_from", "valid_to",
                   "successor_code")
MAX_HEADCOUNT = 1_000_000


@dataclass(frozen=True)
class DepartmentRow:
    """One department as it will be stored, with the file line it came from."""

    line: int
    code: str
    name: str
    parent_code: str | None
    headcount: int
    valid_from: int | None = None
    valid_to: int | None = None
    successor_code: str | None = None

    @property
    def is_bureau(self) -> bool:
        return self.parent_code is None

    def as_record(self) -> dict:
        return {name: getattr(self, name) for name in ("code", *COMPARED_FIELDS)}


OPTIONAL_PARSERS = {
    "valid_from": partial(register_csv.parse_fiscal_year,
                          label=N_("有効開始年度（valid_from）")),
    "valid_to": partial(register_csv.parse_fiscal_year, label=N_("有効終了年度（valid_to）")),
    "successor_code": partial(register_csv.parse_code,
                              label=N_("後継コード（successor_code）")),
}


def parse_row(line: int, cell: dict[str, str], stored: Mapping[str, dict]) -> DepartmentRow:
    """One data record -> DepartmentRow; raises `Invalid` with the reason. Optional
    columns absent from the file keep the stored values of an existing code."""
    code = register_csv.parse_code(cell["code"], N_("コード（code）"))
    if code is None:
        raise Invalid(N_("コード（code）が空です"))
    name = register_csv.parse_name(cell["name"])
    parent_code = register_csv.parse_code(cell["parent_code"], N_("親コード（parent_code）"))
    headcount = register_csv.parse_integer(cell["headcount"], N_("人数（headcount）"),
                                           MAX_HEADCOUNT)
    if headcount is None and parent_code is not None:
        raise Invalid(N_("所属の人数（headcount）が空です"))
    optional = register_csv.kept_values(cell, stored.get(code), OPTIONAL_PARSERS)
    register_csv.check_validity(optional["valid_from"], optional["valid_to"])
    return DepartmentRow(line, code, name, parent_code, headcount or 0, **optional)
