"""A keyboard file picker (issue 12): a directory tree to walk with the arrow keys (enter opens a
folder or takes a file) and a line to type or paste a path into. Dismisses with the chosen path,
or None on escape. It only names a file: the caller reads it and says what is wrong with it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Label


class FilePicker(ModalScreen[Path | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="file_picker.cancel"),
        Binding("ctrl+l", "focus_path", "Type a path", id="file_picker.path"),
        Binding("backspace", "up", "Parent folder", id="file_picker.up"),
    ]

    DEFAULT_CSS = """
    FilePicker > Vertical { height: 90%; }
    FilePicker DirectoryTree { height: 1fr; }
    """

    def __init__(self, start: Path, title: str = "Attach a file") -> None:
        super().__init__()
        self.start = start
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Label(
                Content.from_markup(
                    "[$text-muted]arrows and enter: pick · [b]ctrl+l[/b]: type a path · "
                    "[b]backspace[/b]: parent · [b]escape[/b]: cancel[/]"
                )
            )
            yield Input(str(self.start) + "/", id="file-picker-path")
            yield DirectoryTree(self.start, id="file-picker-tree")

    def on_mount(self) -> None:
        self.query_one(DirectoryTree).focus()

    def action_focus_path(self) -> None:
        self.query_one(Input).focus()

    def action_up(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one(Input).action_delete_left()
            return
        tree = self.query_one(DirectoryTree)
        parent = Path(tree.path).resolve().parent
        tree.path = parent
        self.query_one(Input).value = str(parent) + "/"

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(Path(event.path))

    @on(DirectoryTree.DirectorySelected)
    def _folder(self, event: DirectoryTree.DirectorySelected) -> None:
        self.query_one(Input).value = str(event.path) + "/"

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self.query_one(DirectoryTree).path = path
            self.query_one(DirectoryTree).focus()
            return
        self.dismiss(path)
