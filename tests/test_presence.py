"""Presence and collision (SPEC D22): each session beats every few seconds with what it shows
and whether it writes a reply; others see "alice is viewing" / "alice is replying, 2 min"
until 15 s after its last beat (at once when it closes); a busy database skips a beat; no
domain event. Sending warns when mail reached the conversation since the draft began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.screens.coordination import presence_text
from automation import services
from storage import coordination_views
from storage.database import Database
from tests.helpers import Desk, make_mail


async def _present(desk: Desk, ticket: int, *, other_than: str, later: float = 0) -> list[str]:
    now = datetime.now(UTC) + timedelta(seconds=later)
    rows = await desk.query(
        lambda s: coordination_views.present(
            s, ticket_id=ticket, conversation_id=None, other_than=other_than, now=now
        )
    )
    return [presence_text([row], now) for row in rows]


async def test_beats_are_seen_by_others_and_age_out(db: Database) -> None:
    desk = await Desk.create(db)
    await desk.receive(make_mail()[0])
    ids = await desk.store(
        lambda repo: (repo.user_by_name("rita").id, repo.user_by_name("admin").id)
    )
    events_before = await desk.query(lambda s: s.execute(_count_events()).scalar())
    since = datetime.now(UTC) - timedelta(minutes=2, seconds=5)

    def beats(repo: Any) -> None:
        repo.beat("rita-1", ids[0], ticket_id=1, conversation_id=1, replying_since=None)
        repo.beat("admin-1", ids[1], ticket_id=1, conversation_id=1, replying_since=since)
        repo.beat("admin-2", ids[1], ticket_id=None, conversation_id=None, replying_since=None)

    await desk.store(beats)
    assert await _present(desk, 1, other_than="rita-1") == ["admin is replying, 2 min"]
    assert await _present(desk, 1, other_than="admin-1") == ["rita is viewing"]
    # a beat again moves the row, never adds one
    await desk.store(beats)
    assert await desk.store(lambda repo: repo.presence_count()) == 3
    # 15 s after the last beat a session is gone (a crash leaves its row to age out)
    assert await _present(desk, 1, other_than="x", later=16) == []
    # leaving takes the row at once
    await desk.store(lambda repo: repo.leave("admin-1"))
    assert await _present(desk, 1, other_than="rita-1") == []
    # presence is bookkeeping: no domain event, no timeline line
    assert await desk.query(lambda s: s.execute(_count_events()).scalar()) == events_before


def _count_events() -> Any:
    from sqlalchemy import func, select

    from storage import models as m

    return select(func.count()).select_from(m.DomainEvent)


async def test_what_reached_a_conversation_since_a_draft_began(db: Database) -> None:
    desk = await Desk.create(db)
    raw, mid = make_mail()
    await desk.receive(raw)
    began = datetime.now(UTC)
    arrived = await desk.query(
        lambda s: coordination_views.arrived_since(s, began, conversation_id=1, ticket_id=1)
    )
    assert arrived == []
    await desk.receive(make_mail(subject="Re: Printer on fire", in_reply_to=mid)[0])
    await desk.as_user("admin", lambda repo, u: services.reply(repo, u, 1, "On our way"))
    arrived = await desk.query(
        lambda s: coordination_views.arrived_since(s, began, conversation_id=None, ticket_id=1)
    )
    assert [(x["direction"], x["from"]) for x in arrived][:2] == [
        ("inbound", "Carol Customer"),
        ("outbound", arrived[1]["from"]),
    ]
    assert arrived[1]["from"]  # the reply queued by admin counts before it is sent


@pytest.mark.sqlite_only
async def test_two_live_sessions_see_each_other_and_sending_warns(tmp_path: Path) -> None:
    from app.screens.compose import ComposeScreen
    from app.screens.ticket import TicketScreen
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, [])
    first, mid = make_mail()
    await desk.receive(first)
    rita, boss = make_app(path, as_user="rita"), make_app(path, as_user="admin")
    async with rita.run_test(size=(120, 30)) as one, boss.run_test(size=(120, 30)) as two:
        await ready(one)
        await ready(two)
        await one.press("t")  # rita opens the ticket record of #1
        await wait_for(one, lambda: isinstance(rita.screen, TicketScreen), what="rita's record")
        # the admin's inbox shows #1 in the reading pane: rita sees the admin there
        await wait_for(
            one, lambda: "admin is viewing" in screen_text(rita), what="rita sees the admin"
        )
        await two.press("r")  # the admin starts a reply
        await wait_for(two, lambda: isinstance(boss.screen, ComposeScreen), what="composer")
        await wait_for(
            one,
            lambda: "admin is replying, 0 min" in screen_text(rita),
            what="rita sees the admin replying",
        )
        await wait_for(
            two, lambda: "rita is viewing" in "\n".join(_top_lines(boss)), what="admin sees rita"
        )
        # a note to the admin reaches the admin's badge live
        await desk.as_user("rita", lambda repo, u: services.add_note(repo, u, 1, "@admin hi"))
        await wait_for(two, lambda: "● 1 new" in "\n".join(_top_lines(boss)), what="badge")
        # the customer writes while the admin's draft is open: sending asks first
        raw, _ = make_mail(subject="Re: Printer on fire", body="It is out now.", in_reply_to=mid)
        await desk.receive(raw)
        await two.press(*"We are coming.")
        await two.press("ctrl+s")
        await wait_for(two, lambda: "Send anyway?" in screen_text(boss), what="the warning")
        assert "email from Carol Customer" in screen_text(boss)
        assert "note by rita" in screen_text(boss)
        await two.press("n")
        await wait_for(two, lambda: isinstance(boss.screen, ComposeScreen), what="still open")
        await two.press("ctrl+s")  # nothing new since the answer: it goes
        await wait_for(two, lambda: not isinstance(boss.screen, ComposeScreen), what="sent")
    # both sessions closed: their rows are gone at once
    assert await desk.store(lambda repo: repo.presence_count()) == 0
    await desk.db.close()


def _top_lines(app: Any) -> list[str]:
    """The top bars of the screens under a dialog (the composer covers the middle only)."""
    from app.screens.base import DeskScreen

    return [
        str(s.query_one("#top-bar").render()) for s in app.screen_stack if isinstance(s, DeskScreen)
    ]
