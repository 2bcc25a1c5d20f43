"""SMTP out with aiosmtplib: one delivery, with every failure sorted into temporary or permanent.

A delivery is split at the DATA command so the caller can record "handed over" just before the
one step after which the server may have accepted the message (see `automation/delivery.py`).
"""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosmtplib

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # implicit / starttls / none (none: loopback only)
    user: str | None
    auth: str  # password / xoauth2
    secret: str | None  # the resolved password or access token
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None


class SmtpError(Exception):
    """`kind`: temporary, permanent, dns, refused, timeout, tls, auth. `code`: the SMTP reply code
    when the server gave one. Only `permanent` (5xx) and `auth` should stop retries."""

    def __init__(self, kind: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code

    @property
    def retryable(self) -> bool:
        return self.kind not in ("permanent", "auth")


def _client(settings: SmtpSettings) -> aiosmtplib.SMTP:
    if settings.tls not in ("implicit", "starttls", "none"):
        raise SmtpError("tls", f"unknown TLS mode {settings.tls!r}")
    if settings.tls == "none" and settings.host not in LOOPBACK:
        raise SmtpError("tls", "SMTP without TLS is allowed only to a loopback server")
    return aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.tls == "implicit",
        start_tls=settings.tls == "starttls",
        tls_context=settings.ssl_context,
        timeout=settings.timeout,
    )


async def _login(client: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
    if not settings.user:
        return
    if settings.auth == "xoauth2":
        token = f"user={settings.user}\x01auth=Bearer {settings.secret or ''}\x01\x01"
        encoded = base64.b64encode(token.encode()).decode()
        response = await client.execute_command(b"AUTH", b"XOAUTH2", encoded.encode())
        if response.code != 235:
            raise SmtpError("auth", f"XOAUTH2 refused: {response.code} {response.message}")
        return
    await client.login(settings.user, settings.secret or "")


async def deliver(
    settings: SmtpSettings,
    mail_from: str,
    rcpt_to: list[str],
    raw: bytes,
    before_data: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Send one message; returns the server's final reply. `before_data` runs after every
    recipient was accepted and before DATA: from there on the server may take the message."""
    try:
        client = _client(settings)
        async with client:
            await _login(client, settings)
            await client.mail(mail_from)
            for rcpt in rcpt_to:
                await client.rcpt(rcpt)
            if before_data is not None:
                await before_data()
            response = await client.data(raw)
            return f"{response.code} {response.message}"
    except SmtpError:
        raise
    except Exception as exc:
        raise classify(exc) from exc


async def check(settings: SmtpSettings) -> None:
    """Connect, negotiate TLS and log in; raise SmtpError saying precisely what failed."""
    try:
        async with _client(settings) as client:
            await _login(client, settings)
    except SmtpError:
        raise
    except Exception as exc:
        raise classify(exc) from exc


def classify(exc: BaseException) -> SmtpError:
    """Sort a failure: 5xx permanent, 4xx and network trouble temporary (retry later)."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SmtpError("auth", f"authentication failed: {exc.code} {exc.message}", exc.code)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        kind = "permanent" if codes and all(500 <= c < 600 for c in codes) else "temporary"
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return SmtpError(kind, f"recipient refused: {detail}", codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        kind = "permanent" if 500 <= exc.code < 600 else "temporary"
        return SmtpError(kind, f"server said {exc.code} {exc.message}", exc.code)
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return SmtpError("dns", f"cannot resolve the SMTP host: {cause.strerror or cause}")
        if isinstance(cause, ConnectionRefusedError):
            return SmtpError("refused", "the SMTP server refused the connection")
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return SmtpError("tls", f"TLS failed: {cause}")
        if isinstance(cause, TimeoutError):
            return SmtpError("timeout", "the SMTP server did not answer in time")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return SmtpError("timeout", "the SMTP server did not answer in time")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return SmtpError("refused", f"cannot connect to the SMTP server: {exc}")
    return SmtpError("temporary", f"{type(exc).__name__}: {exc}")


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
