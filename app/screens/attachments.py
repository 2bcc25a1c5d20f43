"""Opening and saving the attachments of the conversation in the reading pane (SPEC D13, D14).

The inbox and the ticket record take AttachmentKeys: one key opens an attachment with the
desktop's opener when there is a display (else saves it to the downloads directory and says
where), another saves it to a path the user types. With several attachments a numbered picker
asks which first. Deskline never runs what it saves: a program or a launcher is only saved.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import work
from textual.binding import Binding

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.keys import UNBOUND, key_for
from runtime.files import (
    FileRefused,
    downloads_dir,
    launch_opener,
    opener_command,
    save_at,
    save_in,
)
from storage.attachments import attachment_files
from widgets.conversation_view import ConversationView, ShownAttachment

NONE_HERE = "This conversation has no attachments."


def attachment_bindings(screen: str) -> list[Binding]:
    """The two keys, with ids of the screen they are on (keys.toml names them)."""
    return [
        Binding("O", "open_attachment", "Open attachment", id=f"{screen}.open_attachment"),
        Binding("S", "save_attachment", "Save attachment as", id=f"{screen}.save_attachment"),
    ]


class AttachmentKeys:
    """Actions of a DeskScreen with a ConversationView."""

    def action_open_attachment(self) -> None:
        self._open_attachment()

    def action_save_attachment(self) -> None:
        self._save_attachment()

    @work(group="attachments", exclusive=True)
    async def _open_attachment(self) -> None:
        found = await self._attachment_bytes(
            await self._choose_attachment("Open which attachment?")
        )
        if found is None:
            return
        row, data = found
        screen: Any = self
        if row["program"]:
            screen.notify(
                f"{row['name']} is a program or a launcher: Deskline does not open it "
                f"({_key(screen, 'save_attachment')} saves it).",
                severity="warning",
                markup=False,
            )
            return
        try:
            saved = await asyncio.to_thread(save_in, downloads_dir(), row["name"], data)
            command = opener_command(saved)
            if command is not None:
                launch_opener(command)
        except FileRefused as exc:
            screen.notify(str(exc), severity="warning", markup=False)
            return
        if command is None:
            screen.notify(f"No display to open it on: saved to {saved}", markup=False, timeout=8)
        else:
            screen.notify(f"Opening {row['name']} (saved to {saved})", markup=False)

    @work(group="attachments", exclusive=True)
    async def _save_attachment(self) -> None:
        found = await self._attachment_bytes(
            await self._choose_attachment("Save which attachment?")
        )
        if found is None:
            return
        row, data = found
        screen: Any = self
        suggested = str(downloads_dir() / row["name"])
        typed = await screen.app.push_screen_wait(
            PromptScreen(f"Save {row['name']} as", suggested, placeholder="a file or a directory")
        )
        if not typed or not typed.strip():
            return
        target = Path(typed.strip()).expanduser()
        try:
            saved = await self._write_attachment(target, row["name"], data)
        except FileRefused as exc:
            screen.notify(str(exc), severity="warning", markup=False)
            return
        if saved is not None:
            screen.notify(f"Saved {row['name']} to {saved}", markup=False, timeout=8)

    async def _write_attachment(self, target: Path, name: str, data: bytes) -> Path | None:
        """Into a directory under its name; to a file that exists only when the user says
        so (None: not replaced)."""
        if target.is_dir():
            return await asyncio.to_thread(save_in, target, name, data)
        if target.exists() or target.is_symlink():
            screen: Any = self
            replace = await screen.app.push_screen_wait(
                ConfirmScreen(f"{target} exists. Replace it?")
            )
            if not replace:
                return None
            return await asyncio.to_thread(save_at, target, data, overwrite=True)
        return await asyncio.to_thread(save_at, target, data)

    async def _choose_attachment(self, title: str) -> ShownAttachment | None:
        """The only attachment, or the one the user picks; None with a notice when there is
        none, or when the picker was cancelled."""
        screen: Any = self
        shown = screen.query_one(ConversationView).attachments()
        if not shown:
            screen.notify(NONE_HERE, severity="warning")
            return None
        if len(shown) == 1:
            return shown[0]
        several_messages = len({a.message for a in shown}) > 1
        choices = [(_label(a, several_messages), a) for a in shown]
        chosen: ShownAttachment | None = await screen.app.push_screen_wait(
            PickerScreen(title, choices)
        )
        return chosen

    async def _attachment_bytes(
        self, shown: ShownAttachment | None
    ) -> tuple[dict[str, Any], bytes] | None:
        if shown is None:
            return None
        screen: Any = self
        found = await screen.backend.query(
            lambda s: attachment_files(s, shown.message, [shown.number])
        )
        if not found:
            screen.notify("That attachment is gone.", severity="warning")
            return None
        row, data = found[0]
        return row, data


def _key(screen: Any, action: str) -> str:
    """The key of the screen's `action` after the user's keymap."""
    for bindings in screen._bindings.key_to_bindings.values():
        for binding in bindings:
            if binding.action == action and binding.id:
                return key_for(screen, binding.id)
    return UNBOUND


def _label(shown: ShownAttachment, several_messages: bool) -> str:
    where = f"message {shown.message} · " if several_messages else ""
    return where + shown.label()
