"""The mail worker: inbound mail, the automation engine and the outbox sender of one process.

`deskline sync` runs it alone; the terminal app runs it on its backend thread beside the screens.
Stopping (SIGINT/SIGTERM) finishes the email being sent and the batch being stored, then exits:
whatever is cut short is either not committed (and fetched or claimed again next time) or
recovered by `automation.delivery.recover`.

The sender sleeps until this process queues mail (`Desk.mail_ready`: a rep's reply, a status
action, a fetched message), until the earliest queued email is due (an email a person's change
caused waits for its undo window, SPEC D2; a retry waits for its backoff), and otherwise looks
every `POLL_SECONDS` with a cheap read, so mail queued by another process goes out within that
time (B8.4) without taking the write lock.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automation import notifications, snooze
from automation.delivery import DeliveryStats, deliver_due, recover
from runtime.desk import Desk
from runtime.smtp import SmtpTransport
from storage import queries

log = logging.getLogger("deskline.sync")
POLL_SECONDS = 0.5
DUE_SECONDS = 5.0  # how often snoozes whose time came end and tasks that came due are told

# Inbound is plugged in as one coroutine per run: given the desk and a stop event, it fetches
# (once, or until stopped) and returns how many messages it stored.
InboundRunner = Callable[[Desk, asyncio.Event | None], Coroutine[Any, Any, int]]


@dataclass
class SyncSummary:
    received: int = 0
    handled_events: int = 0
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    requeued: int = 0
    held_interrupted: int = 0


def holder_name() -> str:
    """Who holds a claim or a lease: host, boot (B8.7: a reboot is another host) and process."""
    return f"{socket.gethostname()}:{_boot_id()}:{os.getpid()}"


def holder_alive(holder: str, since: datetime | None = None) -> bool:
    """False only when the holder ran on this host (and this boot) and its process is gone, or
    the process with its id started after `since` (the id was reused); a holder elsewhere is
    trusted until its claim or lease runs out. Holders written as host:pid are read too."""
    parts = holder.split(":")
    host, boot, pid = (parts[0], None, parts[-1]) if len(parts) == 2 else (*parts[:2], parts[-1])
    if len(parts) not in (2, 3) or host != socket.gethostname() or not pid.isdigit():
        return True
    if boot is not None and boot != _boot_id():
        return True  # a holder from before a reboot: its lease runs out by itself
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _started_at(int(pid))
    return since is None or started is None or started <= since


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return "boot"


def _started_at(pid: int) -> datetime | None:
    """When process `pid` started (Linux /proc), to tell a reused process id."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        booted = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    ticks = int(fields[19])  # starttime, the 22nd field, in clock ticks after boot
    return datetime.fromtimestamp(booted + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def _recover(repo: Any) -> tuple[int, int]:
    return recover(repo, alive=holder_alive)


def due_pass(repo: Any) -> int:
    """Snoozes whose time came end with a timeline line (SPEC D23); tasks that came due tell
    their owner. Returns how many of both."""
    return snooze.end_due(repo) + notifications.tasks_due(repo)


class Worker:
    def __init__(
        self,
        desk: Desk,
        *,
        inbound: InboundRunner | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.desk = desk
        self.inbound = inbound
        self.transport = SmtpTransport(desk.db, ssl_context)
        self.holder = holder_name()

    async def run_once(self) -> SyncSummary:
        """Everything waiting: recover interrupted sends, fetch, automate, deliver; then return."""
        summary = SyncSummary()
        summary.requeued, summary.held_interrupted = await self.desk.store(_recover)
        if self.inbound is not None:
            summary.received = await self.inbound(self.desk, None)
        summary.handled_events = await self.desk.drain()
        await self.desk.store(due_pass)
        while True:
            stats = await self.deliver()
            _add(summary.delivery, stats)
            if stats.sent + stats.retrying + stats.failed == 0:
                return summary

    async def deliver(self) -> DeliveryStats:
        return await deliver_due(self.desk.db, self.transport, holder=self.holder)

    async def run(self, stop: asyncio.Event) -> None:
        await self.desk.store(_recover)
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(self.desk.engine.serve(), name="engine"),
            asyncio.create_task(self._send_loop(stop), name="sender"),
            asyncio.create_task(self._due_loop(stop), name="due"),
        ]
        if self.inbound is not None:
            tasks.append(asyncio.create_task(self.inbound(self.desk, stop), name="inbound"))
        await stop.wait()
        self.desk.mail_ready.set()  # the sender sees `stop` at once
        await asyncio.gather(*tasks[1:], return_exceptions=True)  # they watch `stop`
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]
        await self.desk.drain()  # what the last fetched mail caused

    async def _send_loop(self, stop: asyncio.Event) -> None:
        ready = self.desk.mail_ready
        while not stop.is_set():
            ready.clear()
            sleep = POLL_SECONDS
            try:
                due_in = await self._due_in()
                if due_in is not None and due_in <= 0:
                    stats = await self.deliver()
                    for error in stats.errors:
                        log.warning("%s", error)
                    if stats.sent:
                        continue  # there may be more than one batch
                elif due_in is not None:
                    sleep = min(sleep, due_in)  # wake when its window ends, not a poll later
            except Exception:
                log.exception("the sender failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), sleep)

    async def _due_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.desk.store(due_pass)
            except Exception:
                log.exception("ending snoozes and telling due tasks failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), DUE_SECONDS)

    async def _due_in(self) -> float | None:
        """Seconds until the earliest queued email may go (0 or less: now), None: none."""
        due = await self.desk.query(queries.next_mail_at)
        if due is None:
            return None
        return (due - self.desk.db.now()).total_seconds()


def _add(total: DeliveryStats, part: DeliveryStats) -> None:
    total.sent += part.sent
    total.retrying += part.retrying
    total.failed += part.failed
    total.errors += part.errors


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
