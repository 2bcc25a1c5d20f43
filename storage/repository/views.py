"""Saved views: a search saved under a name, a user's own or shared (`automation.saved_views`
keeps their rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from storage import models as m
from storage.repository.base import RepositoryBase


class SavedViewsMixin(RepositoryBase):
    def saved_views(self, user_id: int) -> list[m.SavedView]:
        """The user's own views and the shared ones, by name (own first on a tie)."""
        query = select(m.SavedView).where(
            or_(m.SavedView.owner_id == user_id, m.SavedView.owner_id.is_(None))
        )
        found = list(self.session.scalars(query))
        return sorted(found, key=lambda v: (v.name.casefold(), v.owner_id is None))

    def saved_view(self, name: str, owner_id: int | None) -> m.SavedView | None:
        """The view of this name owned by `owner_id` (None: the shared one)."""
        owner = (
            m.SavedView.owner_id.is_(None) if owner_id is None else m.SavedView.owner_id == owner_id
        )
        for view in self.session.scalars(select(m.SavedView).where(owner)):
            if view.name.casefold() == name.casefold():
                return view
        return None

    def add_saved_view(
        self, name: str, owner_id: int | None, query: str, list_name: str
    ) -> m.SavedView:
        view = m.SavedView(
            name=name, owner_id=owner_id, query=query, list_name=list_name, created_at=self.now()
        )
        self.session.add(view)
        self.session.flush()
        return view

    def remove_saved_view(self, view: Any) -> None:
        self.session.delete(view)
        self.session.flush()
