"""Users and teams (SPEC §1 "User" and "Team", §7): add, edit, remove; role, email, away flag;
teams and their members.

Only admins change people, except that anyone may mark themself away. A desk always keeps an
admin: the last one can be neither demoted nor removed. A removed user's tickets (and the
conversations assigned to it) go to another user or to nobody, each with a line on its timeline.

SSH keys (the SSH door, SPEC §11) will belong here too: a user's keys, added and removed by
admins, removed with the user.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from automation.admin.common import SettingsError, require_admin
from automation.events import Timeline
from automation.ports import (
    AdminRepository,
    ConversationLike,
    TeamLike,
    TicketLike,
    UserLike,
)
from automation.services import actor_of
from automation.tickets import set_owner

ROLES = ("admin", "rep")
# A login name: what `--as` and DESKLINE_USER take (SPEC S7).
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class PeopleRepository(AdminRepository, Protocol):
    """What these functions need of a repository besides AdminRepository's people."""

    def teams(self) -> Sequence[TeamLike]: ...
    def add_team(self, name: str, members: Sequence[UserLike]) -> TeamLike: ...
    def delete_user(self, user: UserLike) -> None: ...
    def delete_team(self, team: TeamLike) -> None: ...
    def tickets_owned_by(self, user_id: int) -> Sequence[TicketLike]: ...
    def conversations_assigned_to(self, user_id: int) -> Sequence[ConversationLike]: ...


# --- checks -------------------------------------------------------------------------------------


def clean_email(text: str | None) -> str | None:
    """An address in lower case, None for none; SettingsError for one that is not an address."""
    email = (text or "").strip().lower()
    if not email:
        return None
    if len(email) > 320 or not _EMAIL.match(email):
        raise SettingsError(f"{email!r} is not an email address (name@example.org)")
    return email


def user_named(repo: PeopleRepository, name: str) -> UserLike:
    found = repo.user_by_name((name or "").strip())
    if found is None:
        raise SettingsError(f"no user {name!r}")
    return found


def team_named(repo: PeopleRepository, name: str) -> TeamLike:
    found = repo.team_by_name(" ".join((name or "").split()))
    if found is None:
        raise SettingsError(f"no team {name!r}")
    return found


def _check_user_name(repo: PeopleRepository, name: str) -> str:
    name = (name or "").strip()
    if not _USER_NAME.match(name):
        raise SettingsError(
            "a user name is one word of letters, digits, '.', '_' or '-' (up to 100), e.g. rita"
        )
    if any(u.name.casefold() == name.casefold() for u in repo.users()):
        raise SettingsError(f"a user named {name!r} exists already")
    return name


def _check_email_free(repo: PeopleRepository, email: str | None, user_id: int | None) -> None:
    if email is None:
        return
    other = next((u for u in repo.users() if u.email == email and u.id != user_id), None)
    if other is not None:
        raise SettingsError(f"{email} is the address of {other.name} already")


def _admins(repo: PeopleRepository) -> list[UserLike]:
    return [u for u in repo.users() if u.is_admin]


def _keep_an_admin(repo: PeopleRepository, target: UserLike, what: str) -> None:
    if target.is_admin and len(_admins(repo)) == 1:
        raise SettingsError(f"{target.name} is the only admin and cannot be {what}")


# --- users --------------------------------------------------------------------------------------


def add_user(
    repo: PeopleRepository,
    user: UserLike,
    name: str,
    *,
    email: str | None,
    display_name: str = "",
    role: str = "rep",
    login: str | None = None,
) -> UserLike:
    """`login`: the OS login that acts as the user locally (SPEC S7; default its name)."""
    require_admin(user)
    name = _check_user_name(repo, name)
    email = clean_email(email)
    _check_email_free(repo, email, None)
    if role not in ROLES:
        raise SettingsError("a user is an admin or a rep")
    login = check_login(repo, login or name, None)
    display_name = " ".join((display_name or "").split())[:200]
    return repo.add_user(
        name, display_name=display_name, email=email, is_admin=role == "admin", login=login
    )


def check_login(repo: PeopleRepository, login: str, user_id: int | None) -> str:
    """A login is one word and belongs to one user (SPEC S7)."""
    login = (login or "").strip()
    if not _USER_NAME.match(login):
        raise SettingsError(
            "a login is one word of letters, digits, '.', '_' or '-' (up to 100), e.g. rita"
        )
    other = next((u for u in repo.users() if u.login == login and u.id != user_id), None)
    if other is not None:
        raise SettingsError(f"the login {login!r} acts as {other.name} already")
    return login


def set_login(repo: PeopleRepository, user: UserLike, name: str, login: str) -> UserLike:
    """Which OS login acts as the user `name` on this host's CLI and app (SPEC S7)."""
    require_admin(user)
    target = user_named(repo, name)
    target.login = check_login(repo, login, target.id)
    return target


def edit_user(
    repo: PeopleRepository,
    user: UserLike,
    name: str,
    *,
    email: str | None,
    display_name: str,
) -> UserLike:
    """A user's email address (none allowed) and the name shown for it."""
    require_admin(user)
    target = user_named(repo, name)
    clean = clean_email(email)
    _check_email_free(repo, clean, target.id)
    target.email = clean
    target.display_name = " ".join((display_name or "").split())[:200]
    return target


def set_role(repo: PeopleRepository, user: UserLike, name: str, role: str) -> UserLike:
    """admin or rep; the only admin stays one (a desk always has someone who can change it)."""
    require_admin(user)
    if role not in ROLES:
        raise SettingsError("a user is an admin or a rep")
    target = user_named(repo, name)
    if role == "rep":
        _keep_an_admin(repo, target, "made a rep")
    target.is_admin = role == "admin"
    return target


def set_away(repo: PeopleRepository, user: UserLike, name: str, away: bool) -> UserLike:
    """Away users are skipped when tickets rotate between a team's members. Admins mark
    anyone; a rep marks only themself."""
    target = user_named(repo, name)
    if target.id != user.id:
        require_admin(user)
    target.away = away
    return target


def tickets_of(repo: PeopleRepository, name: str) -> int:
    """How many tickets a user owns (removing it asks where they go)."""
    return len(repo.tickets_owned_by(user_named(repo, name).id))


def remove_user(
    repo: PeopleRepository, user: UserLike, name: str, *, tickets_to: str | None
) -> int:
    """Remove a user. Its tickets and assigned conversations go to `tickets_to` (a user's
    name) or, with None, to nobody, each with a line on its timeline. Not yourself, not the
    only admin. Returns how many tickets changed owner."""
    require_admin(user)
    target = user_named(repo, name)
    if target.id == user.id:
        raise SettingsError("you cannot remove yourself: another admin can")
    _keep_an_admin(repo, target, "removed")
    heir = user_named(repo, tickets_to) if tickets_to else None
    if heir is not None and heir.id == target.id:
        raise SettingsError(f"give the tickets of {target.name} to another user")
    reason = f"{target.name} was removed"
    tickets = list(repo.tickets_owned_by(target.id))
    for ticket in tickets:
        old, new = set_owner(repo, ticket, heir)
        repo.add_timeline(
            Timeline.PROPERTY_CHANGED,
            actor_of(user),
            ticket_id=ticket.id,
            summary=f"Owner: {old} → {new or '(none)'} ({reason})",
            data={"property": "owner", "from": old, "to": new, "reason": reason},
        )
    for conversation in repo.conversations_assigned_to(target.id):
        conversation.assignee_id = heir.id if heir else None
        repo.add_timeline(
            Timeline.PROPERTY_CHANGED,
            actor_of(user),
            conversation_id=conversation.id,
            summary=f"Assignee: {target.name} → {heir.name if heir else '(none)'} ({reason})",
            data={
                "property": "assignee",
                "from": target.name,
                "to": heir.name if heir else None,
                "reason": reason,
            },
        )
    repo.delete_user(target)
    return len(tickets)


# --- teams --------------------------------------------------------------------------------------


def _team_name(repo: PeopleRepository, text: str, keep_id: int | None = None) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise SettingsError("a team needs a name")
    if len(name) > 200:
        raise SettingsError("a team name has at most 200 characters")
    taken = next(
        (t for t in repo.teams() if t.name.casefold() == name.casefold() and t.id != keep_id),
        None,
    )
    if taken is not None:
        raise SettingsError(f"a team named {taken.name!r} exists already")
    return name


def add_team(
    repo: PeopleRepository, user: UserLike, name: str, members: Sequence[str] = ()
) -> TeamLike:
    require_admin(user)
    name = _team_name(repo, name)
    people = [user_named(repo, member) for member in dict.fromkeys(members)]
    return repo.add_team(name, people)


def rename_team(repo: PeopleRepository, user: UserLike, name: str, new_name: str) -> TeamLike:
    require_admin(user)
    team = team_named(repo, name)
    team.name = _team_name(repo, new_name, keep_id=team.id)
    return team


def remove_team(repo: PeopleRepository, user: UserLike, name: str) -> None:
    """Its members stay users; actions that notify it or rotate tickets between its members
    then fail and say the team no longer exists."""
    require_admin(user)
    repo.delete_team(team_named(repo, name))


def add_member(repo: PeopleRepository, user: UserLike, team_name: str, name: str) -> TeamLike:
    require_admin(user)
    team, member = team_named(repo, team_name), user_named(repo, name)
    if any(m.id == member.id for m in team.members):
        raise SettingsError(f"{member.name} is in {team.name} already")
    team.members.append(member)
    return team


def remove_member(repo: PeopleRepository, user: UserLike, team_name: str, name: str) -> TeamLike:
    require_admin(user)
    team, member = team_named(repo, team_name), user_named(repo, name)
    kept = [m for m in team.members if m.id != member.id]
    if len(kept) == len(team.members):
        raise SettingsError(f"{member.name} is not in {team.name}")
    team.members.remove(next(m for m in team.members if m.id == member.id))
    return team
