"""What the views of several areas share. Views never import one another: a helper that
a second area needs moves here (tests/test_architecture.py keeps it so)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from surveyapp import charts, findings
from surveyapp.mail import MailSettings
from surveyapp.model import fiscal_year_label
from surveyapp.readmodels import definitions
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import NotFound, Refusal
from surveyapp.services import accounts, reminders
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.web.auth import require_department
from surveyapp.web.db import get_db
from surveyapp.web.i18n import select_locale

# The states of an improvement item (改善計画), on the follow-up pages, the department
# form's 前年度の改善状況 block and the scorecards.
ITEM_STATUS_LABELS = {"not_started": _l("未着手"), "in_progress": _l("対応中"),
                      "done": _l("完了")}
# What an attachment's ASCII file name may hold unquoted (a 所属 code could hold anything).
UNSAFE_IN_FALLBACK = re.compile(r"[^A-Za-z0-9._-]")

# How a question relates to last year's (lineage), on the comparison pages and beside
# last year's answer on the self-check form. Every relation carries a symbol AND a word,
# so the mark never depends on colour.
RELATIONS = {
    "same": ("＝", _l("同一"), _l("同じ設問です。比較できます。")),
    "reworded": ("†", _l("文言変更"), _l("表現を改めましたが意味は同じです。比較できます。")),
    "split": ("◇", _l("分割"), _l("前年度の1問を複数の設問に分けました。厳密には比較できません。")),
    "merged": ("◆", _l("統合"),
               _l("前年度の複数の設問を1問にまとめました。厳密には比較できません。")),
    "approximate": ("≈", _l("近似"), _l("似た内容ですが同じ設問ではありません。参考比較です。")),
    "new": ("＋", _l("新規"), _l("今年度の新しい設問です。前年度の値はありません。")),
    "retired": ("×", _l("廃止"), _l("前年度にあり今年度はない設問です。")),
}


# Whose answers an overall score rests on (readmodels.aggregate.SCORE_BASES).
SCORE_BASIS_LABELS = {"department": _l("所属回答"), "staff": _l("職員回答"),
                      "combined": _l("合算")}


def score_basis(basis: str | None) -> str:
    return str(SCORE_BASIS_LABELS.get(basis or "", ""))


def anonymity_min() -> int:
    return int(current_app.config["ANONYMITY_MIN_RESPONSES"])


def round_or_404(round_id: int) -> round_reads.Round:
    """The round of the URL; an unknown one is a NotFound, answered 404 (web/errors.py)."""
    return round_reads.require_round(get_db(), round_id)


def unit_or_404(code: str) -> dict:
    """The answering 所属 of the URL, if the user may see it; a 部局 (a roll-up node that
    never answers), an unknown code or another 所属 of a department user is 404."""
    require_department(code)
    unit = department_store.get_department(get_db(), code)
    if unit is None or unit["parent_code"] is None:
        abort(404)
    return unit


def round_id_arg(name: str) -> int | None:
    """A round id from the query string; anything but a short run of digits is None."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def posted_version() -> int:
    """The `version` a form was loaded with; -1 (never stored) when it is not a number."""
    text = request.form.get("version", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1


def new_password_fields(label: str) -> tuple[PasswordField, PasswordField]:
    """A new password typed twice, checked for the minimum length and for a typo."""
    new = PasswordField(label, validators=[
        InputRequired(_l("新しいパスワードを入力してください。")),
        Length(min=accounts.MIN_PASSWORD_LENGTH, max=accounts.MAX_PASSWORD_LENGTH,
               message=_l("パスワードは%(min)d文字以上%(max)d文字以内にしてください。"))])
    again = PasswordField(_l("確認のためもう一度"), validators=[
        InputRequired(_l("確認のためもう一度入力してください。")),
        EqualTo("new_password", _l("2回入力したパスワードが一致しません。"))])
    return new, again


def _field(item: object, name: str, default: str = "") -> str:
    """A field of a row (dict) or of a read model object."""
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def questionnaire_label(item: object, with_version: bool = True) -> str:
    """A round's or version's questionnaire as people call it: its title and version
    (情報セキュリティ自己点検（版 2021.1）), never the file name `infosec-selfcheck`;
    `with_version=False` for a table that shows the version in a column of its own."""
    questionnaire_id = _field(item, "questionnaire_id")
    # An improvement item's own `version` is its edit counter: its round's version is
    # `questionnaire_version`.
    version = str(_field(item, "questionnaire_version") or _field(item, "version"))
    try:
        title = definitions.get_definition(get_db(), questionnaire_id, version).title
    except NotFound:
        return f"{questionnaire_id} {version}"
    if not with_version:
        return title.get(select_locale())
    return _("%(title)s（版 %(version)s）", title=title.get(select_locale()), version=version)


def round_label(item: object) -> str:
    """A round as people call it: its fiscal year and questionnaire (title and version),
    the year left out when the title already names it (令和3年度 情報セキュリティ…)."""
    label = questionnaire_label(item)
    year = _field(item, "fiscal_year", None)
    if year is None:
        return label
    era, western = fiscal_year_label(year, "ja").split(" ")[0], f"FY{year}"
    if era in label or western in label:
        return label
    return f"{fiscal_year_label(year, select_locale())} {label}"


def finding_title(code: str) -> str:
    """An audit item's title alone, in the chosen language ("" for an unknown code)."""
    return findings.title(code, select_locale())


def finding_label(code: str) -> str:
    """An audit item with its title in the chosen language: 意見17 情報セキュリティ…"""
    return findings.label(code, select_locale())


def content_disposition(name: str, fallback: str) -> str:
    """An attachment header with the Japanese name (RFC 5987) and an ASCII fallback;
    the fallback keeps only characters that need no quoting."""
    plain = UNSAFE_IN_FALLBACK.sub("_", fallback)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def signing_key() -> bytes:
    """The app's SECRET_KEY as bytes: it signs the files the app hands out to be filled
    in and brought back (the Excel form, the audit workpaper)."""
    return str(current_app.config["SECRET_KEY"]).encode("utf-8")


def chart_cache() -> charts.ChartCache:
    return charts.ChartCache(Path(current_app.instance_path) / "cache" / "charts")


def self_check_or_404(response_id: int) -> dict:
    """A 所属's self-check response the current user may see: 404 for an unknown id, a
    staff response or another 所属's."""
    response = response_store.get_response(get_db(), response_id)
    if response is None or response["audience"] != "department":
        abort(404)
    require_department(response["department_code"])
    return response


def mail_settings() -> MailSettings:
    return MailSettings.from_config(current_app.config)


def send_notices(notify: Callable, response_id: int) -> bool:
    """Mail the notices about a submission or a decision that just committed
    (`reminders.notify_submitted` or `notify_returned`); False when one could not be
    sent (it is logged, and the next scheduled run sends it). A broken mail setting
    never undoes what the user did."""
    try:
        report = notify(get_db(), response_id, mail_settings(),
                        reminders.Schedule.from_config(current_app.config))
    except Refusal:
        return False
    return not report.failed
