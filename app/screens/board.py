"""Board (SPEC §5): a pipeline's statuses as columns of ticket cards, moved with keys."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label

from app.screens.base import DeskScreen, pick_owner
from app.screens.dialogs import PickerScreen, PromptScreen
from app.screens.views_picker import ViewsPicker
from app.sources import ColumnSource
from automation import saved_views, services
from storage import search, views
from storage.repository import SqlRepository
from widgets.lists import TicketCards
from widgets.row_list import RowList
from widgets.text import line


class BoardScreen(DeskScreen):
    MODE = "board"
    HELP_TITLE = "Board"
    # A status name too long for its column is cut with an ellipsis, never wrapped out of sight.
    DEFAULT_CSS = "BoardScreen .column-title { text-wrap: nowrap; text-overflow: ellipsis; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h,left", "column(-1)", "Column left", show=False, id="board.left"),
        Binding("l,right", "column(1)", "Column right", show=False, id="board.right"),
        Binding("H", "move(-1)", "Move to previous status", key_display="H", id="board.move_prev"),
        Binding("L", "move(1)", "Move to next status", key_display="L", id="board.move_next"),
        Binding("s", "move_to", "Set status", id="board.status"),
        Binding("a", "assign", "Assign", id="board.assign"),
        Binding("e", "close", "Close", id="board.close"),
        Binding("u", "undo", "Undo", id="board.undo"),
        Binding("p", "pick_pipeline", "Pipeline", id="board.pipeline"),
        Binding("slash", "search", "Search", id="board.search"),
        Binding("f", "pick_view", "Views", id="board.views"),
        Binding("V", "save_view", "Save view", show=False, id="board.save_view"),
        Binding("escape", "clear_search", "Clear search", show=False, id="board.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pipelines: list[dict[str, Any]] = []
        self.pipeline: dict[str, Any] | None = None
        # The card being moved and the index of the status it goes to: a second H/L typed before
        # the first move is done moves the same card on, from where it is going.
        self._in_flight: tuple[int, int] | None = None
        self._moves = asyncio.Lock()  # moves reach the database in the order they were typed
        self.search = ""  # the board's search (D19: its hits are tickets); "" shows every card

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Horizontal(id="board-columns")
        box = Input(
            placeholder='Search tickets: words, "a phrase", tag: prop:NAME=VALUE …; enter applies',
            id="board-search",
        )
        box.display = box.can_focus = False  # hidden: never focused while the columns load
        yield box
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.load_pipelines()

    @work(group="pipelines")
    async def load_pipelines(self, pipeline_id: int | None = None) -> None:
        self.pipelines = await self.backend.query(views.pipelines)
        wanted = pipeline_id or (self.pipeline["id"] if self.pipeline else None)
        chosen = next((p for p in self.pipelines if p["id"] == wanted), None)
        await self.show_pipeline(chosen or self.pipelines[0])

    async def show_pipeline(self, pipeline: dict[str, Any]) -> None:
        self.pipeline = pipeline
        # The search leads: when the bar is too narrow, the tail gives way (with an ellipsis).
        searched = f"“{line(self.search)}” (escape clears) · " if self.search else ""
        self.set_status(f"{searched}pipeline {line(pipeline['name'])} · p picks another")
        board = self.query_one("#board-columns", Horizontal)
        await board.remove_children()
        columns = []
        for status in pipeline["statuses"]:
            cards = TicketCards(status, id=f"column-{status['id']}")
            column = Vertical(
                Label(Content(line(status["label"])), classes="column-title"),
                cards,
                classes="column",
            )
            columns.append(column)
        await board.mount_all(columns)
        for cards in self.query(TicketCards):
            cards.set_source(
                ColumnSource(self.backend, cards.status["id"], self.search, self.me.id)
            )
        first = self.query(TicketCards).first()
        first.focus()
        self.count_tickets()

    @work(group="counts", exclusive=True)
    async def count_tickets(self) -> None:
        if self.pipeline is None:
            return
        pipeline_id = self.pipeline["id"]
        counts = await self.backend.query(lambda s: views.status_counts(s, pipeline_id))
        if self.search:
            sources = [c.source for c in self.query(TicketCards)]
            counts = await self.backend.query(
                lambda s: {
                    src.status_id: src.count(s) for src in sources if isinstance(src, ColumnSource)
                }
            )
        for cards in self.query(TicketCards):
            status = cards.status
            title = cards.parent.query_one(".column-title", Label)  # type: ignore[union-attr]
            title.update(
                Content.from_markup(
                    "[b]$count[/b] $label",
                    label=line(status["label"]),
                    count=f"{counts.get(status['id'], 0):,}",
                )
            )

    def refresh_data(self) -> None:
        for cards in self.query(TicketCards):
            cards.reload()
        self.count_tickets()

    # --- navigation -------------------------------------------------------------------------

    def _columns(self) -> list[TicketCards]:
        return list(self.query(TicketCards))

    def _focused_column(self) -> TicketCards | None:
        focused = self.focused
        return focused if isinstance(focused, TicketCards) else None

    def action_column(self, step: int) -> None:
        columns = self._columns()
        current = self._focused_column()
        if not columns:
            return
        index = columns.index(current) if current in columns else 0
        columns[max(0, min(index + step, len(columns) - 1))].focus()

    def _selected_ticket(self) -> tuple[TicketCards, int] | None:
        column = self._focused_column()
        row = column.current if column else None
        if column is None or row is None:
            self.notify("No ticket selected.", severity="warning")
            return None
        return column, int(row["id"])

    @on(RowList.Selected)
    def _open(self, event: RowList.Selected) -> None:
        from app.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(int(event.row["id"])))

    # --- changes ----------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        card = self._card_to_move()
        if card is None or self.pipeline is None:
            return
        number, here = card
        statuses = self.pipeline["statuses"]
        target = here + step
        if not 0 <= target < len(statuses):
            self.notify("No status further that way.", severity="warning")
            return
        self._move_to(number, statuses[target]["label"])

    def _card_to_move(self) -> tuple[int, int] | None:
        """The card H/L moves and the index of its status: the card still on its way if a move
        is not done yet, else the one under the cursor."""
        if self._in_flight is not None:
            return self._in_flight
        selected = self._selected_ticket()
        if selected is None or self.pipeline is None:
            return None
        column, number = selected
        ids = [s["id"] for s in self.pipeline["statuses"]]
        return number, ids.index(column.status["id"])

    def _move_to(self, number: int, label: str) -> None:
        if self.pipeline is None:
            return
        labels = [s["label"] for s in self.pipeline["statuses"]]
        self._in_flight = (number, labels.index(label))
        self._move_card(number, label, self._in_flight)

    @work(group="moves")
    async def _move_card(self, number: int, label: str, move: tuple[int, int]) -> None:
        """Move the card, then follow it: the column it landed in gets the focus and its cursor
        is on the card, so the next key acts on the same ticket."""
        async with self._moves:
            try:
                moved = await self.change_ticket(
                    number,
                    lambda repo, me: services.move_ticket(repo, me, number, label),
                    f"#{number} → {label}",
                ).wait()
                if moved and self._in_flight == move:  # else a later move takes it on
                    await self._follow(number)
            finally:
                if self._in_flight == move:
                    self._in_flight = None

    async def _follow(self, number: int) -> None:
        # Where the card is now: its status actions may have moved it on.
        status_id = await self.backend.query(lambda s: views.ticket_status_id(s, number))
        for cards in self.query(TicketCards):
            if cards.status["id"] == status_id:
                cards.focus()
                cards.show_row(number)

    def action_move_to(self) -> None:
        selected = self._selected_ticket()
        if selected is None or self.pipeline is None:
            return
        number = selected[1]
        choices = [(s["label"], s["label"]) for s in self.pipeline["statuses"]]

        def chosen(label: str | None) -> None:
            if label is not None:
                self._move_to(number, label)

        self.app.push_screen(PickerScreen(f"Status of #{number}", choices), chosen)

    def action_assign(self) -> None:
        selected = self._selected_ticket()
        if selected is not None:
            self._assign(selected[1])

    @work(group="pickers")
    async def _assign(self, number: int) -> None:
        await pick_owner(self, number)

    def action_close(self) -> None:
        selected = self._selected_ticket()
        if selected is not None:
            number = selected[1]
            self.change_ticket(
                number,
                lambda repo, me: services.close_ticket(repo, me, number),
                f"#{number} closed",
            )

    # --- search and saved views (issue 13) ---------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#board-search", Input)
        box.display = box.can_focus = True
        box.value = self.search
        box.focus()

    @on(Input.Submitted, "#board-search")
    def _searched(self, event: Input.Submitted) -> None:
        self._check_and_search(event.value)

    @work(group="search", exclusive=True)
    async def _check_and_search(self, typed: str) -> None:
        """Show only the cards of the tickets the search finds, once the desk can read it;
        else say what is wrong and keep the text to mend."""
        viewer = self.me.id
        wrong = None
        if typed.strip():
            wrong = await self.backend.query(lambda s: search.problem(s, typed, viewer_id=viewer))
        box = self.query_one("#board-search", Input)
        if wrong is not None:
            self.notify(wrong, title="Search", severity="error", markup=False)
            box.focus()
            return
        box.display = box.can_focus = False
        self.search = typed.strip()
        if self.pipeline is not None:
            await self.show_pipeline(self.pipeline)

    def action_clear_search(self) -> None:
        box = self.query_one("#board-search", Input)
        if box.display:
            box.display = box.can_focus = False
            self._focus_first()
            return
        if self.search:
            self._check_and_search("")

    def _focus_first(self) -> None:
        columns = self._columns()
        if columns:
            columns[0].focus()

    @work(group="pickers")
    async def action_pick_view(self) -> None:
        """The saved views (SPEC D20: yours shadow shared ones); picking one runs its search."""
        me = self.me
        saved = await self.backend.query(lambda s: saved_views.views_of(SqlRepository(s), me))
        if not saved:
            self.notify("No saved views yet: / searches, then V saves the search.")
            return
        choices: list[tuple[str, Any]] = [("Every ticket (no search)", "")]
        choices += [
            (f"{v.name}{' (shared)' if v.shared else ''}: {v.query}", v.query) for v in saved
        ]
        picker = ViewsPicker(
            "Board view",
            choices,
            self.search,
            counted=[None, *saved],
            viewer_id=me.id,
            tickets=True,
        )
        query = await self.app.push_screen_wait(picker)
        if query is not None:
            self._check_and_search(query)

    def action_save_view(self) -> None:
        query = self.search
        if not query:
            self.notify("Search first (/), then V saves the search as a view.")
            return

        def named(name: str | None) -> None:
            if name is not None and name.strip():
                self.change(
                    lambda repo, me: saved_views.save_view(
                        repo, me, name, query, list_name="board"
                    )[0],
                    lambda view: f"View {view.name} saved: f shows it",
                )

        self.app.push_screen(PromptScreen("Save this search as the view named", ""), named)

    def action_pick_pipeline(self) -> None:
        choices = [(p["name"], p["id"]) for p in self.pipelines]

        def chosen(pipeline_id: int | None) -> None:
            if pipeline_id is not None:
                self.load_pipelines(pipeline_id)

        current = self.pipeline["id"] if self.pipeline else None
        self.app.push_screen(PickerScreen("Pipeline", choices, current), chosen)
