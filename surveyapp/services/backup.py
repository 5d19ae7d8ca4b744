"""Consistent online backups; restoring is copying the file back while stopped."""

from __future__ import annotations

from pathlib import Path

from surveyapp.model import N_
from surveyapp.refusals import Conflict, NotFound, Refusal
from surveyapp.store import maintenance


def backup_database(source: str | Path, target: str | Path) -> None:
    """Write a copy of `source` to `target`; refuse to overwrite and never leave a
    copy behind that fails the integrity check."""
    target = Path(target)
    if not Path(source).is_file():  # SQLite would create an empty one and copy that
        raise NotFound(N_("データベース %(path)s がありません。"
                          "--instance の指定を確認してください。"), path=str(source))
    if target.exists():
        raise Conflict(N_("%(path)s は既に存在します。別のファイル名を指定してください。"),
                       path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    result = maintenance.backup_to(source, target)
    if result != "ok":
        target.unlink()
        raise Refusal(N_("バックアップの整合性検査に失敗しました: %(result)s"), result=result)
