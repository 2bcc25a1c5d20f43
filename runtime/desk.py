"""One open help desk: its database, its engine, and who acts (the composition root).

Every entry point opens a desk here and goes through it: the CLI (one desk per command), the
terminal app's backend thread (one per session), `deskline sync`, the demo, the benchmarks and the
tests. A change is `act(fn)`: `fn(repo, user)` runs in one transaction as the desk's user, commits
with its domain events (SPEC E2), and then the engine handles those events and what they cause
(B8.1). Nothing else constructs an engine and drains it.

Whoever queues mail wakes the sender of this process at once (`mail_ready`); a sender in another
process finds it by its own poll (B8.4).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from automation.engine import Engine
from automation.render_budget import RenderNeeded, deferring, render_outside
from runtime.identity import current_user
from storage.conflicts import rerun_on_conflict
from storage.database import HEAD_REVISION, Database, known_revisions
from storage.repository import SqlRepository
from storage.repository.audit import set_actor

T = TypeVar("T")
log = logging.getLogger("deskline.runtime")
RENDERS_PER_CHANGE = 8  # D10: a change rolled back for a render at most this often
CONFLICT_ATTEMPTS = 4  # a change that lost to a concurrent transaction, run this often at most
Clock = Callable[[], datetime]


class DeskError(Exception):
    """The desk cannot be opened or used; the message is one line for the user."""


@dataclass(frozen=True)
class Me:
    """The signed-in user of a session, read once when the desk opens."""

    id: int
    name: str
    display_name: str
    is_admin: bool


class Desk:
    def __init__(self, db: Database, *, as_user: str | None = None) -> None:
        self.db = db
        self.acting_as = as_user
        self.engine = Engine(db)
        self.me: Me | None = None
        self.mail_ready = asyncio.Event()
        self.runner = _Runner(self)

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        as_user: str | None = None,
        initialized: bool = True,
        identify: bool = False,
        clock: Clock | None = None,
    ) -> Desk:
        """Open the desk at `url`. With `initialized` the schema must be this version's; with
        `identify` the user is looked up now (`me`) rather than at each change; `clock` is the
        time every change sees (a replay, the demo's history; default: the real time)."""
        desk = cls(Database(url, clock=clock), as_user=as_user)
        try:
            if initialized:
                await desk.check_schema()
            else:
                await desk.check_not_newer()
            if identify:
                desk.me = await desk.db.run(lambda repo: _me(current_user(repo, as_user)))
        except BaseException:
            await desk.close()
            raise
        return desk

    async def check_schema(self) -> None:
        revision = await self.db.schema_revision()
        where = self.db.where
        if revision is None:
            missing = "" if self.db.exists() else " (there is no such file: check --db)"
            raise DeskError(
                f"the database {where} is not initialised{missing}: run `deskline init`"
            )
        _refuse_newer(where, revision)
        if revision != HEAD_REVISION:
            raise DeskError(
                f"the database {where} has an older schema ({revision}; this version's is "
                f"{HEAD_REVISION}): run `deskline init` to upgrade it"
            )

    async def check_not_newer(self) -> None:
        """Refuse a database a newer Deskline made (D9): nothing here may change it."""
        revision = await self.db.schema_revision()
        if revision is not None:
            _refuse_newer(self.db.where, revision)

    async def close(self) -> None:
        await self.db.close()

    # --- work ---------------------------------------------------------------------------------

    async def act(self, fn: Callable[[SqlRepository, Any], T]) -> T:
        """A change as this desk's user, committed, then handled by the engine."""
        result = await self._change(self.db.run, lambda repo: fn(repo, self._user(repo)))
        await self.settle()
        return result

    async def act_as(
        self, name: str, fn: Callable[[SqlRepository, Any], T], *, bulk: bool = False
    ) -> T:
        """A change as the user `name` (tests, the demo's simulated reps). `bulk` runs it and
        its automation on the synchronous SQLite connection (a burst of changes)."""
        run = self.db.run_bulk if bulk else self.db.run
        result = await self._change(run, lambda repo: fn(repo, _user_named(repo, name)))
        await self.settle(bulk=bulk)
        return result

    async def run(self, fn: Callable[[SqlRepository], T]) -> T:
        """A change with no acting user (mail arriving, setup), then handled by the engine."""
        result = await self._change(self.db.run, fn)
        await self.settle()
        return result

    async def _change(
        self, run: Callable[[Callable[[SqlRepository], T]], Awaitable[T]], fn: Callable[..., T]
    ) -> T:
        """Run a change's transaction; no template renders inside it (D10). A command of
        several changes handles the events of the first before the next (E6, `in_order`); when
        one of them needs a render, the transaction rolls back, the render is done with none
        open, and the change runs again (it finds the render done). After a few, renders are
        done in the transaction, still in a worker within the budget. A change that loses to
        a concurrent transaction runs again whole, a few times (storage/conflicts.py)."""
        # A change that lost to a concurrent transaction (a PostgreSQL deadlock between two
        # reps' moves, say) is rolled back whole; it runs again as it does after a render,
        # rather than the person being told of another person's timing.
        return await rerun_on_conflict(
            lambda: self._rendered_change(run, fn), CONFLICT_ATTEMPTS, "a change"
        )

    async def _rendered_change(
        self, run: Callable[[Callable[[SqlRepository], T]], Awaitable[T]], fn: Callable[..., T]
    ) -> T:
        for _ in range(RENDERS_PER_CHANGE):
            try:
                with deferring():
                    return await run(fn)
            except RenderNeeded as need:
                await asyncio.to_thread(render_outside, need)
        return await run(fn)

    async def store(self, fn: Callable[[SqlRepository], T]) -> T:
        """A bookkeeping write that causes no automation (drafts, presence): no engine."""
        return await self.db.run(fn)

    async def query(self, fn: Callable[[Session], T]) -> T:
        """A read over a plain Session (storage.queries, storage.views); never a write lock."""
        return await self.db.query(fn)

    async def read(self, fn: Callable[[SqlRepository], T]) -> T:
        """A read through the repository (settings, lists of plain values); never a write lock."""
        return await self.db.read(fn)

    async def drain(self, *, bulk: bool = False) -> int:
        """Handle every pending event and due workflow step; returns how many. `bulk` takes
        the synchronous SQLite connection (a burst, e.g. building the demo)."""
        handled = await self.engine.drain(bulk=bulk)
        self.wake()
        return handled

    async def settle(self, *, bulk: bool = False) -> None:
        """After a commit: run the automation it caused. A failure here leaves the events
        pending for the next drain (the mail worker's, or the next command's) and is only a
        warning: the change itself is committed (B8.1)."""
        try:
            await self.drain(bulk=bulk)
        except Exception as exc:
            log.warning("automation did not finish (it will be retried): %s", exc)

    def wake(self) -> None:
        """Something may have been queued: the engine and the sender of this process look now."""
        self.engine.wake()
        self.mail_ready.set()

    def user_of(self, repo: SqlRepository) -> Any:
        """This desk's user, in a read or a change of `repo`."""
        return self._user(repo)

    def _user(self, repo: SqlRepository) -> Any:
        user = repo.user(self.me.id) if self.me is not None else None
        user = user or current_user(repo, self.acting_as)
        set_actor(repo.session, user)  # SPEC S11: the settings audit's who
        return user


class _Runner:
    """The desk's transactions with no drain after each, plus its drain: handed to the batch
    loops of import and IMAP (`automation.engine.AutomatedRunner`), which handle each batch's
    events inline and drain what is left."""

    def __init__(self, desk: Desk) -> None:
        self.run = desk.db.run
        self.run_bulk = desk.db.run_bulk
        self.drain = desk.drain


@asynccontextmanager
async def open_desk(
    url: str, *, as_user: str | None = None, initialized: bool = True, identify: bool = False
) -> AsyncIterator[Desk]:
    desk = await Desk.open(url, as_user=as_user, initialized=initialized, identify=identify)
    try:
        yield desk
    finally:
        await desk.close()


def _refuse_newer(where: str, revision: str) -> None:
    if revision in known_revisions():
        return
    raise DeskError(
        f"the database {where} was created by a newer version of Deskline (its schema is "
        f"{revision}; Deskline {_version()} knows schemas up to {HEAD_REVISION}): "
        "upgrade Deskline to use it, or give another database with --db"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deskline")
    except PackageNotFoundError:
        return "(this copy)"


def _user_named(repo: SqlRepository, name: str) -> Any:
    user = repo.user_by_name(name)
    if user is None:
        raise DeskError(f"no user {name!r}")
    set_actor(repo.session, user)
    return user


def _me(user: Any) -> Me:
    return Me(
        id=user.id,
        name=user.name,
        display_name=user.display_name or user.name,
        is_admin=bool(user.is_admin),
    )
