"""Row sources for the app's big lists: storage.views read on the backend thread.

A reload's count, index and pages are read in one `Backend.query` (one read transaction, one
snapshot: `views.one_snapshot`), so mail stored meanwhile cannot shift the rows under the cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.backend import Backend
from automation.search.query import parse
from storage import views
from storage.search import ticket_ids
from widgets.row_list import PagesFor, Row, Snapshot, read_snapshot


class ViewSource:
    """A list read from storage.views; subclasses name its three reads."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.total: int | None = None  # the last count read: a far page reads from the end

    def count(self, s: Session) -> int:
        raise NotImplementedError

    def index_of(self, s: Session, key: Any) -> int | None:
        raise NotImplementedError

    def window(self, s: Session, window: views.Window) -> list[Row]:
        raise NotImplementedError

    async def snapshot(self, key: Any | None, pages_for: PagesFor) -> Snapshot:
        def read(s: Session) -> Snapshot:
            views.one_snapshot(s)

            def count() -> int:
                self.total = self.count(s)
                return self.total

            return read_snapshot(
                count,
                lambda k: self.index_of(s, k),
                lambda offset, limit, after: self.window(
                    s, views.Window(offset, limit, after, self.total)
                ),
                key,
                pages_for,
            )

        return await self.backend.query(read)

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        window = views.Window(offset=offset, limit=limit, after=after, total=self.total)
        return await self.backend.query(lambda s: self.window(s, window))


class InboxSource(ViewSource):
    def __init__(self, backend: Backend, selection: views.InboxFilter) -> None:
        super().__init__(backend)
        self.selection = selection

    def count(self, s: Session) -> int:
        return views.inbox_count(s, self.selection)

    def index_of(self, s: Session, key: Any) -> int | None:
        return views.inbox_index_of(s, self.selection, key)

    def window(self, s: Session, window: views.Window) -> list[Row]:
        return views.inbox_rows(s, self.selection, window)


class ColumnSource(ViewSource):
    """The tickets of one status, newest activity first."""

    def __init__(
        self, backend: Backend, status_id: int, search: str = "", viewer_id: int | None = None
    ) -> None:
        super().__init__(backend)
        self.status_id = status_id
        self.search = search  # the board's / (D19: its hits are tickets), checked first
        self.viewer_id = viewer_id

    def _only(self, s: Session) -> Any:
        if not self.search.strip():
            return None
        query = parse(self.search)
        return ticket_ids(s, query, viewer_id=self.viewer_id, now=datetime.now(UTC))

    def count(self, s: Session) -> int:
        return views.column_count(s, self.status_id, self._only(s))

    def index_of(self, s: Session, key: Any) -> int | None:
        return views.column_index_of(s, self.status_id, key, self._only(s))

    def window(self, s: Session, window: views.Window) -> list[Row]:
        return views.column_rows(s, self.status_id, window, self._only(s))
