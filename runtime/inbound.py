"""IMAP for the mail worker: every email channel with an IMAP server, fetched once or watched
with IDLE until stopped, each under its channel's lease (one worker per mailbox). A batch that
stored mail wakes this process's sender at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from automation.inbound import InboundStats, sync_once, watch
from mail.imap import ImapAccount, ImapError, mailbox_factory
from runtime.desk import Desk
from runtime.mail_settings import imap_account, refused_secrets
from runtime.worker import holder_alive, holder_name
from storage.inbound import InboundDatabase

log = logging.getLogger("deskline.inbound")


def _accounts(repo: Any) -> list[tuple[int, str, ImapAccount]]:
    found = []
    for channel in repo.channels():
        account = imap_account(channel)
        if account is None:
            continue
        refused = refused_secrets(channel)
        if refused:  # SPEC S8: this channel stops here, the others go on
            log.warning("channel %s stopped: %s", channel.name, refused)
            continue
        found.append((channel.id, channel.name, account))
    return found


async def run_inbound(desk: Desk, stop: asyncio.Event | None) -> int:
    """With no `stop`: one pass over every mailbox, returns how many messages were stored.
    With one: watch every mailbox until it is set."""
    accounts = await desk.store(_accounts)
    inbound_db = InboundDatabase(desk.runner)
    holder = holder_name()

    def stored(_stats: InboundStats) -> None:
        desk.wake()

    if stop is not None:
        await asyncio.gather(
            *(
                watch(
                    inbound_db,
                    cid,
                    mailbox_factory(acc),
                    stop,
                    holder=holder,
                    on_stored=stored,
                    alive=holder_alive,
                )
                for cid, _, acc in accounts
            )
        )
        return 0
    total = 0
    for channel_id, name, account in accounts:
        try:
            stats = await sync_once(
                inbound_db, channel_id, mailbox_factory(account), holder=holder, alive=holder_alive
            )
        except ImapError as exc:
            log.warning("channel %s: IMAP %s: %s", name, exc.kind, exc)
            continue
        if stats.busy:
            log.warning("channel %s: another worker holds its mailbox", name)
        total += stats.stored
    if total:
        desk.wake()
    return total
