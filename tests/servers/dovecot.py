"""A throw-away Dovecot IMAP server on 127.0.0.1, for tests and the IMAP benchmark.

One server per test session (`imap_server`), listening twice: plain IMAP (with STARTTLS offered)
and implicit TLS, with a certificate signed by a CA made for this session, so tests verify the
certificate for real. Each test gets its own folder (`imap_folder`), created with IMAP CREATE.

Recipe and pitfalls: ../shared/notes/dovecot.md. The config lives in a fresh directory under /tmp
with mode 755, because as root the auth and mail processes run as `dovecot` and must traverse to
it (pytest's tmp_path is under a 0700 directory). Without the `dovecot` binary the fixtures skip
on a developer machine and fail under CI (CI=true).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

USER = "support"
PASSWORD = "secret"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class DovecotServer:
    root: Path
    port: int  # plain IMAP, STARTTLS offered
    tls_port: int  # implicit TLS
    ca_file: Path
    host: str = HOST
    user: str = USER
    password: str = PASSWORD

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's test CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, folder: str | None = None) -> MailBoxUnencrypted:
        """A second, independent connection (to APPEND, CREATE, DELETE as a sender would)."""
        box = MailBoxUnencrypted(self.host, self.port, timeout=10)
        return box.login(self.user, self.password, initial_folder=folder)

    def append(self, folder: str, *raws: bytes) -> list[int]:
        """APPEND each message; returns the UIDs the server gave them (APPENDUID)."""
        uids = []
        with self.client() as box:
            for raw in raws:
                _typ, data = box.append(raw, folder)
                uids.append(int(data[-1].split(b"]")[0].split()[-1]))
        return uids

    def create_folder(self, name: str) -> None:
        with self.client() as box:
            box.folder.create(name)

    def delete_folder(self, name: str) -> None:
        with self.client() as box:
            box.folder.delete(name)

    def stop(self) -> None:
        subprocess.run(
            ["doveadm", "-c", str(self.root / "dovecot.conf"), "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def dovecot_available() -> bool:
    return shutil.which("dovecot") is not None and shutil.which("doveadm") is not None


def start_dovecot(*, fsync: bool = False) -> DovecotServer:
    """Write a config into a fresh /tmp directory, start Dovecot, wait for both greetings.

    Under the suite's umask 077 (tests/conftest.py, as Deskline runs) Dovecot's unprivileged
    processes could read neither its config nor its users file: its files are made under 022."""
    previous = os.umask(0o022)
    try:
        return _start_dovecot(fsync=fsync)
    finally:
        os.umask(previous)


def _start_dovecot(*, fsync: bool) -> DovecotServer:
    root = Path(tempfile.mkdtemp(prefix="deskline-imap.", dir="/tmp"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail", "tls"):
        (root / sub).mkdir()
    ca_file = make_certificates(root / "tls")
    server = DovecotServer(root, free_port(), free_port(), ca_file)
    login_user, mail_user, mail_group = _users()
    if os.geteuid() == 0:
        shutil.chown(root / "mail", mail_user, mail_group)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (root / "dovecot.conf").write_text(
        _config(server, login_user, mail_user, mail_group, "optimized" if fsync else "never")
    )
    subprocess.run(
        ["dovecot", "-c", str(root / "dovecot.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    try:
        _wait_for_greeting(server.port, plain=True, root=root)
        _wait_for_greeting(server.tls_port, plain=False, root=root)
    except Exception:
        server.stop()
        raise
    return server


def _users() -> tuple[str, str, str]:
    """(login user, mail user, mail group): as root Dovecot insists on unprivileged ones."""
    if os.geteuid() == 0:
        return "dovenull", "dovecot", "dovecot"
    me = pwd.getpwuid(os.geteuid()).pw_name
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout
    return me, me, group.strip()


def _config(
    server: DovecotServer, login_user: str, mail_user: str, mail_group: str, fsync: str
) -> str:
    root = server.root
    return f"""# Throw-away Dovecot for Deskline tests: loopback only.
protocols = imap
listen = {HOST}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/tls/server.pem
ssl_key = <{root}/tls/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with a wrong password on purpose: no failure delay, no per-IP penalty after it.
auth_failure_delay = 0
default_internal_user = {mail_user}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 200
mail_fsync = {fsync}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {server.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {server.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _wait_for_greeting(port: int, *, plain: bool, root: Path) -> None:
    deadline = time.monotonic() + 10
    context = ssl.create_default_context(cafile=str(root / "tls" / "ca.pem"))
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=2) as sock:
                if plain:
                    if sock.recv(4) == b"* OK":
                        return
                else:
                    with context.wrap_socket(sock, server_hostname=HOST) as tls:
                        if tls.recv(4) == b"* OK":
                            return
        except OSError:
            pass
        time.sleep(0.05)
    log = root / "dovecot.log"
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"Dovecot did not answer on port {port}:\n{detail}")


def make_certificates(directory: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it (openssl CLI, EC keys).
    Returns the CA file clients must trust."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Deskline Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "server.ext").write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip
    for name in ("ca.pem", "server.pem"):
        (directory / name).chmod(0o644)
    return directory / "ca.pem"


# --- pytest fixtures -----------------------------------------------------------------------


def _no_dovecot(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Dovecot is required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def imap_server() -> Iterator[DovecotServer]:
    if not dovecot_available():
        _no_dovecot("dovecot not installed (apt-get install dovecot-imapd)")
    try:
        server = start_dovecot()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        _no_dovecot(f"could not start Dovecot: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_folder(imap_server: DovecotServer) -> Iterator[str]:
    """A fresh, empty folder for one test (the tests share one server)."""
    name = "t" + uuid.uuid4().hex[:12]
    imap_server.create_folder(name)
    yield name
    with contextlib.suppress(Exception):  # a test may have deleted it already
        imap_server.delete_folder(name)
