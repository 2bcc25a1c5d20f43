"""The IMAP side of `deskline sync`: every email channel with an IMAP server, fetched once or
watched with IDLE until stopped, each under its channel's lease (one worker per mailbox)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.worker import holder_name
from automation.inbound import MailboxLike, sync_once, watch
from mail.imap import ImapAccount, ImapError, Mailbox
from storage.database import Database
from storage.inbound import InboundDatabase, imap_settings_row
from storage.repository import SqlRepository

log = logging.getLogger("deskline.inbound")


def _accounts(repo: SqlRepository) -> list[tuple[int, str, ImapAccount]]:
    found = []
    for channel in repo.channels():
        account = imap_settings_row(repo, channel.id) if channel.kind == "email" else None
        if account is not None:
            found.append((channel.id, channel.name, account))
    return found


def _factory(account: ImapAccount) -> Callable[[], MailboxLike]:
    return lambda: Mailbox(account.settings())  # the secret is resolved on every connect


async def run_inbound(db: Database, stop: asyncio.Event | None) -> int:
    """With no `stop`: one pass over every mailbox, returns how many messages were stored.
    With one: watch every mailbox until it is set."""
    accounts = await db.run(_accounts)
    inbound_db = InboundDatabase(db)
    holder = holder_name()
    if stop is not None:
        await asyncio.gather(
            *(
                watch(inbound_db, cid, _factory(acc), stop, holder=holder)
                for cid, _, acc in accounts
            )
        )
        return 0
    stored = 0
    for channel_id, name, account in accounts:
        try:
            stats = await sync_once(inbound_db, channel_id, _factory(account), holder=holder)
        except ImapError as exc:
            log.warning("channel %s: IMAP %s: %s", name, exc.kind, exc)
            continue
        if stats.busy:
            log.warning("channel %s: another worker holds its mailbox", name)
        stored += stats.stored
    return stored
