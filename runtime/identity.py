"""Who acts: the Deskline user a command or a session runs as."""

from __future__ import annotations

import getpass
from typing import Any

from automation.services import DomainError
from storage.repository import SqlRepository


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def current_user(repo: SqlRepository, as_user: str | None) -> Any:
    """`--as`, else the login name if it is a user, else the first admin."""
    if as_user:
        user = repo.user_by_name(as_user)
        if user is None:
            raise DomainError(f"no user {as_user!r} (see `deskline user list`)")
        return user
    login = login_name()
    user = repo.user_by_name(login) if login else None
    if user is not None:
        return user
    admins = [u for u in repo.users() if u.is_admin]
    if not admins:
        raise DomainError("no admin user: run `deskline init`")
    return admins[0]
