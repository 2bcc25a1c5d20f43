"""The timeline, notifications and domain events (the durable queue, SPEC E2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, update

from automation.events import Actor, DomainEvent
from automation.ports import LocalEventLike
from storage import models as m
from storage.repository.base import LocalEvent, RepositoryBase

_TIMELINE = cast(Table, m.TimelineEvent.__table__)
_EVENTS = cast(Table, m.DomainEvent.__table__)
_INSERT_TIMELINE = insert(_TIMELINE).returning(_TIMELINE.c.id)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_EVENT_DONE = (
    update(_EVENTS).where(_EVENTS.c.id == bindparam("event")).values(processed_at=bindparam("at"))
)


def _cause_root_query() -> Select[Any]:
    """From the timeline line `start`, back along `cause_id` to the line with no cause (each
    cause is an older line, so the walk ends even on damaged data)."""
    line = _TIMELINE
    chain = select(line.c.id, line.c.cause_id).where(line.c.id == bindparam("start"))
    walk = chain.cte("cause_chain", recursive=True)
    older = line.alias("older")
    walk = walk.union_all(
        select(older.c.id, older.c.cause_id).where(
            older.c.id == walk.c.cause_id, older.c.id < walk.c.id
        )
    )
    return (
        select(line.c.id, line.c.type, line.c.actor_kind, line.c.data)
        .join(walk, walk.c.id == line.c.id)
        .where(walk.c.cause_id.is_(None))
        .limit(1)
    )


_CAUSE_ROOT = _cause_root_query()


@dataclass(frozen=True)
class CauseRoot:
    """The first timeline line of a chain of causes: the outside event (SPEC E8)."""

    id: int
    type: str
    actor_kind: str
    data: dict[str, Any]


class EventsMixin(RepositoryBase):
    """The timeline, notifications and domain events."""

    def add_timeline(
        self,
        type_: str,
        actor: Actor,
        *,
        ticket_id: int | None = None,
        conversation_id: int | None = None,
        message_row_id: int | None = None,
        cause_id: int | None = None,
        summary: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        # A Core insert: timeline rows are the most numerous writes and need no ORM state;
        # on PostgreSQL batched with the next statement (issue 16, `BatchedWrites`).
        return self._batched_insert(
            _TIMELINE,
            _INSERT_TIMELINE,
            {
                "type": type_,
                "at": self.now(),
                "ticket_id": ticket_id,
                "conversation_id": conversation_id,
                "message_row_id": message_row_id,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "cause_id": cause_id,
                "summary": summary,
                "data": data or {},
            },
        )

    def cause_root(self, timeline_id: int) -> CauseRoot | None:
        """The outside event the timeline line `timeline_id` descends from (itself when it has
        no cause): automated changes, delayed steps too, keep the line that caused them."""
        # Timeline lines are never changed, so one walk per line and transaction will do (an
        # outbound email asks twice: for D1's old mail and D2's window); a savepoint rolled
        # back forgets them all, since its line ids may be given again (storage.base).
        if timeline_id in self._cause_roots:
            return self._cause_roots[timeline_id]
        row = self._read(_CAUSE_ROOT, start=timeline_id).first()
        root = None if row is None else CauseRoot(row.id, row.type, row.actor_kind, row.data or {})
        self._cause_roots[timeline_id] = root
        return root

    def attach_conversation_timeline(self, conversation_id: int, ticket_id: int) -> None:
        table = _TIMELINE
        self.session.connection().execute(
            update(table)
            .where(table.c.conversation_id == conversation_id, table.c.ticket_id.is_(None))
            .values(ticket_id=ticket_id)
        )

    def add_notification(self, user_id: int, ticket_id: int, text: str) -> None:
        self._insert(
            m.Notification, user_id=user_id, ticket_id=ticket_id, text=text, created_at=self.now()
        )

    def handle_events_inline(self) -> None:
        """From now on, events are handed to `take_local_events` only, not written to the queue.

        For a caller that handles every event in this same transaction (the bulk import's
        fast path): the change and its automation then commit together, so no queue needs to
        stand between them (SPEC E2), and a failure aborts both.
        """
        self._inline_events = True

    def emit(self, event: DomainEvent) -> None:
        payload = event.payload()
        if self._inline_events:
            self._local_events.append(LocalEvent(None, event.type, payload))
            return
        row_id = (
            self.session.connection()
            .execute(
                _INSERT_EVENT, {"type": event.type, "payload": payload, "created_at": self.now()}
            )
            .scalar_one()
        )
        self._local_events.append(LocalEvent(int(row_id), event.type, payload))

    def pending_events(self, limit: int) -> Sequence[m.DomainEvent]:
        """The oldest unhandled events. On PostgreSQL they are locked for this transaction and
        rows another process holds are skipped, so two engines never handle one event twice
        (SQLite has one writer at a time anyway)."""
        self.session.flush()
        return list(
            self.session.scalars(
                select(m.DomainEvent)
                .where(m.DomainEvent.processed_at.is_(None))
                .order_by(m.DomainEvent.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    def take_local_events(self) -> Sequence[LocalEvent]:
        """Events emitted through this repository and not yet taken (bulk import's fast path)."""
        taken, self._local_events = self._local_events, []
        return taken

    def untaken_events(self) -> int:
        """How many emitted events are not taken yet (a mark for `leave_to_queue`)."""
        return len(self._local_events)

    def leave_to_queue(self, rows: Sequence[LocalEventLike], emitted_before: int) -> None:
        """Stop handling events in this transaction: `rows` (taken, not handled, in order) and
        the first `emitted_before` untaken events go to the queue for the engine; untaken events
        after the mark were emitted by a handler whose savepoint rolled back and are dropped.
        Later events go to the queue as they are emitted."""
        kept = [*rows, *self._local_events[:emitted_before]]
        self._local_events, self._inline_events = [], False
        for row in kept:
            if row.id is None:
                self.emit_payload(row.type, row.payload)

    def emit_payload(self, type_: str, payload: dict[str, Any]) -> None:
        """Write an event to the queue from its stored form."""
        self.session.connection().execute(
            _INSERT_EVENT, {"type": type_, "payload": payload, "created_at": self.now()}
        )

    def record_event_failure(self, event_id: int, error: str) -> int:
        table = _EVENTS
        return int(
            self.session.execute(
                update(table)
                .where(table.c.id == event_id)
                .values(attempts=table.c.attempts + 1, last_error=error)
                .returning(table.c.attempts)
            ).scalar_one()
        )

    def mark_event_processed(self, event_id: int) -> None:
        self._read(_EVENT_DONE, event=event_id, at=self.now())
