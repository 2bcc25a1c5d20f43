"""A window over the screen with one list of the user's own rows (my tasks, my notifications):
j and k move, enter opens the row's ticket; the subclass loads `rows` and fills the list."""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen

from app.backend import Backend, backend_of
from widgets.option_list import OptionList


class ListDialog(ModalScreen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    @property
    def backend(self) -> Backend:
        return backend_of(self.app)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    def load(self) -> object:
        """Read the rows again and show them (a worker in the subclass)."""
        return None

    def current(self) -> dict[str, Any] | None:
        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.rows):
            return None
        return self.rows[index]

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Enter: the row's ticket (the subclass says what else)."""

    def open_ticket(self, number: int) -> None:
        from app.screens.ticket import TicketScreen

        self.dismiss(None)
        self.app.push_screen(TicketScreen(number))
