"""Snooze (SPEC D23): a time on an open ticket or conversation, not a state or a status.

Until that time the ticket's conversations (or the conversation) stay out of the open views
(the views compare the time with now, so it ends exactly on time even with no worker running).
It ends at its time (the worker's periodic pass writes the timeline line), as soon as the
customer writes (non-automated mail from the contact or a participant), when it closes, or by
hand. Each way in and out is a timeline line with its actor.

Times people type: a duration ("2h", "1 hour"), "tomorrow 9", "monday 9" (`automation.durations`),
"today 14", or a date and time ("2026-12-24 09:00"), in the user's zone (UTC by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from automation.durations import DelayError, parse_delay, time_zone
from automation.events import Actor, Timeline
from automation.ports import ConversationLike, Repository, TicketLike, UserLike
from automation.schedule import due_time

CUSTOMER_WROTE = "the customer wrote"
TIME_CAME = "its time came"
CLOSED = "closed"
EXAMPLES = '2h, 1 hour, "today 14", "tomorrow 9", "monday 9" or "2026-12-24 09:00"'


class SnoozeError(ValueError):
    """A snooze that cannot be set or ended; the message says why in one line."""


class SnoozeRepository(Repository, Protocol):
    def snoozed_tickets_due(self, now: datetime, limit: int) -> Sequence[TicketLike]: ...
    def snoozed_conversations_due(
        self, now: datetime, limit: int
    ) -> Sequence[ConversationLike]: ...


@dataclass(frozen=True)
class Preset:
    label: str
    until: datetime


def parse_until(text: str, now: datetime, *, zone: str = "UTC") -> datetime:
    """The moment `text` names, after `now` (aware UTC); SnoozeError when it cannot be read."""
    spec = " ".join(text.split())
    if not spec:
        raise SnoozeError(f"write until when, e.g. {EXAMPLES}")
    words = spec.lower().split()
    try:
        if words[0] == "today" and len(words) in (2, 3):
            config = parse_delay(" ".join(["tomorrow", *words[1:]]), zone=zone)
            until = due_time({**config, "days": 0}, now)
        else:
            until = due_time(parse_delay(spec, zone=zone), now)
    except DelayError as exc:
        typed = _date_and_time(spec, zone)
        if typed is None:
            raise SnoozeError(f"cannot read {spec!r}: write e.g. {EXAMPLES}") from exc
        until = typed
    if until <= now:
        raise SnoozeError(f"{describe(until, zone)} has passed: snooze until a later time")
    return until


def _date_and_time(spec: str, zone: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(spec)
    except ValueError:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=time_zone(zone))
    return found.astimezone(time_zone("UTC"))


def presets(now: datetime, *, zone: str = "UTC") -> list[Preset]:
    """In 1 hour, this afternoon 14:00 (while it is ahead), tomorrow 9:00, next Monday 9:00."""
    found = [Preset("In 1 hour", now + timedelta(hours=1))]
    local = now.astimezone(time_zone(zone))
    if local.hour < 14:
        found.append(Preset("This afternoon, 14:00", parse_until("today 14", now, zone=zone)))
    found.append(Preset("Tomorrow, 9:00", parse_until("tomorrow 9", now, zone=zone)))
    monday = due_time({"weekday": 0, "hour": 9, "tz": zone}, now)
    found.append(Preset(f"Next Monday, 9:00 ({monday:%d %b})", monday))
    return found


def describe(moment: datetime, zone: str = "UTC") -> str:
    """A moment as people read it: "Fri 04 Dec 14:00 UTC"."""
    local = moment.astimezone(time_zone(zone))
    return f"{local:%a %d %b %H:%M} {zone}"


def left(until: datetime, now: datetime) -> str:
    """What is left, short, for a mark on a card: "45m", "2h", "3d"."""
    seconds = max(0, int((until - now).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def is_snoozed(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def _until(ticket: TicketLike | None, conversation: ConversationLike | None) -> datetime | None:
    """The snooze time of the ticket when there is one, else of the conversation."""
    if ticket is not None:
        return ticket.snoozed_until
    return conversation.snoozed_until if conversation is not None else None


# --- people -------------------------------------------------------------------------------------


def snooze(
    repo: Repository,
    user: UserLike,
    until: datetime,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
) -> int:
    """Snooze a ticket (with its conversations) or a conversation without one until `until`."""
    actor = Actor("user", user.id, user.name)
    if until <= repo.now():
        raise SnoozeError("snooze until a later time")
    if ticket is None and conversation is not None and conversation.ticket_id is not None:
        ticket = repo.ticket(conversation.ticket_id)
    if ticket is not None:
        if ticket.status.state == "CLOSED":
            raise SnoozeError(f"#{ticket.id} is closed: only an open ticket can be snoozed")
        ticket.snoozed_until = until
        for each in repo.ticket_conversations(ticket.id):
            if each.state == "open":
                each.snoozed_until = until
        return repo.add_timeline(
            Timeline.SNOOZED,
            actor,
            ticket_id=ticket.id,
            summary=f"Snoozed until {describe(until)}",
            data={"until": until.isoformat()},
        )
    if conversation is None:
        raise SnoozeError("nothing to snooze")
    if conversation.state != "open":
        raise SnoozeError(f"conversation {conversation.id} is closed: it cannot be snoozed")
    conversation.snoozed_until = until
    return repo.add_timeline(
        Timeline.SNOOZED,
        actor,
        conversation_id=conversation.id,
        summary=f"Snoozed until {describe(until)}",
        data={"until": until.isoformat()},
    )


def unsnooze(
    repo: Repository,
    user: UserLike,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
) -> int:
    """End a snooze by hand; SnoozeError when there is none."""
    if ticket is None and conversation is not None and conversation.ticket_id is not None:
        ticket = repo.ticket(conversation.ticket_id)
    if not is_snoozed(_until(ticket, conversation), repo.now()):
        what = (
            f"#{ticket.id}" if ticket else f"conversation {conversation.id if conversation else ''}"
        )
        raise SnoozeError(f"{what} is not snoozed")
    actor = Actor("user", user.id, user.name)
    ended = end(repo, actor, f"by {user.name}", ticket=ticket, conversation=conversation)
    assert ended is not None
    return ended


# --- what ends it -------------------------------------------------------------------------------


def end(
    repo: Repository,
    actor: Actor,
    why: str,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
    cause_id: int | None = None,
) -> int | None:
    """Clear the snooze of a ticket (and its conversations) or of a lone conversation; the
    timeline line says why. None when it was not snoozed (an ended time is cleared quietly
    only by the periodic pass, which passes `TIME_CAME`)."""
    now = repo.now()
    if ticket is not None:
        until = ticket.snoozed_until
        ticket.snoozed_until = None
        for each in repo.ticket_conversations(ticket.id):
            each.snoozed_until = None
    elif conversation is not None:
        until = conversation.snoozed_until
        conversation.snoozed_until = None
    else:
        return None
    if until is None or (until > now) == (why == TIME_CAME):
        return None
    return repo.add_timeline(
        Timeline.SNOOZE_ENDED,
        actor,
        ticket_id=ticket.id if ticket else None,
        conversation_id=None if ticket else conversation.id if conversation else None,
        cause_id=cause_id,
        summary=f"Snooze ended: {why}",
        data={"why": why, "until": until.isoformat()},
    )


def customer_wrote(
    repo: Repository, conversation: ConversationLike, actor: Actor, cause_id: int
) -> int | None:
    """Non-automated mail from the contact or a participant reached the conversation."""
    ticket = repo.ticket(conversation.ticket_id) if conversation.ticket_id else None
    if not is_snoozed(_until(ticket, conversation), repo.now()):
        return None
    return end(
        repo, actor, CUSTOMER_WROTE, ticket=ticket, conversation=conversation, cause_id=cause_id
    )


def closed(
    repo: Repository,
    actor: Actor,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
    cause_id: int | None = None,
) -> int | None:
    if not is_snoozed(_until(ticket, conversation), repo.now()):
        return None
    return end(repo, actor, CLOSED, ticket=ticket, conversation=conversation, cause_id=cause_id)


def end_due(repo: SnoozeRepository, limit: int = 200) -> int:
    """The periodic pass: every snooze whose time came gets its timeline line; returns how many."""
    now = repo.now()
    actor = Actor.system()
    done = 0
    for ticket in repo.snoozed_tickets_due(now, limit):
        done += end(repo, actor, TIME_CAME, ticket=ticket) is not None
    for conversation in repo.snoozed_conversations_due(now, limit):
        done += end(repo, actor, TIME_CAME, conversation=conversation) is not None
    return done


# --- entry points (the app's key, the CLI) ------------------------------------------------------


def snooze_by(
    repo: Repository,
    user: UserLike,
    until: datetime,
    *,
    number: int | None = None,
    conversation_id: int | None = None,
) -> int:
    """Snooze ticket `number`, or conversation `conversation_id` (its ticket when it has one)."""
    ticket, conversation = _find(repo, number, conversation_id)
    return snooze(repo, user, until, ticket=ticket, conversation=conversation)


def unsnooze_by(
    repo: Repository,
    user: UserLike,
    *,
    number: int | None = None,
    conversation_id: int | None = None,
) -> int:
    ticket, conversation = _find(repo, number, conversation_id)
    return unsnooze(repo, user, ticket=ticket, conversation=conversation)


def _find(
    repo: Repository, number: int | None, conversation_id: int | None
) -> tuple[TicketLike | None, ConversationLike | None]:
    if conversation_id is not None:
        conversation = repo.conversation_or_none(conversation_id)
        if conversation is None:
            raise SnoozeError(f"no conversation {conversation_id}")
        return None, conversation
    ticket = repo.ticket(number) if number is not None else None
    if ticket is None:
        raise SnoozeError(f"no ticket #{number}")
    return ticket, None
