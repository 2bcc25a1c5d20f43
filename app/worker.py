"""`deskline sync`: inbound mail, the automation engine and the outbox sender in one process.

The same pieces run inside the terminal app later, so a single rep needs no second process.
Stopping (SIGINT/SIGTERM) finishes the email being sent and the batch being stored, then exits:
whatever is cut short is either not committed (and fetched or claimed again next time) or
recovered by `automation.delivery.recover`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from app.mailer import SmtpTransport
from automation.delivery import DeliveryStats, deliver_due, recover
from automation.engine import Engine
from storage.database import Database

log = logging.getLogger("deskline.sync")
SEND_INTERVAL = 2.0

# Inbound is plugged in as one coroutine per run: given the database and a stop event, it
# fetches (once, or until stopped) and returns how many messages it stored.
InboundRunner = Callable[[Database, asyncio.Event | None], Coroutine[Any, Any, int]]


@dataclass
class SyncSummary:
    received: int = 0
    handled_events: int = 0
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    requeued: int = 0
    held_interrupted: int = 0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    """False only when the holder ran on this host and its process is gone; a holder on
    another host is trusted until its claim goes stale."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(repo: Any) -> tuple[int, int]:
    return recover(repo, alive=holder_alive)


class Worker:
    def __init__(
        self,
        db: Database,
        *,
        inbound: InboundRunner | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.db = db
        self.inbound = inbound
        self.engine = Engine(db)
        self.transport = SmtpTransport(db, ssl_context)
        self.holder = holder_name()

    async def run_once(self) -> SyncSummary:
        """Everything waiting: recover interrupted sends, fetch, automate, deliver; then return."""
        summary = SyncSummary()
        summary.requeued, summary.held_interrupted = await self.db.run(_recover)
        if self.inbound is not None:
            summary.received = await self.inbound(self.db, None)
        summary.handled_events = await self.engine.drain()
        while True:
            stats = await deliver_due(self.db, self.transport, holder=self.holder)
            _add(summary.delivery, stats)
            if stats.sent + stats.retrying + stats.failed == 0:
                return summary

    async def run(self, stop: asyncio.Event) -> None:
        await self.db.run(_recover)
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(self.engine.serve(), name="engine"),
            asyncio.create_task(self._send_loop(stop), name="sender"),
        ]
        if self.inbound is not None:
            tasks.append(asyncio.create_task(self.inbound(self.db, stop), name="inbound"))
        await stop.wait()
        await asyncio.gather(*tasks[1:], return_exceptions=True)  # they watch `stop`
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        await self.engine.drain()  # what the last fetched mail caused

    async def _send_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                stats = await deliver_due(self.db, self.transport, holder=self.holder)
                for error in stats.errors:
                    log.warning("%s", error)
            except Exception:
                log.exception("the sender failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SEND_INTERVAL)


def _add(total: DeliveryStats, part: DeliveryStats) -> None:
    total.sent += part.sent
    total.retrying += part.retrying
    total.failed += part.failed
    total.errors += part.errors


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
