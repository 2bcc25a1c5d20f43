"""What an SSH session keeps in the desk instead of server files (SPEC S3): a user's keymap
(`user keymap set|show|clear`, applied by the app at start, over keys.toml), and files sent with
`attachment put NAME < file` that wait for the user's next composer draft
(`take_staged_attachments`); SSH keys in the settings screen's People section (admins)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from app.screens.dialogs import ConfirmScreen, PromptScreen
from storage.database import Database
from tests.app_helpers import make_app, ready, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_access import Cli, as_login, cli
from tests.test_admin_people import (
    SIZE,
    _details,
    _dialog,
    _go_to,
    _key,
    _open_settings,
    _pick,
)

__all__ = ["cli"]  # a fixture used below


def stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_s3_attachment_put_keeps_a_file_for_the_users_next_draft(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.run("init")
    cli.run("user", "add", "rita")
    as_login(cli, "rita")
    stdin(monkeypatch, b"%PDF-1.4 invoice")
    code, out, err = cli.run("attachment", "put", "../../etc/invoice.pdf")
    assert code == 0, err
    assert "Kept invoice.pdf (16 bytes)" in out  # one path component, never a server path
    stdin(monkeypatch, b"")
    code, _, err = cli.run("attachment", "put", "empty.txt")
    assert code == 1 and "nothing on standard input" in err
    code, out, _ = cli.run("attachment", "staged", "--json")
    [row] = json.loads(out)["staged"]
    assert (row["filename"], row["content_type"], row["size"]) == (
        "invoice.pdf",
        "application/pdf",
        16,
    )
    as_login(cli, "boss")  # the admin has nothing waiting: staging is per user
    assert json.loads(cli.run("attachment", "staged", "--json")[1])["staged"] == []

    async def take_them() -> tuple[list[tuple[str, str, bytes]], list[object]]:
        db = Database(cli.url)
        try:

            def take(repo):  # type: ignore[no-untyped-def]
                rita = repo.user_by_name("rita")
                drafts = repo.take_staged_attachments(rita.id, "ticket:1:reply")
                left = repo.staged_attachments(rita.id)
                return [(d.filename, d.scope, d.data) for d in drafts], left

            return await db.run(take)
        finally:
            await db.close()

    taken, left = asyncio.run(take_them())
    assert taken == [("invoice.pdf", "ticket:1:reply", b"%PDF-1.4 invoice")] and left == []


def test_s3_a_keymap_is_kept_per_user_in_the_desk(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.run("init")
    cli.run("user", "add", "rita")
    as_login(cli, "rita")
    stdin(monkeypatch, b'[keys]\n"inbox.reply" = "x"\n')
    code, out, err = cli.run("user", "keymap", "set", "-")
    assert code == 0 and "1 binding" in out, err
    assert json.loads(cli.run("user", "keymap", "show", "--json")[1])["keys"] == {
        "inbox.reply": "x"
    }
    stdin(monkeypatch, b'[keys]\n"inbox.replly" = "x"\n')
    code, _, err = cli.run("user", "keymap", "set", "-")
    assert code == 1 and "unknown binding ids: inbox.replly" in err
    as_login(cli, "boss")
    assert json.loads(cli.run("user", "keymap", "show", "--json")[1])["keys"] == {}
    as_login(cli, "rita")
    assert cli.run("user", "keymap", "clear")[0] == 0
    assert json.loads(cli.run("user", "keymap", "show", "--json")[1])["keys"] == {}


async def test_s3_the_app_takes_the_users_keymap_from_the_desk(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    await desk.store(
        lambda repo: repo.set_user_keymap(repo.user_by_name("rita").id, {"inbox.reply": "x"})
    )
    await desk.db.close()
    app = make_app(path, as_user="rita")
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        assert app._keymap.get("inbox.reply") == "x"
    other = make_app(path, as_user="admin")
    async with other.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        assert "inbox.reply" not in other._keymap


async def test_s3_ssh_keys_are_shown_added_and_removed_in_the_people_section(
    tmp_path: Path,
) -> None:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, [])
    app = make_app(path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, _key(screen, "user", name="rita"))
        assert "SSH keys (0): none." in _details(screen)
        await pilot.press("m")
        await _pick(pilot, "Add a key")
        prompt = await _dialog(pilot, PromptScreen)
        prompt.query_one(Input).value = KEY
        await pilot.press("enter")
        await wait_for_async(pilot, lambda: _keys_of(desk, "rita"), what="the key stored")
        await wait_for(pilot, lambda: "rita@laptop" in _details(screen), what="the key shown")
        assert "SSH keys (1): SHA256:" in _details(screen)
        await pilot.press("m")
        await _pick(pilot, "Remove SHA256:")
        await _dialog(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _no_keys(desk, "rita"), what="the key removed")
    await desk.db.close()


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl rita@laptop"


async def _keys_of(desk: Desk, name: str) -> list[str]:
    return await desk.store(
        lambda repo: [k.fingerprint for k in repo.ssh_keys(repo.user_by_name(name))]
    )


async def _no_keys(desk: Desk, name: str) -> bool:
    return not await _keys_of(desk, name)
