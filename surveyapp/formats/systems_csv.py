"""The information-system register's CSV (DESIGN.md §12) read into rows, with no
database: header `code,name,owner_code` plus optional `vendor, hosting, cloud_service,
ismap, ismap_expires, criticality, valid_from, valid_to`, the coded values and their
names, and the parsers of each field. The edit page and a 所属's proposal read their
fields with the same parsers, so every path accepts exactly the same values. What a row
refers to (its owner 所属) and what importing would change is services/systems.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial

from surveyapp.formats import register_csv
from surveyapp.model import N_
from surveyapp.refusals import Invalid

REQUIRED_COLUMNS = ("code", "name", "owner_code")
OPTIONAL_COLUMNS = ("vendor", "hosting", "cloud_service", "ismap", "ismap_expires",
                    "criticality", "valid_from", "valid_to")
FIELDS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)  # a row's fields, in the store's order

HOSTINGS = {"onprem": N_("庁内・県の借りるデータセンター（オンプレミス）"),
            "lgwan_asp": N_("LGWAN-ASP"), "cloud": N_("クラウドサービス"),
            "other": N_("その他")}
ISMAP = {"yes": N_("登録あり"), "no": N_("登録なし"), "na": N_("対象外")}
CRITICALITIES = {"high": N_("高"), "medium": N_("中"), "low": N_("低")}
LABELS = {
    "code": N_("システムコード（code）"), "name": N_("システム名（name）"),
    "owner_code": N_("所管所属（owner_code）"), "vendor": N_("事業者（vendor）"),
    "hosting": N_("設置形態（hosting）"),
    "cloud_service": N_("クラウドサービス名（cloud_service）"),
    "ismap": N_("ISMAP 登録（ismap）"), "ismap_expires": N_("ISMAP 有効期限（ismap_expires）"),
    "criticality": N_("重要度（criticality）"), "valid_from": N_("利用開始年度（valid_from）"),
    "valid_to": N_("利用終了年度（valid_to）"),
}
MAX_TEXT_LENGTH = 100
DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")


@dataclass(frozen=True)
class SystemRow:
    """One system as it will be stored, with the file line it came from."""

    line: int
    code: str
    name: str
    owner_code: str
    vendor: str | None = None
    hosting: str | None = None
    cloud_service: str | None = None
    ismap: str | None = None
    ismap_expires: str | None = None
    criticality: str | None = None
    valid_from: int | None = None
    valid_to: int | None = None

    def as_record(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}


# ---------------------------------------------------------------- cells

def parse_choice(raw: str, label: str, allowed: Mapping[str, str]) -> str | None:
    """One of `allowed`'s keys; case, width and `-` for `_` do not matter."""
    text = unicodedata.normalize("NFKC", raw).strip().lower().replace("-", "_")
    if not text:
        return None
    if text not in allowed:
        raise Invalid(N_("%(label)s「%(value)s」は %(allowed)s のいずれかで指定してください"),
                      label=label, value=raw.strip(), allowed=", ".join(allowed))
    return text


def parse_date(raw: str, label: str) -> str | None:
    """yyyy-mm-dd, or yyyy/m/d as Excel writes a date into CSV; stored as ISO."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    found = DATE.fullmatch(text)
    try:
        if found is None:
            raise ValueError(text)
        return date(*(int(part) for part in found.groups())).isoformat()
    except ValueError:
        raise Invalid(N_("%(label)sは日付（例: 2027-03-31）で指定してください（%(value)s）"),
                      label=label, value=raw.strip()) from None


def parse_text(raw: str, label: str) -> str | None:
    text = raw.strip()
    if register_csv.CONTROL_CHARACTERS.search(text):
        raise Invalid(N_("%(label)sに改行や制御文字は使えません"), label=label)
    if len(text) > MAX_TEXT_LENGTH:
        raise Invalid(N_("%(label)sは%(n)d文字以内にしてください"), label=label,
                      n=MAX_TEXT_LENGTH)
    return text or None


OPTIONAL_PARSERS = {
    "vendor": partial(parse_text, label=LABELS["vendor"]),
    "hosting": partial(parse_choice, label=LABELS["hosting"], allowed=HOSTINGS),
    "cloud_service": partial(parse_text, label=LABELS["cloud_service"]),
    "ismap": partial(parse_choice, label=LABELS["ismap"], allowed=ISMAP),
    "ismap_expires": partial(parse_date, label=LABELS["ismap_expires"]),
    "criticality": partial(parse_choice, label=LABELS["criticality"], allowed=CRITICALITIES),
    "valid_from": partial(register_csv.parse_fiscal_year, label=LABELS["valid_from"]),
    "valid_to": partial(register_csv.parse_fiscal_year, label=LABELS["valid_to"]),
}


def parse_required_code(raw: str, name: str) -> str:
    code = register_csv.parse_code(raw, LABELS[name])
    if code is None:
        raise Invalid(N_("%(label)sが空です"), label=LABELS[name])
    return code


PARSERS = {"code": partial(parse_required_code, name="code"),
           "name": register_csv.parse_name,
           "owner_code": partial(parse_required_code, name="owner_code"),
           **OPTIONAL_PARSERS}


def check_ismap(values: Mapping) -> None:
    """An expiry date only for a system registered with ISMAP."""
    if values["ismap_expires"] and values["ismap"] in ("no", "na"):
        raise Invalid(N_("ISMAP の登録がない（ismap が %(ismap)s の）システムには"
                         "有効期限（ismap_expires）を指定できません"), ismap=values["ismap"])


def check_years(values: Mapping) -> None:
    register_csv.check_validity(values["valid_from"], values["valid_to"])


# Rules across fields, each with the field a form marks when it is broken.
CROSS_CHECKS = (("valid_to", check_years), ("ismap_expires", check_ismap))


def check_consistency(values: Mapping) -> None:
    for _field, check in CROSS_CHECKS:
        check(values)


def parse_row(line: int, cell: dict[str, str], stored: Mapping[str, dict]) -> SystemRow:
    """One data record -> SystemRow; raises `Invalid` with the reason."""
    code = PARSERS["code"](cell["code"])
    name = PARSERS["name"](cell["name"])
    owner_code = PARSERS["owner_code"](cell["owner_code"])
    optional = register_csv.kept_values(cell, stored.get(code), OPTIONAL_PARSERS)
    check_consistency(optional)
    return SystemRow(line, code, name, owner_code, **optional)
