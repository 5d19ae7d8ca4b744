"""The Japanese plain-text mails of DESIGN.md §10: what each one says.

Every mail names the 所属, the round, the deadline, the status and a link into the tool
(`MAIL_BASE_URL` + one of the paths below: the web layer's URLs, checked against the
app's URL map by tests/test_reminders.py). Japanese only: the mails go to the
prefecture's staff, whose working language it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from surveyapp.mail import Mail, MailSettings
from surveyapp.model import fiscal_year_label
from surveyapp.readmodels.approval_states import STATUS_TEXT

FORM_PATH = "/rounds/{round_id}/self-check/{code}"
RESPONSE_PATH = "/responses/{response_id}"
WEEKDAYS = "月火水木金土日"
SIGNATURE = ("このメールは情報セキュリティ自己点検ツールから自動で送信しています。\n"
             "このメールには返信できません。お問い合わせは情報企画課までお願いします。\n")


@dataclass(frozen=True)
class Context:
    """What every mail about one 所属 in one round names."""

    round_id: int
    round_label: str           # 令和8年度 (2026) 情報セキュリティ自己点検
    approval_required: bool
    code: str
    unit_name: str
    closes_on: date | None
    extended: bool
    status: str                # approvals.STATUSES
    today: date


def day_text(day: date | None) -> str:
    if day is None:
        return "（締切日の設定なし）"
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def round_label(fiscal_year: int, title: str) -> str:
    return f"{fiscal_year_label(fiscal_year)} {title}".strip()


def deadline_text(context: Context) -> str:
    text = day_text(context.closes_on)
    if context.extended:
        text += "［延長後の期限］"
    if context.closes_on is None:
        return text
    left = (context.closes_on - context.today).days
    if left > 0:
        return f"{text}　あと{left}日"
    return f"{text}　本日が期限です" if left == 0 else f"{text}　期限を{-left}日過ぎています"


def facts(context: Context) -> str:
    return (f"　所属　　　: {context.unit_name}（{context.code}）\n"
            f"　調査回　　: {context.round_label}\n"
            f"　提出期限　: {deadline_text(context)}\n"
            f"　現在の状態: {STATUS_TEXT.get(context.status, context.status)}\n")


def form_link(settings: MailSettings, context: Context) -> str:
    return settings.link(FORM_PATH.format(round_id=context.round_id, code=context.code))


def reminder(settings: MailSettings, context: Context, recipients: tuple[str, ...],
             overdue: bool) -> Mail:
    """To the 所属's users: not yet submitted, the deadline is near or has passed."""
    if overdue:
        subject = f"【自己点検】提出期限を過ぎています（{context.unit_name}）"
        lead = ("提出期限を過ぎましたが、まだ提出が確認できていません。\n"
                "至急、回答して提出してください。")
    else:
        subject = (f"【自己点検】提出期限のお知らせ（{context.unit_name}、"
                   f"期限 {day_text(context.closes_on)}）")
        lead = "提出期限が近づいています。期限までに回答して提出してください。"
    approval = ("提出した後、所属長（承認者）の承認を受けるまでが期限内の手続きです。\n"
                if context.approval_required else "")
    body = (f"{context.unit_name} 情報セキュリティ自己点検ご担当者様\n\n"
            f"{context.round_label}について、{lead}\n\n{facts(context)}\n"
            f"回答と提出はこちらから:\n{form_link(settings, context)}\n\n"
            f"{approval}{SIGNATURE}")
    return Mail(recipients, subject, body)


def approval_waiting(settings: MailSettings, context: Context, recipients: tuple[str, ...],
                     addressee: str, response_id: int, submitter: str,
                     submitted_at: str) -> Mail:
    """To an approver of the 所属: a submission waits for their decision."""
    link = settings.link(RESPONSE_PATH.format(response_id=response_id))
    body = (f"{addressee} 様\n\n"
            f"{context.unit_name}の自己点検が提出され、承認を待っています。\n"
            f"内容を確認し、承認するか、理由を添えて差し戻してください。\n\n"
            f"{facts(context)}"
            f"　提出した人: {submitter}（{submitted_at}）\n\n"
            f"確認と承認・差戻しはこちらから:\n{link}\n\n{SIGNATURE}")
    return Mail(recipients, f"【自己点検】承認をお願いします（{context.unit_name}）", body)


def returned(settings: MailSettings, context: Context, recipients: tuple[str, ...],
             addressee: str, approver: str, decided_at: str, comment: str) -> Mail:
    """To the submitter: the approver sent the submission back with a comment."""
    quoted = "\n".join(f"　　{line}" for line in comment.splitlines() or [""])
    body = (f"{addressee} 様\n\n"
            f"提出された自己点検が、承認者により差し戻されました。\n"
            f"コメントを確認して回答を修正し、もう一度提出してください。\n\n"
            f"{facts(context)}"
            f"　差し戻した人: {approver}（{decided_at}）\n"
            f"　コメント:\n{quoted}\n\n"
            f"修正と再提出はこちらから:\n{form_link(settings, context)}\n\n{SIGNATURE}")
    return Mail(recipients, f"【自己点検】差戻しのお知らせ（{context.unit_name}）", body)
