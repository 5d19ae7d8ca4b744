"""The demo's improvement items (改善計画, DESIGN.md §7 and §12), made as 情報企画課 makes
them with 「改善計画を作成」 on the follow-up lists: after FY2020 for the first follow-up
findings (so FY2021's form shows the 「前年度の改善状況」 block), and in the open FY2026
round for the weakest systems, one each."""

from __future__ import annotations

import random

from sqlite_utils import Database

from surveyapp import config
from surveyapp.demo import cast
from surveyapp.readmodels import followup_lists
from surveyapp.services import followups

# Improvement items (改善計画) the demo opens after FY2020 for the first follow-up findings,
# so FY2021 shows the 「前年度の改善状況」 block and whether the scores moved.
ITEM_FINDINGS = ("意見17", "意見18", "意見19")
ITEMS_PER_FINDING = 4
ITEM_STATUSES = ("not_started", "in_progress", "in_progress", "done")


def load_improvement_items(db: Database, round_id: int, rng: random.Random,
                           admin_id: int) -> int:
    """Open items for the 所属 furthest below the threshold on each follow-up finding,
    plus one for the `dept` login's 所属 so its FY2021 form asks about it."""
    lists = followup_lists.round_followups(db, round_id, config.DEFAULTS["ANONYMITY_MIN_RESPONSES"],
                                      config.DEFAULTS["FOLLOWUP_THRESHOLD"]).lists
    # As 「改善計画を作成」 on each entry would, without scoring the round again per entry.
    targets = [(entry.code, followups.ItemInput(finding=found.finding,
                                                question_ids=entry.question_ids))
               for found in lists if found.finding in ITEM_FINDINGS
               for entry in found.entries[:ITEMS_PER_FINDING]]
    item_ids = [followups.create_item(db, round_id, code, raw, admin_id)
                for code, raw in targets]
    if not any(code == cast.DEPT_LOGIN_UNIT for code, _ in targets):
        raw = followups.ItemInput(finding="意見19", question_ids=("TRN-01", "TRN-04"))
        item_ids.append(followups.create_item(db, round_id, cast.DEPT_LOGIN_UNIT, raw,
                                              admin_id))
    for item_id in item_ids:
        plan_item(db, item_id, rng, admin_id)
    return len(item_ids)


SYSTEM_ITEMS = 3  # FY2026: items for the weakest systems, one each (DESIGN.md §12)


def load_system_items(db: Database, round_id: int, admin_id: int) -> int:
    """Items naming the systems furthest below a threshold in the open round, as
    「改善計画を作成」 on their entries would, with an owner and a due date."""
    lists = followup_lists.round_followups(db, round_id, config.DEFAULTS["ANONYMITY_MIN_RESPONSES"],
                                           config.DEFAULTS["FOLLOWUP_THRESHOLD"]).lists
    entries = sorted(((entry.score, entry.code, found.finding, entry) for found in lists
                      for entry in found.systems), key=lambda row: row[:3])
    chosen: dict[str, tuple] = {}
    for _score, code, finding, entry in entries:
        if code not in chosen and len(chosen) < SYSTEM_ITEMS:
            chosen[code] = (finding, entry)
    for index, (code, (finding, entry)) in enumerate(sorted(chosen.items())):
        followups.create_item(db, round_id, entry.owner_code, followups.ItemInput(
            finding=finding, question_ids=entry.question_ids, system_code=code,
            owner="システム担当主査", due_on="2027-03-31",
            status=ITEM_STATUSES[index % 2],
            notes=f"{entry.name}の{finding}に関する設定と運用を委託先と見直す。"), admin_id)
    return len(chosen)


def plan_item(db: Database, item_id: int, rng: random.Random, admin_id: int) -> None:
    item = followup_lists.get_item(db, item_id)
    status = "in_progress" if item.department_code == cast.DEPT_LOGIN_UNIT else rng.choice(
        ITEM_STATUSES)
    followups.update_item(db, item_id, item.version, followups.ItemInput(
        finding=item.finding, question_ids=item.question_ids, owner="情報セキュリティ担当係長",
        due_on="2021-09-30", status=status,
        notes=f"{item.finding}の設問について所属内研修と手順の見直しを行う。"), admin_id)
