"""The state every part of `SqlRepository` shares: the session, the clock, the caches of one
transaction, and the few helpers each part writes and reads with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from storage import models as m

T = TypeVar("T")
Clock = Callable[[], datetime]
_CLOCK = "deskline.clock"  # the session's clock, in `Session.info`
_INSERTS: dict[str, Any] = {}  # the Core insert of each table, built once (`_insert`)


@dataclass(frozen=True)
class LocalEvent:
    id: int | None  # None: handled inline, never queued (see `handle_events_inline`)
    type: str
    payload: dict[str, Any]


class RepositoryBase:
    """One repository lives for one transaction: the whole `Session` of it."""

    def __init__(self, session: Session, *, clock: Clock | None = None) -> None:
        """`clock` defaults to the clock of the session's first repository, else real UTC time:
        a repository built later on the same session (storage.inbound) keeps the same time."""
        self.session = session
        self.clock: Clock = clock or session.info.get(_CLOCK) or m.utcnow
        session.info[_CLOCK] = self.clock
        self._settings: dict[str, Any] = {}
        self._own: frozenset[str] | None = None
        self._config: dict[tuple[str, object], Any] = {}  # pipelines, triggers, workflows
        self._local_events: list[LocalEvent] = []
        self._inline_events = False
        self._user_ids_by_email: dict[str, int] | None = None
        # The Session's identity map holds clean objects weakly; a transaction that touches the
        # same ticket, conversation and contact from several handlers would re-select them after
        # every garbage collection. Holding them here keeps each to one SELECT per transaction.
        self._held: list[object] = []
        event.listen(session, "loaded_as_persistent", self._hold)
        event.listen(session, "pending_to_persistent", self._hold)

    def _hold(self, _session: Session, instance: object) -> None:
        self._held.append(instance)

    def _cached(self, key: tuple[str, object], load: Callable[[], T]) -> T:
        """Settings-like rows read on every message; admin changes call `_forget_config`."""
        if key not in self._config:
            self._config[key] = load()
        return cast(T, self._config[key])

    def _forget_config(self) -> None:
        self._config.clear()

    def _insert(self, model: type[m.Base], **values: Any) -> int:
        """A Core insert for rows nothing reads back as objects (no flush, no ORM state)."""
        table = cast(Table, model.__table__)
        statement = _INSERTS.get(table.name)
        if statement is None:
            statement = _INSERTS[table.name] = insert(table).returning(table.c.id)
        return int(self.session.connection().execute(statement, values).scalar_one())

    def _read(self, statement: Any, **params: Any) -> Any:
        """A prepared Core read on this transaction's connection: no statement building, no
        autoflush. Only for rows written by Core inserts or already flushed ORM objects."""
        return self.session.connection().execute(statement, params)

    def batch_caches(self) -> dict[str, Any]:
        """The plain-value caches of this transaction (no ORM objects): settings, own
        addresses, users' addresses, for the next part of the same import batch."""
        return {
            "settings": dict(self._settings),
            "own": self._own,
            "users": self._user_ids_by_email,
        }

    def adopt_batch_caches(self, caches: dict[str, Any]) -> None:
        """Start from `batch_caches` of the batch's previous transaction (issue 16)."""
        self._settings = dict(caches["settings"])
        self._own = caches["own"]
        self._user_ids_by_email = caches["users"]

    def now(self) -> datetime:
        return self.clock()

    def flush(self) -> None:
        self.session.flush()

    @contextmanager
    def savepoint(self) -> Iterator[object]:
        with self.session.begin_nested() as nested:
            yield nested
