"""Every setting of surveyapp, declared once with its default and help text.

Precedence, lowest first: these defaults, `instance/config.py`, environment variables
`SURVEYAPP_<NAME>`, then the `test_config` mapping handed to `create_app`. The
settings table (docs/operations.md) is checked against this list by a test.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE", "", "Path of the SQLite database; empty means "
            "`<instance>/surveyapp.sqlite3`."),
    Setting("QUESTIONNAIRES_DIR", "", "Folder holding `<id>/<version>.yaml` definition "
            "files; empty means the `questionnaires/` folder of the checkout."),
    Setting("ANONYMITY_MIN_RESPONSES", 5, "Staff results of a 所属 are shown and scored "
            "only when at least this many staff answered."),
    Setting("FOLLOWUP_THRESHOLD", 60.0, "A 所属 whose score on a finding is below this "
            "is put on that finding's follow-up list."),
    Setting("SESSION_IDLE_MINUTES", 30, "A logged-in session ends after this many "
            "minutes without a request."),
    Setting("LOGIN_LOCK_AFTER", 10, "Consecutive failed logins after which an account "
            "is locked until an admin unlocks it."),
    Setting("LOGIN_RATE_LIMIT", "5 per minute", "Login attempts allowed per address "
            "and login name (moving window)."),
    Setting("LOGIN_RATE_LIMIT_PER_ADDRESS", "30 per minute", "Login attempts allowed "
            "per address across all login names (moving window)."),
    Setting("STAFF_RATE_LIMIT", "120 per minute", "Requests allowed per staff link "
            "(moving window)."),
    Setting("RATELIMIT_STORAGE_URI", "", "Flask-Limiter storage; empty means the SQLite "
            "file `<instance>/ratelimits.sqlite3` (`sqlite:///<path>`), which all server "
            "processes share. `memory://` counts in each process on its own, so every "
            "limit is multiplied by `SERVER_PROCESSES`."),
    Setting("AUTOSAVE_SECONDS", 20, "How often the department form autosaves a draft "
            "in the browser."),
    Setting("MAX_CONTENT_LENGTH", 2 * 1024 * 1024, "Largest accepted request body in "
            "bytes (uploads included); larger requests get 413."),
    Setting("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, "Largest evidence attachment in "
            "bytes (each file); a larger one is refused with the rest of the form saved."),
    Setting("ATTACHMENT_REQUEST_MAX_BYTES", 50 * 1024 * 1024, "Largest total in bytes of "
            "the files one save of a self-check form may carry; such a request may be this "
            "much larger than `MAX_CONTENT_LENGTH` (a reverse proxy in front must accept "
            "the sum too)."),
    Setting("SESSION_COOKIE_SECURE", False, "Send the session cookie over HTTPS only; "
            "turn on behind a TLS reverse proxy."),
    Setting("PROXY_COUNT", 0, "Number of reverse proxies in front of the app whose "
            "`X-Forwarded-For/-Proto/-Host` headers are trusted; 0 ignores them (a "
            "client could otherwise fake its address to the rate limits)."),
    Setting("TIMEZONE", "Asia/Tokyo", "Time zone (an IANA name) in which every timestamp "
            "is shown and exported, and whose calendar day counts the days left to a "
            "deadline; CSV and JSON carry ISO 8601 with the offset (`+09:00`)."),
    Setting("BABEL_DEFAULT_LOCALE", "ja", "Language of the user interface when the "
            "user has not chosen one."),
    Setting("SERVER_PROCESSES", 2, "Server processes of `surveyapp serve`, each running "
            "waitress on the same port. One Python process computes on one core at a "
            "time (the GIL); more processes use more cores. Two suit a 2-core machine."),
    Setting("SERVER_THREADS", 8, "Worker threads of each waitress server process."),
    # Directory login (DESIGN.md §11); README "Directory login" explains each with examples.
    Setting("LDAP_URL", "", "Directory server for logging in, `ldap://host:389` or "
            "`ldaps://host:636`; empty turns directory login off (local accounts only)."),
    Setting("LDAP_STARTTLS", False, "Upgrade an `ldap://` connection with StartTLS before "
            "anything is sent (the certificate is checked as for `ldaps://`)."),
    Setting("LDAP_CA_FILE", "", "PEM file of the CA that issued the directory server's "
            "certificate; empty uses the system's trusted CAs (on Windows those of the "
            "Windows certificate store, where a domain's enterprise CA usually is)."),
    Setting("LDAP_BIND_DN", "", "DN (or, for Active Directory, `user@domain`) of the "
            "service account that searches the directory; empty searches anonymously."),
    Setting("LDAP_BIND_PASSWORD", "", "Password of the service account (keep "
            "`instance/config.py` readable by the service user only)."),
    Setting("LDAP_USER_BASE", "", "Where users are searched, with its whole subtree, e.g. "
            "`OU=職員,DC=pref,DC=example,DC=lg,DC=jp`."),
    Setting("LDAP_USER_FILTER", "(uid={login})", "Filter that finds one user; `{login}` "
            "is replaced by the typed login name, escaped (RFC 4515). Active Directory: "
            "`(&(objectCategory=person)(sAMAccountName={login}))`."),
    Setting("LDAP_DEPARTMENT_ATTRIBUTE", "departmentNumber", "Attribute holding the "
            "user's 所属 code (or the directory's code, see `LDAP_DEPARTMENT_MAP_FILE`)."),
    Setting("LDAP_DEPARTMENT_MAP_FILE", "", "Optional CSV `directory_code,department_code` "
            "(a header line first) for when the directory's department codes differ from "
            "the 所属 codes; a code it does not list is used as it is."),
    Setting("LDAP_EMAIL_ATTRIBUTE", "mail", "Attribute holding the user's email address."),
    Setting("LDAP_NAME_ATTRIBUTE", "displayName", "Attribute holding the name shown in the "
            "user list; empty keeps the name an admin typed."),
    Setting("LDAP_ROLE_GROUPS", "", "Groups that grant a role: `admin=<group DN>;"
            "auditor=<group DN>;department=<group DN>`. The first group the user is in, in "
            "that order, decides; a user in none of them cannot log in."),
    Setting("LDAP_APPROVER_GROUP", "", "Group DN whose department users get the approver "
            "flag (所属長 or 代理); empty gives it to nobody through the directory."),
    Setting("LDAP_TIMEOUT", 5, "Seconds to wait for the directory to connect and to answer "
            "each request (whole seconds) before the login is refused as unreachable."),
    Setting("TRUSTED_USER_HEADER", "", "Single sign-on: the request header in which the web "
            "server in front (IIS or Apache doing Windows integrated authentication) passes "
            "the user name, e.g. `X-Remote-User`. Honoured only when `PROXY_COUNT` is at "
            "least 1 and the request comes from `TRUSTED_PROXY_ADDRESSES`; empty turns it "
            "off."),
    Setting("TRUSTED_PROXY_ADDRESSES", "127.0.0.1 ::1", "Addresses (space or comma "
            "separated) of the web servers in front whose `TRUSTED_USER_HEADER` is believed."),
    # Approval, deadlines and mail (DESIGN.md §10); docs/operations.md "Mail" explains them.
    Setting("ALLOW_SELF_APPROVAL", False, "Let an approver approve or return a submission "
            "they made themselves (a 所属 where the 所属長 also answers); off by default."),
    Setting("SMTP_HOST", "", "Mail server (relay) that takes the reminders and notices, "
            "e.g. `smtp.pref.example.lg.jp`; empty sends no mail."),
    Setting("SMTP_PORT", 25, "Port of the mail server (25, or 587 for submission with "
            "STARTTLS and login)."),
    Setting("SMTP_STARTTLS", False, "Upgrade the connection with STARTTLS before logging in "
            "or sending; the server's certificate is checked."),
    Setting("SMTP_CA_FILE", "", "PEM file of the CA that issued the mail server's "
            "certificate (with `SMTP_STARTTLS`); empty uses the system's trusted CAs."),
    Setting("SMTP_USERNAME", "", "Login at the mail server; empty sends without logging in "
            "(a relay that trusts the server's address)."),
    Setting("SMTP_PASSWORD", "", "Password for `SMTP_USERNAME` (keep `instance/config.py` "
            "readable by the service user only)."),
    Setting("SMTP_TIMEOUT", 10, "Seconds to wait for the mail server to connect and to "
            "answer each command before the message is reported as not sent."),
    Setting("MAIL_FROM", "", "Sender address of every mail, e.g. `jisyutenken@pref.example."
            "lg.jp`; required when `SMTP_HOST` is set."),
    Setting("MAIL_BASE_URL", "", "Address of this tool as staff open it, for the links in "
            "mails, e.g. `https://survey.pref.example.lg.jp`; required when `SMTP_HOST` is "
            "set. Its host name is also the name the tool gives the mail server (EHLO)."),
    Setting("REMINDER_DAYS_BEFORE_CLOSE", "14,7,1", "Days before a 所属's deadline on which "
            "`surveyapp reminders send` reminds it (comma separated); after the deadline it "
            "reminds every weekday."),
)

DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def env_overrides(environ: os._Environ | dict) -> dict:
    """`SURVEYAPP_<NAME>` variables, converted to the type of the setting's default."""
    overrides = {}
    for setting in SETTINGS:
        raw = environ.get(f"SURVEYAPP_{setting.name}")
        if raw is not None:
            overrides[setting.name] = coerce_setting(setting, raw)
    return overrides


def coerce_setting(setting: Setting, raw: str) -> object:
    default = setting.default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_secret_key(instance_path: str | Path) -> str:
    """Read `instance/secret_key`, creating it (mode 600) on first use."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def default_questionnaires_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "questionnaires"
