"""Who acts: the Deskline user a command or a session runs as (SPEC S7).

- In an SSH session's process the key said who (`bind_session_user`); nothing else is taken.
- Elsewhere the OS login maps to one user (`users.login`, by default the user's name).
- `--as USER` (and `DESKLINE_USER`, the same thing) is accepted from an admin's login, or from the
  OS account that owns the SQLite file (it can read and write everything anyway: bootstrap).
- An unknown login is refused with the one line that fixes it; never a silent admin.
- `sync` and `serve` act as the system: they never ask who acts.
- PostgreSQL has no file owner: `deskline init` on an empty desk makes its admin the login of
  whoever ran it (`bootstrap_login`).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

from automation.services import DomainError
from storage.repository import SqlRepository

# Set once in an SSH session's (or remote command's) process: the user its key belongs to.
_SESSION_USER: str | None = None


def login_name() -> str:
    """The OS account of this process, from its user id (never $LOGNAME or $USER, which anyone
    may set to an admin's login)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, OSError):
        return ""


def bind_session_user(name: str) -> None:
    """From now on this process acts as `name` only (an SSH session: S1, S4)."""
    global _SESSION_USER
    _SESSION_USER = name


def unknown_login(login: str) -> str:
    """The one line an unknown login reads (S7): how to get a user."""
    who = login or "(unknown)"
    return (
        f"your login {who!r} is no Deskline user: an admin runs "
        f"`deskline user add NAME --login {who}` (or `deskline user edit NAME --login {who}`)"
    )


def current_user(repo: SqlRepository, as_user: str | None) -> Any:
    """The user this process acts as, by the rules above; DomainError (one line) if none."""
    if _SESSION_USER is not None:
        if as_user and as_user != _SESSION_USER:
            raise DomainError("--as is not accepted over SSH: the key says who you are")
        return _named(repo, _SESSION_USER)
    login = login_name()
    me = repo.user_by_login(login) if login else None
    if not as_user:
        if me is None:
            raise DomainError(unknown_login(login))
        return me
    target = _named(repo, as_user)
    if me is not None and (me.id == target.id or me.is_admin):
        return target
    if owns_database_file(repo):
        return target
    who = f"{me.name}, a rep" if me is not None else "no Deskline user"
    raise DomainError(f"--as (or DESKLINE_USER) is for admins: your login {login!r} is {who}")


def _named(repo: SqlRepository, name: str) -> Any:
    user = repo.user_by_name(name)
    if user is None:
        raise DomainError(f"no user {name!r} (see `deskline user list`)")
    return user


def database_file(repo: SqlRepository) -> Path | None:
    """The SQLite file of the repository's connection (None for PostgreSQL or in memory)."""
    url = repo.session.get_bind().engine.url
    if not url.get_backend_name().startswith("sqlite") or not url.database:
        return None
    if url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database)


def owns_database_file(repo: SqlRepository) -> bool:
    """This process's OS account owns the desk's SQLite file (the bootstrap account, S7)."""
    path = database_file(repo)
    try:
        return path is not None and path.stat().st_uid == os.geteuid()
    except OSError:
        return False


def bootstrap_login(repo: SqlRepository, admin_name: str) -> str | None:
    """After `init` made the first admin (S7): it is the login of whoever ran `init`, unless
    another user has that login. Returns the login given, or None."""
    login = login_name()
    admin = repo.user_by_name(admin_name)
    if not login or admin is None or len(repo.users()) != 1:
        return None
    if repo.user_by_login(login) is None:
        admin.login = login
        repo.session.flush()
    return str(admin.login)
