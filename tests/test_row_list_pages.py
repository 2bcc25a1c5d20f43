"""A page of a long list whose read fails is read again when its rows are shown again (a busy
database, a dropped PostgreSQL connection): before, its rows stayed "…" until something else
changed the list. The failing source is a fault made on purpose: a real database does not fail
one read on demand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import App, ComposeResult
from textual.worker import WorkerFailed

from widgets.row_list import PAGE, RETRY_AFTER, Cell, PagesFor, Row, RowList, Snapshot


class Numbers:
    """Rows 0..total-1; the first read of page 1 fails."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.failed = False

    def page(self, number: int) -> list[Row]:
        first = number * PAGE
        return [{"id": n, "sort": n, "text": f"row {n}"} for n in range(first, first + PAGE)]

    async def snapshot(self, key: Any | None, pages_for: PagesFor) -> Snapshot:
        return Snapshot(self.total, None, {0: self.page(0)})

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        if offset // PAGE == 1 and not self.failed:
            self.failed = True
            raise ConnectionError("the database went away for a moment")
        return self.page(offset // PAGE)


class NumberList(RowList):
    def row_cells(self, row: Row, line: int, width: int) -> Sequence[Cell]:
        return [(str(row["text"]), None)]


class ListApp(App[None]):
    """Goes on after a worker fails on the database, as Deskline's app does
    (tests/test_app_failures.py)."""

    failures: list[BaseException]

    def compose(self) -> ComposeResult:
        self.failures = []
        yield NumberList()

    def _handle_exception(self, error: Exception) -> None:
        if isinstance(error, WorkerFailed):
            self.failures.append(error.error)
            return
        super()._handle_exception(error)


async def _show(pilot: Any, rows: NumberList, y: int) -> None:
    rows.scroll_to(y=y, animate=False, immediate=True)
    rows.refresh()
    await pilot.pause(0.2)


async def test_a_page_that_failed_is_read_again_when_shown_again() -> None:
    """Not on every frame while the database is down: after RETRY_AFTER seconds."""
    app = ListApp()
    source = Numbers(3 * PAGE)
    async with app.run_test(size=(40, 10)) as pilot:
        rows = app.query_one(NumberList)
        rows.set_source(source)
        await pilot.pause(0.2)
        assert rows.loaded and rows.row_at(0) is not None
        rows.cursor = PAGE + 5
        await _show(pilot, rows, PAGE + 5)  # page 1: its read fails (the app says so)
        assert source.failed and rows.row_at(PAGE + 5) is None
        assert [type(e) for e in app.failures] == [ConnectionError]
        await _show(pilot, rows, 0)
        await _show(pilot, rows, PAGE + 5)  # within RETRY_AFTER: not asked again yet
        assert rows.row_at(PAGE + 5) is None
        await pilot.pause(RETRY_AFTER)
        await _show(pilot, rows, PAGE + 5)
        assert rows.row_at(PAGE + 5) == {"id": PAGE + 5, "sort": PAGE + 5, "text": "row 105"}
        assert len(app.failures) == 1
