"""A list that holds any number of rows and draws only the ones on screen (Textual's Line API).

Rows come from a `RowSource` in pages of `PAGE` rows, loaded by workers when they scroll into
view: keyset after the previous page when it is loaded, an offset for jumps. A reload (filter
change, live update) reads the new rows first and swaps them in at once, keeping the cursor on
the same row (by key) at the same place on screen, so nothing jumps under the user's eyes.

A reload reads the count, the kept row's place and the pages on screen as one `Snapshot` (one
read transaction): read separately, a row stored in between (the live feed) shifted the pages
under an index computed before it, and the cursor showed another customer's row. The cursor is
then put on the kept row's key as found in the pages read, never on a bare index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
RETRY_AFTER = 2.0  # seconds before a page whose read failed is asked for again, when shown
Row = dict[str, Any]
Cell = tuple[str, Style | None]


# (total rows, index of the kept row or None) -> the pages a reload reads
PagesFor = Callable[[int, int | None], range]


@dataclass(frozen=True)
class Snapshot:
    """What one reload read at one moment: the row count, where the kept row is (None: not in
    the list, or no row kept) and the pages around the place the cursor will be."""

    total: int
    index: int | None
    pages: dict[int, list[Row]]


class RowSource(Protocol):
    async def snapshot(self, key: Any | None, pages_for: PagesFor) -> Snapshot:
        """Count, the index of the row `key` and the pages `pages_for(total, index)`, read in
        one transaction (see `read_snapshot`)."""
        ...

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        """`limit` rows from `offset`; when `after` (a row's "sort" value) is given, the rows
        right after that row, which is row `offset - 1`."""
        ...


def read_snapshot(
    count: Callable[[], int],
    index_of: Callable[[Any], int | None],
    rows: Callable[[int, int, Any | None], list[Row]],
    key: Any | None,
    pages_for: PagesFor,
) -> Snapshot:
    """A source's snapshot from its three reads; the caller runs it inside one read
    transaction. Each page after the first continues the previous one by keyset."""
    total = count()
    index = index_of(key) if key is not None else None
    pages: dict[int, list[Row]] = {}
    for page in pages_for(total, index):
        if page * PAGE >= total:
            break
        before = pages.get(page - 1)
        after = before[-1]["sort"] if before and len(before) == PAGE else None
        pages[page] = rows(page * PAGE, PAGE, after)
    return Snapshot(total, index, pages)


def _over_cells(cursor: Style) -> Style:
    """The part of the cursor style laid over every cell: background and text style."""
    return cursor.without_color + Style(bgcolor=cursor.bgcolor)


def find_row(pages: dict[int, list[Row]], key: Any) -> int | None:
    """The index of the row `key` among the pages read, or None."""
    for page, rows in pages.items():
        for offset, row in enumerate(rows):
            if row["id"] == key:
                return page * PAGE + offset
    return None


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
    # The cursor row: the same block cursor as Textual's option lists (settings, pickers), a
    # background under the whole row; without colour (NO_COLOR) reverse video (SPEC D12).
    DEFAULT_CSS = """
    RowList {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .row-list--cursor { background: $block-cursor-blurred-background; }
        &:focus > .row-list--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        &:nocolor > .row-list--cursor { text-style: reverse; }
        &:nocolor:focus > .row-list--cursor { text-style: reverse bold; }
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
        self._failed_at: dict[int, float] = {}  # pages whose read failed, and when
        self._generation = 0
        self._announced: int | None = None
        # What an unfinished reload is for: (keep the cursor's row, the row to show).
        self._wanted: tuple[bool, Any | None] | None = None

    # --- what subclasses provide ------------------------------------------------------------

    def row_cells(self, row: Row, line: int, width: int) -> Sequence[Cell]:
        raise NotImplementedError

    # --- data -------------------------------------------------------------------------------

    def set_source(self, source: RowSource, *, key: Any | None = None) -> None:
        """Show another list (a new filter): the cursor goes to the row `key` when the new
        list has it, else to the top."""
        self.source = source
        self._wanted = (False, key)
        self._reload()

    def reload(self) -> None:
        """Read the rows again (live update) keeping the cursor on the same row, or on the row
        a `set_source` or `show_row` not done yet asked for."""
        if self.source is not None:
            self._reload()

    def show_row(self, key: Any) -> None:
        """Read the rows again with the cursor on the row `key` (a card that moved here)."""
        if self.source is not None:
            self._wanted = (True, key)
            self._reload()

    @property
    def current(self) -> Row | None:
        return self.row_at(self.cursor)

    def row_at(self, index: int) -> Row | None:
        page = self._pages.get(index // PAGE)
        if page is None or index % PAGE >= len(page):
            return None
        return page[index % PAGE]

    @work(exclusive=True, group="reload")
    async def _reload(self) -> None:
        source = self.source
        if source is None:
            return
        self._generation += 1
        generation = self._generation
        # A reload that cancels an unfinished one (exclusive) takes over what that one was for.
        keep, key = self._wanted or (True, None)
        if key is None and keep and self.current is not None:
            key = self.current["id"]
        place = self._placement(key, fallback=self.cursor if keep else 0)
        height = max(self.size.height, 24)

        def pages_for(total: int, index: int | None) -> range:  # on the backend thread
            top = place(total, index)[1] // self.row_height
            return range(top // PAGE, (top + height // self.row_height + 1) // PAGE + 1)

        snapshot = await source.snapshot(key, pages_for)
        if generation != self._generation:
            return
        self._wanted = None
        index, top = place(snapshot.total, snapshot.index)
        if key is not None:
            # Where the row really is in the pages read (a source that cannot read one snapshot,
            # such as PostgreSQL under READ COMMITTED, may have shifted them since the index).
            found = find_row(snapshot.pages, key)
            if found is not None and found != index:
                index, top = place(max(snapshot.total, found + 1), found)
        self._pages, self._loading, self._failed_at = snapshot.pages, set(), {}
        self.total, self.loaded = snapshot.total, True
        self.virtual_size = Size(self.size.width, snapshot.total * self.row_height)
        self.cursor = index
        self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()

    def _placement(
        self, key: Any | None, *, fallback: int
    ) -> Callable[[int, int | None], tuple[int, int]]:
        """Where a reload puts the cursor and the first line on screen, given the new row count
        and the kept row's new index (`fallback` when the row is gone). A pure function of
        values read now: it also runs on the backend thread (to know which pages to read)."""
        rh = self.row_height
        view = max(self.size.height, rh)
        cursor, scrolled = self.cursor, self.scroll_offset.y
        on_screen = max(cursor * rh - scrolled, 0)  # the cursor row's line on screen

        def place(total: int, index: int | None) -> tuple[int, int]:
            last = max(total - 1, 0)
            if key is None:
                return 0, 0
            index = min(index if index is not None else fallback, last)
            # At the top of the list new rows show above the cursor's row (it moves down with its
            # item, as in a mail reader); scrolled down, the row keeps its place on screen.
            top = 0 if scrolled == 0 else max(0, index * rh - on_screen)
            top = min(top, index * rh, max(total * rh - view, 0))  # the row stays in view
            return index, max(top, (index + 1) * rh - view, 0)

        return place

    def _request(self, page: int) -> None:
        if page in self._loading or page in self._pages or self.source is None:
            return
        if time.monotonic() - self._failed_at.get(page, -RETRY_AFTER) < RETRY_AFTER:
            return  # not a read a frame while the database is down
        self._loading.add(page)
        self.run_worker(self._load(page, self._generation), group="pages")

    async def _load(self, page: int, generation: int) -> None:
        assert self.source is not None
        before = self._pages.get(page - 1)
        after = before[-1]["sort"] if before and len(before) == PAGE else None
        try:
            rows = await self.source.rows(page * PAGE, PAGE, after)
        except BaseException:
            if generation == self._generation:  # shown again later, it is asked for again
                self._loading.discard(page)
                self._failed_at[page] = time.monotonic()
            raise
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
        cursor = self.get_component_rich_style("row-list--cursor") if index == self.cursor else None
        if cursor is not None:
            base += cursor
        # Every segment gets a style: Textual's NO_COLOR filter cannot take a segment without one.
        segments = [Segment(text, base + style if style else base) for text, style in cells]
        strip = Strip(segments).crop_extend(0, width, base)
        if cursor is not None:
            # Over the cells, not under them: a cell's style (dim, accent) carries the list's own
            # background, which hid the cursor's (only its bold showed). The cells keep their
            # colour; the row takes the cursor's background and text style.
            strip = Strip(Segment.apply_style(strip, post_style=_over_cells(cursor)), width)
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
