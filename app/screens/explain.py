"""`E` on the ticket record: the explain trace of every message of the ticket (read-only), the
same tree `deskline explain #N` prints (storage/explain.py)."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from app.backend import Backend, backend_of
from app.screens.footer import DeskFooter
from storage.explain import ticket_trace, trace_lines
from widgets.text import line


class ExplainScreen(ModalScreen[None]):
    HELP_TITLE = "Explain"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,E", "dismiss(None)", "Close", id="explain.close"),
        Binding("j", "scroll(1)", "Down", show=False, id="explain.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="explain.up"),
    ]

    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):  # the help screen's size
            yield Label(Content(f"Why ticket #{self.number} is as it is"), classes="dialog-title")
            with VerticalScroll(id="explain-scroll", can_focus=True):
                yield Static(Content("Reading…"), id="explain-text")
        yield DeskFooter()

    @property
    def backend(self) -> Backend:
        return backend_of(self.app)

    def on_mount(self) -> None:
        scroll = self.query_one("#explain-scroll")
        scroll.styles.height = "1fr"
        scroll.focus()
        self.load()

    @work(group="explain", exclusive=True)
    async def load(self) -> None:
        number = self.number
        trace = await self.backend.query(lambda s: ticket_trace(s, number))
        text = "\n".join(trace_lines(trace, line)) if trace else f"Ticket #{number} is gone."
        self.query_one("#explain-text", Static).update(Content(text))

    def action_scroll(self, step: int) -> None:
        scroll = self.query_one("#explain-scroll", VerticalScroll)
        scroll.scroll_relative(y=step, animate=False)
