"""The composer as a mail client (issue 12, SPEC D15, D16, D18): a Pilot test attaches a file
through the file picker and sends; Cc and Bcc are shown and edited; a bad address keeps the
composer open; files stay with the draft; over SSH there is no picker."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from textual.widgets import DirectoryTree, Input, Label

from app.screens.compose import ComposeScreen
from runtime import files
from storage import draft_files
from tests.app_helpers import (
    make_app,
    ready,
    screen_text,
    seeded_desk,
    settle,
    wait_for,
    wait_for_async,
)
from tests.helpers import make_mail
from widgets.file_picker import FilePicker

DATA = bytes(range(256)) * 16


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_attach_through_the_picker_and_send(db_path, tmp_path, monkeypatch) -> None:
    # D15 + D16: ctrl+o picks a file (typed path), it is listed numbered; Cc comes filled with
    # the thread's others; a Bcc is added; ctrl+s sends one email with the file, byte for byte
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "report ü.pdf").write_bytes(DATA)
    monkeypatch.setenv("DESKLINE_ATTACH_DIR", str(folder))
    desk = await seeded_desk(db_path, received=False)
    raw, _ = make_mail(headers={"Cc": "erin@customer.example"})
    await desk.receive(raw)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        cc = screen.query_one("#compose-cc", Input)
        await wait_for(pilot, lambda: cc.value == "erin@customer.example", what="the default Cc")
        await pilot.press("ctrl+o")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, FilePicker) and app.screen)
        assert picker.query_one(DirectoryTree).path == folder
        await pilot.press("ctrl+l")
        path_input = picker.query_one(Input)
        path_input.value = str(folder / "report ü.pdf")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        listed = screen.query_one("#compose-files", Label)
        await wait_for(pilot, lambda: "1. report ü.pdf" in str(listed.render()), what="the list")
        assert "report ü.pdf" in screen_text(app)
        screen.query_one("#compose-bcc", Input).value = "boss@help.example"
        screen.query_one("TextArea").focus()
        await pilot.press(*"See attached.")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="sent")
    [reply] = [r for r in await desk.outbox() if r["kind"] == "reply"]
    data = await desk.outbox_raw(reply["id"])
    msg = message_from_bytes(data, policy=policy.default)
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["erin@customer.example"]
    assert "Bcc" not in msg and b"boss@help.example" not in data
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == "report ü.pdf"
    assert hashlib.sha256(part.get_payload(decode=True)).digest() == hashlib.sha256(DATA).digest()
    left = await desk.db.query(lambda s: draft_files.listed(s, 2, "conversation:1:reply"))
    assert left == []  # sent: the draft's files went with it
    await desk.db.close()


async def test_hostile_picks_bad_address_and_kept_files(db_path, tmp_path, monkeypatch) -> None:
    # issue 12: a directory or a missing file is refused with one line; a bad Cc keeps the
    # composer open naming it; files stay with the draft when the composer closes (D18)
    monkeypatch.setenv("DESKLINE_ATTACH_DIR", str(tmp_path))
    (tmp_path / "a.txt").write_text("one\n")
    desk = await seeded_desk(db_path, ["Printer"], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        for bad in (str(tmp_path / "missing.bin"), "/dev/null"):
            await pilot.press("ctrl+o")
            picker = await wait_for(
                pilot, lambda: isinstance(app.screen, FilePicker) and app.screen
            )
            await pilot.press("ctrl+l")
            picker.query_one(Input).value = bad
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen)
            await settle(pilot)
            assert not screen.attached
        await screen.attach_path(tmp_path)  # a directory
        assert not screen.attached
        await screen.attach_path(tmp_path / "a.txt")
        assert [a.filename for _, a in screen.attached] == ["a.txt"]
        screen.query_one("#compose-cc", Input).value = "not an address"
        screen.query_one("TextArea").focus()
        await pilot.press(*"Hi")
        await pilot.press("ctrl+s")
        await settle(pilot, 0.5)
        assert isinstance(app.screen, ComposeScreen)  # still open, nothing sent
        assert [r for r in await desk.outbox() if r["kind"] == "reply"] == []
        await pilot.press("escape")
    kept = await desk.db.query(lambda s: draft_files.listed(s, 2, "conversation:1:reply"))
    assert [name for _, name, _, _ in kept] == ["a.txt"]
    again = make_app(db_path)
    async with again.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        screen = await wait_for(
            pilot, lambda: isinstance(again.screen, ComposeScreen) and again.screen
        )
        await wait_for(pilot, lambda: len(screen.attached) == 1, what="the draft's file back")
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: not screen.attached)
        await wait_for_async(
            pilot,
            lambda: _none_left(desk),
            what="the removed file gone from the draft",
        )
    await desk.db.close()


async def _none_left(desk) -> bool:
    return not await desk.db.query(lambda s: draft_files.listed(s, 2, "conversation:1:reply"))


async def test_over_ssh_there_is_no_picker(db_path, monkeypatch) -> None:
    # S3: a `deskline serve` session opens no file of the server: ctrl+o says so
    desk = await seeded_desk(db_path, ["Printer"], received=False)
    monkeypatch.setattr(files, "_SERVER_FILES_REFUSED", "over SSH")
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+o")
        said = await wait_for(
            pilot, lambda: [n.message for n in app._notifications if "file picker" in n.message]
        )
        assert isinstance(app.screen, ComposeScreen)
        assert said[0].startswith("Over SSH there is no file picker")
    await desk.db.close()
