"""The `f` picker of saved views with a live count beside each (issue 13): the picker opens at
once with the names, and each view's count is read off the screen thread, one view after the
other, filled in as it arrives; keys work meanwhile and closing the picker stops the counting.
A count beyond search's relevance limit reads "10,000+" (counting stops there, SPEC D19)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from textual import work
from textual.content import Content

from app.backend import backend_of
from app.screens.dialogs import PickerScreen
from automation.saved_views import View
from automation.search.query import QueryError, parse
from storage import search
from widgets.option_list import OptionList
from widgets.text import line


def count_label(found: int, cap: int = search.RELEVANCE_LIMIT) -> str:
    return f"{cap:,}+" if found > cap else f"{found:,}"


class ViewsPicker(PickerScreen):
    """PickerScreen whose choices include saved views (`View` values, or `counted` gives the
    view of a choice); each such choice gets " · N" (conversations, or tickets on the board)."""

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, Any]],
        current: Any = None,
        *,
        counted: Sequence[View | None] | None = None,
        viewer_id: int | None = None,
        tickets: bool = False,
    ) -> None:
        super().__init__(title, choices, current)
        self.counted = list(counted) if counted is not None else [v for _, v in choices]
        self.viewer_id = viewer_id
        self.tickets = tickets
        self.counts: dict[int, str] = {}  # choice index -> its count as shown

    def on_mount(self) -> None:
        super().on_mount()
        self.count_views()

    @work(group="view-counts", exclusive=True)
    async def count_views(self) -> None:
        backend = backend_of(self.app)
        viewer, tickets = self.viewer_id, self.tickets
        for index, view in enumerate(self.counted):
            if not isinstance(view, View):
                continue
            typed = view.query

            def count(session: Any, typed: str = typed) -> str:
                try:
                    query = parse(typed)
                    found = search.count_hits(
                        session, query, viewer_id=viewer, now=datetime.now(UTC), tickets=tickets
                    )
                except QueryError:
                    return "cannot run"
                return count_label(found)

            self.counts[index] = await backend.query(count)
            self._show_count(index)

    def _show_count(self, index: int) -> None:
        label = f"{self.choices[index][0]} · {self.counts[index]}"
        self.query_one(OptionList).replace_option_prompt(str(index), Content(line(label)))
