"""SMTP delivery for the outbox over each channel's own server."""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mail.smtp import SmtpError, deliver
from runtime.mail_settings import smtp_settings
from storage import queries
from storage.database import Database

CHANNEL_TTL = 30.0  # seconds a channel's settings are kept before they are read again


@dataclass(frozen=True)
class _ChannelMail:
    """What sending needs of a channel, detached from any session."""

    name: str
    smtp_host: str | None
    smtp_port: int | None
    smtp_tls: str
    smtp_user: str | None
    smtp_secret: str | None
    auth: str


class SmtpTransport:
    """`automation.delivery.Transport`: keeps each channel's settings for `CHANNEL_TTL` seconds
    (a burst of mail reads its channel once); a failed send reads them again next time, so a
    fixed password or server is picked up at once. The secret is resolved for every connection."""

    def __init__(self, db: Database, ssl_context: ssl.SSLContext | None = None) -> None:
        self.db = db
        self.ssl_context = ssl_context
        self._channels: dict[int, tuple[float, _ChannelMail]] = {}

    async def __call__(
        self,
        channel_id: int,
        mail_from: str,
        rcpt_to: list[str],
        raw: bytes,
        before_data: Callable[[], Awaitable[None]],
    ) -> str:
        channel = await self._channel(channel_id)
        try:
            settings = smtp_settings(channel, self.ssl_context)  # outside any transaction
            return await deliver(settings, mail_from, rcpt_to, raw, before_data)
        except SmtpError:
            self._channels.pop(channel_id, None)
            raise

    async def _channel(self, channel_id: int) -> _ChannelMail:
        kept = self._channels.get(channel_id)
        if kept is not None and time.monotonic() - kept[0] < CHANNEL_TTL:
            return kept[1]
        found = await self.db.query(lambda session: queries.channel_smtp(session, channel_id))
        if found is None:
            self._channels.pop(channel_id, None)
            raise SmtpError("permanent", f"channel {channel_id} no longer exists")
        row = _ChannelMail(**found)
        self._channels[channel_id] = (time.monotonic(), row)
        return row
