"""Live inbound mail: an IMAP folder to tickets, exactly once (issue 4 "Inbound", SPEC §6, E1, E2).

`sync_once` reads the channel's checkpoint (UIDVALIDITY, last UID), fetches what lies above it in
batches (one UID FETCH each), and stores each batch through the importer's ingestion path in ONE
transaction that also moves the checkpoint to the batch's highest UID. A crash before that commit
leaves both untouched (the batch is fetched again); after it, both are there (nothing is fetched
twice). A new UIDVALIDITY means the server renumbered the folder: the sync starts again from UID 0
and Message-ID dedupe skips what is already stored. A message that cannot be parsed or stored is
kept as an import failure with its raw bytes and reason; the checkpoint moves past it.

`watch` keeps one connection: sync, IDLE until the server announces mail (re-issued before the
server's timeout), sync again; on any failure it reconnects with exponential backoff and jitter.

Several workers on one database: give each a `holder` name. The channel's lease ("inbound:<id>")
is taken before connecting and renewed while connected, and the transaction that commits a batch
renews it too, or rolls the batch back when another worker holds it now (fencing): a worker that
stalled past its lease's expiry cannot store a batch another worker has taken over.

Each connection has a thread of its own: a 25-minute IDLE never occupies the event loop's shared
thread pool, which the database's blocking work needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from automation.engine import AutomatedRunner, TransactionRunner
from automation.importer import (
    ImportSummary,
    Prepared,
    message_limit,
    prepare,
    render_deferred,
    store_batch,
)
from automation.ports import Repository
from mail.sources import EPOCH, Fetched, RawItem

log = logging.getLogger("deskline.inbound")
T = TypeVar("T")
BATCH = 200
IDLE_SECONDS = 25 * 60  # servers may drop an IDLE after 30 minutes (RFC 2177)
LEASE_SECONDS = 60.0
Alive = Callable[[str, datetime | None], bool]  # holder, when it last renewed -> still running
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
CRASH_ENV = "DESKLINE_TEST_CRASH_AT"  # tests: "after_fetch" or "after_fetch@2" (the 2nd batch)


class MailboxLike(Protocol):
    """`mail.imap.Mailbox`; blocking, called in a thread."""

    @property
    def folder(self) -> str: ...

    def open(self) -> int: ...

    def fetch_after(
        self, last_uid: int, limit: int = 500, max_bytes: int | None = None
    ) -> list[Fetched]: ...

    def wait(self, seconds: float) -> bool: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class InboundRepository(Repository, Protocol):
    """What a transaction needs beyond `Repository` (storage.inbound.InboundRepository)."""

    def checkpoint(self, channel_id: int, folder: str) -> tuple[int, int] | None: ...

    def save_checkpoint(
        self, channel_id: int, folder: str, uidvalidity: int, last_uid: int
    ) -> None: ...

    def acquire_lease(
        self, name: str, holder: str, seconds: float, alive: Alive | None = None
    ) -> bool: ...

    def release_lease(self, name: str, holder: str) -> None: ...


class LeaseLost(Exception):
    """Another worker holds this channel's lease: this one must not store anything."""


@dataclass
class InboundStats:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    resynced: bool = False
    busy: bool = False  # another worker holds the channel's lease: nothing was done

    def add(self, part: ImportSummary) -> None:
        self.stored += part.stored
        self.duplicates += part.duplicates
        self.failed += part.failed


def lease_name(channel_id: int) -> str:
    return f"inbound:{channel_id}"


@dataclass(frozen=True)
class _Lease:
    name: str
    holder: str
    seconds: float
    alive: Alive | None = None  # says when another holder's process is gone (take it at once)


# --- one pass -------------------------------------------------------------------------------


async def sync_once(
    db: AutomatedRunner,
    channel_id: int,
    mailbox_factory: Callable[[], MailboxLike],
    *,
    batch: int = BATCH,
    holder: str | None = None,
    alive: Alive | None = None,
) -> InboundStats:
    """Connect, store everything new, disconnect. With `holder`, only while holding the lease
    (another worker on it: `busy`, nothing done; `alive` tells a dead holder's lease)."""
    lease = _Lease(lease_name(channel_id), holder, LEASE_SECONDS, alive) if holder else None
    if lease is not None and not await _acquire(db, lease):
        return InboundStats(busy=True)
    conn = _Connection()
    try:
        await conn.open(mailbox_factory)
        return await _sync(db, channel_id, conn, batch, lease)
    finally:
        await conn.close()
        if lease is not None:
            await _release(db, lease)


class _Connection:
    """A mailbox and the one thread that talks to it. An IDLE that lasts 25 minutes must not
    hold a thread of the loop's shared pool (the database's blocking work and every other
    channel queue there), and calls on one connection must never overlap."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="deskline-imap")
        self.box: MailboxLike | None = None
        self.uidvalidity = 0

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self, factory: Callable[[], MailboxLike]) -> MailboxLike:
        box, self.uidvalidity = await self.call(_open, factory)
        self.box = box
        return box

    async def close(self) -> None:
        try:
            if self.box is not None:
                await self.call(self.box.close)
        finally:
            self._thread.shutdown(wait=False)


def _open(factory: Callable[[], MailboxLike]) -> tuple[MailboxLike, int]:
    box = factory()  # may resolve a secret by running a command: in the thread too
    return box, box.open()


async def _sync(
    db: AutomatedRunner,
    channel_id: int,
    conn: _Connection,
    batch: int,
    lease: _Lease | None,
) -> InboundStats:
    assert conn.box is not None
    box, uidvalidity = conn.box, conn.uidvalidity
    stats = InboundStats()
    folder = box.folder
    await db.drain()  # E6: older events first (the inline path below assumes it)
    stored = await db.run(lambda repo: repo.checkpoint(channel_id, folder))
    max_bytes = await message_limit(db)  # D11: a bigger message goes to failed, the rest on
    last_uid = 0
    if stored is not None and stored[0] == uidvalidity:
        last_uid = stored[1]
    elif stored is not None:
        stats.resynced = True
        log.warning(
            "channel %s folder %s: UIDVALIDITY changed (%s -> %s): resyncing from the start",
            channel_id,
            folder,
            stored[0],
            uidvalidity,
        )
    wrote = False
    while True:
        items = await conn.call(_fetch_prepared, box, last_uid, batch, max_bytes)
        if not items:
            break
        stats.fetched += len(items)
        remaining, resumed = items, False
        while remaining or resumed:  # more than one transaction when templates render (D10)
            point = (folder, uidvalidity, last_uid)
            part = await _store(db, channel_id, remaining, point, lease, resumed)
            stats.add(part)
            wrote = True
            if part.total:
                last_uid = remaining[part.total - 1][0]
            remaining = remaining[part.total :]
            await render_deferred(part)
            resumed = part.deferred
        if len(items) < batch:
            break  # the folder held no more at the time of this batch's SEARCH
    if not wrote and (stored is None or stats.resynced):
        # Remember the new UIDVALIDITY even for an empty folder, so the next pass is no resync.
        point = (folder, uidvalidity, last_uid)
        await db.run(lambda repo: _checkpoint(repo, channel_id, point, lease))
    if wrote:
        await db.drain()  # events a batch left pending (a handler that failed)
    return stats


def _fetch_prepared(
    box: MailboxLike, last_uid: int, batch: int, max_bytes: int
) -> list[tuple[int, Prepared]]:
    """Fetch and parse in the worker thread: parsing is CPU work the event loop must not do."""
    fetched = box.fetch_after(last_uid, batch, max_bytes)
    prepared = [
        (f.uid, prepare(_raw_item(f"imap:{box.folder}#{f.uid}", f.raw, f.size), max_bytes))
        for f in fetched
    ]
    if prepared:
        crash_point("after_fetch")
    return prepared


def _raw_item(label: str, raw: bytes | None, size: int) -> RawItem:
    """`raw` is None for a message over the limit: `prepare` refuses it by `size` unloaded."""
    return RawItem(label, EPOCH, 0, lambda: raw or b"", size)


async def _store(
    db: TransactionRunner,
    channel_id: int,
    items: Sequence[tuple[int, Prepared]],
    before: tuple[str, int, int],
    lease: _Lease | None,
    resumed: bool,
) -> ImportSummary:
    """The batch and its checkpoint in one transaction: optimistic first, then each message
    isolated in its own savepoint (automation.importer._store). The checkpoint is the last
    message stored: a batch stopped for a render (D10) goes on from there."""
    prepared = [p for _, p in items]

    def write(isolate: bool) -> Callable[[Any], ImportSummary]:
        def fn(repo: Any) -> ImportSummary:
            summary = store_batch(
                repo,
                channel_id,
                prepared,
                False,
                isolate=isolate,
                defer_renders=True,
                resumed=resumed,
            )
            folder, uidvalidity, last_uid = before
            if summary.total:
                last_uid = items[summary.total - 1][0]
            _checkpoint(repo, channel_id, (folder, uidvalidity, last_uid), lease)
            return summary

        return fn

    try:
        return await db.run_bulk(write(False))
    except LeaseLost:
        raise
    except Exception:
        log.info("an IMAP batch failed as a whole; storing it message by message", exc_info=True)
        return await db.run_bulk(write(True))


def _checkpoint(
    repo: InboundRepository, channel_id: int, point: tuple[str, int, int], lease: _Lease | None
) -> None:
    # Fencing: renewing the lease in the transaction that commits the batch fails (and rolls
    # the batch back) when another worker took it over; on PostgreSQL the UPDATE's row lock
    # also keeps a competitor from taking it before this commit.
    if lease is not None and not repo.acquire_lease(lease.name, lease.holder, lease.seconds):
        raise LeaseLost(f"the lease {lease.name} is no longer held by {lease.holder}")
    folder, uidvalidity, last_uid = point
    repo.save_checkpoint(channel_id, folder, uidvalidity, last_uid)


def crash_point(name: str) -> None:
    """Tests only: SIGKILL this process at a named point when DESKLINE_TEST_CRASH_AT says so
    ("name" or "name@N" for the N-th time the point is reached)."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


_crash_counts: dict[str, int] = {}


async def _acquire(db: TransactionRunner, lease: _Lease) -> bool:
    return bool(
        await db.run(
            lambda repo: repo.acquire_lease(lease.name, lease.holder, lease.seconds, lease.alive)
        )
    )


async def _release(db: TransactionRunner, lease: _Lease) -> None:
    with contextlib.suppress(Exception):  # it expires anyway
        await db.run(lambda repo: repo.release_lease(lease.name, lease.holder))


# --- the long-running loop --------------------------------------------------------------------


async def watch(
    db: AutomatedRunner,
    channel_id: int,
    mailbox_factory: Callable[[], MailboxLike],
    stop: asyncio.Event,
    *,
    idle_seconds: float = IDLE_SECONDS,
    batch: int = BATCH,
    holder: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
    on_stored: Callable[[InboundStats], None] | None = None,
    backoff_cap: float = BACKOFF_CAP,
    alive: Alive | None = None,
) -> None:
    """Sync, wait for mail, sync... until `stop` is set; never raises (failures are logged and
    retried with backoff). With `holder`, works only while holding the channel's lease.
    `on_stored(stats)` runs after every sync that fetched something (wake the outbox sender)."""
    lease = _Lease(lease_name(channel_id), holder, lease_seconds, alive) if holder else None
    attempt = 0
    while not stop.is_set():
        session = _Session(
            db, channel_id, mailbox_factory, stop, idle_seconds, batch, on_stored, lease
        )
        try:
            if lease is None:
                await session.run()
            elif await _acquire(db, lease):
                await _with_lease(session, db, lease)
            else:
                await _sleep_unless(stop, lease.seconds / 3)  # another worker's: look later
                continue
            attempt = 0
        except Exception as exc:  # never crash: log, back off, reconnect
            attempt = 1 if session.synced else attempt + 1
            delay = backoff(attempt, cap=backoff_cap)
            log.warning(
                "inbound channel %s: %s: %s; retrying in %.1f s",
                channel_id,
                type(exc).__name__,
                exc,
                delay,
            )
            await _sleep_unless(stop, delay)


def backoff(attempt: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Exponential, capped, with jitter over its upper half (never two workers in lockstep)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _with_lease(session: _Session, db: TransactionRunner, lease: _Lease) -> None:
    """Run the session while renewing the lease; losing it ends the session (LeaseLost)."""
    renewer = asyncio.create_task(_renew(db, lease, session))
    try:
        await session.run()
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await renewer
        await _release(db, lease)  # a no-op when it is not ours any more
    if session.lease_lost:
        raise LeaseLost(f"lost the lease {lease.name}")


async def _renew(db: TransactionRunner, lease: _Lease, session: _Session) -> None:
    while True:
        await asyncio.sleep(lease.seconds / 3)
        try:
            held = await _acquire(db, lease)
        except Exception:
            log.warning("could not renew the lease %s; will try again", lease.name, exc_info=True)
            continue  # the commit-time check still guards every batch
        if not held:
            session.lease_lost = True
            session.interrupt()
            return


class _Session:
    """One connection: sync, wait, sync... until stopped or broken."""

    def __init__(
        self,
        db: AutomatedRunner,
        channel_id: int,
        factory: Callable[[], MailboxLike],
        stop: asyncio.Event,
        idle_seconds: float,
        batch: int,
        on_stored: Callable[[InboundStats], None] | None,
        lease: _Lease | None,
    ) -> None:
        self.db = db
        self.lease = lease
        self.channel_id = channel_id
        self.factory = factory
        self.stop = stop
        self.idle_seconds = idle_seconds
        self.batch = batch
        self.on_stored = on_stored
        self.conn: _Connection | None = None
        self.synced = False
        self.lease_lost = False
        self._ended = asyncio.Event()

    async def run(self) -> None:
        conn = self.conn = _Connection()
        try:
            box = await conn.open(self.factory)
            while not self._done():
                stats = await _sync(self.db, self.channel_id, conn, self.batch, self.lease)
                self.synced = True
                if stats.fetched:
                    self._notify(stats)
                if self._done():
                    return
                await self._wait(conn, box)
        finally:
            await conn.close()

    def interrupt(self) -> None:
        self._ended.set()
        if self.conn is not None and self.conn.box is not None:
            self.conn.box.interrupt()

    def _notify(self, stats: InboundStats) -> None:
        if self.on_stored is None:
            return
        try:
            self.on_stored(stats)
        except Exception:  # the caller's callback must not take the mailbox down
            log.exception("the on_stored callback failed")

    def _done(self) -> bool:
        return self.stop.is_set() or self._ended.is_set()

    async def _wait(self, conn: _Connection, box: MailboxLike) -> None:
        waiting = asyncio.ensure_future(conn.call(box.wait, self.idle_seconds))
        stopping = asyncio.create_task(_first(self.stop, self._ended))
        try:
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not waiting.done():
                box.interrupt()  # the IDLE ends within a fraction of a second
            await asyncio.wait({waiting})  # the IDLE is over (DONE sent) before we go on
        waiting.result()  # a network error in the wait: the caller reconnects


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
