"""Saved views (issue 13, SPEC D20): a search saved under a name, with the list it is for (the
inbox's conversations or the board's tickets).

A view is a user's own, or shared (admins save those). Its query is kept as typed, so `me`
(owner:me) is whoever looks at it. A user's own view shadows a shared one of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from automation.admin.common import require_admin
from automation.ports import Repository, UserLike
from automation.search.query import QueryError, parse
from automation.services import DomainError

LISTS = ("inbox", "board")
MAX_NAME = 60


class ViewError(DomainError):
    """A view that cannot be saved, found or deleted; the message says why in one line."""


class Viewer(Protocol):
    @property
    def id(self) -> int: ...


class SavedViewLike(Protocol):
    id: int
    name: str
    owner_id: int | None
    query: str
    list_name: str


class ViewsRepository(Repository, Protocol):
    def saved_views(self, user_id: int) -> list[Any]: ...
    def saved_view(self, name: str, owner_id: int | None) -> Any: ...
    def add_saved_view(
        self, name: str, owner_id: int | None, query: str, list_name: str
    ) -> Any: ...
    def remove_saved_view(self, view: Any) -> None: ...


@dataclass(frozen=True)
class View:
    name: str
    query: str
    list_name: str
    shared: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "list": self.list_name,
            "shared": self.shared,
        }


def _view(row: SavedViewLike) -> View:
    return View(row.name, row.query, row.list_name, row.owner_id is None)


def check_name(typed: str) -> str:
    name = " ".join(typed.split())
    if not name:
        raise ViewError("a view needs a name")
    if len(name) > MAX_NAME or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ViewError(f"a view's name is one line of at most {MAX_NAME} characters")
    return name


def check_query(text: str) -> str:
    """A query the search language reads (names are checked when it runs: D20's `me`)."""
    try:
        query = parse(text)
    except QueryError as exc:
        raise ViewError(f"the view's search: {exc}") from None
    if query.empty:
        raise ViewError("a view needs a search: words or filters")
    return text.strip()


def save_view(
    repo: ViewsRepository,
    user: UserLike,
    name: str,
    query: str,
    *,
    list_name: str = "inbox",
    shared: bool = False,
) -> tuple[View, bool]:
    """Save (or replace) a view; returns it and whether it replaced one of the same name."""
    if shared:
        require_admin(user)
    if list_name not in LISTS:
        raise ViewError(f"a view is for the {' or the '.join(LISTS)}")
    name, text = check_name(name), check_query(query)
    owner = None if shared else user.id
    old = repo.saved_view(name, owner)
    if old is not None:
        old.query, old.list_name = text, list_name
        return _view(old), True
    return _view(repo.add_saved_view(name, owner, text, list_name)), False


def delete_view(repo: ViewsRepository, user: UserLike, name: str, *, shared: bool = False) -> View:
    if shared:
        require_admin(user)
    found = repo.saved_view(name, None if shared else user.id)
    if found is None:
        whose = "shared" if shared else "of yours"
        raise ViewError(f"no view {name.strip()!r} {whose}{_known(repo, user)}")
    view = _view(found)
    repo.remove_saved_view(found)
    return view


def views_of(repo: ViewsRepository, user: Viewer) -> list[View]:
    """The views a user sees: their own, then the shared ones they have none of the name of."""
    seen: set[str] = set()
    found: list[View] = []
    for row in repo.saved_views(user.id):  # own before shared on a tie
        key = row.name.casefold()
        if key not in seen:
            seen.add(key)
            found.append(_view(row))
    return found


def find_view(repo: ViewsRepository, user: Viewer, name: str) -> View:
    """D20: the user's own view of this name, else the shared one."""
    wanted = " ".join(name.split()).casefold()
    for view in views_of(repo, user):
        if view.name.casefold() == wanted:
            return view
    raise ViewError(f"no view {name.strip()!r}{_known(repo, user)}")


def _known(repo: ViewsRepository, user: Viewer) -> str:
    names = [v.name for v in views_of(repo, user)]
    return f" (views: {', '.join(names)})" if names else " (no views saved yet)"
