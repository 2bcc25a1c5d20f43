"""SMTP delivery for the outbox: a channel's settings, its secret resolved at send time."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from mail.secrets import SecretError, resolve
from mail.smtp import SmtpError, SmtpSettings, deliver
from storage.database import Database

DEFAULT_PORTS = {"implicit": 465, "starttls": 587, "none": 25}


def smtp_settings(channel: Any, ssl_context: ssl.SSLContext | None = None) -> SmtpSettings:
    """The channel's SMTP settings with its secret resolved (never stored in clear)."""
    if not channel.smtp_host:
        raise SmtpError("permanent", f"channel {channel.name} has no SMTP server configured")
    try:
        secret = resolve(channel.smtp_secret) if channel.smtp_secret else None
    except SecretError as exc:
        raise SmtpError("auth", f"channel {channel.name}: {exc}") from None
    return SmtpSettings(
        host=channel.smtp_host,
        port=channel.smtp_port or DEFAULT_PORTS.get(channel.smtp_tls, 587),
        tls=channel.smtp_tls,
        user=channel.smtp_user,
        auth=channel.auth,
        secret=secret,
        ssl_context=ssl_context,
    )


class SmtpTransport:
    """`automation.delivery.Transport` over each channel's own SMTP server."""

    def __init__(self, db: Database, ssl_context: ssl.SSLContext | None = None) -> None:
        self.db = db
        self.ssl_context = ssl_context

    async def __call__(
        self,
        channel_id: int,
        mail_from: str,
        rcpt_to: list[str],
        raw: bytes,
        before_data: Callable[[], Awaitable[None]],
    ) -> str:
        channel = await self.db.run(lambda repo: repo.channel_or_none(channel_id))
        if channel is None:
            raise SmtpError("permanent", f"channel {channel_id} no longer exists")
        settings = smtp_settings(channel, self.ssl_context)  # outside the transaction
        return await deliver(settings, mail_from, rcpt_to, raw, before_data)
