"""The demo's live feed: a background service for the app (`app.backend.Service`).

Every few seconds it delivers a new customer email or a reply in an open ticket's thread through
the same import path as IMAP and `deskline import`, or has bob answer or close a ticket, so the
board and the inbox move by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tempfile
from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from automation import services
from automation.importer import import_paths
from demo import reads
from demo.compose import compose_mail, quoted_reply, reply_subject
from demo.config import CHAT, COMPANY
from demo.people import Person, make_person
from demo.plan import topic_story
from demo.texts import ANSWERS, CHATS, FOLLOW_UPS, THANKS
from demo.topics import TOPICS
from runtime.desk import Desk, DeskError
from storage.database import DatabaseError
from storage.repository import SqlRepository

log = logging.getLogger("deskline.demo")

FEED_KINDS = ("new_email", "customer_reply", "rep_reply", "rep_close", "chat")
FEED_WEIGHTS = (45, 30, 12, 8, 5)
FEED_REP = "bob"


async def run_feed(
    desk: Desk, stop: asyncio.Event, *, interval: float = 4.0, seed: int | None = None
) -> None:
    """Deliver one simulated event every `interval` seconds until `stop` is set.

    A step that fails (a locked database, a ticket someone else just closed) is logged and the
    feed goes on; `stop` ends the wait at once.
    """
    rng = random.Random(seed)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        try:
            log.info("demo feed: %s", await feed_step(desk, rng))
        except (services.DomainError, DatabaseError, DeskError) as exc:  # a race, a lock
            log.warning("demo feed step skipped: %s", exc)
        except Exception:
            log.exception("demo feed step failed; going on")


async def feed_step(desk: Desk, rng: random.Random, *, kind: str | None = None) -> str:
    """One simulated event through the real paths; returns a one-line description.

    `kind` (one of FEED_KINDS) forces a step; a step with nothing to act on falls back to a new
    customer email.
    """
    kind = kind or rng.choices(FEED_KINDS, FEED_WEIGHTS)[0]
    if kind not in FEED_KINDS:
        raise ValueError(f"feed step kind must be one of {', '.join(FEED_KINDS)}")
    done: str | None = None
    if kind == "customer_reply":
        done = await _customer_reply(desk, rng)
    elif kind == "rep_reply":
        done = await _rep_step(desk, rng, close=False)
    elif kind == "rep_close":
        done = await _rep_step(desk, rng, close=True)
    elif kind == "chat":
        done = await _chat(desk, rng)
    return done or await _new_email(desk, rng)


async def deliver(desk: Desk, channel_id: int, raw: bytes, label: str = "demo-feed") -> None:
    """Store one raw message as IMAP and `deskline import` do (`import_paths` on the desk's
    runner: the batch's automation runs inline, then the desk drains)."""
    with tempfile.TemporaryDirectory(prefix="deskline-demo-feed-") as folder:
        path = Path(folder) / f"{label}.eml"
        path.write_bytes(raw)
        summary = await import_paths(desk.runner, channel_id, [path])
    if summary.failed:
        raise RuntimeError(f"the feed's message was not stored: {summary.failures[0][1]}")


async def _customer_reply(desk: Desk, rng: random.Random) -> str | None:
    """A customer answers in the ticket's origin thread, In-Reply-To its newest message: R-T2
    moves the ticket to "Waiting on us" (mostly from "Waiting on contact")."""
    tickets = await desk.query(reads.open_tickets)
    waiting = [x for x in tickets if x.status == "Waiting on contact"]
    pool = waiting or tickets
    if not pool:
        return None
    ticket = rng.choice(pool)
    parent = await desk.query(lambda s: reads.last_message(s, ticket.conversation_id))
    if parent is None:
        return None
    person = Person(ticket.contact_name or ticket.contact_addr.split("@")[0], ticket.contact_addr)
    text = f"{rng.choice(ANSWERS + THANKS)}\n\n{person.first}"
    raw = compose_mail(
        person,
        await desk.query(lambda s: reads.channel_address(s, ticket.channel_id)),
        reply_subject(parent, ticket.subject),
        quoted_reply(text, parent),
        datetime.now(UTC),
        make_msgid(domain=person.domain),
        parent=parent,
    )
    await deliver(desk, ticket.channel_id, raw)
    after = await desk.query(lambda s: reads.status_of(s, ticket.number))
    return f"{person.name} replied on #{ticket.number}: {ticket.status} → {after}"


async def _rep_step(desk: Desk, rng: random.Random, *, close: bool) -> str | None:
    """The simulated rep answers a ticket that waits on us (R-T1 → "Waiting on contact") or
    closes one (the Closed status actions run)."""
    tickets = await desk.query(reads.open_tickets)
    if close:
        pool = [x for x in tickets if x.status == "Waiting on contact"] or tickets
    else:
        pool = [x for x in tickets if x.status != "Waiting on contact"]
    if not pool:
        return None
    ticket = rng.choice(pool)

    def act(repo: SqlRepository, rep: Any) -> str:
        current = services.get_ticket(repo, ticket.number)
        if current.owner_id is None:
            services.assign(repo, rep, ticket.number, rep.name)
        if close:
            services.close_ticket(repo, rep, ticket.number)
            return f"{rep.name} closed #{ticket.number}"
        first = (ticket.contact_name or "there").split()[0]
        body = (
            f"Hi {first},\n\n{rng.choice(FOLLOW_UPS)}\n\n"
            f"Best regards,\n{rep.display_name or rep.name}\n{COMPANY} Support"
        )
        services.reply(repo, rep, ticket.number, body)
        return f"{rep.name} replied on #{ticket.number}"

    rep = await desk.query(lambda s: reads.rep_name(s, FEED_REP))
    said = await desk.act_as(rep, act)
    after = await desk.query(lambda s: reads.status_of(s, ticket.number))
    return f"{said}: {ticket.status} → {after}"


async def _new_email(desk: Desk, rng: random.Random) -> str:
    """A new customer email on an email channel: R-C1 opens a ticket in New."""
    channels = await desk.query(reads.email_channels)
    if not channels:
        raise RuntimeError("the feed needs an email channel with an address")
    topic = rng.choice(TOPICS)
    channel = next((c for c in channels if c.name == topic.channel), channels[0])
    person = make_person(rng)
    if rng.random() < 0.3:  # a returning customer
        known = await desk.query(reads.known_contacts)
        if known:
            name, addr = rng.choice(known)
            person = Person(name or addr.split("@")[0], addr)
    story = topic_story(rng, topic, person, FEED_REP)
    mid = make_msgid(domain=person.domain)
    raw = compose_mail(
        person,
        channel.address,
        story.subject,
        story.body,
        datetime.now(UTC),
        mid,
        html=rng.random() < 0.15,
        attachment=("png" if channel.name != "billing" else "pdf") if rng.random() < 0.05 else None,
    )
    await deliver(desk, channel.id, raw)
    number = await desk.query(lambda s: reads.ticket_of_message(s, mid))
    where = f"ticket #{number}" if number is not None else "inbox"
    return f"New email from {person.name} on {channel.name}: “{story.subject}” → {where}"


async def _chat(desk: Desk, rng: random.Random) -> str | None:
    """A visitor starts a chat: with ticket automation off it stays in the inbox (R-C2)."""
    channel_id = await desk.query(reads.chat_channel)
    if channel_id is None:
        return None
    subject, first, _ = rng.choice(CHATS)
    person = make_person(rng)
    raw = compose_mail(
        person, CHAT, subject, first, datetime.now(UTC), make_msgid(domain=person.domain)
    )
    await deliver(desk, channel_id, raw)
    return f"Chat from {person.name}: “{subject}”"
