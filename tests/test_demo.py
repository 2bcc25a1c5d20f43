"""The demo help desk and its live customer feed, on a real SQLite file: built through the real
import and services, so what it shows is what the rules make of its mail. SPEC §2, §3, §4, §9."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import demo
import demo.feed
from automation.admin import DEFAULT_PIPELINE, DEFAULT_STATUSES
from mail.quote import split_quoted
from runtime.desk import Desk
from storage import models as m
from storage import queries
from storage.database import Database

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo build for the module (it takes seconds); tests work on copies of it."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    started = time.perf_counter()
    assert asyncio.run(demo.build_demo(str(path))) == path
    print(f"demo built in {time.perf_counter() - started:.1f} s")
    return path


@pytest_asyncio.fixture
async def desk(demo_file: Path, tmp_path: Path) -> AsyncIterator[Desk]:
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    desk = Desk(Database(str(copy)))
    yield desk
    await desk.close()


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _tickets_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(m.Status.label, func.count(m.Ticket.id))
        .join(m.Ticket, m.Ticket.status_id == m.Status.id)
        .group_by(m.Status.label)
    )
    return {label: count for label, count in rows}


async def test_demo_has_hundreds_of_conversations_on_several_channels(desk: Desk) -> None:
    """R-C1 on two email channels with their own addresses; R-C2 on the chat channel, whose
    ticket automation is off: its conversations stay in the inbox without tickets."""
    channels = {c["name"]: c for c in await desk.query(queries.channel_rows)}
    assert channels["support"]["kind"] == channels["billing"]["kind"] == "email"
    assert channels["support"]["address"] != channels["billing"]["address"]
    assert channels["chat"]["kind"] == "chat"
    assert channels["chat"]["ticket_automation"] is False

    def counts(s: Session) -> dict[str, tuple[int, int]]:
        rows = s.execute(
            select(
                m.Channel.name, func.count(m.Conversation.id), func.count(m.Conversation.ticket_id)
            )
            .join(m.Conversation, m.Conversation.channel_id == m.Channel.id)
            .group_by(m.Channel.name)
        )
        return {name: (total, with_ticket) for name, total, with_ticket in rows}

    per_channel = await desk.query(counts)
    assert sum(total for total, _ in per_channel.values()) >= 250
    assert per_channel["support"][0] >= 100 and per_channel["billing"][0] >= 30
    chats, chat_tickets = per_channel["chat"]
    assert chats >= 20
    assert 1 <= chat_tickets <= 3  # made by hand (R-C2, E13); the rest stay inbox-only


async def test_demo_chat_ticket_made_by_hand_skips_status_actions(desk: Desk) -> None:
    """R-A8 / E9: a chat ticket is not enrolled in the built-in status workflows, so the
    "Ticket received" action does not run for it."""

    def chat_tickets(s: Session) -> list[dict[str, Any]]:
        numbers = s.scalars(select(m.Ticket.id).where(m.Ticket.source == "chat"))
        return [queries.ticket_detail(s, n) or {} for n in numbers]

    details = await desk.query(chat_tickets)
    assert details
    for detail in details:
        assert detail["ticket"]["status"] == "New"
        assert detail["outbox"] == []
        skipped = [e for e in detail["timeline"] if e["type"] == "enrollment_skipped"]
        assert skipped and "are not enrolled" in skipped[0]["summary"]


async def test_demo_has_tickets_in_every_status_of_the_default_pipeline(desk: Desk) -> None:
    """SPEC §1 (the default pipeline) and E15 (the demo configures status actions): reps,
    triggers and status actions moved tickets into every status."""
    by_status = await desk.query(_tickets_by_status)
    for label, _ in DEFAULT_STATUSES:
        assert by_status.get(label, 0) >= 5, (label, by_status)
    rows = await desk.query(
        lambda s: queries.list_tickets(s, pipeline=DEFAULT_PIPELINE, limit=5000)
    )
    assert len(rows) == sum(by_status.values())
    owners = {r["owner"] for r in rows}
    assert {"alice", "bob", "carol"} <= owners
    assert {r["channel"] for r in rows} >= {"support", "billing"}
    assert {r["priority"] for r in rows} >= {"normal", "high", "urgent"}

    def team_and_actions(s: Session) -> tuple[list[str], dict[str, int]]:
        team = s.scalar(select(m.Team).where(m.Team.name == "Tier 1"))
        assert team is not None
        pipeline = s.scalar(select(m.Pipeline).where(m.Pipeline.name == DEFAULT_PIPELINE))
        assert pipeline is not None
        view = queries.automation_view(s, pipeline)
        actions = {
            st["status"]: sum(len(w["actions"]) for w in st["workflows"]) for st in view["statuses"]
        }
        return [u.name for u in team.members], actions

    members, actions = await desk.query(team_and_actions)
    assert members == ["alice", "bob", "carol"]
    assert actions == {"New": 1, "Waiting on contact": 0, "Waiting on us": 1, "Closed": 1}


async def test_demo_replies_thread_onto_their_tickets(desk: Desk) -> None:
    """R-C3: replies join their conversation and never open a second ticket; R-T2 fired on
    customer replies in the origin thread, R-T1 on rep replies, and R-T2.3 reopened some
    closed tickets."""

    def facts(s: Session) -> dict[str, int]:
        origins = _count(s, select(m.Conversation.id).where(m.Conversation.association == "origin"))
        threaded = _count(
            s,
            select(m.Message.id)
            .join(m.Conversation, m.Message.conversation_id == m.Conversation.id)
            .where(
                m.Message.direction == "inbound",
                m.Message.in_reply_to.is_not(None),
                m.Conversation.ticket_id.is_not(None),
                m.Message.thread_reason.like("In-Reply-To%"),
            ),
        )
        fired = {
            kind: _count(
                s,
                select(m.TimelineEvent.id).where(
                    m.TimelineEvent.type == "trigger_fired",
                    m.TimelineEvent.data["trigger"].as_string() == kind,
                ),
            )
            for kind in ("customer_replied", "email_sent")
        }
        return {
            "tickets": _count(s, select(m.Ticket.id)),
            "origins": origins,
            "threaded": threaded,
            "reopened": _count(s, select(m.Ticket.id).where(m.Ticket.reopened)),
            "reopened_by_reply": _count(
                s,
                select(m.TimelineEvent.id).where(
                    m.TimelineEvent.type == "reopened",
                    m.TimelineEvent.summary == "Reopened by customer reply",
                ),
            ),
            **fired,
        }

    found = await desk.query(facts)
    assert found["origins"] == found["tickets"]  # one origin thread per ticket (R-C1, R-C3)
    assert found["threaded"] >= 100
    assert found["customer_replied"] >= 50
    assert found["email_sent"] >= 100
    assert found["reopened"] >= 1 and found["reopened_by_reply"] >= 1


async def test_demo_automated_mail_is_kept_without_tickets_or_triggers(desk: Desk) -> None:
    """R-C4: newsletters and no-reply notices are inbox conversations under the automated
    filter, with no ticket; R-T7: an out-of-office reply threads onto its ticket and fires
    nothing."""
    automated = await desk.query(lambda s: queries.list_conversations(s, automated=True))
    assert len(automated) >= 5
    assert all(c["ticket"] is None for c in automated)

    def out_of_office(s: Session) -> list[str]:
        rows = s.execute(
            select(m.Message.conversation_id, m.Conversation.ticket_id)
            .join(m.Conversation, m.Message.conversation_id == m.Conversation.id)
            .where(m.Message.automated_kind == "out-of-office")
        ).all()
        assert rows and all(ticket is not None for _, ticket in rows)
        return [
            e.summary
            for e in s.scalars(
                select(m.TimelineEvent).where(
                    m.TimelineEvent.ticket_id.in_([t for _, t in rows]),
                    m.TimelineEvent.type == "trigger_skipped",
                )
            )
        ]

    skipped = await desk.query(out_of_office)
    assert any("never fires it" in summary for summary in skipped)


async def test_demo_history_reads_like_three_weeks_of_mail(desk: Desk) -> None:
    """Dates spread over the last three weeks; quoted history to fold in the reading pane;
    attachments, forwards (R-T2.1 marks them) and HTML mail; nothing failed or left pending
    (E2)."""

    def facts(s: Session) -> dict[str, Any]:
        created = s.execute(select(func.min(m.Ticket.created_at), func.max(m.Ticket.created_at)))
        first, last = created.one()
        replies = s.scalars(
            select(m.Message.body_text).where(
                m.Message.direction == "inbound",
                m.Message.in_reply_to.is_not(None),
                m.Message.automated_kind.is_(None),
            )
        ).all()
        return {
            "first": first,
            "last": last,
            "replies": len(replies),
            "folded": sum(1 for text in replies if split_quoted(text)[1]),
            "attachments": _count(s, select(m.Attachment.id)),
            "forwards": _count(s, select(m.Message.id).where(m.Message.forwarded)),
            "html": _count(s, select(m.Message.id).where(m.Message.body_html.is_not(None))),
            "failures": len(queries.import_failures(s)),
            "pending": _count(
                s, select(m.DomainEvent.id).where(m.DomainEvent.processed_at.is_(None))
            ),
            "latest_timeline": s.scalar(select(func.max(m.TimelineEvent.at))),
        }

    found = await desk.query(facts)
    now = datetime.now(UTC)
    assert found["last"] - found["first"] >= timedelta(days=14)
    assert found["first"] >= now - timedelta(days=22)
    assert found["latest_timeline"] <= now
    assert found["folded"] >= 50 and found["folded"] >= found["replies"] // 2
    assert found["attachments"] >= 2
    assert found["forwards"] >= 1
    assert found["html"] >= 10
    assert found["failures"] == 0
    assert found["pending"] == 0


def test_demo_plan_is_deterministic() -> None:
    """A fixed seed: every build tells the same story."""

    def summary(steps: list[demo.Step]) -> list[tuple[int, str, str]]:
        return [(s.tick, s.kind, s.story.subject) for s in steps]

    first = demo.plan_history(random.Random(demo.SEED))
    second = demo.plan_history(random.Random(demo.SEED))
    assert summary(first) == summary(second)


async def _max_timeline_id(db: Desk) -> int:
    return int(await db.query(lambda s: s.scalar(select(func.max(m.TimelineEvent.id)))) or 0)


async def test_feed_customer_reply_moves_ticket_to_waiting_on_us(desk: Desk) -> None:
    """R-T2: the feed's customer reply threads (In-Reply-To the thread's newest message) into
    the origin thread of a ticket waiting on the contact; the trigger moves it to "Waiting on
    us"."""
    before = await _max_timeline_id(desk)
    said = await demo.feed_step(desk, random.Random(5), kind="customer_reply")
    assert "Waiting on contact → Waiting on us" in said

    def moved(s: Session) -> list[tuple[int | None, dict[str, Any]]]:
        events = s.scalars(
            select(m.TimelineEvent).where(
                m.TimelineEvent.id > before, m.TimelineEvent.type == "status_changed"
            )
        )
        return [(e.ticket_id, dict(e.data)) for e in events]

    events = await desk.query(moved)
    assert len(events) == 1
    number, data = events[0]
    assert data["from"] == "Waiting on contact"
    assert data["to"] == "Waiting on us"
    assert data["reason"] == "customer reply"
    assert number is not None and f"#{number}:" in said
    detail = await desk.query(lambda s: queries.ticket_detail(s, number))
    assert detail is not None
    origin = detail["conversations"][0]
    newest, previous = origin["messages"][-1], origin["messages"][-2]
    assert newest["direction"] == "inbound" and newest["in_reply_to"] == previous["message_id"]


async def test_feed_rep_steps_move_tickets_by_themselves(desk: Desk) -> None:
    """R-T1: bob's reply from the ticket record moves a ticket to "Waiting on contact"; his
    close moves one to Closed, whose status action queues "Ticket closed" (R-A1, R-A2)."""
    rng = random.Random(9)
    said = await demo.feed_step(desk, rng, kind="rep_reply")
    assert said.startswith("bob replied on #") and said.endswith("→ Waiting on contact")
    said = await demo.feed_step(desk, rng, kind="rep_close")
    assert said.startswith("bob closed #") and said.endswith("→ Closed")
    number = int(said.split("#")[1].split(":")[0])
    detail = await desk.query(lambda s: queries.ticket_detail(s, number))
    assert detail is not None and detail["ticket"]["status"] == "Closed"


async def test_feed_steps_add_tickets_and_messages(desk: Desk) -> None:
    """R-C1: a new customer email opens a ticket in New, through the same ingestion as live
    mail; a chat stays in the inbox (R-C2); random steps keep adding messages."""

    def counts(s: Session) -> tuple[int, int, int]:
        return (
            _count(s, select(m.Ticket.id)),
            _count(s, select(m.Message.id)),
            _count(s, select(m.Conversation.id)),
        )

    tickets, messages, conversations = await desk.query(counts)
    said = await demo.feed_step(desk, random.Random(1), kind="new_email")
    number = int(said.rsplit("#", 1)[1])
    assert number == tickets + 1
    detail = await desk.query(lambda s: queries.ticket_detail(s, number))
    assert detail is not None and detail["ticket"]["status"] == "New"
    assert [o["template"] for o in detail["outbox"]] == ["Ticket received"]
    said = await demo.feed_step(desk, random.Random(2), kind="chat")
    assert said.startswith("Chat from")
    assert (await desk.query(counts))[0] == tickets + 1  # no ticket for the chat

    rng = random.Random(11)
    descriptions = [await demo.feed_step(desk, rng) for _ in range(8)]
    assert all(descriptions)
    after = await desk.query(counts)
    assert after[0] > tickets + 1
    assert after[1] >= messages + 10
    assert after[2] >= conversations + 3


async def test_run_feed_delivers_and_stops_promptly(desk: Desk) -> None:
    """The feed runs until its stop event is set, and then ends at once, mid-wait."""
    before = await _max_timeline_id(desk)
    stop = asyncio.Event()
    task = asyncio.create_task(demo.run_feed(desk, stop, interval=0.05, seed=3))
    await asyncio.sleep(0.6)
    stopped = time.perf_counter()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.perf_counter() - stopped < 1.0
    assert await _max_timeline_id(desk) > before

    slow = asyncio.Event()
    task = asyncio.create_task(demo.run_feed(desk, slow, interval=60))
    await asyncio.sleep(0.05)
    stopped = time.perf_counter()
    slow.set()
    await asyncio.wait_for(task, 5)
    assert time.perf_counter() - stopped < 0.5


async def test_run_feed_survives_a_failing_step(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bad step is logged and the feed goes on."""
    calls: list[int] = []

    async def flaky(desk: Desk, rng: random.Random) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return "fine"

    monkeypatch.setattr(demo.feed, "feed_step", flaky)
    stop = asyncio.Event()
    task = asyncio.create_task(demo.run_feed(desk, stop, interval=0.01))
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(calls) >= 3


def test_the_demo_never_overwrites_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Bad input loses nothing: `--db` (meant for a real desk) is refused, and an existing file
    at `--path` is kept unless `--replace` is given."""
    from app.cli import main

    real = tmp_path / "real.db"
    real.write_bytes(b"somebody's help desk")
    assert main(["--db", str(real), "demo", "--no-app"]) != 0
    assert "--path FILE, not --db" in capsys.readouterr().err
    assert main(["demo", "--path", str(real), "--no-app"]) != 0
    assert "pass --replace" in capsys.readouterr().err
    assert real.read_bytes() == b"somebody's help desk"
