"""Import .eml files, Maildir folders and mbox files through the live ingestion path (SPEC E1).

Messages are taken in Date order and stored in batches, one transaction per batch; each message is
stored in its own savepoint and its automation runs right after it, inside the same transaction,
so a reply in the same batch as its parent (or as our acknowledgement) threads and triggers exactly
as it would live. A message that fails to parse or to store is kept as an import failure with its
raw bytes and reason, and the import goes on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automation.engine import AutomatedRunner, TransactionRunner, process_local, process_pending
from automation.ingest import IngestResult, ingest_message
from automation.outbound import MailTally, collecting, counting_mail
from automation.ports import ChannelLike, Repository
from automation.render_budget import RenderNeeded, deferring, render_outside
from mail.parse import ParsedMail, parse_message
from mail.sources import (
    MAX_MESSAGE_SETTING,
    Inventory,
    RawItem,
    max_message_bytes,
    too_large,
)

BATCH = 200
# Issue 16: an import of at least this many batches parses in worker processes, a batch ahead of
# the one being stored, so parsing overlaps the database writes (one core each on two cores).
PARALLEL_FROM_BATCHES = 3
STALLED_PARTS = 8  # D10: parts stopped for renders with no message stored, before rendering inside
PENDING_FIRST = 1000  # older events a batch handles before its own (the rest: the next drain)
log = logging.getLogger("deskline.import")
PENDING_PER_MESSAGE = (
    10_000  # effectively "all": a message's automation is bounded by the depth cap
)


@dataclass
class ImportSummary:
    total: int = 0
    stored: int = 0
    threaded: int = 0
    duplicates: int = 0
    automated: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    emails: MailTally = field(default_factory=MailTally)  # caused by the stored messages (D1)
    # One per message of this batch, in order (a failure's outcome is "failed"); store_batch's
    # own, not merged across batches nor shown in the summary.
    results: list[IngestResult] = field(default_factory=list)
    # Templates to render before the rest (D10): the batch stopped after `total` messages, the
    # rest of its last message's automation waiting in the queue (see `store_batch`).
    renders: list[RenderNeeded] = field(default_factory=list)

    @property
    def deferred(self) -> bool:
        return bool(self.renders)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "stored": self.stored,
            "threaded": self.threaded,
            "duplicates": self.duplicates,
            "automated": self.automated,
            "failed": self.failed,
            "emails": {"queued": self.emails.queued, "held": self.emails.held},
            "failures": [{"source": s, "reason": r} for s, r in self.failures],
        }


@dataclass(frozen=True)
class Prepared:
    label: str
    raw: bytes
    mail: ParsedMail | None
    error: str | None


def prepare(item: RawItem, max_bytes: int = max_message_bytes(None)) -> Prepared:
    """Load and parse one message; one over `max_bytes` is refused by its size (D11)."""
    loaded = _loaded(item, max_bytes)
    return loaded if loaded.error is not None else _parsed(loaded.label, loaded.raw)


def _parsed(label: str, raw: bytes) -> Prepared:
    try:
        return Prepared(label, raw, parse_message(raw), None)
    except Exception as exc:  # any parser failure is reported and skipped, never fatal
        return Prepared(label, raw, None, f"unparseable: {exc}")


def _loaded(item: RawItem, max_bytes: int) -> Prepared:
    """`prepare` up to the parse: the raw bytes, or why there are none (D11, a read error)."""
    if refused := too_large(item.size, max_bytes):
        return Prepared(item.label, b"", None, refused)
    try:
        raw = item.load()
    except OSError as exc:
        return Prepared(item.label, b"", None, f"cannot read: {exc.strerror or exc}")
    if refused := too_large(len(raw), max_bytes):
        return Prepared(item.label, b"", None, refused)
    return Prepared(item.label, raw, None, None)


def _parse_chunk(chunk: list[tuple[str, bytes]]) -> list[tuple[ParsedMail | None, str | None]]:
    """In a worker process: parse each raw message (its bytes stay in the importer)."""
    out: list[tuple[ParsedMail | None, str | None]] = []
    for label, raw in chunk:
        done = _parsed(label, raw)
        out.append((done.mail, done.error))
    return out


def parse_workers() -> int:
    """Worker processes for parsing: the cores left beside the one storing, at least one."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


@contextmanager
def _parse_pool(batches: int) -> Iterator[Executor | None]:
    if batches < PARALLEL_FROM_BATCHES:
        yield None
        return
    # spawn: the importer's process holds database threads a fork would copy mid-flight
    pool = ProcessPoolExecutor(parse_workers(), mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _prepare_batch(
    pool: Executor | None, items: Sequence[RawItem], max_bytes: int
) -> list[Prepared]:
    """The batch as `prepare` makes it; with a pool, parsed in its worker processes."""
    if pool is None:
        return [prepare(item, max_bytes) for item in items]
    loaded = [_loaded(item, max_bytes) for item in items]
    todo = [(n, p) for n, p in enumerate(loaded) if p.error is None]
    chunks = _chunks(todo, parse_workers())
    loop = asyncio.get_running_loop()
    answers = await asyncio.gather(
        *(
            loop.run_in_executor(pool, _parse_chunk, [(p.label, p.raw) for _, p in chunk])
            for chunk in chunks
        )
    )
    for chunk, answer in zip(chunks, answers, strict=True):
        for (n, p), (mail, error) in zip(chunk, answer, strict=True):
            loaded[n] = Prepared(p.label, p.raw, mail, error)
    return loaded


def _chunks(todo: list[Any], parts: int) -> list[list[Any]]:
    size = max(1, -(-len(todo) // parts))
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def store_batch(
    repo: Repository,
    channel_id: int,
    batch: Sequence[Prepared],
    historical: bool,
    *,
    isolate: bool = True,
    defer_renders: bool = False,
    resumed: bool = False,
    caches: dict[str, Any] | None = None,
) -> ImportSummary:
    """Store a batch; with `isolate`, each message and each event in its own savepoint.

    Without it nothing is isolated and the first error aborts the transaction: the caller then
    runs the batch again isolated. Savepoints cost a flush and two statements each, and the
    happy path needs none of them.

    With `defer_renders` (D10), the first event whose automated email needs a template render
    stops the batch after its message: that event and the message's later ones wait in the
    queue, and the batch ends with `renders` after `total` messages. The caller commits, does
    the renders with no transaction open (`render_deferred`) and stores the rest `resumed`:
    the waiting events are handled first, finding their renders done, so each message is
    still evaluated after the automation of the ones before it (E6), and their emails count
    as the batch's. Without it (dry runs, which commit nothing) renders run at once, in a
    worker within the budget.

    `caches` carries the plain-value caches (settings, own addresses, users' addresses) from
    one part of a batch to the next (issue 16): a batch stopped for renders then reads its
    configuration once, as it would in one transaction, not once per part.
    """
    summary = ImportSummary()
    if caches:
        repo.adopt_batch_caches(caches)
    channel = repo.channel(channel_id)
    defer = defer_renders and not historical
    earlier = MailTally()
    if not historical:
        # E6, B8.2: events another session committed after the caller's opening drain (a rep's
        # reply) happened before this batch: handle them first, as the queue would. One that
        # needs a render (D10) stops the batch before its first message.
        renders: list[RenderNeeded] | None = [] if defer else None
        with counting_mail() if resumed else nullcontext(earlier) as earlier:
            process_pending(repo, PENDING_FIRST, renders=renders)
        summary.renders += renders or ()
    if not isolate and not summary.deferred:
        repo.handle_events_inline()
    # The emails this batch's messages cause, as they are stored (a delayed step's come later).
    with counting_mail() as emails, deferring() if defer else nullcontext():
        for item in batch:
            if summary.deferred:
                break
            _store_one(repo, summary, channel, item, historical, isolate)
    if resumed:
        emails.add(earlier)
    summary.emails = emails
    if (collector := _STORED_MAIL.get()) is not None:
        collector.add(emails)
    if caches is not None:
        caches.update(repo.batch_caches())
    return summary


def _store_one(
    repo: Repository,
    summary: ImportSummary,
    channel: ChannelLike,
    item: Prepared,
    historical: bool,
    isolate: bool,
) -> None:
    summary.total += 1
    if item.mail is None:
        _fail(repo, summary, channel.id, item, item.error or "unparseable")
        return
    try:
        with repo.savepoint() if isolate else nullcontext():
            result = ingest_message(repo, channel, item.mail, item.raw, historical=historical)
    except Exception as exc:
        if not isolate or repo.is_transient_conflict(exc):
            raise  # a conflict with another transaction: the batch runs again whole
        _fail(repo, summary, channel.id, item, f"could not store: {type(exc).__name__}: {exc}")
        return
    summary.results.append(result)
    if result.outcome == "duplicate":
        summary.duplicates += 1
        return
    summary.stored += 1
    summary.threaded += result.threaded
    summary.automated += result.automated
    if historical:
        return
    try:
        process_local(repo, isolate=isolate)
    except RenderNeeded as need:
        summary.renders.append(need)


_STORED_MAIL: ContextVar[MailTally | None] = ContextVar("deskline_stored_mail", default=None)


def counting_stored_mail() -> AbstractContextManager[MailTally]:
    """How many emails the messages stored inside the block queued and held, over every batch
    (`deskline sync --once` stores through `automation.inbound`, which keeps no such count)."""
    return collecting(_STORED_MAIL)


def _fail(
    repo: Repository, summary: ImportSummary, channel_id: int, item: Prepared, reason: str
) -> None:
    summary.failed += 1
    summary.failures.append((item.label, reason))
    summary.results.append(IngestResult("failed"))
    repo.add_import_failure(channel_id, item.label, reason, item.raw)


async def import_paths(
    db: AutomatedRunner,
    channel_id: int,
    paths: list[Path],
    *,
    historical: bool = False,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
    defer_renders: bool = True,
) -> ImportSummary:
    """Import `paths` in batches; `defer_renders` as in `store_batch` (off for a dry run)."""
    inventory = Inventory(paths)  # issue 16: a few dozen bytes a message until its batch
    numbers = inventory.in_date_order()
    summary = ImportSummary()
    max_bytes = await message_limit(db)
    await db.drain()  # E6: older events first; then each batch handles its own
    batches = [numbers[start : start + batch_size] for start in range(0, len(numbers), batch_size)]
    with _parse_pool(len(batches)) as pool:
        # The first batch is parsed here while the pool starts; each later one in the pool
        # while the batch before it is stored. Batches are still stored one after another.
        ahead: asyncio.Future[list[Prepared]] | None = None
        try:
            for n, batch in enumerate(batches):
                prepared = await (ahead or _prepare_batch(None, inventory.items(batch), max_bytes))
                ahead = None
                if n + 1 < len(batches):
                    following = inventory.items(batches[n + 1])
                    ahead = asyncio.ensure_future(_prepare_batch(pool, following, max_bytes))
                part = await _store(db, channel_id, prepared, historical, defer_renders)
                _merge(summary, part)
                await db.drain()  # anything a batch left pending (a failed event to retry)
                if progress is not None:
                    progress(min((n + 1) * batch_size, len(numbers)), len(numbers))
        finally:
            if ahead is not None:
                ahead.cancel()
    return summary


async def message_limit(db: TransactionRunner) -> int:
    """The largest message import and IMAP store, in bytes (setting `max_message_mb`, D11)."""
    setting = await db.run(lambda repo: repo.setting(MAX_MESSAGE_SETTING, None))
    return max_message_bytes(setting)


async def render_deferred(part: ImportSummary) -> None:
    """Do the renders a stopped batch asked for, with no transaction open (D10)."""
    for need in part.renders:
        await asyncio.to_thread(render_outside, need)


PartHook = Callable[[Repository, ImportSummary], None]


async def _store(
    db: TransactionRunner,
    channel_id: int,
    prepared: list[Prepared],
    historical: bool,
    defer_renders: bool = True,
    resumed: bool = False,
    after_part: PartHook | None = None,
) -> ImportSummary:
    """Store `prepared` in as few transactions as it takes: one, unless templates need
    renders (D10), each done between two (see `store_batch`). `after_part` runs in each
    part's transaction, after its messages (a retried failure removes itself there)."""
    summary = ImportSummary()
    stalled = 0
    caches: dict[str, Any] = {}
    while prepared or resumed:
        defer = defer_renders and stalled < STALLED_PARTS  # then renders inside, in budget
        part = await _store_part(
            db, channel_id, prepared, historical, defer, resumed, caches, after_part
        )
        _merge(summary, part)
        summary.results += part.results
        prepared = prepared[part.total :]
        await render_deferred(part)
        resumed = part.deferred
        stalled = stalled + 1 if part.deferred and not part.total else 0
    return summary


async def _store_part(
    db: TransactionRunner,
    channel_id: int,
    prepared: list[Prepared],
    historical: bool,
    defer_renders: bool,
    resumed: bool,
    caches: dict[str, Any] | None = None,
    after_part: PartHook | None = None,
) -> ImportSummary:
    def batch(isolate: bool) -> Callable[[Repository], ImportSummary]:
        def fn(repo: Repository) -> ImportSummary:
            part = store_batch(
                repo,
                channel_id,
                prepared,
                historical,
                isolate=isolate,
                defer_renders=defer_renders,
                resumed=resumed,
                caches=caches,
            )
            if after_part is not None:
                after_part(repo, part)
            return part

        return fn

    try:
        return await db.run_bulk(batch(False))
    except Exception:
        log.info("a batch failed as a whole; storing it message by message", exc_info=True)
        return await db.run_bulk(batch(True))


def _merge(total: ImportSummary, part: ImportSummary) -> None:
    total.total += part.total
    total.stored += part.stored
    total.threaded += part.threaded
    total.duplicates += part.duplicates
    total.automated += part.automated
    total.failed += part.failed
    total.failures += part.failures
    total.emails.add(part.emails)


async def retry_failure(db: AutomatedRunner, failure_id: int) -> ImportSummary:
    """Feed a kept failed message through ingestion again (after a fix, say). On success the
    failure is removed; if it fails again, a new failure with the new reason replaces it."""
    found = await db.run(lambda repo: repo.import_failure(failure_id))
    if found is None:
        raise LookupError(f"no failed message {failure_id}")
    channel_id, label, raw = found
    if channel_id is None:
        raise LookupError(f"failed message {failure_id} has no channel to retry on")
    try:
        mail = parse_message(raw)
        item = Prepared(label, raw, mail, None)
    except Exception as exc:
        item = Prepared(label, raw, None, f"unparseable: {exc}")

    def replaced(repo: Repository, part: ImportSummary) -> None:
        if part.total:  # stored, or failed anew (its new failure replaces this one)
            repo.delete_import_failure(failure_id)

    # The import's own loop: older events' renders first (D10), then the message, then the
    # rest of its automation with its renders done.
    summary = await _store(db, channel_id, [item], False, after_part=replaced)
    await db.drain()
    return summary
