"""A one-shot inbound sync in its own process, for the crash tests (SIGKILL at a named point).

    python -m tests.imap_child DB_URL CHANNEL_ID PORT FOLDER BATCH

Set DESKLINE_TEST_CRASH_AT (automation.inbound.crash_point) to have it killed mid-sync.
Prints the stats as JSON when it survives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

from automation.inbound import sync_once
from mail.imap import ImapSettings, Mailbox
from runtime.desk import Desk
from storage.inbound import InboundDatabase
from tests.servers.dovecot import HOST, PASSWORD, USER


async def main(url: str, channel_id: int, port: int, folder: str, batch: int) -> None:
    settings = ImapSettings(HOST, port, "none", USER, folder, "password", PASSWORD, timeout=10)
    desk = await Desk.open(url)
    try:
        stats = await sync_once(
            InboundDatabase(desk.runner), channel_id, lambda: Mailbox(settings), batch=batch
        )
    finally:
        await desk.close()
    print(json.dumps(dataclasses.asdict(stats)))


if __name__ == "__main__":
    url, channel, port, folder, batch = sys.argv[1:6]
    asyncio.run(main(url, int(channel), int(port), folder, int(batch)))
