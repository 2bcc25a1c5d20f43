"""Opening and saving the attachments of the conversation in the reading pane (SPEC D13, D14).

The inbox and the ticket record take AttachmentKeys: one key opens an attachment with the
desktop's opener when there is a display (else saves it to the downloads directory and says
where), another saves it to a path the user types. With several attachments a numbered picker
asks which first. Deskline never runs what it saves: a program or a launcher is only saved.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


if TYPE_CHECKING:
    from app.screens.base import DeskScreen

    _Screen = DeskScreen
else:
    _Screen = object


class AttachmentKeys(_Screen):
    """Actions of a DeskScreen with a ConversationView."""

    def action_open_attachment(self) -> None:
        self._open_attachment()

    def action_save_attachment(self) -> None:
        self._save_attachment()

    @work(group="attachments", exclusive=True)
    async def _open_attachment(self) -> None:
        found = await self._pick_file("Open which attachment?")
        if found is None:
            return
        row, data = found
        if row["program"]:
            self.notify(
                f"{row['name']} is a program or a launcher: Deskline does not open it "
                f"({_key(self, 'save_attachment')} saves it).",
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
            self.notify(str(exc), severity="warning", markup=False)
            return
        if command is None:
            self.notify(f"No display to open it on: saved to {saved}", markup=False, timeout=8)
        else:
            self.notify(f"Opening {row['name']} (saved to {saved})", markup=False)

    @work(group="attachments", exclusive=True)
    async def _save_attachment(self) -> None:
        found = await self._pick_file("Save which attachment?")
        if found is None:
            return
        row, data = found
        suggested = str(downloads_dir() / row["name"])
        typed = await self.app.push_screen_wait(
            PromptScreen(f"Save {row['name']} as", suggested, placeholder="a file or a directory")
        )
        if not typed or not typed.strip():
            return
        target = Path(typed.strip()).expanduser()
        try:
            saved = await self._write_attachment(target, row["name"], data)
        except FileRefused as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if saved is not None:
            self.notify(f"Saved {row['name']} to {saved}", markup=False, timeout=8)

    async def _write_attachment(self, target: Path, name: str, data: bytes) -> Path | None:
        """Into a directory under its name; to a file that exists only when the user says
        so (None: not replaced)."""
        if target.is_dir():
            return await asyncio.to_thread(save_in, target, name, data)
        if target.exists() or target.is_symlink():
            replace = await self.app.push_screen_wait(
                ConfirmScreen(f"{target} exists. Replace it?")
            )
            if not replace:
                return None
            return await asyncio.to_thread(save_at, target, data, overwrite=True)
        return await asyncio.to_thread(save_at, target, data)

    async def _pick_file(self, title: str) -> tuple[dict[str, Any], bytes] | None:
        """The row and bytes of the only attachment, or of the one the user picks; None with
        a notice when there is none, or when the picker was cancelled."""
        shown = self.query_one(ConversationView).attachments()
        if not shown:
            self.notify(NONE_HERE, severity="warning")
            return None
        chosen: ShownAttachment | None = shown[0]
        if len(shown) > 1:
            several_messages = len({a.message for a in shown}) > 1
            choices = [(_label(a, several_messages), a) for a in shown]
            chosen = await self.app.push_screen_wait(PickerScreen(title, choices))
        if chosen is None:
            return None
        message, number = chosen.message, chosen.number
        found = await self.backend.query(lambda s: attachment_files(s, message, [number]))
        if not found:
            self.notify("That attachment is gone.", severity="warning")
            return None
        return found[0]


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
