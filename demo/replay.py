"""Replaying the plan on a desk, tick by tick, through the real paths (SPEC E1).

Each tick the simulated clock moves to the tick's end; its mail is written as .eml files and
imported with `automation.importer.import_paths` on the desk's runner (triggers fire, status
actions run), then each rep's step is an `automation.services` call made as that rep
(`Desk.act_as`), whose automation runs when it commits.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from automation import services
from automation.importer import import_paths
from demo import compose, reads
from demo.clock import SimulatedClock
from demo.config import CHAT, COMPANY, address_of
from demo.plan import MAIL_KINDS, TICK_HOURS, MessageIds, Step, Story
from runtime.desk import Desk
from storage.repository import SqlRepository

log = logging.getLogger("deskline.demo")
ADMIN = "admin"  # who triages: assigns and sets priorities


def ticks(steps: list[Step]) -> int:
    """How many ticks the replay of `steps` has (ticks without steps are skipped)."""
    return len({step.tick for step in steps})


async def replay(
    desk: Desk,
    clock: SimulatedClock,
    steps: list[Step],
    folder: Path,
    start: datetime,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Every step of the plan, tick by tick; `start` is when the history begins. `progress`
    hears how many ticks are done after each."""
    channels = await desk.query(reads.channel_ids)
    ids = MessageIds()
    by_tick: dict[int, list[Step]] = {}
    for step in steps:
        by_tick.setdefault(step.tick, []).append(step)
    for done, (tick, group) in enumerate(sorted(by_tick.items()), start=1):
        clock.set(start + timedelta(hours=(tick + 1) * TICK_HOURS, minutes=-5))
        mails: dict[str, list[bytes]] = {}
        for step in group:
            if step.kind in MAIL_KINDS:
                when = start + timedelta(hours=tick * TICK_HOURS, minutes=step.minute)
                rendered = await _render(desk, step, when, ids)
                if rendered is not None:
                    mails.setdefault(rendered[0], []).append(rendered[1])
        for channel, raws in mails.items():
            target = folder / f"{tick:04d}-{channel}"
            target.mkdir()
            for n, raw in enumerate(raws):
                (target / f"{n:03d}.eml").write_bytes(raw)
            await import_paths(desk.runner, channels[channel], [target])
        await _act(desk, [step for step in group if step.kind not in MAIL_KINDS])
        if progress is not None:
            progress(done)


# --- mail ----------------------------------------------------------------------------------


async def _render(
    desk: Desk, step: Step, when: datetime, ids: MessageIds
) -> tuple[str, bytes] | None:
    """(channel name, raw mail) for a step that delivers mail; None when it has nothing to
    answer (its conversation is not there)."""
    story = step.story
    mid = ids.next(story.person.domain)
    if step.kind in ("mail", "bulk"):
        story.origin_mid = mid
        return story.channel, _first_mail(story, when, mid)
    if step.kind == "chat":
        return "chat", _chat_line(story, step.text, when, mid)
    if not story.origin_mid:
        return None
    found = await desk.query(lambda s: reads.last_of_thread(s, story.origin_mid))
    if found is None:
        return None
    if step.kind == "ooo":
        return story.channel, _out_of_office(story, found, when, mid)
    rng = random.Random(mid)
    text = f"{step.text}\n\n{story.person.first}"
    body = compose.quoted_reply(text, found, quote=rng.random() < 0.85)
    subject = compose.reply_subject(found, story.subject)
    to = address_of(story.channel)
    return story.channel, compose.compose_mail(
        story.person, to, subject, body, when, mid, parent=found
    )


def _first_mail(story: Story, when: datetime, mid: str) -> bytes:
    subject, body = story.subject, story.body
    if story.forwarded:
        subject = f"Fwd: {story.subject}"
        body = compose.forward_body(story.person, story.subject, story.body, when)
    return compose.compose_mail(
        story.person,
        address_of(story.channel),
        subject,
        body,
        when,
        mid,
        headers=story.headers,
        html=story.html,
        attachment=story.attachment,
    )


def _chat_line(story: Story, text: str, when: datetime, mid: str) -> bytes:
    """Chat lines go through the same importer, given the chat channel's id: ingestion stores a
    message on a channel of any kind and the conversation takes the channel's kind as its
    source ("chat"). With ticket automation off no ticket opens (R-C2). The line is an
    email-shaped stand-in (there is no chat transport yet), so its timeline entry reads
    "Email: …"; later lines thread onto the first by In-Reply-To."""
    parent = None
    if story.mids:
        previous = story.mids[-1]
        parent = compose.LastMessage(0, previous, story.mids[:-1], story.subject, "", "", when, "")
    story.mids.append(mid)
    story.origin_mid = story.origin_mid or mid
    return compose.compose_mail(story.person, CHAT, story.subject, text, when, mid, parent=parent)


def _out_of_office(story: Story, found: compose.LastMessage, when: datetime, mid: str) -> bytes:
    return compose.compose_mail(
        story.person,
        address_of(story.channel),
        f"Automatic reply: {found.subject}",
        compose.out_of_office(story.person, when),
        when,
        mid,
        parent=found,
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )


# --- the reps ------------------------------------------------------------------------------


async def _act(desk: Desk, steps: list[Step]) -> None:
    """The reps' steps of one tick: each rep's (and the admin's triage) in one change made as
    them, each step in its own savepoint (a refused step is skipped). A tick's steps are of
    different stories, so whose go first changes nothing."""
    by_user: dict[str, list[Step]] = {}
    for step in steps:
        by_user.setdefault(ADMIN if step.kind == "assign" else step.story.rep, []).append(step)
    for name, mine in by_user.items():
        await desk.act_as(name, functools.partial(_steps, steps=mine), bulk=True)


def _steps(repo: SqlRepository, user: Any, steps: list[Step]) -> None:
    for step in steps:
        try:
            with repo.savepoint():
                _step(repo, user, step)
        except services.DomainError as exc:
            log.debug("demo step %s skipped: %s", step.kind, exc)


def _step(repo: SqlRepository, user: Any, step: Step) -> None:
    story = step.story
    found = repo.messages_by_message_id([story.origin_mid]) if story.origin_mid else {}
    ref = found.get(story.origin_mid)
    if ref is None:
        return
    conversation = repo.conversation(ref.conversation_id)
    if step.kind == "chat_ticket":
        if conversation.ticket_id is None:
            services.create_ticket_by_hand(repo, user, conversation.id)
        return
    number = conversation.ticket_id
    if number is None:
        return
    if step.kind == "assign":
        services.assign(repo, user, number, story.rep)
        if story.priority:
            services.set_priority(repo, user, number, story.priority)
    elif step.kind == "note":
        services.add_note(repo, user, number, step.text)
    elif step.kind == "reply":
        body = (
            f"Hi {story.person.first},\n\n{step.text}\n\n"
            f"Best regards,\n{user.display_name}\n{COMPANY} Support"
        )
        services.reply(repo, user, number, body)
    elif step.kind == "close":
        services.close_ticket(repo, user, number)
