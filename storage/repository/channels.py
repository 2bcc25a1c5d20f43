"""Channels, our own addresses and import failures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage import models as m
from storage.repository.base import RepositoryBase


class ChannelsMixin(RepositoryBase):
    """Channels, our own addresses, and mail an import could not store."""

    def own_addresses(self) -> frozenset[str]:
        if self._own is None:
            rows = self.session.scalars(
                select(m.Channel.address).where(m.Channel.address.is_not(None))
            )
            self._own = frozenset(a.lower() for a in rows if a)
        return self._own

    def channel(self, channel_id: int) -> m.Channel:
        return self.session.get_one(m.Channel, channel_id)

    def channel_or_none(self, channel_id: int) -> m.Channel | None:
        return self.session.get(m.Channel, channel_id)

    def channel_by_name(self, name: str) -> m.Channel | None:
        return self.session.scalar(select(m.Channel).where(m.Channel.name == name))

    def channels(self) -> list[m.Channel]:
        return list(self.session.scalars(select(m.Channel).order_by(m.Channel.id)))

    def add_channel(
        self,
        *,
        name: str,
        kind: str,
        address: str | None,
        pipeline_id: int,
        ticket_automation: bool,
    ) -> m.Channel:
        channel = m.Channel(
            name=name,
            kind=kind,
            address=address,
            pipeline_id=pipeline_id,
            ticket_automation=ticket_automation,
            created_at=self.now(),
        )
        self.session.add(channel)
        self.session.flush()
        self._own = None
        return channel

    def form_settings(self, channel_id: int) -> m.FormSettings | None:
        return self.session.get(m.FormSettings, channel_id)

    def set_form_settings(self, channel_id: int, **values: Any) -> m.FormSettings:
        """Change a form channel's web settings (origins, reply_channel_id), made if missing."""
        row = self.session.get(m.FormSettings, channel_id)
        if row is None:
            row = m.FormSettings(channel_id=channel_id, origins=[], reply_channel_id=None)
            self.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return row

    def reply_channel(self, channel: Any) -> m.Channel | None:
        """The email channel a form channel's mail goes out through (SPEC C2), if it names one."""
        if channel.kind != "form":
            return None
        row = self.session.get(m.FormSettings, channel.id)
        if row is None or row.reply_channel_id is None:
            return None
        return self.session.get(m.Channel, row.reply_channel_id)

    def add_import_failure(
        self, channel_id: int | None, source: str, reason: str, raw: bytes
    ) -> None:
        self.session.add(
            m.ImportFailure(
                channel_id=channel_id, source=source, reason=reason, raw=raw, created_at=self.now()
            )
        )

    def import_failure(self, failure_id: int) -> tuple[int | None, str, bytes] | None:
        row = self.session.get(m.ImportFailure, failure_id)
        return (row.channel_id, row.source, row.raw) if row is not None else None

    def delete_import_failure(self, failure_id: int) -> None:
        row = self.session.get(m.ImportFailure, failure_id)
        if row is not None:
            self.session.delete(row)
