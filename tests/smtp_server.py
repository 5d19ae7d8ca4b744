"""A real SMTP server on loopback for the mail tests (aiosmtpd, DESIGN.md §10).

    with smtp_server() as server:            # accepts everything
        ... server.port, server.messages (parsed email.message.EmailMessage)
    smtp_server(refuse_recipients={"x@example.lg.jp"})   # 550 for those addresses
    smtp_server(refuse_data=True)                        # 554 after DATA
    smtp_server(tls=certificates.server, login=("user", "pw"))   # STARTTLS + AUTH

`closed_port()` is a loopback port nothing listens on: a server that is down.
"""

from __future__ import annotations

import contextlib
import email
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.serving import free_port


@dataclass
class Recorder:
    """The handler: keeps each accepted message with its envelope."""

    refuse_recipients: frozenset[str] = frozenset()
    refuse_data: bool = False
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    greetings: list[str] = field(default_factory=list)  # the client's EHLO names
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return "554 5.7.1 message refused by policy"
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, tuple(envelope.rcpt_tos)))
            self.greetings.append(session.host_name)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder
    logins: list[str]

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.recorder.messages)

    @property
    def envelopes(self) -> list[tuple[str, tuple[str, ...]]]:
        return list(self.recorder.envelopes)

    def recipients(self) -> list[str]:
        return [address for _sender, rcpts in self.envelopes for address in rcpts]

    def settings(self, **overrides) -> dict:
        """The SMTP_* and MAIL_* settings that send through this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port,
                "MAIL_FROM": "jisyutenken@pref.example.lg.jp",
                "MAIL_BASE_URL": "https://survey.pref.example.lg.jp", "SMTP_TIMEOUT": 5,
                **overrides}


def body_of(message: EmailMessage) -> str:
    """The plain-text body with the wire's CRLF line ends as \\n."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


@contextlib.contextmanager
def smtp_server(*, refuse_recipients: set[str] | frozenset[str] = frozenset(),
                refuse_data: bool = False, tls=None,
                login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    recorder = Recorder(frozenset(a.lower() for a in refuse_recipients), refuse_data)
    logins: list[str] = []
    kwargs: dict = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        kwargs.update(tls_context=context, require_starttls=True)
    if login is not None:
        kwargs.update(authenticator=Authenticator(login, logins), auth_required=True,
                      auth_exclude_mechanism=["LOGIN"])  # PLAIN, as most relays offer
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer(port, recorder, logins)
    finally:
        controller.stop()


class Authenticator:
    """Accepts exactly one user name and password (LOGIN or PLAIN)."""

    def __init__(self, login: tuple[str, str], seen: list[str]) -> None:
        self.login = login
        self.seen = seen

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.seen.append(user)
        if (user, password) == self.login:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)  # 535 to the client


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    return free_port()
