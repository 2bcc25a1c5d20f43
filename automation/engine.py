"""The in-process async engine: handles the durable domain-event queue after commit (SPEC E2, E6).

Each event is handled inside a savepoint of a transaction that also marks it processed, so a crash
before commit re-handles it from scratch (at least once, idempotent by construction) and a handler
that raises rolls back only its own changes. Events are handled in the order they were written.

Templates are rendered outside these transactions (SPEC D10, `automation.render_budget`): an event
whose email needs a render stops the batch, the events before it commit, the render runs in a
worker process with no transaction open, and the event is handled again with its render done.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from automation.actions import on_status_entered, resume_step
from automation.events import (
    Actor,
    DomainEvent,
    EmailSent,
    MessageReceived,
    StatusEntered,
    Timeline,
    event_from_row,
)
from automation.outbound import uncounted_if_failed
from automation.ports import LocalEventLike, Repository
from automation.render_budget import RenderNeeded, deferring, is_deferring, render_outside
from automation.triggers import on_email_sent, on_message_received

log = logging.getLogger("deskline.engine")
T = TypeVar("T")
MAX_ATTEMPTS = 5
MAX_RENDERS_PER_EVENT = 16
PROBE_RENDERS = 16  # renders asked for ahead of one pass (render_budget keeps 32)


class TransactionRunner(Protocol):
    """Implemented by `storage.database.Database`: runs `fn(repository)` in one transaction.

    The repository it passes implements `automation.ports.Repository`; the parameter is typed
    `Any` because a runner passes its own concrete repository type.
    """

    async def run(self, fn: Callable[[Any], T]) -> T: ...

    async def run_bulk(self, fn: Callable[[Any], T]) -> T: ...


class AutomatedRunner(TransactionRunner, Protocol):
    """Transactions plus the engine's drain (`runtime.desk.Desk.runner`): what the batch loops of
    import and IMAP are given, so they drain the one engine of their desk instead of making one."""

    async def drain(self) -> int: ...


def handle(repo: Repository, event: DomainEvent) -> None:
    if isinstance(event, MessageReceived):
        on_message_received(repo, event)
    elif isinstance(event, EmailSent):
        on_email_sent(repo, event)
    elif isinstance(event, StatusEntered):
        on_status_entered(repo, event)
    else:  # pragma: no cover - EVENT_TYPES and this dispatch grow together
        raise TypeError(f"no handler for {event.type}")


def process_pending(
    repo: Repository, limit: int, *, renders: list[RenderNeeded] | None = None
) -> int:
    """Handle up to `limit` pending events in this transaction; returns how many were taken.

    With `renders`, an event that needs a template render stops the batch before it (D10): the
    render is put in `renders` for the caller to do once this transaction is over."""
    taken = 0
    with deferring() if renders is not None else contextlib.nullcontext():
        while taken < limit:
            asked = min(limit - taken, 100)
            emitted = repo.untaken_events()
            rows = repo.pending_events(asked)
            if not rows:
                break
            for index, row in enumerate(rows):
                try:
                    _process_one(repo, row.id, row.type, row.payload)
                except RenderNeeded as need:
                    if renders is None:  # pragma: no cover - only raised when deferring
                        raise
                    renders.append(need)
                    _probe_ahead(repo, rows[index + 1 :], renders)
                    return taken
                taken += 1
            if len(rows) < asked and repo.untaken_events() == emitted:
                # Issue 16: the queue held fewer than asked and its handlers emitted nothing:
                # asking again would only find it empty (one statement per batch saved; events
                # other sessions commit meanwhile are the next drain's, as they always were).
                break
    return taken


class _Probed(Exception):
    """Rolls a probe's savepoint back."""


def _probe_ahead(repo: Repository, rows: Sequence[Any], renders: list[RenderNeeded]) -> None:
    """The renders the next events will ask for, so they are done together before the next
    pass rather than one transaction per email: each event is handled in a savepoint that is
    always rolled back (its real handling comes in the next pass, after the one that stopped
    this one; a guess that no longer holds then only costs one more render)."""
    for row in rows:
        if len(renders) >= PROBE_RENDERS:
            return
        if row.type != StatusEntered.type:
            # only a status entered renders (its status actions); probing a message received
            # would make its ticket in a savepoint rolled back, and on PostgreSQL that ticket's
            # number would be lost to the sequence (the next ticket skipping one)
            continue
        try:
            with uncounted_if_failed(), repo.savepoint():
                handle(repo, event_from_row(row.type, row.payload))
                raise _Probed
        except RenderNeeded as need:
            renders.append(need)
        except Exception:  # _Probed, or a failure its real handling records
            pass


def process_local(repo: Repository, *, isolate: bool = True) -> int:
    """Handle the events this transaction emitted, and those their handlers emit, in order.

    The bulk import's fast path: no queue query per message. It is only correct when nothing
    older is pending, so the importer drains the queue first. A failing event stays pending
    (with its error) for the engine's next drain. Without `isolate` a failing handler raises
    and the caller's transaction is lost: the caller redoes its work isolated.
    """
    taken = 0
    while rows := repo.take_local_events():
        for index, row in enumerate(rows):
            mark = repo.untaken_events()
            try:
                if row.id is None or not isolate:
                    _handle_local(repo, row)
                    if row.id is not None:
                        repo.mark_event_processed(row.id)
                    taken += 1
                elif _process_one(repo, row.id, row.type, row.payload, retry_later=True):
                    taken += 1
            except RenderNeeded:
                # D10: the render is done with no transaction open: this event and the ones
                # after it wait in the queue, in order, for the engine's next drain.
                repo.leave_to_queue(rows[index:], mark)
                raise
    return taken


def _handle_local(repo: Repository, row: LocalEventLike) -> None:
    """Handle an inline event. While renders are deferred, a status entered (the only event
    whose handling renders: its status actions) runs in a savepoint, so an action that needs
    a render leaves nothing of the event behind."""
    event = event_from_row(row.type, row.payload)
    if not (isinstance(event, StatusEntered) and is_deferring()):
        try:
            handle(repo, event)
        except RenderNeeded as need:  # its writes cannot be undone alone: the caller's whole
            raise RuntimeError(f"{row.type} needed a render outside a savepoint") from need
        return
    with uncounted_if_failed(), repo.savepoint():
        handle(repo, event)


class StepsNeedIsolation(Exception):
    """A due step failed or needed a render in a batch run without savepoints: the caller rolls
    the whole batch back and runs it again with `isolate=True` (issue 16)."""


def process_due(
    repo: Repository,
    limit: int,
    *,
    renders: list[RenderNeeded] | None = None,
    isolate: bool = True,
) -> int:
    """Resume up to `limit` workflow steps whose delay is over (R-A5); returns how many.

    A step that raises is dropped with an error on the timeline rather than retried forever.
    With `renders`, a step that needs a template render stops the batch as in process_pending.

    Without `isolate` no step gets a savepoint (two statements each, a round trip apiece on
    PostgreSQL) and the first step that raises or needs a render raises StepsNeedIsolation:
    the caller's transaction is lost and it runs the batch again isolated (`due_batch`), as
    the importer redoes a failed batch message by message."""
    steps = repo.due_steps(repo.now(), limit)
    repo.preload_tickets([step.ticket_id for step in steps])  # not a query per step
    with deferring() if renders is not None else contextlib.nullcontext():
        for done, step in enumerate(steps):
            try:
                _resume_one(repo, step, isolate)
            except RenderNeeded as need:
                if renders is None:  # pragma: no cover - only raised when deferring
                    raise
                renders.append(need)
                return done
    return len(steps)


async def due_batch(db: TransactionRunner, limit: int, renders: list[RenderNeeded] | None) -> int:
    """`process_due` in one transaction: without savepoints first; when a step fails or needs
    a render there, the batch is rolled back and run again with a savepoint per step."""
    try:
        return await db.run_bulk(
            functools.partial(process_due, limit=limit, renders=renders, isolate=False)
        )
    except StepsNeedIsolation:
        return await db.run_bulk(functools.partial(process_due, limit=limit, renders=renders))


def _resume_one(repo: Repository, step: Any, isolate: bool = True) -> None:
    if not isolate:
        try:
            resume_step(repo, step)
        except Exception as exc:  # RenderNeeded too: the step's writes cannot be undone alone
            if repo.is_transient_conflict(exc):
                raise  # lost to another transaction: the whole batch runs again (run_bulk)
            raise StepsNeedIsolation(f"delayed step {step.id}") from exc
        return
    try:
        with repo.savepoint():
            resume_step(repo, step)
    except RenderNeeded:
        raise
    except Exception as exc:
        if repo.is_transient_conflict(exc):
            raise  # not the step's failure: the batch runs again whole
        log.exception("delayed step %s failed", step.id)
        step.done_at = repo.now()
        repo.add_timeline(
            Timeline.AUTOMATION_ERROR,
            Actor.system("engine"),
            ticket_id=step.ticket_id,
            summary=f"A delayed workflow step failed and was dropped: {exc}",
            data={"step_id": step.id, "error": str(exc)},
        )


def _process_one(
    repo: Repository, row_id: int, type_: str, payload: dict, *, retry_later: bool = False
) -> bool:
    """Handle one event in a savepoint; True when it is done (handled or given up)."""
    try:
        with uncounted_if_failed(), repo.savepoint():
            handle(repo, event_from_row(type_, payload))
    except RenderNeeded:
        raise  # rolled back; handled again once its render is done (D10)
    except Exception as exc:  # one broken event must not stop the queue
        if repo.is_transient_conflict(exc):
            raise  # lost to another transaction, not broken: the transaction runs again
        log.exception("automation event %s (%s) failed", row_id, type_)
        attempts = repo.record_event_failure(row_id, f"{type(exc).__name__}: {exc}")
        if attempts < MAX_ATTEMPTS or retry_later:
            return False
        ticket_id = payload.get("ticket_id")
        repo.add_timeline(
            Timeline.AUTOMATION_ERROR,
            Actor.system("engine"),
            ticket_id=ticket_id if isinstance(ticket_id, int) else None,
            summary=f"Automation gave up on a {type_} event after {attempts} attempts: {exc}",
            data={"event_id": row_id, "error": str(exc)},
        )
    repo.mark_event_processed(row_id)
    return True


class Engine:
    """Drains the queue; `wake()` after a commit makes a running `serve()` loop look at once."""

    def __init__(self, db: TransactionRunner, *, batch: int = 200) -> None:
        self.db = db
        self.batch = batch
        self._wakeup = asyncio.Event()

    async def drain(self, *, bulk: bool = False) -> int:
        """Handle every pending event, including those the handlers raise; returns the count."""
        total, stalled = 0, 0
        run = self.db.run_bulk if bulk else self.db.run
        while True:
            # An event asking for render after render (more than are kept) is handled with its
            # renders done in its transaction, still within budget, rather than looping.
            renders: list[RenderNeeded] | None = [] if stalled < MAX_RENDERS_PER_EVENT else None
            done = await run(functools.partial(process_pending, limit=self.batch, renders=renders))
            if not renders:
                # Due steps come in bursts after a restart: the bulk path (one synchronous SQLite
                # connection in a thread) runs them ~2x faster than a statement-by-statement
                # await (benchmarks.delay_bench); on PostgreSQL it is the ordinary async session.
                done += await due_batch(self.db, self.batch, renders)
            for need in renders or ():  # D10: no transaction is open here
                await asyncio.to_thread(render_outside, need)
            stalled = stalled + 1 if renders and not done else 0
            total += done
            if done == 0 and not renders:
                return total

    def wake(self) -> None:
        self._wakeup.set()

    async def serve(self, poll_seconds: float = 1.0) -> None:
        """Run until cancelled: drain on every wake-up, and every `poll_seconds` regardless
        (another process may have written events to the same database)."""
        while True:
            self._wakeup.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("engine drain failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), poll_seconds)
