"""The state every part of `SqlRepository` shares: the session, the clock, the caches of one
transaction, and the few helpers each part writes and reads with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, event, insert, text
from sqlalchemy.orm import Session

from storage import models as m
from storage.conflicts import is_transient_conflict

T = TypeVar("T")
Clock = Callable[[], datetime]
_CLOCK = "deskline.clock"  # the session's clock, in `Session.info`
_INSERTS: dict[str, Any] = {}  # the Core insert of each table, built once (`_insert`)
_WRITES = "deskline.batched_writes"  # the session's `BatchedWrites`, in `Session.info`
ID_BLOCK = 64  # ids taken from a PostgreSQL sequence in one round trip (`BatchedWrites`)


class BatchedWrites:
    """PostgreSQL (issue 16): rows of append-only tables (timeline lines, action runs) get
    their ids from blocks taken from the table's sequence in one round trip, and are written
    together by one executemany right before the next other statement on the connection, the
    commit, or the edge of a savepoint, so writes still reach the database in the order they
    were made and every read sees them. One per session, so two repositories on one session
    share the order of ids. Unused ids of a block are left as gaps (these ids are not numbers
    people see)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[tuple[Table, dict[str, Any]]] = []
        self.pools: dict[str, list[int]] = {}
        self.sequences: dict[str, str] = {}
        self.writing = False
        self.watched: object | None = None
        event.listen(session, "before_commit", lambda _s: self.write())

    def add(self, table: Table, values: dict[str, Any]) -> int:
        connection = self.session.connection()
        if self.watched is not connection:
            event.listen(connection, "before_execute", self._before_execute)
            self.watched = connection
        pool = self.pools.get(table.name)
        if not pool:
            self.write()  # the ids come with a statement: earlier rows go first
            pool = self.pools[table.name] = self._block(table)
        row_id = pool.pop()
        self.rows.append((table, {**values, "id": row_id}))
        return row_id

    def _block(self, table: Table) -> list[int]:
        connection = self.session.connection()
        sequence = self.sequences.get(table.name)
        if sequence is None:
            sequence = self.sequences[table.name] = str(
                connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                ).scalar_one()
            )
        ids = connection.execute(
            text("SELECT nextval(:s) FROM generate_series(1, :n) AS g(i) ORDER BY g.i"),
            {"s": sequence, "n": ID_BLOCK},
        ).scalars()
        return sorted((int(i) for i in ids), reverse=True)  # pop() takes the smallest

    def _before_execute(self, *_args: Any) -> None:
        if self.rows and not self.writing:
            self.write()

    def write(self) -> None:
        """Write the waiting rows: one executemany per table, each table's rows in the order
        they were made (the batched tables hold no keys to one another)."""
        if not self.rows or self.writing:
            return
        rows, self.rows = self.rows, []
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, values in rows:
            by_table.setdefault(table, []).append(values)
        self.writing = True
        try:
            connection = self.session.connection()
            for table, values_list in by_table.items():
                connection.execute(insert(table), values_list)
        finally:
            self.writing = False

    def drop_since(self, mark: int) -> None:
        """A savepoint rolled back: the rows made inside it are never written."""
        del self.rows[mark:]


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
        self._cause_roots: dict[int, Any] = {}  # timeline line -> its CauseRoot (events.py)
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

    def _batched_insert(self, table: Table, statement: Any, values: dict[str, Any]) -> int:
        """An insert of an append-only row: on PostgreSQL batched (`BatchedWrites`), on SQLite
        (no round trips to save) at once with `statement` (an insert returning the id)."""
        writes = self._writes()
        if writes is None:
            return int(self.session.connection().execute(statement, values).scalar_one())
        return writes.add(table, values)

    def _writes(self) -> BatchedWrites | None:
        info = self.session.info
        if _WRITES not in info:
            postgres = self.session.get_bind().dialect.name == "postgresql"
            info[_WRITES] = BatchedWrites(self.session) if postgres else None
        return cast(BatchedWrites | None, info[_WRITES])

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

    def is_transient_conflict(self, exc: BaseException) -> bool:
        """A deadlock or serialization failure: the whole transaction must run again, never
        just a savepoint of it (storage/conflicts.py)."""
        return is_transient_conflict(exc)

    @contextmanager
    def savepoint(self) -> Iterator[object]:
        writes = self._writes()
        if writes is not None:
            writes.write()
        mark = len(writes.rows) if writes is not None else 0
        try:
            with self.session.begin_nested() as nested:
                yield nested
                if writes is not None:
                    writes.write()  # inside the savepoint, before its release
        except BaseException:
            if writes is not None:
                writes.drop_since(mark)
            self._cause_roots.clear()  # the rolled-back lines' ids may be given again
            self._config.pop(("property_defs", None), None)  # one added inside is gone again
            raise
