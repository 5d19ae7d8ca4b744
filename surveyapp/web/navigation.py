"""The main menu: each area adds its entries here; a link is shown only to the roles
named and only when its endpoint is registered."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object
    roles: tuple[str, ...]
    local_accounts_only: bool = False  # a directory account has no password here


NAV: tuple[NavEntry, ...] = (
    NavEntry("main.index", _l("ホーム"), ("admin", "auditor", "department")),
    NavEntry("questionnaires.index", _l("調査票"), ("admin", "auditor")),
    NavEntry("rounds.index", _l("調査回"), ("admin", "auditor")),
    NavEntry("responses.index", _l("自己点検"), ("admin", "auditor", "department")),
    NavEntry("results.index", _l("結果"), ("admin", "auditor", "department")),
    NavEntry("results.comparison", _l("年度比較"), ("admin", "auditor", "department")),
    NavEntry("scorecards.index", _l("スコアカード"), ("admin", "auditor", "department")),
    NavEntry("exports.index", _l("データ出力"), ("admin", "auditor", "department")),
    NavEntry("departments.index", _l("所属"), ("admin", "auditor")),
    NavEntry("followups.index", _l("フォローアップ"), ("admin", "auditor", "department")),
    NavEntry("followups.items", _l("改善計画"), ("admin", "auditor", "department")),
    NavEntry("verification.index", _l("監査検証"), ("admin", "auditor", "department")),
    NavEntry("staff.index", _l("職員アンケート"), ("admin", "department")),
    NavEntry("admin_users.index", _l("ユーザー管理"), ("admin",)),
    NavEntry("audit.index", _l("監査ログ"), ("admin", "auditor")),
    NavEntry("attachments.storage_page", _l("添付ファイル容量"), ("admin",)),
    NavEntry("auth.change_password", _l("パスワード変更"), ("admin", "auditor", "department"),
             local_accounts_only=True),
)


def entries_for_current_user() -> list[NavEntry]:
    if not current_user.is_authenticated:
        return []
    return [entry for entry in NAV
            if current_user.role in entry.roles
            and not (entry.local_accounts_only and current_user.from_directory)
            and entry.endpoint in current_app.view_functions]
