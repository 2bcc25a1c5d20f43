"""Test helpers: build mail; drive a real database through the real ingestion path and engine.

`Desk.receive` takes mail the way import and IMAP do (SPEC E1, B8.2): older events drained first,
the message stored in a bulk transaction that handles its events inline, then a drain for what
is left. `Desk.receive_queued` keeps the other path: one transaction that queues the message's
event, and the engine's drain after it (tests/test_mail_paths.py checks both agree).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, TypeVar

from automation import admin, importer, services
from automation.ingest import IngestResult, ingest_message
from mail.parse import parse_message
from mail.sources import EPOCH, RawItem
from runtime.desk import Desk as RuntimeDesk
from runtime.identity import login_name
from runtime.standard import CLOSED, RECEIVED, ChannelSpec, RepSpec, Setup, build_standard
from storage import queries
from storage.database import Database
from storage.repository import SqlRepository

T = TypeVar("T")
SUPPORT = "support@help.example"
CUSTOMER = "carol@customer.example"
RITA = RepSpec("rita", "Rita Rep", "rita@help.example")
_counter = itertools.count(1)
# Mail is dated about now: a day older, it would be old mail and its emails held (SPEC D1;
# tests/test_old_mail.py dates its own mail).
_clock = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


def make_mail(
    *,
    sender: str = CUSTOMER,
    name: str = "Carol Customer",
    to: str = SUPPORT,
    subject: str = "Printer on fire",
    body: str = "Hello, my printer is on fire. Please help.",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> tuple[bytes, str]:
    """A plain-text email as raw bytes, and its Message-ID."""
    n = next(_counter)
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(_clock + timedelta(minutes=n))
    mid = message_id or f"<m{n}.{datetime.now().timestamp()}@{sender.split('@')[-1]}>"
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = references if references is not None else ([in_reply_to] if in_reply_to else [])
    if refs:
        msg["References"] = " ".join(refs)
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return bytes(msg), mid


def _made_by_this_login(repo: SqlRepository) -> None:
    """As `deskline init` does (SPEC S7): the login that made the desk acts as its admin."""
    admin = repo.user_by_name("admin")
    login = login_name()
    if admin is not None and login and repo.user_by_login(login) is None:
        admin.login = login


class Desk(RuntimeDesk):
    """A help desk on a real database: the standard desk (defaults, one email channel, an admin
    and a rep), driven through the runtime like every entry point."""

    @classmethod
    async def create(
        cls, db: Database, *, received: bool = True, closed: bool = True, chat: bool = False
    ) -> Desk:
        channels = [ChannelSpec("support", address=SUPPORT)]
        if chat:
            channels.append(ChannelSpec("chat", kind="chat", address=None))
        actions = [a for a, on in ((RECEIVED, received), (CLOSED, closed)) if on]
        setup = Setup(channels=tuple(channels), reps=(RITA,), actions=tuple(actions))
        await db.migrate()
        await db.run(lambda repo: build_standard(repo, setup))
        await db.run(_made_by_this_login)
        return cls(db)

    async def receive(self, raw: bytes, channel: str = "support") -> IngestResult:
        """One message, as import and IMAP take it (see the module's docstring)."""
        [result] = await self.receive_batch([raw], channel)
        return result

    async def receive_batch(
        self, raws: list[bytes], channel: str = "support"
    ) -> list[IngestResult]:
        """Messages stored in one batch, in this order, as `importer.import_paths` stores a
        batch: a drain first (E6: older events first), the batch in one bulk transaction with
        each message's events handled right after it, a drain after."""
        channel_id = await self.store(lambda repo: admin.channel_named(repo, channel).id)
        prepared = [importer.prepare(_raw_item(n, raw)) for n, raw in enumerate(raws)]
        await self.runner.drain()
        summary = await importer._store(self.runner, channel_id, prepared, historical=False)
        await self.runner.drain()
        if summary.failures:
            raise AssertionError(f"not stored: {summary.failures}")
        return summary.results

    async def receive_queued(self, raw: bytes, channel: str = "support") -> IngestResult:
        """One message through the queued path: stored in one transaction that queues its
        event, which the engine's drain after the commit handles."""

        def store(repo: SqlRepository) -> IngestResult:
            return ingest_message(repo, admin.channel_named(repo, channel), parse_message(raw), raw)

        return await self.run(store)

    async def as_user(self, name: str, fn: Callable[[SqlRepository, Any], T]) -> T:
        return await self.act_as(name, fn)

    async def reply(self, number: int, body: str = "We are on it.", **kw: Any) -> int:
        return await self.as_user(
            "rita", lambda repo, user: services.reply(repo, user, number, body, **kw)
        )

    async def move(self, number: int, status: str, user: str = "rita") -> None:
        await self.as_user(user, lambda repo, u: services.move_ticket(repo, u, number, status))

    async def admin(self, fn: Callable[[SqlRepository, Any], T]) -> T:
        return await self.as_user("admin", fn)

    async def ticket(self, number: int) -> dict[str, Any]:
        detail = await self.db.query(lambda s: queries.ticket_detail(s, number))
        assert detail is not None, f"no ticket #{number}"
        return detail

    async def tickets(self) -> list[dict[str, Any]]:
        return await self.db.query(lambda s: queries.list_tickets(s))

    async def outbox(self) -> list[dict[str, Any]]:
        return await self.db.query(lambda s: queries.list_outbox(s))

    async def status(self, number: int) -> str:
        return str((await self.ticket(number))["ticket"]["status"])

    async def timeline_types(self, number: int) -> list[str]:
        return [e["type"] for e in (await self.ticket(number))["timeline"]]

    async def outbox_raw(self, outbox_id: int) -> bytes:
        raw = await self.db.query(lambda s: queries.outbox_raw(s, outbox_id))
        assert raw is not None
        return raw


def _raw_item(n: int, raw: bytes) -> RawItem:
    return RawItem(f"test#{n}", EPOCH, n, lambda: raw)
