"""The People section of settings: users (role, email, away) and teams with their members
(SPEC §1 User and Team, §7). Admins change them; a rep reads them (the change keys are gone and
automation.admin refuses a rep anyway).

Removing a user who owns tickets asks who takes them (or nobody); each ticket gets a line on its
timeline. A user's SSH keys (the SSH door, SPEC §11) are listed in its pane; `m` on a user adds
one (a pasted public key line) or removes one, for admins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from textual.content import Content

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.settings.host import SettingsHost
from app.screens.settings.rows import HeaderRow, Hint, Row, count, hint
from automation import admin
from automation.admin import SettingsError, ssh_keys
from storage import models as m
from widgets.text import line

SWITCH = "settings.switch"
ROLE_CHOICES = [
    ("Rep: works tickets and conversations", "rep"),
    ("Admin: also changes settings and people", "admin"),
]


def people_view(session: Session) -> dict[str, Any]:
    """Users with their tickets and teams, and teams with their members (by name)."""
    owned = dict(
        session.execute(
            select(m.Ticket.owner_id, func.count())
            .where(m.Ticket.owner_id.is_not(None))
            .group_by(m.Ticket.owner_id)
        ).all()
    )
    teams = list(session.scalars(select(m.Team).order_by(m.Team.name)))
    keys = list(session.scalars(select(m.SshKey).order_by(m.SshKey.id)))
    users = [
        {
            "id": u.id,
            "name": u.name,
            "display_name": u.display_name,
            "email": u.email,
            "admin": u.is_admin,
            "away": u.away,
            "tickets": int(owned.get(u.id, 0)),
            "teams": [t.name for t in teams if any(x.id == u.id for x in t.members)],
            "keys": [
                {"fingerprint": k.fingerprint, "comment": k.comment, "type": k.key_type}
                for k in keys
                if k.user_id == u.id
            ],
        }
        for u in session.scalars(select(m.User).order_by(m.User.name))
    ]
    return {
        "users": users,
        "teams": [
            {"id": t.id, "name": t.name, "members": [x.name for x in t.members]} for t in teams
        ],
    }


def people_rows(people: dict[str, Any]) -> list[Row]:
    users, teams = people["users"], people["teams"]
    rows: list[Row] = [HeaderRow.title("people", "People · users")]
    rows.extend(UserRow.of(user, people) for user in users)
    rows.append(NewRow.of("user", "Add a user", people))
    rows.append(HeaderRow.title("teams", "People · teams"))
    if not teams:
        rows.append(HeaderRow.note("teams", "No teams yet."))
    rows.extend(TeamRow.of(team, people) for team in teams)
    rows.append(NewRow.of("team", "Add a team", people))
    return rows


# --- the questions (shared by the new-row and the rows themselves) -------------------------------


def _fault(check: Any) -> Any:
    """A PromptScreen check from a domain check that raises SettingsError."""

    def fault(text: str) -> str | None:
        try:
            check(text)
        except SettingsError as exc:
            return str(exc)
        return None

    return fault


def _user_name_fault(taken: list[str]) -> Any:
    def fault(text: str) -> str | None:
        name = text.strip()
        if not name or " " in name:
            return "one word, e.g. rita"
        if name.casefold() in (t.casefold() for t in taken):
            return f"a user named {name!r} exists already"
        return None

    return fault


async def new_user(screen: SettingsHost, people: dict[str, Any]) -> None:
    """Login name, email address, role; then the new user's row is highlighted."""
    app = screen.app
    users = people["users"]
    name = await app.push_screen_wait(
        PromptScreen(
            "New user: login name (one word)",
            check=_user_name_fault([u["name"] for u in users]),
        )
    )
    if not name:
        return
    email = await app.push_screen_wait(
        PromptScreen(f"Email address of {name} (may stay empty)", check=_fault(admin.clean_email))
    )
    if email is None:
        return
    role = await app.push_screen_wait(PickerScreen(f"Role of {name}", ROLE_CHOICES, "rep"))
    if role is None:
        return
    name = name.strip()
    screen.change(
        lambda repo, me: admin.add_user(repo, me, name, email=email, role=role).id,
        f"User {line(name)} added ({role})",
        after=lambda user_id: screen.select(f"user:{user_id}"),
    )


async def new_team(screen: SettingsHost, people: dict[str, Any]) -> None:
    taken = [t["name"].casefold() for t in people["teams"]]
    name = await screen.app.push_screen_wait(
        PromptScreen(
            "New team name",
            check=lambda text: (
                "a team needs a name"
                if not text.strip()
                else f"a team named {text.strip()!r} exists already"
                if " ".join(text.split()).casefold() in taken
                else None
            ),
        )
    )
    if not name:
        return
    screen.change(
        lambda repo, me: admin.add_team(repo, me, name).id,
        f"Team {line(name)} added: {screen.key_name('settings.members')} adds its members",
        after=lambda team_id: screen.select(f"team:{team_id}"),
    )


# --- rows ---------------------------------------------------------------------------------------


class UserRow(Row):
    kind = "user"
    KEYS = (
        hint("edit email and name", "settings.edit"),
        hint("role admin/rep", "settings.role"),
        hint("away on/off", SWITCH),
        hint("SSH keys: add or remove", "settings.members"),
        hint("new user", "settings.new"),
        hint("remove (asks who takes their tickets)", "settings.delete"),
    )

    @classmethod
    def of(cls, user: dict[str, Any], people: dict[str, Any]) -> UserRow:
        prompt = Content.from_markup(
            "$name [$text-muted]$role · $email$away[/]",
            name=line(user["name"]),
            role="admin" if user["admin"] else "rep",
            email=line(user["email"] or "no email"),
            away=" · away" if user["away"] else "",
        )
        return cls(f"user:{user['id']}", prompt, {**user, "people": people})

    def explain(self) -> list[Content]:
        d = self.data
        role = (
            "Admin: works tickets and changes settings and people."
            if d["admin"]
            else ("Rep: works tickets and conversations.")
        )
        teams = ", ".join(line(t) for t in d["teams"]) or "none"
        return [
            Content.from_markup(
                "[b]$name[/b] $shown", name=line(d["name"]), shown=line(d["display_name"] or "")
            ),
            Content(role),
            Content(f"Email: {line(d['email'] or '(none: gets no notification email)')}"),
            Content(
                "Away: yes — tickets rotating between a team's members skip this user."
                if d["away"]
                else "Away: no."
            ),
            Content(f"Owns {count(d['tickets'], 'ticket')}. Teams: {teams}."),
            Content(f"SSH keys ({len(d['keys'])}): " + (_keys_line(d["keys"]) or "none.")),
        ]

    def members(self, screen: SettingsHost) -> None:
        """SSH keys (admins): add a pasted public key, or remove one."""
        if screen.me.is_admin:
            screen.ask(self._keys(screen))

    async def _keys(self, screen: SettingsHost) -> None:
        name = self.data["name"]
        choices = [("Add a key (paste its public key line)", "")]
        choices += [(f"Remove {_key_label(k)}", k["fingerprint"]) for k in self.data["keys"]]
        picked = await screen.app.push_screen_wait(PickerScreen(f"SSH keys of {name}", choices))
        if picked is None:
            return
        if picked:
            if await screen.app.push_screen_wait(ConfirmScreen(f"Remove the key {picked}?")):
                screen.change(
                    lambda repo, me: ssh_keys.remove_ssh_key(repo, me, name, picked),
                    f"Key removed from {line(name)}",
                )
            return
        text = await screen.app.push_screen_wait(
            PromptScreen(f"Public key of {name} (ssh-ed25519 AAAA... comment)", value="")
        )
        if text:
            screen.change(
                lambda repo, me: ssh_keys.add_ssh_keys(repo, me, name, text),
                f"Key added to {line(name)}",
            )

    def open(self, screen: SettingsHost) -> None:
        if screen.me.is_admin:
            self.edit(screen)

    def edit(self, screen: SettingsHost) -> None:
        screen.ask(self._edit(screen))

    async def _edit(self, screen: SettingsHost) -> None:
        name = self.data["name"]
        email = await screen.app.push_screen_wait(
            PromptScreen(
                f"Email address of {name} (may stay empty)",
                value=self.data["email"] or "",
                check=_fault(admin.clean_email),
            )
        )
        if email is None:
            return
        shown = await screen.app.push_screen_wait(
            PromptScreen(f"Name shown for {name}", value=self.data["display_name"])
        )
        if shown is None:
            return
        screen.change(
            lambda repo, me: admin.edit_user(repo, me, name, email=email, display_name=shown),
            f"{line(name)} saved",
        )

    def role(self, screen: SettingsHost) -> None:
        name, current = self.data["name"], "admin" if self.data["admin"] else "rep"

        def chosen(role: str | None) -> None:
            if role is not None and role != current:
                screen.change(
                    lambda repo, me: admin.set_role(repo, me, name, role),
                    f"{line(name)} is now {'an admin' if role == 'admin' else 'a rep'}",
                )

        screen.app.push_screen(PickerScreen(f"Role of {name}", ROLE_CHOICES, current), chosen)

    def switch(self, screen: SettingsHost) -> None:
        name, away = self.data["name"], not self.data["away"]
        screen.change(
            lambda repo, me: admin.set_away(repo, me, name, away),
            f"{line(name)} is {'away' if away else 'back'}",
        )

    def new(self, screen: SettingsHost) -> None:
        screen.ask(new_user(screen, self.data["people"]))

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._remove(screen))

    async def _remove(self, screen: SettingsHost) -> None:
        name, owned = self.data["name"], self.data["tickets"]
        heir: str | None = None
        if owned:
            others = [u["name"] for u in self.data["people"]["users"] if u["name"] != name]
            choices = [("Nobody: leave them unassigned", "")]
            choices += [(f"{u}", u) for u in others]
            picked = await screen.app.push_screen_wait(
                PickerScreen(f"{name} owns {count(owned, 'ticket')}: give them to", choices)
            )
            if picked is None:
                return
            heir = picked or None
        where = ""
        if owned:
            one = owned == 1
            verb = (
                f"go{'es' if one else ''} to {heir}"
                if heir
                else (f"{'is' if one else 'are'} left unassigned")
            )
            where = f" {count(owned, 'ticket')} of theirs {verb}, each with a line on its timeline."
        question = f"Remove the user {name}?{where}"
        if not await screen.app.push_screen_wait(ConfirmScreen(question)):
            return
        screen.change(
            lambda repo, me: admin.remove_user(repo, me, name, tickets_to=heir),
            lambda moved: (
                f"{line(name)} removed"
                + (f"; {count(moved, 'ticket')} to {heir or 'nobody'}" if moved else "")
            ),
        )


def _key_label(key: dict[str, Any]) -> str:
    return f"{key['fingerprint']}" + (f" ({key['comment']})" if key["comment"] else "")


def _keys_line(keys: list[dict[str, Any]]) -> str:
    return ", ".join(line(_key_label(k)) for k in keys)


class TeamRow(Row):
    kind = "team"
    KEYS = (
        hint("add/remove members", "settings.members"),
        hint("rename", "settings.rename"),
        hint("new team", "settings.new"),
        hint("remove", "settings.delete"),
    )

    @classmethod
    def of(cls, team: dict[str, Any], people: dict[str, Any]) -> TeamRow:
        members = ", ".join(team["members"]) or "no members"
        prompt = Content.from_markup(
            "$name [$text-muted]$members[/]", name=line(team["name"]), members=line(members)
        )
        return cls(f"team:{team['id']}", prompt, {**team, "people": people})

    def explain(self) -> list[Content]:
        d = self.data
        members = ", ".join(line(x) for x in d["members"]) or "none yet"
        return [
            Content.from_markup("[b]Team $name[/b]", name=line(d["name"])),
            Content(f"Members ({len(d['members'])}): {members}."),
            Content(
                "Workflow actions notify a team (each member) or give tickets in turn to its "
                "members who are not away."
            ),
        ]

    def open(self, screen: SettingsHost) -> None:
        if screen.me.is_admin:
            self.members(screen)

    def members(self, screen: SettingsHost) -> None:
        """Pick a user: a member leaves the team, anyone else joins it."""
        team, members = self.data["name"], self.data["members"]
        choices = [
            (
                f"[x] {u['name']}  (remove)" if u["name"] in members else f"[ ] {u['name']}  (add)",
                u["name"],
            )
            for u in self.data["people"]["users"]
        ]

        def chosen(name: str | None) -> None:
            if name is None:
                return
            if name in members:
                screen.change(
                    lambda repo, me: admin.remove_member(repo, me, team, name),
                    f"{line(name)} left {line(team)}",
                )
            else:
                screen.change(
                    lambda repo, me: admin.add_member(repo, me, team, name),
                    f"{line(name)} joined {line(team)}",
                )

        screen.app.push_screen(
            PickerScreen(f"Members of {team}: pick one to add or remove", choices), chosen
        )

    def rename(self, screen: SettingsHost) -> None:
        team = self.data["name"]

        def renamed(text: str | None) -> None:
            if text and text.strip() and text.strip() != team:
                screen.change(
                    lambda repo, me: admin.rename_team(repo, me, team, text),
                    f"Team renamed to {line(' '.join(text.split()))}",
                )

        screen.app.push_screen(PromptScreen(f"Rename the team {team}", value=team), renamed)

    def new(self, screen: SettingsHost) -> None:
        screen.ask(new_team(screen, self.data["people"]))

    def delete(self, screen: SettingsHost) -> None:
        team, size = self.data["name"], len(self.data["members"])
        question = (
            f"Remove the team {team}? Its {count(size, 'member')} stay users; workflow actions "
            "that notify it or rotate tickets between its members then fail and say so."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                screen.change(
                    lambda repo, me: admin.remove_team(repo, me, team), f"Team {line(team)} removed"
                )

        screen.app.push_screen(ConfirmScreen(question), confirmed)


class NewRow(Row):
    """ "Add a user" / "Add a team" at the end of its list: enter or `n` adds one."""

    kind = "people_new"
    KEYS = (hint("add", "settings.new"), Hint((), "add", fixed="enter"))

    @classmethod
    def of(cls, what: str, text: str, people: dict[str, Any]) -> NewRow:
        prompt = Content.from_markup("[$text-accent]+ $text[/]", text=text)
        return cls(f"new:{what}", prompt, {"what": what, "people": people})

    def explain(self) -> list[Content]:
        if self.data["what"] == "user":
            return [Content("Add a user: login name, email address and role (rep or admin).")]
        return [Content("Add a team, then pick its members.")]

    def open(self, screen: SettingsHost) -> None:
        if screen.me.is_admin:
            self.new(screen)

    def new(self, screen: SettingsHost) -> None:
        if self.data["what"] == "user":
            screen.ask(new_user(screen, self.data["people"]))
        else:
            screen.ask(new_team(screen, self.data["people"]))
