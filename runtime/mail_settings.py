"""A channel's mail settings, built in one place: IMAP (inbound) and SMTP (outbound).

Secrets stay references in the database (mail.secrets); they are resolved when a connection is
made, never stored in clear.
"""

from __future__ import annotations

import ssl
from typing import Any

from mail.imap import ImapAccount
from mail.secrets import SecretError, check_allowed, resolve
from mail.smtp import SmtpError, SmtpSettings

SMTP_PORTS = {"implicit": 465, "starttls": 587, "none": 25}


def imap_account(channel: Any) -> ImapAccount | None:
    """The channel's IMAP account (secret by reference); None without an IMAP server."""
    if channel.kind != "email" or not channel.imap_host:
        return None
    return ImapAccount(
        host=channel.imap_host,
        port=channel.imap_port,
        tls=channel.imap_tls,
        user=channel.imap_user or "",
        folder=channel.imap_folder or "INBOX",
        auth=channel.auth,
        secret_ref=channel.imap_secret,
    )


def refused_secrets(channel: Any) -> str | None:
    """Why this channel may not use its secrets on this machine (S8), or None: the first
    reference the host-local allow-list does not allow for its host."""
    pairs = [(channel.imap_secret, channel.imap_host), (channel.smtp_secret, channel.smtp_host)]
    for reference, host in pairs:
        if reference and host:
            try:
                check_allowed(reference, host)
            except SecretError as exc:
                return str(exc)
    return None


def smtp_settings(channel: Any, ssl_context: ssl.SSLContext | None = None) -> SmtpSettings:
    """The channel's SMTP settings with its secret resolved now (tokens expire)."""
    if not channel.smtp_host:
        raise SmtpError("permanent", f"channel {channel.name} has no SMTP server configured")
    try:
        secret = (  # S8: the reference must be allowed for this host on this machine
            resolve(channel.smtp_secret, host=channel.smtp_host) if channel.smtp_secret else None
        )
    except SecretError as exc:
        raise SmtpError("auth", f"channel {channel.name}: {exc}") from None
    return SmtpSettings(
        host=channel.smtp_host,
        port=channel.smtp_port or SMTP_PORTS.get(channel.smtp_tls, 587),
        tls=channel.smtp_tls,
        user=channel.smtp_user,
        auth=channel.auth,
        secret=secret,
        ssl_context=ssl_context,
    )
