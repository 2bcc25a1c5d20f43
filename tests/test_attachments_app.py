"""Attachments in the app (SPEC D13, D14, S9): the reading pane numbers them; a key opens one
(without a display: saves it to the downloads directory and says where), another saves it to a
typed path, asking before it replaces a file; a program is never opened. Real app, real SQLite
file, driven with Pilot."""

from __future__ import annotations

import stat
from email.message import EmailMessage
from pathlib import Path

import pytest
from textual.widgets import Input

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.help import help_bindings
from app.screens.inbox import InboxScreen
from app.screens.ticket import TicketScreen
from app.tui import DesklineApp
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for
from tests.helpers import CUSTOMER, SUPPORT
from tests.test_attachments_cli import PDF, PNG, mail_with_attachments


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No display, and a downloads directory of the test's own."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "Downloads"))
    return tmp_path / "Downloads"


def notices(app: DesklineApp) -> list[str]:
    return [n.message for n in app._notifications]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_the_pane_numbers_attachments_and_o_saves_one_without_a_display(
    db_path: Path, downloads: Path
) -> None:
    desk = await seeded_desk(db_path)
    result = await desk.receive(mail_with_attachments())
    app = make_app(db_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await ready(pilot)
        text = await wait_for(pilot, lambda: "invoice.pdf" in screen_text(app) and screen_text(app))
        assert f"Attachments of message {result.message_row_id}:" in text
        assert "1 shot.png (image/png, 2 KB)" in text  # the inline image is numbered too
        assert "3 attachment-3.eml (message/rfc822" in text
        assert "4 passwd (text/plain" in text
        await pilot.press("O")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert [label.split("  ")[0] for label, _ in picker.choices] == ["1", "2", "3", "4", "5"]
        await pilot.press("j", "enter")  # the second: invoice.pdf
        saved = downloads / "invoice.pdf"
        await wait_for(pilot, saved.exists, what="the file in the downloads directory")
        assert saved.read_bytes() == PDF
        assert private(saved)
        said = await wait_for(pilot, lambda: notices(app), what="where it went")
        assert said == [f"No display to open it on: saved to {saved}"]
    await desk.db.close()


async def test_s_saves_to_a_typed_path_and_asks_before_replacing(
    db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    desk = await seeded_desk(db_path)
    await desk.receive(mail_with_attachments())
    target = tmp_path / "kept" / "screenshot.png"
    target.parent.mkdir()
    app = make_app(db_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "invoice.pdf" in screen_text(app))
        for replace in ("first", "n", "y"):
            await pilot.press("S")
            await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
            await pilot.press("enter")  # the first: shot.png
            prompt = await wait_for(
                pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen
            )
            box = prompt.query_one(Input)
            assert box.value == str(downloads / "shot.png")  # the downloads path, prefilled
            box.value = str(target)
            await pilot.press("enter")
            if replace != "first":
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
                target.write_bytes(b"older")
                await pilot.press(replace)
            await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
            await pilot.pause(0.3)
            if replace == "first":
                assert target.read_bytes() == PNG and private(target)
                assert f"Saved shot.png to {target}" in notices(app)
            elif replace == "n":
                assert target.read_bytes() == b"older"
            else:
                assert target.read_bytes() == PNG and private(target)
        assert not downloads.exists()  # nothing went anywhere else
    await desk.db.close()


def program_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = CUSTOMER
    msg["To"] = SUPPORT
    msg["Subject"] = "Run this"
    msg.set_content("Please run the attached tool.\n")
    msg.add_attachment(
        b"MZ\x90\x00program", maintype="application", subtype="octet-stream", filename="tool.exe"
    )
    return bytes(msg)


async def test_a_program_is_never_opened(db_path: Path, downloads: Path) -> None:
    desk = await seeded_desk(db_path)
    await desk.receive(program_mail())
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "tool.exe" in screen_text(app))
        await pilot.press("O")  # one attachment: no picker
        said = await wait_for(pilot, lambda: notices(app))
        assert said == [
            "tool.exe is a program or a launcher: Deskline does not open it (S saves it)."
        ]
        assert not downloads.exists()
    await desk.db.close()


async def test_the_keys_are_in_help_on_the_ticket_record_too(
    db_path: Path, downloads: Path
) -> None:
    desk = await seeded_desk(db_path)
    await desk.receive(mail_with_attachments())
    app = make_app(db_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await ready(pilot)
        ids = {b.id for b in help_bindings(app.screen)}
        assert {"inbox.open_attachment", "inbox.save_attachment"} <= ids
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Open attachment (O)", "Save attachment as (S)"} <= set(titles)
        assert "Ticket record: Open attachment (O)" in titles
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        await wait_for(pilot, lambda: "invoice.pdf" in screen_text(app))
        ids = {b.id for b in help_bindings(app.screen)}
        assert {"ticket.open_attachment", "ticket.save_attachment"} <= ids
        await pilot.press("O")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("j", "j", "j", "enter")  # passwd, saved under its last name only
        saved = downloads / "passwd"
        await wait_for(pilot, saved.exists)
        assert saved.read_bytes() == b"root:x:0:0" and private(saved)
    await desk.db.close()
