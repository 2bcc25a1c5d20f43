"""The composer on a live chat (SPEC C4), Pilot at 80x24: it says the reply goes live to the
visitor instead of showing To, Cc, Bcc, the subject and files, and what is sent is a chat
message of the conversation, never an email."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.screens.compose import ComposeScreen, Draft
from app.screens.compose_mail import LIVE
from automation import chat, chat_visitors
from storage import models as m
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async


async def test_a_reply_on_a_chat_goes_live_without_email_fields_c4(tmp_path: Path) -> None:
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path, chat=True)

    def visitor_writes(repo: Any) -> int:
        channel = repo.channel_by_name("chat")
        visitor = chat_visitors.arrive(
            repo, channel.id, chat.token_hash("t"), name="Vera", email="", address="::1"
        )
        written = chat_visitors.write(repo, visitor.id, "Is my parcel on its way?")
        return written.conversation_id

    conversation = await desk.store(visitor_writes)
    await desk.settle()
    ticket = await desk.db.query(
        lambda s: s.scalar(
            select(m.Conversation.ticket_id).where(m.Conversation.id == conversation)
        )
    )

    async def reply_stored() -> Any:
        rows = await desk.db.query(
            lambda s: [
                (r.direction, r.body_text.strip())
                for r in s.scalars(
                    select(m.Message).where(m.Message.conversation_id == conversation)
                )
            ]
        )
        sent = [text for way, text in rows if way == "outbound"]
        return rows if sent and sent[0].startswith("It left today.") else None

    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        kind = "ticket" if ticket is not None else "contact"
        app.push_screen(ComposeScreen(Draft(kind, ticket, conversation, "Chat on chat")))
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        await wait_for(pilot, lambda: screen.is_chat, what="the chat is known")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert LIVE in text and "live chat" in text
        for row in ("#compose-to-row", "#compose-cc-row", "#compose-bcc-row", "#compose-files"):
            assert not screen.query_one(row).display
        assert "Cc:" not in text and "Bcc:" not in text and "Chat on chat" not in text
        await pilot.press("ctrl+o")  # no files in a chat
        await pilot.pause(0.1)
        assert isinstance(app.screen, ComposeScreen)
        screen.query_one("TextArea").focus()
        await pilot.press(*"It left today.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="sent")
        await wait_for_async(pilot, reply_stored, what="the chat message")

    assert not [r for r in await desk.outbox() if r["kind"] == "reply"]  # never an email
    await desk.db.close()
