"""A real OpenLDAP `slapd` on loopback for the directory-login tests (DESIGN.md §11).

    from tests.ldap_server import start_slapd, make_certificates, USERS

    certificates = make_certificates(folder)
    server = start_slapd(folder / "ldap", certificates.server)
    ... server.url (ldap://), server.ldaps_url (ldaps://), server.stop()

`make_certificates` makes a test CA (and a second, unrelated CA) with the `cryptography`
package and three server certificates for 127.0.0.1: valid, expired, and one from the
other CA. `start_slapd` writes a slapd.conf (mdb backend, memberof overlay, ACLs that
keep anonymous users out as Active Directory does), starts slapd in the foreground on
two free loopback ports (plain with StartTLS, and ldaps), waits until it answers, and
loads the tree below through the root DN, so the memberof overlay fills `memberOf`.

The tree (`SUFFIX`): the service account `SERVICE_DN`, the users of `USERS` with
their passwords, the groups of `GROUPS`, and under `ou=restricted` a group the service
account may not read (its members are found through their `memberOf` only).
"""

from __future__ import annotations

import datetime
import shutil
import socket
import subprocess  # nosec B404: starts slapd with a fixed argument list
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.serving import die_with_parent, free_port

SLAPD = Path("/usr/sbin/slapd")
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=pref,dc=example,dc=lg,dc=jp"
ROOT_DN = f"cn=root,{SUFFIX}"
ROOT_PASSWORD = "root-secret-for-tests"  # nosec B105: a throwaway test server
SERVICE_DN = f"uid=svc-survey,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"  # nosec B105
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS_OU = f"ou=groups,{SUFFIX}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS_OU}"


ADMINS = group_dn("survey-admins")
AUDITORS = group_dn("survey-auditors")
DEPARTMENTS = group_dn("survey-departments")
APPROVERS = group_dn("survey-approvers")
LIBRARY = group_dn("library-users")  # a group surveyapp does not map
HIDDEN_DEPARTMENTS = f"cn=hidden-departments,ou=restricted,{SUFFIX}"


@dataclass(frozen=True)
class Person:
    uid: str
    department: str = ""
    mail: str = ""
    display_name: str = ""
    ou: str = "people"

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou={self.ou},{SUFFIX}"

    @property
    def password(self) -> str:
        return f"{self.uid}-directory-pw"


USERS = {person.uid: person for person in (
    Person("yamada", mail="yamada@pref.example.lg.jp", display_name="山田 太郎"),
    Person("sato", mail="sato@pref.example.lg.jp", display_name="佐藤 花子"),
    Person("tanaka", "0101", "tanaka@pref.example.lg.jp", "田中 一郎"),
    Person("suzuki", "D-0102", "suzuki@pref.example.lg.jp", "鈴木 次郎"),
    Person("kato", "9999", "kato@pref.example.lg.jp"),
    Person("bureau", "01"),
    Person("ito", "0101", "ito@pref.example.lg.jp"),
    Person("both", "0101", "both@pref.example.lg.jp"),
    Person("star*user", "0101", "star@pref.example.lg.jp"),
    Person("hidden", "0102", "hidden@pref.example.lg.jp"),
    Person("mover", "0101", "mover@pref.example.lg.jp"),
)}
# Two entries with one login name, in two branches of the tree.
TWINS = (Person("twin", "0101"), Person("twin", "0102", ou="others"))
GROUPS = {
    ADMINS: ["yamada", "both"],
    AUDITORS: ["sato"],
    DEPARTMENTS: ["tanaka", "suzuki", "kato", "bureau", "both", "star*user", "twin",
                  "mover"],
    APPROVERS: ["tanaka"],
    LIBRARY: ["ito"],
    HIDDEN_DEPARTMENTS: ["hidden"],
}


# --- certificates ----------------------------------------------------------------------

@dataclass(frozen=True)
class KeyPair:
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Certificates:
    ca_file: Path            # the CA that signed `server` and `expired`
    other_ca_file: Path      # a CA that signed only `foreign`
    server: KeyPair          # valid now, for 127.0.0.1
    expired: KeyPair         # expired yesterday
    foreign: KeyPair         # valid, from the other CA


def make_certificates(folder: Path) -> Certificates:
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = make_ca("surveyapp test CA", folder / "ca.pem", now)
    other_key, other_cert = make_ca("some other CA", folder / "other-ca.pem", now)
    return Certificates(
        ca_file=folder / "ca.pem", other_ca_file=folder / "other-ca.pem",
        server=make_server_cert(folder, "server", ca_key, ca_cert,
                                now - datetime.timedelta(days=1),
                                now + datetime.timedelta(days=30)),
        expired=make_server_cert(folder, "expired", ca_key, ca_cert,
                                 now - datetime.timedelta(days=30),
                                 now - datetime.timedelta(days=1)),
        foreign=make_server_cert(folder, "foreign", other_key, other_cert,
                                 now - datetime.timedelta(days=1),
                                 now + datetime.timedelta(days=30)))


def make_ca(name: str, path: Path, now: datetime.datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    cert = (certificate_builder(subject, subject, key.public_key(),
                                now - datetime.timedelta(days=2),
                                now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False),
                critical=True)
            .sign(key, hashes_sha256()))
    write_pem(path, cert)
    return key, cert


def make_server_cert(folder: Path, name: str, ca_key, ca_cert, not_before, not_after) -> KeyPair:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (certificate_builder(subject, ca_cert.subject, key.public_key(), not_before,
                                not_after)
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes_sha256()))
    pair = KeyPair(folder / f"{name}.pem", folder / f"{name}.key")
    write_pem(pair.cert_file, cert)
    pair.key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    pair.key_file.chmod(0o600)
    return pair


def certificate_builder(subject, issuer, public_key, not_before, not_after):
    from cryptography import x509

    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after))


def hashes_sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def write_pem(path: Path, cert) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# --- the server ------------------------------------------------------------------------

@dataclass
class Slapd:
    folder: Path
    port: int
    ldaps_port: int
    process: subprocess.Popen
    log_path: Path = field(repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


SLAPD_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath {modules}
moduleload back_mdb
moduleload memberof
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
TLSCACertificateFile {ca_file}
TLSCertificateFile {cert_file}
TLSCertificateKeyFile {key_file}

database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {folder}/db
overlay memberof
access to attrs=userPassword
    by self =xw
    by anonymous auth
    by * none
access to dn.subtree="ou=restricted,{suffix}"
    by * none
access to *
    by users read
    by * none
"""


def start_slapd(folder: Path, ca_file: Path, pair: KeyPair, *, populate: bool = True,
                timeout: float = 20.0) -> Slapd:
    """slapd with a fresh database in `folder`, serving the test tree."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "db").mkdir(parents=True)
    (folder / "slapd.conf").write_text(SLAPD_CONF.format(
        schema=SCHEMA, modules=MODULES, folder=folder, ca_file=ca_file,
        cert_file=pair.cert_file, key_file=pair.key_file, suffix=SUFFIX,
        root_dn=ROOT_DN, root_password=ROOT_PASSWORD))
    port, ldaps_port = free_port(), free_port()
    log_path = folder / "slapd.log"
    urls = f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"
    with log_path.open("wb") as log:
        # -d 0: stay in the foreground (so the fixture owns the process), log nothing extra
        process = subprocess.Popen(  # nosec B603: fixed arguments
            [str(SLAPD), "-f", str(folder / "slapd.conf"), "-h", urls, "-d", "0"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    server = Slapd(folder, port, ldaps_port, process, log_path)
    try:
        wait_until_listening(server, timeout)
        if populate:
            load_tree(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_listening(server: Slapd, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"slapd exited with {server.process.returncode}:\n"
                               f"{server.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"slapd did not listen within {timeout} s:\n{server.log_text()}")


def load_tree(server: Slapd) -> None:
    from ldap3 import Connection, Server

    connection = Connection(Server(server.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True,
                            raise_exceptions=True)
    try:
        for dn, attributes in tree_entries():
            connection.add(dn, attributes=attributes)
    finally:
        connection.unbind()


def tree_entries() -> list[tuple[str, dict]]:
    """Containers, the service account, people, then groups (the memberof overlay
    writes each member's memberOf when a group is added)."""
    organisational = ["top", "organizationalUnit"]
    entries = [(SUFFIX, {"objectClass": ["top", "dcObject", "organization"],
                         "dc": "pref", "o": "テスト県"})]
    entries += [(f"ou={ou},{SUFFIX}", {"objectClass": organisational, "ou": ou})
                for ou in ("services", "people", "others", "groups", "restricted")]
    entries.append((SERVICE_DN, person_attributes(
        "svc-survey", SERVICE_PASSWORD, "", "", "surveyapp service account")))
    entries += [(person.dn, person_attributes(person.uid, person.password, person.department,
                                              person.mail, person.display_name))
                for person in (*USERS.values(), *TWINS)]
    members = {uid: [p.dn for p in (*USERS.values(), *TWINS) if p.uid == uid]
               for uid in {uid for uids in GROUPS.values() for uid in uids}}
    entries += [(dn, {"objectClass": ["top", "groupOfNames"], "cn": dn.split(",")[0][3:],
                      "member": [member for uid in uids for member in members[uid]]})
                for dn, uids in GROUPS.items()]
    return entries


def person_attributes(uid: str, password: str, department: str, mail: str,
                      display_name: str) -> dict:
    attributes = {"objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson"],
                  "uid": uid, "cn": display_name or uid, "sn": uid,
                  "userPassword": password}
    for name, value in (("departmentNumber", department), ("mail", mail),
                        ("displayName", display_name)):
        if value:
            attributes[name] = value
    return attributes


def directory_settings(url: str, ca_file: Path | None = None, **overrides) -> dict:
    """App settings (test_config keys) for the test tree at `url`."""
    settings = {
        "LDAP_URL": url,
        "LDAP_CA_FILE": str(ca_file or ""),
        "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LDAP_USER_BASE": SUFFIX,
        "LDAP_USER_FILTER": "(uid={login})",
        "LDAP_ROLE_GROUPS": f"admin={ADMINS};auditor={AUDITORS};department={DEPARTMENTS}",
        "LDAP_APPROVER_GROUP": APPROVERS,
        "LDAP_TIMEOUT": 2,
    }
    settings.update(overrides)
    return settings


def root_connection(server: Slapd):
    """A connection bound as the root DN, for a test that changes the tree (and must
    change it back: the server is shared by the session)."""
    from ldap3 import Connection, Server

    return Connection(Server(server.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True,
                      raise_exceptions=True)


def replace_values(server: Slapd, dn: str, attribute: str, values: list[str]) -> None:
    from ldap3 import MODIFY_REPLACE

    connection = root_connection(server)
    try:
        connection.modify(dn, {attribute: [(MODIFY_REPLACE, values)]})
    finally:
        connection.unbind()


def set_membership(server: Slapd, group: str, uid: str, member: bool) -> None:
    from ldap3 import MODIFY_ADD, MODIFY_DELETE

    connection = root_connection(server)
    try:
        connection.modify(group, {"member": [(MODIFY_ADD if member else MODIFY_DELETE,
                                              [USERS[uid].dn])]})
    finally:
        connection.unbind()
