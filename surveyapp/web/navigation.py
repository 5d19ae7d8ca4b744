"""The main menu as a table: a few groups (回答, 結果, フォローアップ, 管理, ヘルプ), each
with its entries. An area adds one `NavEntry` to the group where people look for it; a
link is shown only to the roles named and only when its endpoint is registered, and a
group only when it has an entry to show. templates/base.html draws the groups as
disclosure menus (<details>/<summary>: they open with the keyboard and without script)
and, on a phone, all of them inside one menu button."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

EVERYONE = ("admin", "auditor", "department")
CENTRAL = ("admin", "auditor")


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object
    roles: tuple[str, ...]
    local_accounts_only: bool = False  # a directory account has no password here

    def shown(self) -> bool:
        return (current_user.role in self.roles
                and not (self.local_accounts_only and current_user.from_directory)
                and self.endpoint in current_app.view_functions)


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: object
    entries: tuple[NavEntry, ...]

    @property
    def current(self) -> bool:
        """The page shown belongs to this group (its summary is marked): one of its
        entries, or another page of an entry's area (results.round_results)."""
        areas = {entry.endpoint.split(".")[0] for entry in self.entries} - {"main"}
        return (any(entry.endpoint == request.endpoint for entry in self.entries)
                or request.blueprint in areas)


NAV: tuple[NavGroup, ...] = (
    NavGroup("answer", _l("回答"), (
        NavEntry("main.index", _l("ホーム"), EVERYONE),
        NavEntry("responses.index", _l("自己点検"), EVERYONE),
        NavEntry("systems.index", _l("所管システム"), ("department",)),
        NavEntry("staff.index", _l("職員アンケート"), ("admin", "department")),
    )),
    NavGroup("results", _l("結果"), (
        NavEntry("results.index", _l("結果"), EVERYONE),
        NavEntry("results.comparison", _l("年度比較"), EVERYONE),
        NavEntry("scorecards.index", _l("スコアカード"), EVERYONE),
        NavEntry("exports.index", _l("データ出力"), EVERYONE),
    )),
    NavGroup("followups", _l("フォローアップ"), (
        NavEntry("followups.index", _l("フォローアップ一覧"), EVERYONE),
        NavEntry("followups.items", _l("改善計画"), EVERYONE),
        NavEntry("verification.index", _l("監査検証"), EVERYONE),
    )),
    NavGroup("admin", _l("管理"), (
        NavEntry("questionnaires.index", _l("調査票"), CENTRAL),
        NavEntry("rounds.index", _l("調査回"), CENTRAL),
        NavEntry("departments.index", _l("所属"), CENTRAL),
        NavEntry("systems.index", _l("情報システム台帳"), CENTRAL),
        NavEntry("admin_users.index", _l("ユーザー管理"), ("admin",)),
        NavEntry("audit.index", _l("監査ログ"), CENTRAL),
        NavEntry("attachments.storage_page", _l("添付ファイル容量"), ("admin",)),
    )),
)
# The account menu (under the login name) and the help link, which everyone sees.
ACCOUNT: tuple[NavEntry, ...] = (
    NavEntry("auth.change_password", _l("パスワード変更"), EVERYONE, local_accounts_only=True),
)


def groups_for_current_user() -> list[NavGroup]:
    """The groups with only the entries this user may see; empty groups are left out."""
    if not current_user.is_authenticated:
        return []
    shown = [replace(group, entries=tuple(e for e in group.entries if e.shown()))
             for group in NAV]
    return [group for group in shown if group.entries]


def account_entries() -> list[NavEntry]:
    if not current_user.is_authenticated:
        return []
    return [entry for entry in ACCOUNT if entry.shown()]
