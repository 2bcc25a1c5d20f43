"""The composer's snippets and signature (issue 12; SPEC D18), driven with Pilot at 80x24: `::`
at the start of a word opens the picker, the chosen snippet is rendered and inserted at the
cursor (several per reply); the signature shows under the text and ctrl+g leaves it off one
message; what is sent is the text, then `-- ` and the signature."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, TextArea

from app.screens.compose import ComposeScreen
from app.screens.inbox import InboxScreen
from app.screens.snippet_picker import SnippetPicker
from automation import signatures, snippets
from storage import queries
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_keys_help import assert_footer_fits


async def _desk(path: Path) -> Desk:
    desk = await seeded_desk(path, ["Printer on fire"], received=False)
    await desk.admin(
        lambda repo, user: snippets.save(
            repo, user, "thanks", "Thanks {{ contact.name }}!", shared=True
        )
    )
    await desk.as_user(
        "rita",
        lambda repo, user: snippets.save(repo, user, "sorry", "Sorry for #{{ ticket.number }}."),
    )
    await desk.as_user("rita", lambda repo, user: signatures.save(repo, user, "{{ me.name }}"))
    return desk


async def _sent_bodies(desk: Desk) -> list[str]:
    rows = await desk.db.query(lambda s: queries.list_outbox(s))
    ids = sorted(r["id"] for r in rows if r["kind"] == "reply")
    found = []
    for outbox_id in ids:
        raw = await desk.outbox_raw(outbox_id)
        found.append(raw.decode().replace("=\r\n", "").replace("=20", " ").replace("\r\n", "\n"))
    return found


async def test_colons_open_the_picker_and_insert_the_rendered_snippet_at_the_cursor(
    tmp_path: Path,
) -> None:
    desk = await _desk(tmp_path / "desk.db")
    app = make_app(tmp_path / "desk.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="the composer")
        composer = app.screen
        await wait_for(pilot, lambda: "-- " in screen_text(app), what="the signature shown")
        assert "Rita Rep" in screen_text(app) and "ctrl+n or :: snippet" in screen_text(app)
        assert_footer_fits(app, 80)
        await pilot.press(*"Hi ", ":", ":")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, SnippetPicker) and app.screen)
        shown = screen_text(app)
        assert "sorry" in shown and "thanks" in shown and "shared" in shown
        await pilot.press(*"thk")  # fuzzy: thanks
        await wait_for(pilot, lambda: picker.query_one(Input).value == "thk")
        await pilot.press("enter")
        area = composer.query_one(TextArea)
        await wait_for(pilot, lambda: area.text == "Hi Thanks Customer 0!", what="the snippet")
        # a second one, from the key, at the cursor
        await pilot.press("enter", "ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, SnippetPicker))
        await pilot.press(*"sorry", "enter")
        await wait_for(pilot, lambda: area.text == "Hi Thanks Customer 0!\nSorry for #1.")
        # "::" inside a word is text
        await pilot.press(*" a::b")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ComposeScreen) and area.text.endswith(" a::b")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="sent")
    [body] = await _sent_bodies(desk)
    assert "Hi Thanks Customer 0!\nSorry for #1. a::b\n\n-- \nRita Rep" in body
    await desk.db.close()


async def test_ctrl_g_leaves_the_signature_off_this_message_only_and_the_palette_has_the_keys(
    tmp_path: Path,
) -> None:
    desk = await _desk(tmp_path / "desk.db")
    app = make_app(tmp_path / "desk.db")

    async def send(text: str, *keys: str) -> None:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="the composer")
        await wait_for(pilot, lambda: "-- " in screen_text(app), what="the signature shown")
        for key in keys:
            await pilot.press(key)
        app.screen.query_one(TextArea).insert(text)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="sent")

    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="the composer")
        titles = " | ".join(c.title for c in app.get_system_commands(app.screen))
        for words in ("Snippet", "Signature on/off", "Markdown on/off"):  # the palette has them
            assert words in titles, titles
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="closed")
        await send("Without", "ctrl+g")
        await wait_for_async(pilot, lambda: _count(desk, 1))
        await send("With")
        await wait_for_async(pilot, lambda: _count(desk, 2))
    without, with_ = await _sent_bodies(desk)
    assert "Without" in without and "Rita Rep" not in without and "-- " not in without
    assert "With\n\n-- \nRita Rep" in with_
    await desk.db.close()


async def _count(desk: Desk, n: int) -> bool:
    return len(await _sent_bodies(desk)) >= n
