"""surveyapp/mail.py against a real SMTP server on loopback (aiosmtpd): what arrives, a
server that refuses, one that is down, STARTTLS with a checked certificate, and login."""

from __future__ import annotations

import pytest

from surveyapp.mail import Mail, Mailer, MailRefused, MailSettings, MailUnavailable, addresses
from tests.ldap_server import make_certificates
from tests.smtp_server import body_of, closed_port, smtp_server

JAPANESE_SUBJECT = "【自己点検】提出期限のお知らせ（総務課、期限 2026年7月31日（金））"
JAPANESE_BODY = "総務課 情報セキュリティ自己点検ご担当者様\n\n提出期限が近づいています。\n"


def settings_for(server_or_port, **overrides) -> MailSettings:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    return MailSettings(host="127.0.0.1", port=port, sender="jisyutenken@pref.example.lg.jp",
                        base_url="https://survey.pref.example.lg.jp", timeout=5, **overrides)


def a_mail(*recipients: str) -> Mail:
    return Mail(recipients or ("soumu@example.lg.jp",), JAPANESE_SUBJECT, JAPANESE_BODY)


def test_a_mail_arrives_as_japanese_plain_text_in_utf8():
    with smtp_server() as server, Mailer(settings_for(server)) as mailer:
        assert mailer.send(a_mail("soumu@example.lg.jp", "kacho@example.lg.jp")) == {}
    [message] = server.messages
    assert message["Subject"] == JAPANESE_SUBJECT
    assert body_of(message) == JAPANESE_BODY
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["From"] == "jisyutenken@pref.example.lg.jp"
    assert server.envelopes == [("jisyutenken@pref.example.lg.jp",
                                 ("soumu@example.lg.jp", "kacho@example.lg.jp"))]


def test_the_message_id_names_the_senders_domain_and_not_this_machine():
    with smtp_server() as server, Mailer(settings_for(server)) as mailer:
        mailer.send(a_mail())
    assert server.messages[0]["Message-ID"].endswith("@pref.example.lg.jp>")
    assert server.messages[0]["Auto-Submitted"] == "auto-generated"


def test_one_connection_carries_a_batch():
    with smtp_server() as server, Mailer(settings_for(server)) as mailer:
        for n in range(3):
            mailer.send(a_mail(f"user{n}@example.lg.jp"))
        assert mailer.connection is not None
    assert len(server.messages) == 3


def test_a_batch_with_nothing_to_send_never_connects():
    with Mailer(settings_for(closed_port())) as mailer:
        assert mailer.connection is None


def test_a_server_that_refuses_every_recipient_raises_refused():
    with smtp_server(refuse_recipients={"gone@example.lg.jp"}) as server, \
            Mailer(settings_for(server)) as mailer:
        with pytest.raises(MailRefused, match=r"gone@example\.lg\.jp 550"):
            mailer.send(a_mail("gone@example.lg.jp"))
        mailer.send(a_mail("soumu@example.lg.jp"))  # the next message still goes
    assert server.recipients() == ["soumu@example.lg.jp"]


def test_a_partly_refused_message_goes_to_the_others_and_names_the_refused():
    with smtp_server(refuse_recipients={"gone@example.lg.jp"}) as server, \
            Mailer(settings_for(server)) as mailer:
        refused = mailer.send(a_mail("soumu@example.lg.jp", "gone@example.lg.jp"))
    assert list(refused) == ["gone@example.lg.jp"] and "550" in refused["gone@example.lg.jp"]
    assert server.recipients() == ["soumu@example.lg.jp"]


def test_a_server_that_refuses_the_data_raises_refused():
    with smtp_server(refuse_data=True) as server, Mailer(settings_for(server)) as mailer, \
            pytest.raises(MailRefused, match="554"):
        mailer.send(a_mail())
    assert server.messages == []


def test_a_server_that_is_down_makes_the_batch_unavailable():
    with Mailer(settings_for(closed_port())) as mailer:
        with pytest.raises(MailUnavailable, match="接続できません"):
            mailer.send(a_mail())
        with pytest.raises(MailUnavailable):  # no second attempt within the batch
            mailer.send(a_mail())


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and server certificates for 127.0.0.1 (valid, and one from another CA);
    made with `cryptography` alone, so no directory server is needed."""
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


def test_starttls_with_the_ca_and_login_sends(certificates):
    with smtp_server(tls=certificates.server, login=("relay", "relay-secret")) as server:
        settings = settings_for(server, starttls=True, ca_file=str(certificates.ca_file),
                                username="relay", password="relay-secret")
        with Mailer(settings) as mailer:
            mailer.send(a_mail())
    assert len(server.messages) == 1 and server.logins == ["relay"]


def test_starttls_refuses_a_certificate_from_another_ca(certificates):
    with smtp_server(tls=certificates.foreign) as server:
        settings = settings_for(server, starttls=True, ca_file=str(certificates.ca_file))
        with Mailer(settings) as mailer, pytest.raises(MailUnavailable, match="始められません"):
            mailer.send(a_mail())
    assert server.messages == []


def test_a_wrong_password_makes_the_batch_unavailable(certificates):
    with smtp_server(tls=certificates.server, login=("relay", "relay-secret")) as server:
        settings = settings_for(server, starttls=True, ca_file=str(certificates.ca_file),
                                username="relay", password="wrong")
        with Mailer(settings) as mailer, pytest.raises(MailUnavailable, match="ログイン"):
            mailer.send(a_mail())
    assert server.messages == []


def test_a_server_that_demands_starttls_refuses_plain_mail(certificates):
    with smtp_server(tls=certificates.server) as server, \
            Mailer(settings_for(server)) as mailer, pytest.raises(MailRefused):
        mailer.send(a_mail())


def test_settings_come_from_the_config_and_name_what_is_missing():
    settings = MailSettings.from_config({"SMTP_HOST": " smtp.example.lg.jp ", "SMTP_PORT": 587,
                                         "MAIL_BASE_URL": "https://x.example.lg.jp/"})
    assert settings.enabled and settings.port == 587
    assert settings.link("/responses/5") == "https://x.example.lg.jp/responses/5"
    assert any("MAIL_FROM" in problem for problem in settings.problems())
    assert not MailSettings.from_config({}).enabled


def test_the_password_is_not_shown_in_the_settings_repr():
    assert "secret" not in repr(MailSettings("h", password="secret"))


def test_addresses_are_distinct_and_non_empty():
    assert addresses(["a@x.jp", "", "A@x.jp", " b@x.jp "]) == ("a@x.jp", "b@x.jp")


def test_the_tool_greets_with_the_host_of_its_base_url():
    # smtplib's default name would look this machine's name up (a name-server query)
    with smtp_server() as server, Mailer(settings_for(server)) as mailer:
        mailer.send(a_mail())
    assert server.recorder.greetings == ["survey.pref.example.lg.jp"]
