"""A blocking IMAP client for inbound mail, on imap-tools (issue 4 "Inbound", SPEC §6).

`Mailbox` connects, logs in (password or XOAUTH2), selects one folder and reports its
UIDVALIDITY; `fetch_after` takes the raw bytes of every message above a UID in one UID FETCH per
batch (BODY.PEEK, so nothing is marked seen), after one UID FETCH of their sizes when a size
limit is given: a message over the limit is never downloaded, only its size reported; `wait`
idles (RFC 2177) until the server announces new mail, or polls with NOOP where IDLE is missing.
Every failure becomes an `ImapError` whose `kind` says what went wrong in one word and whose
message says it in one line, for `deskline channel test` and the worker's log. Callers run it in
a thread: every method blocks.

imaplib gives no public way to run IDLE around our own wait, so `_idle` drives the command with
imaplib's `_command` / `_get_response`, the same internals imap-tools' IdleManager uses.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import re
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import (
    ImapToolsError,
    MailboxFolderSelectError,
    MailboxLoginError,
    MailboxStarttlsError,
    UnexpectedCommandStatusError,
)
from imap_tools.mailbox import BaseMailBox

from mail import secrets
from mail.sources import Fetched

TLS_MODES = ("implicit", "starttls", "none")
AUTH_MODES = ("password", "xoauth2")
KINDS = ("dns", "refused", "timeout", "tls", "auth", "folder", "network", "protocol")
MAX_IDLE_SECONDS = 29 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
SLICE = 0.25  # how often a wait looks at `interrupt()`
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_LOOPBACK_NAMES = ("localhost", "localhost.")


class ImapError(Exception):
    """An IMAP failure. `kind` is one of KINDS: dns, refused, timeout, tls (handshake or
    certificate), auth (login refused, or no secret to log in with), folder (cannot select it),
    network (the connection broke after it was made) or protocol (the server said something we
    cannot use). The message is one line, safe to print."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    tls: str  # implicit / starttls / none (none only for a loopback host)
    user: str
    folder: str
    auth: str  # password / xoauth2
    secret: str  # the resolved password or access token, never stored
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None  # None: the system's trusted CAs, verified
    idle: bool = True  # False: poll with NOOP even where the server offers IDLE
    poll_seconds: float = 60.0  # the polling interval where IDLE is missing

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ImapError("tls", f"unknown TLS mode {self.tls!r}: use implicit, starttls or none")
        if self.auth not in AUTH_MODES:
            raise ImapError("auth", f"unknown authentication {self.auth!r}: password or xoauth2")
        if self.tls == "none" and not is_loopback(self.host):
            raise ImapError(
                "tls",
                f"TLS 'none' is allowed only for a loopback host (127.0.0.1, ::1, localhost), "
                f"not {self.host}",
            )

    def __repr__(self) -> str:  # never show the secret in a log or traceback
        return (
            f"ImapSettings(host={self.host!r}, port={self.port}, tls={self.tls!r}, "
            f"user={self.user!r}, folder={self.folder!r}, auth={self.auth!r})"
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_port(tls: str) -> int:
    return 993 if tls == "implicit" else 143


@dataclass(frozen=True)
class ImapAccount:
    """A channel's IMAP settings as stored: the secret is a reference (mail.secrets)."""

    host: str
    port: int | None
    tls: str
    user: str
    folder: str
    auth: str
    secret_ref: str | None

    def settings(
        self, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> ImapSettings:
        """Resolve the secret now (an XOAUTH2 token command runs on every call: tokens expire)."""
        what = "access token" if self.auth == "xoauth2" else "password"
        if not self.secret_ref:
            raise ImapError("auth", f"no IMAP {what} is configured for {self.user or 'the user'}")
        try:
            secret = secrets.resolve(self.secret_ref, host=self.host)  # S8: allowed here
        except secrets.SecretError as exc:
            raise ImapError("auth", f"cannot get the IMAP {what}: {exc}") from None
        return ImapSettings(
            host=self.host,
            port=self.port or default_port(self.tls),
            tls=self.tls,
            user=self.user,
            folder=self.folder,
            auth=self.auth,
            secret=secret,
            timeout=timeout,
            ssl_context=ssl_context,
        )


def mailbox_factory(
    account: ImapAccount, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
) -> Callable[[], Mailbox]:
    """A factory for `automation.inbound`: each call resolves the secret and builds a Mailbox
    (call it in a thread: a `command:` secret runs a program)."""
    return lambda: Mailbox(account.settings(timeout=timeout, ssl_context=ssl_context))


class Mailbox:
    """One connection to one folder. Not thread-safe, except `interrupt()`."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.uidvalidity: int | None = None
        self._box: BaseMailBox | None = None
        self._can_idle = False
        self._interrupted = threading.Event()

    @property
    def folder(self) -> str:
        return self.settings.folder

    def open(self) -> int:
        """Connect, log in, select the folder; returns its UIDVALIDITY."""
        try:
            with self._mapped("connect"):
                self._box = self._connect()
            with self._mapped("login"):
                self._login(self._box)
            with self._mapped("select"):
                self.uidvalidity = self._select(self._box)
                self._can_idle = self.settings.idle and _offers_idle(self._box.client)
        except BaseException:
            self.close()
            raise
        return self.uidvalidity

    def fetch_after(
        self, last_uid: int, limit: int = 500, max_bytes: int | None = None
    ) -> list[Fetched]:
        """Up to `limit` messages with a UID above `last_uid`, ascending: one UID SEARCH and one
        UID FETCH of the bodies, whatever the count. With `max_bytes`, one UID FETCH of the sizes
        first, and a message over it comes back without its bytes (D11: never downloaded)."""
        client = self._client()
        with self._mapped("fetch"):
            self._take_news()  # whatever was announced so far, this SEARCH covers
            uids = _uids_after(client, last_uid)[:limit]
            if not uids:
                return []
            sizes = _sizes(client, uids) if max_bytes is not None else {}
            small = [u for u in uids if max_bytes is None or sizes.get(u, 0) <= max_bytes]
            bodies = _bodies(client, small) if small else {}
        found = [Fetched(uid, raw, sizes.get(uid, len(raw))) for uid, raw in bodies.items()]
        found += [Fetched(uid, None, size) for uid, size in sizes.items() if uid not in small]
        return sorted(found)

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` (at most 29 minutes) for the server to announce new mail: IDLE,
        or NOOP polling where IDLE is missing. True when something new was announced; returns
        early (False) once `interrupt()` was called."""
        seconds = max(0.0, min(seconds, MAX_IDLE_SECONDS))
        if self._take_news():
            return True  # announced during the last fetch, after its SEARCH
        if self._interrupted.is_set():
            return False
        with self._mapped("wait"):
            if self._can_idle:
                return self._idle(seconds)
            return self._poll(seconds)

    def interrupt(self) -> None:
        """Make a running `wait` return within a fraction of a second, and any later one at
        once (thread-safe; for shutting down)."""
        self._interrupted.set()

    def close(self) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        with contextlib.suppress(Exception):
            box.client.logout()
        with contextlib.suppress(Exception):
            box.client.shutdown()

    # --- connecting ---------------------------------------------------------------------

    def _connect(self) -> BaseMailBox:
        s = self.settings
        if s.tls == "implicit":
            return MailBox(s.host, s.port, timeout=s.timeout, ssl_context=self._context())
        if s.tls == "starttls":
            return MailBoxStartTls(s.host, s.port, timeout=s.timeout, ssl_context=self._context())
        return MailBoxUnencrypted(s.host, s.port, timeout=s.timeout)

    def _context(self) -> ssl.SSLContext:
        # imaplib's own default context does not verify certificates: never let it choose.
        return self.settings.ssl_context or ssl.create_default_context()

    def _login(self, box: BaseMailBox) -> None:
        s = self.settings
        with contextlib.suppress(OSError):
            box.client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if s.auth == "xoauth2":
            box.xoauth2(s.user, s.secret, initial_folder=None)
        elif s.user.isascii() and s.secret.isascii():
            box.login(s.user, s.secret, initial_folder=None)
        else:
            box.login_utf8(s.user, s.secret, initial_folder=None)

    def _select(self, box: BaseMailBox) -> int:
        box.folder.set(self.settings.folder)
        values = box.client.untagged_responses.get("UIDVALIDITY") or []
        if values and isinstance(values[-1], bytes):
            return int(values[-1])
        status = box.folder.status(self.settings.folder, ["UIDVALIDITY"])
        return int(status["UIDVALIDITY"])

    def _client(self) -> imaplib.IMAP4:
        if self._box is None:
            raise ImapError("network", f"not connected to {self.settings.where}")
        return self._box.client

    # --- waiting ------------------------------------------------------------------------

    def _take_news(self) -> bool:
        """Pop the EXISTS/RECENT announcements imaplib collected from any response."""
        if self._box is None:
            return False
        pending = self._box.client.untagged_responses
        pending.pop("RECENT", None)
        return bool(pending.pop("EXISTS", None))

    def _idle(self, seconds: float) -> bool:
        client = self._client()
        tag = client._command("IDLE")
        while client._get_response() is not None:  # untagged lines may precede "+ idling"
            if client.tagged_commands.get(tag) is not None:
                client.tagged_commands.pop(tag)
                self._can_idle = False  # refused after all: poll from now on
                return self._poll(seconds)
        # On an exception the connection is in an unknown state: the caller reconnects.
        news = self._idle_until(client, time.monotonic() + seconds)
        client.send(b"DONE\r\n")
        while client.tagged_commands.get(tag) is None:
            client._get_response()
        typ, data = client.tagged_commands.pop(tag) or ("BAD", [])
        if typ != "OK":
            raise ImapError("protocol", f"IDLE ended with {typ!r}: {_text(data)}")
        return news or self._take_news()

    def _idle_until(self, client: imaplib.IMAP4, deadline: float) -> bool:
        with selectors.DefaultSelector() as selector:
            selector.register(client.sock, selectors.EVENT_READ)
            while not self._interrupted.is_set():
                if self._take_news():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if _buffered(client) or selector.select(min(remaining, SLICE)):
                    client._get_response()  # one line; an announcement lands in untagged_responses
        return self._take_news()

    def _poll(self, seconds: float) -> bool:
        if self._interrupted.wait(min(seconds, self.settings.poll_seconds)):
            return False
        typ, data = self._client().noop()
        if typ != "OK":
            raise ImapError("protocol", f"NOOP failed: {_text(data)}")
        return self._take_news()

    # --- errors -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _mapped(self, stage: str) -> Iterator[None]:
        try:
            yield
        except ImapError:
            raise
        except Exception as exc:
            raise _translate(exc, stage, self.settings) from exc


def check(settings: ImapSettings) -> None:
    """Log in and select the folder (`deskline channel test`); raises ImapError saying what
    fails."""
    box = Mailbox(settings)
    try:
        box.open()
    finally:
        box.close()


# --- helpers ------------------------------------------------------------------------------


def _offers_idle(client: imaplib.IMAP4) -> bool:
    """Capabilities after login (the greeting's may be fewer)."""
    typ, data = client.capability()
    words = _text(data).upper().split() if typ == "OK" else []
    return "IDLE" in words or "IDLE" in client.capabilities


def _uids_after(client: imaplib.IMAP4, last_uid: int) -> list[int]:
    typ, data = client.uid("SEARCH", "UID", f"{last_uid + 1}:*")
    if typ != "OK":
        raise ImapError("protocol", f"UID SEARCH failed: {_text(data)}")
    found = b" ".join(d for d in data if isinstance(d, bytes)).split()
    # "n:*" also matches the highest UID when every UID is below n (RFC 3501 §6.4.8)
    return sorted(u for u in (int(x) for x in found) if u > last_uid)


def _sizes(client: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, int]:
    typ, data = client.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
    if typ != "OK":
        raise ImapError("protocol", f"UID FETCH of sizes failed: {data!r:.200}")
    wanted, sizes = set(uids), {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        uid = _UID.search(line) if isinstance(line, bytes) else None
        size = _SIZE.search(line) if isinstance(line, bytes) else None
        if uid and size and int(uid.group(1)) in wanted:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _bodies(client: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, bytes]:
    typ, data = client.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ImapError("protocol", f"UID FETCH failed: {data!r:.200}")
    wanted = set(uids)
    return {uid: raw for uid, raw in _fetched(data) if uid in wanted}


def _uid_set(uids: Sequence[int]) -> str:
    """1,2,3,7,8 -> "1:3,7:8" (sorted input)."""
    ranges: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid != prev + 1:
            ranges.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


def _fetched(data: Sequence[Any]) -> Iterator[tuple[int, bytes]]:
    """(uid, literal) pairs from imaplib's FETCH data; the UID may come after the literal."""
    orphan: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            head, body = item
            match = _UID.search(head)
            if match:
                yield int(match.group(1)), bytes(body)
                orphan = None
            else:
                orphan = bytes(body)
        elif isinstance(item, bytes) and orphan is not None:
            match = _UID.search(item)
            if match:
                yield int(match.group(1)), orphan
            orphan = None


def _buffered(client: imaplib.IMAP4) -> bool:
    """Is a response already read from the socket but not yet parsed? (selectors cannot see
    bytes sitting in imaplib's buffered reader or in the TLS layer)."""
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(client.file.peek(1))  # type: ignore[union-attr]
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)


def _text(data: Any) -> str:
    """Server text for a one-line message: decoded, printable only, bounded."""
    if isinstance(data, list | tuple):
        data = b" ".join(d if isinstance(d, bytes) else str(d).encode() for d in data if d)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return "".join(c if c.isprintable() else " " for c in text).strip()[:300]


def _server_said(exc: Exception) -> str:
    if isinstance(exc, UnexpectedCommandStatusError):
        return _text(exc.command_result[1])
    return _text(str(exc))


def _translate(exc: Exception, stage: str, s: ImapSettings) -> ImapError:
    where = s.where
    if isinstance(exc, socket.gaierror):
        return ImapError("dns", f"cannot resolve {s.host}: {exc.strerror or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return ImapError("refused", f"{where} refused the connection (nothing listens there?)")
    if isinstance(exc, TimeoutError):
        hint = (
            " (a plain connection to an implicit-TLS port looks like this: check the TLS mode)"
            if stage == "connect" and s.tls != "implicit"
            else ""
        )
        return ImapError("timeout", f"{where} did not answer within {s.timeout:g} s{hint}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return ImapError("tls", f"the TLS certificate of {where} is not trusted: {reason}")
    if isinstance(exc, ssl.SSLError):
        hint = " (the port does not speak TLS?)" if exc.reason == "WRONG_VERSION_NUMBER" else ""
        return ImapError("tls", f"TLS with {where} failed: {exc.reason or exc}{hint}")
    if isinstance(exc, MailboxStarttlsError) or (
        stage == "connect" and "STARTTLS" in str(exc).upper()
    ):
        return ImapError("tls", f"STARTTLS failed on {where}: {_server_said(exc)}")
    if isinstance(exc, imaplib.IMAP4.abort | ConnectionError | EOFError | OSError):
        return ImapError("network", f"the connection to {where} broke during {stage}: {exc}")
    if isinstance(exc, MailboxLoginError) or (
        stage == "login" and isinstance(exc, imaplib.IMAP4.error)
    ):
        return ImapError(
            "auth", f"{where} refused the login of {s.user} ({s.auth}): {_server_said(exc)}"
        )
    if isinstance(exc, MailboxFolderSelectError):
        return ImapError(
            "folder", f"cannot select the folder {s.folder!r} on {where}: {_server_said(exc)}"
        )
    if isinstance(exc, imaplib.IMAP4.error | ImapToolsError | ValueError):
        return ImapError("protocol", f"{where} during {stage}: {_server_said(exc)}")
    return ImapError("protocol", f"{where} during {stage}: {type(exc).__name__}: {exc}")
