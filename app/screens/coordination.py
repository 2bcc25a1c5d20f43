"""What the app does every few seconds for coordination: the session's heartbeat (what it
shows, whether a reply is being written; SPEC D22), who else is on the same ticket or
conversation, the unread notifications badge, and the bell on a new notification.

Presence is bookkeeping: a row per session, beaten every HEARTBEAT seconds, read as gone
PRESENCE_GONE_AFTER after its last beat; a beat that finds the database busy is skipped; no
domain event, no timeline line.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from textual.app import App
from textual.css.query import NoMatches
from textual.screen import Screen

from app.backend import Backend
from app.screens.base import DeskScreen
from app.screens.compose import ComposeScreen
from app.screens.notifications import bell_setting
from storage import coordination_views
from storage.database import DatabaseError

HEARTBEAT = 5.0  # seconds between beats while nothing changes
CHECK_EVERY = 1.0  # seconds between reads of the badge and of who else is here


@dataclass(frozen=True)
class Subject:
    """What the session has in front of it."""

    ticket: int | None = None
    conversation: int | None = None
    replying_since: datetime | None = None


def presence_text(others: list[dict[str, Any]], now: datetime) -> str:
    """ "alice is replying, 2 min · bob is viewing", or "" when nobody else is here."""
    parts = []
    for other in others:
        since = other["replying_since"]
        if since is None:
            parts.append(f"{other['name']} is viewing")
        else:
            minutes = max(0, int((now - since).total_seconds() // 60))
            parts.append(f"{other['name']} is replying, {minutes} min")
    return " · ".join(parts)


def subject_of(stack: list[Screen[Any]]) -> Subject:
    """The composer on top says what is being answered; else the top Deskline screen."""
    for screen in reversed(stack):
        if isinstance(screen, ComposeScreen):
            draft = screen.draft
            return Subject(draft.ticket, draft.conversation, screen.began)
        if isinstance(screen, DeskScreen):
            try:
                ticket, conversation = screen.viewing()
            except NoMatches:  # still being built, or being taken down
                return Subject()
            return Subject(ticket, conversation)
    return Subject()


def desk_screen(stack: list[Screen[Any]]) -> DeskScreen | None:
    return next((s for s in reversed(stack) if isinstance(s, DeskScreen)), None)


class Coordinator:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.session_id = uuid.uuid4().hex
        self.unread = 0
        self.newest = -1  # the newest unread notification seen (-1: not read yet)
        self.others: list[dict[str, Any]] = []
        self._beaten: Subject | None = None
        self._seen: Subject | None = None  # the subject at the previous check
        self._beaten_at = 0.0

    async def tick(self, app: App[Any]) -> bool:
        """Beat when due, read the badge and who else is here; True when what the screens
        show of it changed."""
        subject = subject_of(list(app.screen_stack))
        await self._beat(subject)
        try:
            return await self._read(app, subject)
        except DatabaseError:
            return False  # the next check reads again

    async def _read(self, app: App[Any], subject: Subject) -> bool:
        me = self.backend.me.id
        unread, newest = await self.backend.query(lambda s: coordination_views.unread(s, me))
        others = await self.backend.query(
            lambda s: coordination_views.present(
                s,
                ticket_id=subject.ticket,
                conversation_id=subject.conversation,
                other_than=self.session_id,
            )
        )
        if self.newest >= 0 and newest > self.newest and await self._bell_on(me):
            app.bell()
        changed = (unread, others) != (self.unread, self.others)
        self.unread, self.newest, self.others = unread, newest, others
        return changed

    async def _beat(self, subject: Subject) -> None:
        """Every HEARTBEAT seconds, and once a new subject has stayed for a check (moving the
        cursor down the inbox writes nothing until it rests)."""
        seen, self._seen = self._seen, subject
        due = time.monotonic() - self._beaten_at >= HEARTBEAT
        if not due and (subject == self._beaten or subject != seen):
            return
        me, session = self.backend.me.id, self.session_id
        try:
            await self.backend.store(
                lambda repo: repo.beat(
                    session,
                    me,
                    ticket_id=subject.ticket,
                    conversation_id=subject.conversation,
                    replying_since=subject.replying_since,
                )
            )
        except DatabaseError:
            return  # busy (locked): skipped, the next beat comes soon enough
        self._beaten, self._beaten_at = subject, time.monotonic()

    async def _bell_on(self, me: int) -> bool:
        key = bell_setting(me)
        return bool(await self.backend.query(lambda s: coordination_views.setting(s, key)))

    async def leave(self) -> None:
        """The session closes: its row goes at once (a crash leaves it to age out)."""
        session = self.session_id
        await self.backend.store(lambda repo: repo.leave(session))

    def badge(self) -> str:
        return f"● {self.unread} new (N)" if self.unread else ""

    def presence(self) -> str:
        return presence_text(self.others, datetime.now(UTC))
