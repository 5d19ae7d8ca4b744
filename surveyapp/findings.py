"""The audit's items (指摘 and 意見) with their titles, in the one order everybody uses.

The catalogue is `findings.yaml` beside this module: the 57 items of the FY2020
external audit (AUDIT_CONTEXT.md), read once. A questionnaire tags questions with
item codes; every page, scorecard, chart and export that lists items asks `ordered_findings`
for their order (findings 1-24, then opinions 1-33, as the report numbers them; codes
the catalogue does not know come last, in the order given) and `label` for what to
show (the code and its title).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from surveyapp.model import Text

CATALOGUE_FILE = Path(__file__).with_name("findings.yaml")
KINDS = ("指摘", "意見")  # findings (must be corrected) before opinions (recommended)


@dataclass(frozen=True)
class Finding:
    code: str  # 指摘6, 意見17: as questionnaires and exports write it
    title: Text
    page: int  # in the audit report

    @property
    def kind(self) -> str:
        return self.code[:2]

    @property
    def number(self) -> int:
        return int(self.code[2:])


@functools.cache
def catalogue() -> dict[str, Finding]:
    """Code -> item, in the catalogue's order."""
    from ruamel.yaml import YAML

    rows = YAML(typ="safe", pure=True).load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    items = [Finding(str(row["code"]), Text(row["ja"], row["en"]), int(row["page"]))
             for row in rows]
    items.sort(key=lambda item: (KINDS.index(item.kind), item.number))
    return {item.code: item for item in items}


@functools.cache
def positions() -> dict[str, int]:
    """Code -> its place in the catalogue's order."""
    return {code: place for place, code in enumerate(catalogue())}


def ordered_findings(codes: Iterable[str]) -> list[str]:
    """`codes` without repeats, in the catalogue's order (unknown codes last, as given)."""
    unique = list(dict.fromkeys(codes))
    known = positions()
    return sorted(unique, key=lambda code: (known.get(code, len(known)), unique.index(code)))


def title(code: str, lang: str = "ja") -> str:
    """The item's title, or "" for a code the catalogue does not know."""
    found = catalogue().get(code)
    return found.title.get(lang) if found else ""


def label(code: str, lang: str = "ja") -> str:
    """What a page shows for an item: `指摘6 情報セキュリティの自己点検の実施状況`."""
    name = title(code, lang)
    return f"{code} {name}" if name else code
