"""A list that holds any number of rows and draws only the ones on screen (Textual's Line API).

Rows come from a `RowSource` in pages of `PAGE` rows, loaded by workers when they scroll into
view: keyset after the previous page when it is loaded, an offset for jumps. A reload (filter
change, live update) reads the new rows first and swaps them in at once, keeping the cursor on
the same row (by key) at the same place on screen, so nothing jumps under the user's eyes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAGE = 100
Row = dict[str, Any]
Cell = tuple[str, Style | None]


class RowSource(Protocol):
    async def count(self) -> int: ...

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        """`limit` rows from `offset`; when `after` (a row's "sort" value) is given, the rows
        right after that row, which is row `offset - 1`."""
        ...

    async def index_of(self, key: int) -> int | None: ...


class RowList(ScrollView, can_focus=True):
    """Subclasses say how a row looks (`row_cells`); screens give the source."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, id="list.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="list.up"),
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("enter", "select", "Open", id="list.open"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-list--cursor",
        "row-list--dim",
        "row-list--accent",
        "row-list--warning",
    }
    DEFAULT_CSS = """
    RowList {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .row-list--cursor { background: $panel; }
        &:focus > .row-list--cursor { background: $accent 40%; text-style: bold; }
        & > .row-list--dim { color: $text-muted; }
        & > .row-list--accent { color: $text-accent; }
        & > .row-list--warning { color: $text-warning; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, row_list: RowList, row: Row | None) -> None:
            super().__init__()
            self.row_list = row_list
            self.row = row

        @property
        def control(self) -> RowList:
            return self.row_list

    class Selected(Message):
        def __init__(self, row_list: RowList, row: Row) -> None:
            super().__init__()
            self.row_list = row_list
            self.row = row

        @property
        def control(self) -> RowList:
            return self.row_list

    row_height: ClassVar[int] = 1
    empty_text: ClassVar[str] = "Nothing here."

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.source: RowSource | None = None
        self.total = 0
        self.loaded = False
        self._pages: dict[int, list[Row]] = {}
        self._loading: set[int] = set()
        self._generation = 0
        self._announced: int | None = None

    # --- what subclasses provide ------------------------------------------------------------

    def row_cells(self, row: Row, line: int, width: int) -> Sequence[Cell]:
        raise NotImplementedError

    # --- data -------------------------------------------------------------------------------

    def set_source(self, source: RowSource) -> None:
        """Show another list (a new filter): the cursor goes to the top."""
        self.source = source
        self._reload(keep=False)

    def reload(self) -> None:
        """Read the rows again (live update) keeping the cursor on the same row."""
        if self.source is not None:
            self._reload(keep=True)

    @property
    def current(self) -> Row | None:
        return self.row_at(self.cursor)

    def row_at(self, index: int) -> Row | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page):
            return None
        return page[index % PAGE]

    @work(exclusive=True, group="reload")
    async def _reload(self, *, keep: bool) -> None:
        source = self.source
        if source is None:
            return
        self._generation += 1
        generation = self._generation
        current = self.current if keep else None
        screen_offset = self.cursor * self.row_height - self.scroll_offset.y if keep else 0
        total = await source.count()
        index = 0
        if current is not None:
            found = await source.index_of(current["id"])
            index = found if found is not None else min(self.cursor, max(total - 1, 0))
        index = min(index, max(total - 1, 0))
        # At the top of the list new rows show above the cursor's row (it moves down with its
        # item, as in a mail reader); scrolled down, the row keeps its place on screen.
        at_top = self.scroll_offset.y == 0
        top = 0 if at_top else max(0, index * self.row_height - max(screen_offset, 0))
        pages = await self._read_pages(source, top // self.row_height, total)
        if generation != self._generation:
            return
        self._pages, self._loading = pages, set()
        self.total, self.loaded = total, True
        self.virtual_size = Size(self.size.width, total * self.row_height)
        self.cursor = index
        self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()

    async def _read_pages(
        self, source: RowSource, first_row: int, total: int
    ) -> dict[int, list[Row]]:
        visible = max(self.size.height, 24) // self.row_height + 1
        pages: dict[int, list[Row]] = {}
        for page in range(first_row // PAGE, (first_row + visible) // PAGE + 1):
            if page * PAGE >= total:
                break
            after = pages[page - 1][-1]["sort"] if page - 1 in pages and pages[page - 1] else None
            pages[page] = await source.rows(page * PAGE, PAGE, after)
        return pages

    def _request(self, page: int) -> None:
        if page in self._loading or page in self._pages or self.source is None:
            return
        self._loading.add(page)
        self.run_worker(self._load(page, self._generation), group="pages")

    async def _load(self, page: int, generation: int) -> None:
        assert self.source is not None
        before = self._pages.get(page - 1)
        after = before[-1]["sort"] if before and len(before) == PAGE else None
        rows = await self.source.rows(page * PAGE, PAGE, after)
        if generation != self._generation:
            return
        self._pages[page] = rows
        self._loading.discard(page)
        self.refresh()
        self._announce()

    # --- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self.loaded:
            return Strip.blank(width, base)
        if self.total == 0:
            if y == 0:
                dim = self.get_component_rich_style("row-list--dim")
                return Strip([Segment(f" {self.empty_text}", dim)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        absolute = self.scroll_offset.y + y
        index, line = divmod(absolute, self.row_height)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._request(index // PAGE)
            dim = self.get_component_rich_style("row-list--dim")
            cells: Sequence[Cell] = [(" …" if line == 0 else "", dim)]
        else:
            cells = self.row_cells(row, line, width)
        # Every segment gets a style: Textual's NO_COLOR filter cannot take a segment without one.
        segments = [Segment(text, base + style if style else base) for text, style in cells]
        strip = Strip(segments).crop_extend(0, width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("row-list--cursor"))
        return strip.simplify()

    def style(self, name: str) -> Style:
        """A component style (`dim`, `accent`, `warning`) for row cells."""
        return self.get_component_rich_style(f"row-list--{name}")

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total * self.row_height)

    # --- cursor -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._prefetch(new)
        self._refresh_row(old)
        self._refresh_row(new)
        self.scroll_to_region(
            Region(0, new * self.row_height, 1, self.row_height), animate=False, immediate=True
        )
        self._announce()

    def _prefetch(self, index: int) -> None:
        """Load the pages a screenful away before the cursor gets there."""
        if not self.loaded:
            return
        reach = max(self.size.height // self.row_height, 10) * 2
        for near in (index - reach, index + reach):
            if 0 <= near < self.total:
                self._request(near // PAGE)

    def _refresh_row(self, index: int) -> None:
        y = index * self.row_height - self.scroll_offset.y
        self.refresh(Region(0, y, self.size.width, self.row_height))

    def _announce(self) -> None:
        row = self.current
        key = row["id"] if row is not None else None
        if key != self._announced:
            self._announced = key
            self.post_message(self.Highlighted(self, row))

    def _move(self, index: int) -> None:
        if self.total:
            self.cursor = max(0, min(index, self.total - 1))

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(self.total - 1)

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.size.height // self.row_height))

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.size.height // self.row_height))

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(self, row))
