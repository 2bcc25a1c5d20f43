"""Persistence for live IMAP inbound: checkpoints and leases.

`InboundRepository` is the repository `automation.inbound` works with: a `SqlRepository` plus the
methods of `automation.inbound.InboundRepository`. `InboundDatabase` wraps a `Database` so that
`run` / `run_bulk` hand one out, in the same single transaction as ever. The same operations
exist as plain functions over any `SqlRepository` for the CLI.

Leases (`leases` table): a named lease belongs to one holder until `expires_at`. Taking one is a
single conditional UPDATE (ours already, or expired) and, when no row exists yet, an INSERT that
does nothing on conflict, so two processes racing for it on SQLite or PostgreSQL never both win.
Expiry uses the clock of the process that takes the lease: keep the machines' clocks in sync, and
the lease much longer than the skew.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from automation.engine import AutomatedRunner
from storage import models as m
from storage.repository import SqlRepository

T = TypeVar("T")
_LEASES = cast(Table, m.Lease.__table__)
_STATES = cast(Table, m.MailboxState.__table__)


def checkpoint(repo: SqlRepository, channel_id: int, folder: str) -> tuple[int, int] | None:
    """(uidvalidity, last_uid) stored for a channel's folder, or None before the first sync."""
    row = repo.session.execute(
        select(_STATES.c.uidvalidity, _STATES.c.last_uid).where(
            _STATES.c.channel_id == channel_id, _STATES.c.folder == folder
        )
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


def save_checkpoint(
    repo: SqlRepository, channel_id: int, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Write the checkpoint in the caller's transaction (the one storing the messages it covers).
    Within one UIDVALIDITY it never moves back."""
    row = repo.session.get(m.MailboxState, (channel_id, folder))
    if row is None:
        repo.session.add(
            m.MailboxState(
                channel_id=channel_id,
                folder=folder,
                uidvalidity=uidvalidity,
                last_uid=last_uid,
                updated_at=repo.now(),
            )
        )
        return
    if row.uidvalidity == uidvalidity:
        last_uid = max(row.last_uid, last_uid)
    row.uidvalidity = uidvalidity
    row.last_uid = last_uid
    row.updated_at = repo.now()


def acquire_lease(
    repo: SqlRepository,
    name: str,
    holder: str,
    seconds: float,
    alive: Callable[[str, datetime | None], bool] | None = None,
) -> bool:
    """Take or renew the lease `name` for `seconds`; False while another holder's is unexpired,
    unless `alive` says that holder is gone (B8.7: a dead process on this host), given when it
    last renewed the lease."""
    now = repo.now()
    values = {"holder": holder, "expires_at": now + timedelta(seconds=seconds)}
    conn = repo.session.connection()
    taken = conn.execute(
        update(_LEASES)
        .where(
            _LEASES.c.name == name,
            or_(_LEASES.c.holder == holder, _LEASES.c.expires_at <= now),
        )
        .values(**values)
    )
    if taken.rowcount == 1:
        return True
    if alive is not None and _take_from_the_dead(repo, name, values, seconds, alive):
        return True
    inserted = conn.execute(_insert_if_absent(repo, {"name": name, **values}))
    return inserted.rowcount == 1


def _take_from_the_dead(
    repo: SqlRepository,
    name: str,
    values: dict[str, Any],
    seconds: float,
    alive: Callable[[str, datetime | None], bool],
) -> bool:
    conn = repo.session.connection()
    row = conn.execute(
        select(_LEASES.c.holder, _LEASES.c.expires_at).where(_LEASES.c.name == name)
    ).first()
    if row is None or alive(row.holder, row.expires_at - timedelta(seconds=seconds)):
        return False
    taken = conn.execute(
        update(_LEASES)
        .where(_LEASES.c.name == name, _LEASES.c.holder == row.holder)
        .values(**values)
    )
    return taken.rowcount == 1


def holds_lease(repo: SqlRepository, name: str, holder: str) -> bool:
    """Is the lease ours and unexpired, now, in this transaction?"""
    row = repo.session.execute(
        select(_LEASES.c.holder, _LEASES.c.expires_at).where(_LEASES.c.name == name)
    ).first()
    return row is not None and row.holder == holder and row.expires_at > repo.now()


def release_lease(repo: SqlRepository, name: str, holder: str) -> None:
    """Give the lease up (only if it is ours) so another process can take it at once."""
    repo.session.connection().execute(
        delete(_LEASES).where(_LEASES.c.name == name, _LEASES.c.holder == holder)
    )


def _insert_if_absent(repo: SqlRepository, values: dict[str, Any]) -> Any:
    if repo.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_LEASES).values(**values).on_conflict_do_nothing()
    return sqlite.insert(_LEASES).values(**values).on_conflict_do_nothing()


class InboundRepository(SqlRepository):
    """A SqlRepository with what `automation.inbound` needs (its `InboundRepository` protocol)."""

    def checkpoint(self, channel_id: int, folder: str) -> tuple[int, int] | None:
        return checkpoint(self, channel_id, folder)

    def save_checkpoint(
        self, channel_id: int, folder: str, uidvalidity: int, last_uid: int
    ) -> None:
        save_checkpoint(self, channel_id, folder, uidvalidity, last_uid)

    def acquire_lease(
        self,
        name: str,
        holder: str,
        seconds: float,
        alive: Callable[[str, datetime | None], bool] | None = None,
    ) -> bool:
        return acquire_lease(self, name, holder, seconds, alive)

    def holds_lease(self, name: str, holder: str) -> bool:
        return holds_lease(self, name, holder)

    def release_lease(self, name: str, holder: str) -> None:
        release_lease(self, name, holder)


class InboundDatabase:
    """The desk's runner for `automation.inbound` (`automation.engine.AutomatedRunner`): every
    transaction gets an `InboundRepository`; `drain` is the desk's."""

    def __init__(self, db: AutomatedRunner) -> None:
        self.db = db

    async def drain(self) -> int:
        return await self.db.drain()

    async def run(self, fn: Callable[[Any], T]) -> T:
        return await self.db.run(lambda repo: fn(_inbound(repo)))

    async def run_bulk(self, fn: Callable[[Any], T]) -> T:
        return await self.db.run_bulk(lambda repo: fn(_inbound(repo)))


def _inbound(repo: SqlRepository) -> InboundRepository:
    return repo if isinstance(repo, InboundRepository) else InboundRepository(repo.session)
