"""Row sources for the app's big lists: storage.views read on the backend thread."""

from __future__ import annotations

from typing import Any

from app.backend import Backend
from storage import views
from widgets.row_list import Row


class InboxSource:
    def __init__(self, backend: Backend, selection: views.InboxFilter) -> None:
        self.backend = backend
        self.selection = selection

    async def count(self) -> int:
        return await self.backend.query(lambda s: views.inbox_count(s, self.selection))

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        window = views.Window(offset=offset, limit=limit, after=after)
        return await self.backend.query(lambda s: views.inbox_rows(s, self.selection, window))

    async def index_of(self, key: int) -> int | None:
        return await self.backend.query(lambda s: views.inbox_index_of(s, self.selection, key))


class ColumnSource:
    """The tickets of one status, newest activity first."""

    def __init__(self, backend: Backend, status_id: int) -> None:
        self.backend = backend
        self.status_id = status_id

    async def count(self) -> int:
        return await self.backend.query(lambda s: views.column_count(s, self.status_id))

    async def rows(self, offset: int, limit: int, after: Any | None) -> list[Row]:
        window = views.Window(offset=offset, limit=limit, after=after)
        return await self.backend.query(lambda s: views.column_rows(s, self.status_id, window))

    async def index_of(self, key: int) -> int | None:
        return await self.backend.query(lambda s: views.column_index_of(s, self.status_id, key))
