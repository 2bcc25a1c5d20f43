"""Dry runs (SPEC §8 B1, B2; B1.1, B2.2): mail through the real ingestion path and its automation,
inside transactions that are always rolled back. Nothing is committed, sent, woken or notified:
the desk's engine is never drained and its sender never woken.

`explain_eml` stores one message and handles every event it causes in ONE transaction, reads the
explain trace of what it did, then rolls it all back. `import_dry_run` runs the importer's own
batch loop with a runner whose every transaction is rolled back, so the write lock is held one
batch at a time (each batch sees the desk as it is, not the batches before it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from automation.importer import (
    ImportSummary,
    Prepared,
    import_paths,
    message_limit,
    prepare,
    store_batch,
)
from mail.sources import scan
from storage.database import Database
from storage.explain import message_trace
from storage.models import Message

T = TypeVar("T")


class _RolledBack(Exception):
    """Carries a transaction's result out of it, so that the transaction is rolled back."""

    def __init__(self, result: Any) -> None:
        super().__init__("rolled back")
        self.result = result


class RollbackRunner:
    """The importer's runner (`automation.engine.AutomatedRunner`) with every transaction rolled
    back once `fn` returns; its drain handles nothing (each batch handles its own events inline,
    and what another session left pending is the real engine's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def run(self, fn: Callable[[Any], T]) -> T:
        return await self._rolled_back(self.db.run, fn)

    async def run_bulk(self, fn: Callable[[Any], T]) -> T:
        return await self._rolled_back(self.db.run_bulk, fn)

    async def drain(self) -> int:
        return 0

    @staticmethod
    async def _rolled_back(runner: Callable[..., Any], fn: Callable[[Any], T]) -> T:
        def then_roll_back(repo: Any) -> T:
            raise _RolledBack(fn(repo))

        try:
            await runner(then_roll_back)
        except _RolledBack as done:
            return done.result
        raise AssertionError("a dry run's transaction was not rolled back")  # pragma: no cover


async def import_dry_run(db: Database, channel_id: int, paths: list[Path]) -> ImportSummary:
    """What `import PATH...` would do, live (not historical), keeping nothing."""
    # D10's deferral needs a commit before the render; a dry run commits nothing, so it
    # renders at once (in a worker, within the budget) and keeps nothing.
    return await import_paths(
        RollbackRunner(db), channel_id, paths, historical=False, defer_renders=False
    )


async def explain_eml(db: Database, channel_id: int, path: Path) -> dict[str, Any]:
    """The trace `explain` would show for the message in `path` had it arrived now, and the
    import's counts for it; nothing is kept."""
    runner = RollbackRunner(db)
    items = list(scan([path]))
    if len(items) != 1:
        raise ValueError(f"{path} holds {len(items)} messages: give one .eml file")
    item = prepare(items[0], await message_limit(runner))

    def store_and_read(repo: Any) -> dict[str, Any]:
        summary = store_batch(repo, channel_id, [item], historical=False, isolate=True)
        return _outcome(repo.session, summary, item)

    return await runner.run_bulk(store_and_read)


def _outcome(session: Any, summary: ImportSummary, item: Prepared) -> dict[str, Any]:
    result = summary.results[0] if summary.results else None
    outcome = {
        "source": item.label,
        "outcome": result.outcome if result is not None else "failed",
        "failure": summary.failures[0][1] if summary.failures else None,
        "emails": {"queued": summary.emails.queued, "held": summary.emails.held},
        "trace": None,
    }
    if result is not None and result.message_row_id is not None:
        session.flush()
        message = session.get(Message, result.message_row_id)
        outcome["trace"] = message_trace(session, message)
    return outcome
