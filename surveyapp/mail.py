"""Sending plain-text mail through the prefecture's relay with `smtplib` (DESIGN.md §10).

No database and no Flask: the reminder service composes `Mail`s and hands them to a
`Mailer`, which holds one SMTP connection for a batch. STARTTLS (certificate checked,
with `SMTP_CA_FILE` or the system's CAs) and login are used when configured.

Every message is UTF-8 plain text (Japanese subject and body, `Content-Transfer-
Encoding: 8bit` where the server offers 8BITMIME, base64 otherwise). The outcome of a
message is one of three kinds, so a caller records only what the server really took:

- `send` returns the refused recipients (empty when all were accepted): sent.
- `MailRefused`: the server answered and did not take the message (every recipient,
  the sender or the data refused). Nothing was sent; the next message may still go.
- `MailUnavailable`: no conversation with the server (down, unreachable, timed out,
  TLS or login failed, connection dropped). Nothing more can go in this batch.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit


class MailError(Exception):
    """A message that did not go out; `str()` is a one-line reason for the log."""


class MailRefused(MailError):
    """The server refused this message (its sender, every recipient, or its data)."""


class MailUnavailable(MailError):
    """The server cannot be reached or used; no message of the batch can go."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    starttls: bool = False
    ca_file: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    base_url: str = ""
    timeout: float = 10

    @classmethod
    def from_config(cls, config: Mapping) -> MailSettings:
        return cls(host=str(config.get("SMTP_HOST", "")).strip(),
                   port=int(config.get("SMTP_PORT", 25)),
                   starttls=bool(config.get("SMTP_STARTTLS", False)),
                   ca_file=str(config.get("SMTP_CA_FILE", "")),
                   username=str(config.get("SMTP_USERNAME", "")),
                   password=str(config.get("SMTP_PASSWORD", "")),
                   sender=str(config.get("MAIL_FROM", "")).strip(),
                   base_url=str(config.get("MAIL_BASE_URL", "")).strip().rstrip("/"),
                   timeout=float(config.get("SMTP_TIMEOUT", 10)))

    @property
    def enabled(self) -> bool:
        """SMTP_HOST set: mail is meant to go out."""
        return bool(self.host)

    def problems(self) -> list[str]:
        """What keeps an enabled configuration from sending (Japanese, one line each)."""
        found = []
        if "@" not in self.sender:
            found.append("MAIL_FROM（送信元アドレス）が設定されていません")
        if not self.base_url.startswith(("http://", "https://")):
            found.append("MAIL_BASE_URL（メール内のリンクの先頭、http:// か https:// で"
                         "始まるアドレス）が設定されていません")
        if self.password and not self.username:
            found.append("SMTP_PASSWORD があるのに SMTP_USERNAME が空です")
        return found

    @property
    def helo_name(self) -> str:
        """The name the tool gives itself in EHLO: the host of MAIL_BASE_URL. smtplib's
        default would look this machine's name up (a name-server query, and the
        machine's internal name in every mail's headers)."""
        return urlsplit(self.base_url).hostname or "localhost"

    def link(self, path: str) -> str:
        """An absolute link to a page of this tool, for a mail body."""
        return f"{self.base_url}{path}"


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    subject: str
    body: str


def compose(settings: MailSettings, mail: Mail) -> EmailMessage:
    """The message as it goes on the wire: UTF-8 plain text, one To header for all."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = settings.sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    # The domain of the sender, never this machine's name (closed network, DESIGN.md §11).
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(mail.body, charset="utf-8")
    return message


class Mailer:
    """One SMTP conversation for a batch of messages: `with Mailer(settings) as m:`.

    The connection is opened on the first `send`, so a batch with nothing to send never
    touches the network; after a `MailUnavailable` every further send raises it again.
    """

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.connection: smtplib.SMTP | None = None
        self.broken: MailUnavailable | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, mail: Mail) -> dict[str, str]:
        """Hand `mail` to the server; returns the recipients it refused (address ->
        reply) when it took the message for the others."""
        connection = self._connected()
        try:
            refused = connection.send_message(compose(self.settings, mail),
                                              to_addrs=list(mail.recipients))
        except smtplib.SMTPRecipientsRefused as error:
            raise MailRefused(f"宛先をすべて拒否されました: {_replies(error.recipients)}") \
                from error
        except smtplib.SMTPSenderRefused as error:
            raise MailRefused(f"送信元を拒否されました: {error.smtp_code} "
                              f"{_text(error.smtp_error)}") from error
        except smtplib.SMTPDataError as error:
            raise MailRefused(f"本文を拒否されました: {error.smtp_code} "
                              f"{_text(error.smtp_error)}") from error
        except smtplib.SMTPServerDisconnected as error:
            raise self._broken(f"メールサーバーとの接続が切れました: {error}") from error
        except smtplib.SMTPException as error:  # before OSError: it is one
            raise MailRefused(f"メールサーバーが受け付けませんでした: {error}") from error
        except OSError as error:  # timed out, reset
            raise self._broken(f"メールサーバーとの接続が切れました: {error}") from error
        return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}

    def _connected(self) -> smtplib.SMTP:
        if self.broken is not None:
            raise self.broken
        if self.connection is None:
            self.connection = self._connect()
        return self.connection

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        try:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout,
                                      local_hostname=settings.helo_name)
        except (OSError, smtplib.SMTPException) as error:
            raise self._broken(f"メールサーバー {where} に接続できません: {error}") from error
        try:
            self._greet(connection)
        except smtplib.SMTPAuthenticationError as error:
            connection.close()
            raise self._broken(f"メールサーバー {where} でログインできません: "
                               f"{error.smtp_code} {_text(error.smtp_error)}") from error
        except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
            connection.close()
            raise self._broken(f"メールサーバー {where} との接続を始められません: "
                               f"{error}") from error
        return connection

    def _greet(self, connection: smtplib.SMTP) -> None:
        connection.ehlo()
        if self.settings.starttls:
            connection.starttls(context=self._tls_context())
            connection.ehlo()
        if self.settings.username:
            connection.login(self.settings.username, self.settings.password)

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def _broken(self, reason: str) -> MailUnavailable:
        self.broken = MailUnavailable(reason)
        self.close()
        return self.broken

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (OSError, smtplib.SMTPException):
            self.connection.close()
        self.connection = None


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _replies(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address} {code} {_text(reply)}"
                     for address, (code, reply) in recipients.items())


def addresses(values: Sequence[str]) -> tuple[str, ...]:
    """Distinct non-empty addresses in their order (case-insensitively distinct)."""
    seen, kept = set(), []
    for value in values:
        address = (value or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return tuple(kept)
