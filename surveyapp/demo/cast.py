"""Who and what the demo holds: its rounds, its accounts (fixed, documented demo
passwords), the 部局 and 所属 of a typical prefectural government, and the traits that
drive each 所属's answers. Everything random comes from the loader's one seeded
`random.Random`, so the same seed always gives the same cast."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

DEMO_SEED = 20211001
QUESTIONNAIRE_ID = "infosec-selfcheck"
DEPT_LOGIN_UNIT = "0302"  # 健康福祉部 医務薬事課: the `dept` account's 所属


@dataclass(frozen=True)
class DemoRound:
    fiscal_year: int
    version: str
    opens_on: str
    closes_on: str
    final_status: str
    drafts: int  # 所属 whose department response is an unsubmitted draft
    not_started: int  # 所属 that have not opened the form
    answered_until: str | None = None  # an open round's answers so far: up to this day
    attachments: bool = True  # its forms accept evidence attachments (DESIGN.md §13)
    # Answers with points but no evidence at all (the scorecard's 根拠なしの実施, the
    # verification's missing_evidence): not in FY2020, so its sample and findings stay
    # what the verification story needs (demo/verification.py).
    undocumented_share: float = 0.0

    @property
    def last_answer_day(self) -> str:
        return self.answered_until or self.closes_on

    @property
    def approval_required(self) -> bool:
        """所属長 approval (DESIGN.md §10) came with the open round: the closed ones were
        answered without it. The approval scenario follows whichever round is open."""
        return self.final_status == "open"


# FY2020 and FY2021 closed (a few 所属 never submitted FY2021: 指摘6's gap); FY2026, the
# first questionnaire with a block per information system, open until the end of
# February 2027 and answered through November 2026 so far.
ROUNDS = (
    DemoRound(2020, "2020.1", "2020-10-01", "2020-11-30", "closed", drafts=0, not_started=2),
    DemoRound(2021, "2021.1", "2021-10-01", "2021-11-30", "closed", drafts=3, not_started=2,
              undocumented_share=0.12),
    DemoRound(2026, "2026.1", "2026-11-02", "2027-02-26", "open", drafts=8, not_started=12,
              answered_until="2026-11-30", undocumented_share=0.12),
)
# Last year's answers on this year's form (DESIGN.md §13): the round whose responses
# hold answers copied from the previous round and confirmed section by section: the open
# one, so the `dept` login's form shows them.
CARRY_OVER_YEAR = 2026
CARRY_OVER_UNITS = 12  # 所属 (besides the `dept` login's) that confirmed sections
DOCUMENTS_PER_ROUND = 8  # 所属 per round with a generated PDF on one answer


@dataclass(frozen=True)
class DemoAccount:
    login: str
    role: str
    password: str
    display_name: str
    department_code: str | None = None


# Fixed, documented demo passwords (>= 12 characters): this is demo data only.
ACCOUNTS = (
    DemoAccount("admin", "admin", "demo-admin-2021", "情報企画課 管理者"),
    DemoAccount("auditor", "auditor", "demo-auditor-2021", "監査委員事務局 監査人"),
    DemoAccount("dept", "department", "demo-dept-2021", "医務薬事課 情報セキュリティ管理者",
                DEPT_LOGIN_UNIT),
)
# The `dept` 所属's head (所属長), who approves what `dept` submits (DESIGN.md §10).
APPROVER_ACCOUNT = DemoAccount("kacho", "department", "demo-kacho-2021", "医務薬事課長",
                               DEPT_LOGIN_UNIT)
LOGIN_ACCOUNTS = (*ACCOUNTS, APPROVER_ACCOUNT)  # every demo login and its password

# Every demo user's mail goes to `<login>@example.lg.jp` (a domain for examples).
MAIL_DOMAIN = "example.lg.jp"
# In the open round: 所属 without an approver account yet, 所属 whose users have no
# address (the reminder log says 宛先なし), submissions returned with a comment, and
# the share of the others still waiting for their 所属長.
WITHOUT_APPROVER = 3
WITHOUT_ADDRESS = 1
RETURNED = 2
WAITING_SHARE = 0.25
RETURN_COMMENTS = ("PWD-05 の根拠（確認日と保管場所）を記入してください。",
                   "研修の受講状況を人事課の記録と照合してから再提出してください。")
EXTENSION_REASON = "基幹システム更改の作業が重なるため（情報企画課了承済み）"

# 部局 and 所属 of a typical prefectural government (names only; codes are the demo's).
BUREAUS = (
    ("01", "総務部", ("総務課", "人事課", "財政課", "税務課", "情報企画課", "学事法人課",
                     "市町村課")),
    ("02", "企画振興部", ("総合政策課", "地域づくり推進課", "交通政策課", "国際課", "統計課",
                         "観光振興課")),
    ("03", "健康福祉部", ("福祉政策課", "医務薬事課", "健康づくり推進課", "長寿社会課",
                         "障害福祉課", "子ども家庭課", "保健・疾病対策課")),
    ("04", "生活環境部", ("県民生活課", "環境管理課", "温暖化対策課", "自然保護課",
                         "循環型社会推進課")),
    ("05", "農林水産部", ("農林政策課", "農業経済課", "水田総合利用課", "畜産振興課",
                         "林業木材産業課", "水産漁港課", "農地整備課")),
    ("06", "建設部", ("建設政策課", "技術管理課", "道路課", "河川砂防課", "都市計画課",
                     "建築住宅課", "港湾空港課", "下水道マネジメント推進課")),
)

EVIDENCE_PLACES = ("所属共有フォルダ", "文書管理システム", "管理簿（紙）", "所属長決裁文書")


@dataclass(frozen=True)
class Unit:
    """One demo 所属 and the traits that drive its answers."""

    code: str
    name: str
    parent_code: str
    headcount: int
    maturity: float  # FY2020 practice level, 0..1
    improvement: float  # change of maturity to FY2021, mostly positive
    has_system: bool
    has_room: bool
    small_sample: bool  # fewer staff answers than the anonymity minimum

    def maturity_in(self, fiscal_year: int) -> float:
        """FY2020's level; from FY2021 on with its improvement."""
        return clip(self.maturity + (self.improvement if fiscal_year >= 2021 else 0))


def clip(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def plan_units(rng: random.Random) -> list[Unit]:
    units = [make_unit(rng, bureau, index, name)
             for bureau, _, names in BUREAUS for index, name in enumerate(names, 1)]
    # A few small 所属 where fewer than five staff answer, to show "n < 5".
    small = set(rng.sample([u.code for u in units if u.code != DEPT_LOGIN_UNIT], 4))
    return [replace(u, headcount=rng.randint(8, 10), small_sample=True)
            if u.code in small else u for u in units]


def make_unit(rng: random.Random, bureau: str, index: int, name: str) -> Unit:
    return Unit(code=f"{bureau}{index:02d}", name=name, parent_code=bureau,
                headcount=rng.randint(8, 60), maturity=clip(rng.gauss(0.55, 0.18), 0.1, 0.95),
                improvement=rng.gauss(0.08, 0.06), has_system=rng.random() < 0.8,
                has_room=rng.random() < 0.3, small_sample=False)


def department_rows(units: list[Unit]) -> Iterator[dict]:
    for code, name, _ in BUREAUS:
        yield {"code": code, "name": name, "parent_code": None,
               "headcount": sum(u.headcount for u in units if u.parent_code == code),
               "valid_from": None, "valid_to": None, "successor_code": None}
    for unit in units:
        yield {"code": unit.code, "name": unit.name, "parent_code": unit.parent_code,
               "headcount": unit.headcount, "valid_from": None, "valid_to": None,
               "successor_code": None}
