"""The app's lists as a rep sees them (issue 19: items 3, 4, 5, 9, 11; SPEC D5, D6, D12).

The real app over a real SQLite file, driven by keys with Pilot; what the terminal shows is read
from the rendered lines (their cells' styles), as a terminal would get them.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.color import ColorSystem
from rich.style import Style
from textual.widget import Widget
from textual.widgets import OptionList, TextArea

from app.screens.board import BoardScreen
from app.screens.compose import ComposeScreen, RefusedScreen
from app.screens.dialogs import PickerScreen
from app.screens.inbox import InboxScreen
from automation import admin, services
from storage import views
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import make_mail
from widgets.lists import ConversationList, TicketCards
from widgets.option_list import OptionList as ReverseList
from widgets.row_list import RowList

SUBJECTS = ["Printer on fire", "Invoice is wrong", "Cannot log in"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


# --- item 4, D12: the cursor row stands out -------------------------------------------------------


def line_styles(app: Any, y: int, widget: Widget) -> list[Style]:
    """The style of each cell of screen line `y` inside `widget`'s content."""
    region = widget.scrollable_content_region
    strip = app.screen._compositor.render_strips()[y]
    cells: list[Style] = []
    for segment in strip:
        cells.extend([segment.style or Style()] * cell_len(segment.text))
    return cells[region.x : region.right]


def list_lines(app: Any, widget: Widget) -> list[str]:
    """The text of `widget`'s lines on screen."""
    region = widget.scrollable_content_region
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    texts = ["".join(segment.text for segment in strip) for strip in strips]
    return [text[region.x : region.right] for text in texts]


def cursor_lines(widget: Widget) -> tuple[int, int]:
    """The screen line of the highlighted row and of a line next to it (above when there is
    one, else the first line after the row)."""
    top = widget.scrollable_content_region.y
    if isinstance(widget, RowList):
        first, height = widget.cursor * widget.row_height, widget.row_height
    else:
        assert isinstance(widget, OptionList) and widget.highlighted is not None
        first = widget._index_to_line[widget.highlighted]  # the option's first line
        height = widget._heights[widget.highlighted]
    y = top + first - widget.scroll_offset.y
    return y, (y - 1 if y > top else y + height)


def background(style: Style, system: ColorSystem) -> Any:
    color = style.bgcolor
    if color is None:
        return None
    return color.downgrade(system).number if system is ColorSystem.EIGHT_BIT else color.triplet


def assert_cursor_stands_out(app: Any, widget: Widget, what: str, *, no_color: bool) -> None:
    y, beside = cursor_lines(widget)
    cursor, neighbour = line_styles(app, y, widget), line_styles(app, beside, widget)
    assert cursor and neighbour, what
    if no_color:  # D12: reverse video, only on the cursor row
        assert all(style.reverse for style in cursor), f"{what}: cursor row not reversed"
        assert not any(style.reverse for style in neighbour), f"{what}: neighbour reversed"
        return
    for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT):
        for x, (mine, theirs) in enumerate(zip(cursor, neighbour, strict=True)):
            assert background(mine, system) != background(theirs, system), (
                f"{what}: cell {x} of the cursor row has its neighbour's background "
                f"in {system.name}"
            )


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "no-color"])
async def test_the_cursor_row_stands_out_on_every_list(db_path, monkeypatch, no_color):
    """Item 4, D12: inbox, board (the focused column and another), a picker, settings and
    workflows: the highlighted row's background differs from its neighbour's in every cell, in
    truecolor and in 256 colours; under NO_COLOR it is reverse video and its neighbours not."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    desk = await seeded_desk(db_path, SUBJECTS, received=False)
    await desk.move(1, "Waiting on contact")
    app = make_app(db_path, as_user="admin")

    def check(widget: Widget, what: str) -> None:
        if isinstance(widget, OptionList):
            # Textual's own OptionList cannot draw reverse video (widgets/option_list.py).
            assert isinstance(widget, ReverseList), f"{what}: not on widgets.option_list"
        assert_cursor_stands_out(app, widget, what, no_color=no_color)

    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        check(app.screen.query_one(ConversationList), "inbox")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause(0.1)
        check(app.screen.query_one(OptionList), "filter picker")
        await pilot.press("escape", "2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await ready(pilot)
        await wait_for(pilot, lambda: "1 Waiting on contact" in screen_text(app))
        new, waiting = list(app.screen.query(TicketCards))[:2]
        await wait_for(pilot, lambda: new.has_focus and waiting.total == 1)
        check(new, "board, focused column")
        check(waiting, "board, another column")
        await pilot.press("3")
        settings = await wait_for(pilot, lambda: first(app, "#settings-items"))
        await wait_for(pilot, lambda: settings.highlighted is not None)
        await pilot.pause(0.1)
        check(settings, "settings")
        await pilot.press("W")
        workflows = await wait_for(pilot, lambda: first(app, "#workflow-list"))
        await wait_for(pilot, lambda: workflows.highlighted is not None)
        await pilot.pause(0.1)
        check(workflows, "workflows")
    await desk.db.close()


def first(app: Any, selector: str) -> Any:
    return next(iter(app.screen.query(selector)), None)


# --- item 5: the cursor follows the card ---------------------------------------------------------


async def test_board_cursor_follows_the_moved_card(db_path):
    """Item 5: `L` moves the card and the cursor goes with it to its new column and row, so
    `L L` moves one ticket two statuses on (before: two different tickets moved one each)."""
    desk = await seeded_desk(db_path, SUBJECTS, received=False)
    app = make_app(db_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await ready(pilot)
        await wait_for(pilot, lambda: "3 New" in screen_text(app))
        columns = list(app.screen.query(TicketCards))
        assert columns[0].current is not None and columns[0].current["id"] == 3
        await pilot.press("L")
        await wait_for_async(pilot, lambda: _status_is(desk, 3, "Waiting on contact"))
        await wait_for(
            pilot,
            lambda: columns[1].has_focus and (columns[1].current or {}).get("id") == 3,
            what="the cursor on #3 in Waiting on contact",
        )
        await pilot.press("L")
        await wait_for_async(pilot, lambda: _status_is(desk, 3, "Waiting on us"))
        await wait_for(
            pilot, lambda: columns[2].has_focus and (columns[2].current or {}).get("id") == 3
        )
        await pilot.press("H", "H")  # typed fast: the second H moves the same card on
        await wait_for_async(pilot, lambda: _status_is(desk, 3, "New"), what="back to New")
        await wait_for(
            pilot, lambda: columns[0].has_focus and (columns[0].current or {}).get("id") == 3
        )
    assert await desk.status(2) == "New" and await desk.status(1) == "New"
    await desk.db.close()


# --- item 9: inbox details -----------------------------------------------------------------------


def dated_mail(subject: str, sender: str, sent: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Old Customer <{sender}>"
    msg["To"] = "support@help.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = f"<{int(sent.timestamp())}.{sender}>"
    msg.set_content("Still waiting.")
    return bytes(msg)


async def test_the_age_column_dates_the_newest_email(db_path):
    """Item 9: the age is that of the conversation's newest email (its Date), as a mail reader
    dates a thread; an assignment (activity, not mail) does not make it new."""
    desk = await seeded_desk(db_path, received=False)
    await desk.receive(
        dated_mail("Sent three days ago", "old@example.org", datetime.now(UTC) - timedelta(days=3))
    )
    await desk.as_user("rita", lambda repo, me: services.assign(repo, me, 1, "rita"))
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "Sent three days" in screen_text(app))
        rows = app.screen.query_one(ConversationList)
        row = next(x for x in list_lines(app, rows) if "Sent three days" in x)
        assert " 3d " in row and " now " not in row
    await desk.db.close()


async def test_the_open_view_says_when_the_ticket_is_closed(db_path):
    """Item 9, D6: a conversation whose ticket is closed stays in the Open view, and its row
    says the ticket's status, at 80 columns too."""
    desk = await seeded_desk(db_path, SUBJECTS[:2], received=False, closed=False)
    await desk.move(1, "Closed")
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        assert rows.total == 2  # the Open view keeps it
        shown = list_lines(app, rows)
        closed = next(x for x in shown if "Printer" in x)
        still_open = next(x for x in shown if "Invoice" in x)
        assert "Closed" in closed and "✓" in closed
        assert "Closed" not in still_open and "●" in still_open
    await desk.db.close()


async def test_escape_clears_a_search_and_restores_the_list(db_path):
    """Item 9: escape clears a `/` search, in the search box or on the list after it, and the
    whole view comes back with the cursor on the same conversation."""
    desk = await seeded_desk(db_path, SUBJECTS, received=False)
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("slash", *"invoice", "enter")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="the search")
        await pilot.press("escape")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 3, what="the whole list")
        assert app.screen.selection.search == ""
        assert "invoice" not in screen_text(app)
        await wait_for(pilot, lambda: (rows.current or {}).get("subject") == "Invoice is wrong")
        await pilot.press("slash", *"printer", "escape")  # typed, not applied: escape cancels
        await pilot.pause(0.2)
        assert rows.total == 3 and app.screen.selection.search == ""
        assert rows.has_focus
    await desk.db.close()


async def test_a_reload_never_puts_the_cursor_on_another_conversation(db_path, monkeypatch):
    """Item 9: the rows under the cursor showed another customer after ctrl+s while the feed
    ran. A reload read the count, the cursor row's index and the pages in separate queries;
    mail stored in between shifted the pages under the index. Here a conversation is bumped to
    the top by another connection right after the index is read, every time: the cursor stays
    on the conversation the rep was on."""
    desk = await seeded_desk(db_path, SUBJECTS, received=False)
    real_index_of = views.inbox_index_of
    bumped: list[int] = []

    def index_then_new_mail(session, selection, conversation_id):
        found = real_index_of(session, selection, conversation_id)
        # Another process (the feed) commits while this read is under way.
        newer = datetime.now(UTC) + timedelta(hours=len(bumped) + 1)
        other = sqlite3.connect(db_path)
        with other:
            other.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = 1",
                (newer.strftime("%Y-%m-%d %H:%M:%S.%f"),),
            )
        other.close()
        bumped.append(conversation_id)
        return found

    app = make_app(db_path, live_interval=3600)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("j")  # Invoice is wrong (#2), the second row
        await wait_for(pilot, lambda: (rows.current or {}).get("id") == 2)
        monkeypatch.setattr(views, "inbox_index_of", index_then_new_mail)
        for _ in range(2):
            before = len(bumped)
            rows.reload()
            await wait_for(pilot, lambda before=before: len(bumped) > before)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            assert rows.current is not None and rows.current["id"] == 2, rows.current
            assert "Invoice is wrong" in screen_text(app)
    await desk.db.close()


# --- item 11: $EDITOR ----------------------------------------------------------------------------


async def test_editor_appending_a_line_does_not_join_it(db_path, tmp_path, monkeypatch):
    """Item 11: the text goes to $EDITOR as a file that ends in a newline; an editor that
    appends a line leaves two lines, and the file's final newline does not come back."""
    editor = tmp_path / "append-editor"
    editor.write_text(
        f"#!{sys.executable}\nimport sys\nopen(sys.argv[1], 'a').write('Second\\n')\n"
    )
    editor.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(editor))
    desk = await seeded_desk(db_path, SUBJECTS[:1], received=False)
    app = make_app(db_path)
    monkeypatch.setattr(app, "suspend", _no_suspend)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        area = await wait_for(
            pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen.query_one(TextArea)
        )
        area.insert("First")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: area.text != "First", what="the edited text")
        assert area.text == "First\nSecond"
    await desk.db.close()


def _no_suspend() -> Any:
    from contextlib import nullcontext

    return nullcontext()


# --- item 3, D5: `r` without a ticket; refused keys keep the typing safe -------------------------


async def _ticketless(db_path: Path) -> Any:
    desk = await seeded_desk(db_path, received=False)
    await desk.admin(
        lambda repo, me: admin.set_channel(repo, me, "support", ticket_automation=False)
    )
    await desk.receive(make_mail(subject="No ticket for me")[0])
    return desk


async def test_reply_without_a_ticket_goes_from_the_contact_record(db_path):
    """D5: `r` on a conversation without a ticket opens the composer from the contact record;
    what is typed is sent to the contact, no ticket appears and nothing else changes."""
    desk = await _ticketless(db_path)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="composer")
        assert "contact record" in screen_text(app) and "no ticket" in screen_text(app)
        await pilot.press(*"Thanks, we are looking at it.")
        await pilot.press("ctrl+t")  # no ticket record to switch to: refused, typing goes on
        await pilot.press(*" More.")
        area = app.screen.query_one(TextArea)
        assert area.has_focus and area.text == "Thanks, we are looking at it. More."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="sent")
        await wait_for_async(pilot, lambda: _outbox_count(desk, 1))
    [mail] = await desk.outbox()
    assert mail["kind"] == "reply" and mail["ticket"] is None
    assert b"More." in await desk.outbox_raw(mail["id"])
    assert await desk.tickets() == []
    conversation = await desk.db.query(lambda s: views.conversation_view(s, 1))
    assert conversation is not None and conversation["state"] == "open"
    await desk.db.close()


async def test_a_refused_note_keeps_the_typed_sentence_away_from_the_list(db_path):
    """Item 3, D5: `n` (a note) needs a ticket: the refusal says why and how, and holds the
    keys typed after it, so a sentence ("close... filter...") closes and opens nothing."""
    desk = await _ticketless(db_path)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, RefusedScreen), what="refusal")
        assert "c creates one" in screen_text(app)
        await pilot.press(*"Customer called, see ticket; reassign if urgent. qf2")
        await pilot.pause(0.3)
        assert isinstance(app.screen, RefusedScreen) and app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        assert app.screen.query_one(ConversationList).has_focus
    conversation = await desk.db.query(lambda s: views.conversation_view(s, 1))
    assert conversation is not None and conversation["state"] == "open"
    assert conversation["assignee"] is None
    assert await desk.tickets() == []
    await desk.db.close()


async def _status_is(desk: Any, number: int, label: str) -> bool:
    return await desk.status(number) == label


async def _outbox_count(desk: Any, count: int) -> bool:
    return len(await desk.outbox()) == count
