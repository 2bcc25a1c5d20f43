"""Dialogs of the automation settings screen: a read-only view (the template editor is
`app.screens.template_editor`)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from app.screens.keys import key_for
from widgets.text import line

READ_ONLY = "Read-only: only admins change settings"


class InfoScreen(ModalScreen[None]):
    """A read-only page (a workflow, R-T5); escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "Close", id="settings.info_close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="settings.info_down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="settings.info_up"),
    ]

    def __init__(self, title: str, body: Content) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog settings-info"):
            yield Label(Content(line(self.title_text)), classes="dialog-title")
            with VerticalScroll(id="info-body"):
                yield Static(self.body, id="info-text")
            yield Label(
                Content.from_markup(
                    "[$text-muted]Read-only view · $close closes[/]",
                    close=key_for(self, "settings.info_close"),
                )
            )

    def action_scroll(self, step: int) -> None:
        self.query_one("#info-body", VerticalScroll).scroll_relative(y=step, animate=False)
