"""Users and teams an admin manages (issue 18 item 6; SPEC §1 User and Team, §7): the domain
functions on SQLite and PostgreSQL, then the People section of the settings screen with Pilot.

Reps are refused and change nothing; the only admin can be neither demoted nor removed; a removed
user's tickets go to the user the admin names, or to nobody, with a line on each timeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label, Static

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.help import HelpScreen
from app.screens.settings import SettingsScreen
from automation import admin, services
from automation.admin import SettingsError
from tests.app_helpers import make_app, ready, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk, make_mail
from widgets.option_list import OptionList


async def _users(desk: Desk) -> dict[str, dict[str, Any]]:
    return await desk.db.run(
        lambda repo: {
            u.name: {"email": u.email, "admin": u.is_admin, "away": u.away, "shown": u.display_name}
            for u in repo.users()
        }
    )


async def _teams(desk: Desk) -> dict[str, list[str]]:
    return await desk.db.run(
        lambda repo: {t.name: [m.name for m in t.members] for t in repo.teams()}
    )


async def _ticket_for_rita(desk: Desk) -> int:
    raw, _ = make_mail(subject="Printer on fire", sender="carol@customer.example")
    await desk.receive(raw)
    await desk.admin(lambda repo, u: services.assign(repo, u, 1, "rita"))
    await desk.reply(1, "We are on it.")  # a message rita wrote: it stays after she goes
    return 1


# --- users ---------------------------------------------------------------------------------------


async def test_an_admin_adds_users_with_a_valid_unique_name_and_email(db) -> None:
    desk = await Desk.create(db)
    await desk.admin(
        lambda repo, u: admin.add_user(repo, u, "sam", email="Sam@Help.Example", display_name="Sam")
    )
    assert (await _users(desk))["sam"] == {
        "email": "sam@help.example",
        "admin": False,
        "away": False,
        "shown": "Sam",
    }
    refused = {
        "not an email address": ("tom", "tom@"),
        "exists already": ("SAM", "other@help.example"),
        "is the address of sam": ("tom", "sam@help.example"),
        "one word": ("tom jones", None),
    }
    for message, (name, email) in refused.items():
        with pytest.raises(SettingsError, match=message):
            await desk.admin(
                lambda repo, u, name=name, email=email: admin.add_user(repo, u, name, email=email)
            )
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.add_user(repo, u, "tom", email=None))
    assert sorted(await _users(desk)) == ["admin", "rita", "sam"]


async def test_roles_keep_one_admin_and_only_admins_change_them(db) -> None:
    desk = await Desk.create(db)
    with pytest.raises(SettingsError, match="only admin"):
        await desk.admin(lambda repo, u: admin.set_role(repo, u, "admin", "rep"))
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.set_role(repo, u, "rita", "admin"))
    await desk.admin(lambda repo, u: admin.set_role(repo, u, "rita", "admin"))
    await desk.as_user("rita", lambda repo, u: admin.set_role(repo, u, "admin", "rep"))
    users = await _users(desk)
    assert users["rita"]["admin"] and not users["admin"]["admin"]
    with pytest.raises(SettingsError, match="rita is the only admin"):
        await desk.as_user("rita", lambda repo, u: admin.set_role(repo, u, "rita", "rep"))


async def test_email_and_away_are_edited_and_a_rep_marks_only_themself_away(db) -> None:
    desk = await Desk.create(db)
    await desk.admin(
        lambda repo, u: admin.edit_user(repo, u, "rita", email="r@help.example", display_name="R")
    )
    await desk.as_user("rita", lambda repo, u: admin.set_away(repo, u, "rita", True))
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.set_away(repo, u, "admin", True))
    with pytest.raises(SettingsError, match="not an email address"):
        await desk.admin(
            lambda repo, u: admin.edit_user(repo, u, "rita", email="r@@x", display_name="R")
        )
    users = await _users(desk)
    assert users["rita"] == {"email": "r@help.example", "admin": False, "away": True, "shown": "R"}
    assert users["admin"]["away"] is False


async def test_removing_a_user_gives_its_tickets_to_another_with_a_timeline_line(db) -> None:
    desk = await Desk.create(db)
    number = await _ticket_for_rita(desk)
    await desk.admin(lambda repo, u: admin.add_user(repo, u, "sam", email="sam@help.example"))
    await desk.admin(lambda repo, u: admin.add_team(repo, u, "Support", ["rita", "sam"]))
    assert await desk.admin(lambda repo, u: admin.tickets_of(repo, "rita")) == 1
    moved = await desk.admin(lambda repo, u: admin.remove_user(repo, u, "rita", tickets_to="sam"))
    assert moved == 1
    ticket = await desk.ticket(number)
    assert ticket["ticket"]["owner"] == "sam"
    line = [e for e in ticket["timeline"] if e["data"].get("reason") == "rita was removed"]
    assert [e["summary"] for e in line] == ["Owner: rita → sam (rita was removed)"]
    assert line[0]["actor"]["name"] == "admin"
    assert "rita" not in await _users(desk)
    assert await _teams(desk) == {"Support": ["sam"]}
    kept = [m for c in ticket["conversations"] for m in c["messages"] if m["sent_from"] == "ticket"]
    assert [(m["text"].strip(), m["author"]) for m in kept] == [("We are on it.", None)]  # kept


async def test_removing_a_user_can_leave_its_tickets_unassigned(db) -> None:
    desk = await Desk.create(db)
    number = await _ticket_for_rita(desk)
    await desk.admin(lambda repo, u: admin.remove_user(repo, u, "rita", tickets_to=None))
    ticket = await desk.ticket(number)
    assert ticket["ticket"]["owner"] is None
    assert "Owner: rita → (none) (rita was removed)" in [e["summary"] for e in ticket["timeline"]]


async def test_nobody_removes_themself_the_only_admin_or_as_a_rep(db) -> None:
    desk = await Desk.create(db)
    await desk.admin(lambda repo, u: admin.set_role(repo, u, "rita", "admin"))
    with pytest.raises(SettingsError, match="cannot remove yourself"):
        await desk.admin(lambda repo, u: admin.remove_user(repo, u, "admin", tickets_to=None))
    await desk.admin(lambda repo, u: admin.set_role(repo, u, "rita", "rep"))
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user(
            "rita", lambda repo, u: admin.remove_user(repo, u, "admin", tickets_to=None)
        )
    assert sorted(await _users(desk)) == ["admin", "rita"]


# --- teams ---------------------------------------------------------------------------------------


async def test_teams_are_added_renamed_removed_and_their_members_changed(db) -> None:
    desk = await Desk.create(db)
    await desk.admin(lambda repo, u: admin.add_team(repo, u, "Support", ["rita"]))
    with pytest.raises(SettingsError, match="exists already"):
        await desk.admin(lambda repo, u: admin.add_team(repo, u, "support"))
    with pytest.raises(SettingsError, match="no user"):
        await desk.admin(lambda repo, u: admin.add_team(repo, u, "Billing", ["nobody"]))
    await desk.admin(lambda repo, u: admin.add_team(repo, u, "Billing"))
    with pytest.raises(SettingsError, match="exists already"):
        await desk.admin(lambda repo, u: admin.rename_team(repo, u, "Billing", "SUPPORT"))
    await desk.admin(lambda repo, u: admin.rename_team(repo, u, "Billing", "Invoices"))
    await desk.admin(lambda repo, u: admin.add_member(repo, u, "Invoices", "admin"))
    await desk.admin(lambda repo, u: admin.add_member(repo, u, "Invoices", "rita"))
    with pytest.raises(SettingsError, match="in Invoices already"):
        await desk.admin(lambda repo, u: admin.add_member(repo, u, "Invoices", "rita"))
    await desk.admin(lambda repo, u: admin.remove_member(repo, u, "Support", "rita"))
    assert await _teams(desk) == {"Invoices": ["admin", "rita"], "Support": []}
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.remove_team(repo, u, "Support"))
    await desk.admin(lambda repo, u: admin.remove_team(repo, u, "Support"))
    assert await _teams(desk) == {"Invoices": ["admin", "rita"]}


# --- the People section of settings, driven by keys (Pilot, 80x24) ------------------------------

SIZE = (80, 24)


async def _open_settings(pilot: Any) -> SettingsScreen:
    await ready(pilot)
    await pilot.press("3")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, SettingsScreen) and app.screen.loaded,
        what="the settings screen",
    )
    assert isinstance(app.screen, SettingsScreen)
    return app.screen


def _key(screen: SettingsScreen, kind: str, **where: Any) -> str:
    for row in screen.items:
        if row.kind == kind and all(row.data.get(k) == v for k, v in where.items()):
            return row.key
    raise AssertionError(f"no {kind} row with {where}")


async def _go_to(pilot: Any, screen: SettingsScreen, key: str) -> None:
    """Walk the cursor to a row with j/k, as a person does."""
    for _ in range(len(screen.items) * 2):
        keys = [row.key for row in screen.items]
        current = screen.item.key if screen.item else None
        if current == key:
            await pilot.pause(0.05)
            return
        here = keys.index(current) if current in keys else 0
        await pilot.press("j" if keys.index(key) > here else "k")
    raise AssertionError(f"could not reach {key}")


async def _dialog(pilot: Any, kind: type) -> Any:
    return await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen, what=str(kind)
    )


async def _type(pilot: Any, text: str) -> None:
    await _dialog(pilot, PromptScreen)
    await pilot.press(*[{" ": "space", "@": "at", ".": "full_stop"}.get(c, c) for c in text])
    await pilot.press("enter")
    await pilot.pause(0.1)


async def _pick(pilot: Any, label: str) -> None:
    """Move the picker's cursor with j/k to the choice whose label starts with `label`; enter."""
    picker = await _dialog(pilot, PickerScreen)
    labels = [text for text, _ in picker.choices]
    options = picker.query_one(OptionList)
    want = next((i for i, text in enumerate(labels) if text.startswith(label)), None)
    for _ in range(len(labels) + 1):
        if want is None:
            break
        if options.highlighted == want:
            await pilot.press("enter")
            await pilot.pause(0.1)
            return
        await pilot.press("j" if want > (options.highlighted or 0) else "k")
    raise AssertionError(f"no choice {label!r} in {labels}")


async def test_an_admin_adds_a_team_and_its_members_from_settings(db_path) -> None:
    """A fresh desk has no team ("Notify a team" says "No teams yet."): the People section adds
    one, then m adds and removes its members."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        assert "note:teams" in [row.key for row in screen.items]  # "No teams yet."
        await _go_to(pilot, screen, "new:team")
        await pilot.press("enter")
        await _type(pilot, "Support")
        await wait_for(pilot, lambda: screen.item and screen.item.kind == "team", what="the team")
        assert screen.item.data["name"] == "Support"
        await pilot.press("m")
        await _pick(pilot, "[ ] rita")
        await wait_for_async(pilot, lambda: _has_team(desk, {"Support": ["rita"]}))
        await wait_for(pilot, lambda: screen.item and screen.item.data["members"] == ["rita"])
        assert "Members (1): rita." in _details(screen)
        await pilot.press("m")
        await _pick(pilot, "[ ] admin")
        await wait_for_async(pilot, lambda: _has_team(desk, {"Support": ["admin", "rita"]}))
        await wait_for(pilot, lambda: len(screen.item.data["members"]) == 2)
        await pilot.press("m")
        await _pick(pilot, "[x] rita")
        await wait_for_async(pilot, lambda: _has_team(desk, {"Support": ["admin"]}))
        await wait_for(pilot, lambda: screen.item.data["members"] == ["admin"])
        await pilot.press("r")
        await _dialog(pilot, PromptScreen)
        await pilot.press(*["backspace"] * 7)
        await _type(pilot, "Help")
        await wait_for_async(pilot, lambda: _has_team(desk, {"Help": ["admin"]}))
        await wait_for(pilot, lambda: screen.item.data["name"] == "Help")
        await pilot.press("x")
        await _dialog(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _has_team(desk, {}))
    await desk.db.close()


async def test_an_admin_adds_a_user_sets_away_and_role_and_removes_it(db_path) -> None:
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, "new:user")
        await pilot.press("enter")
        await _type(pilot, "sam")
        await _type(pilot, "sam@")  # not an address: the dialog stays, saying why
        prompt = await _dialog(pilot, PromptScreen)
        assert "not an email address" in str(prompt.query_one("#prompt-error", Label).render())
        await pilot.press("h", "e", "l", "p", "full_stop", "e", "x")
        await pilot.press("enter")
        await _pick(pilot, "Rep")
        sam = await wait_for(pilot, lambda: screen.item and screen.item.data["name"] == "sam")
        assert sam
        assert (await _users(desk))["sam"]["email"] == "sam@help.ex"
        await pilot.press("space")
        await wait_for_async(pilot, lambda: _user_is(desk, "sam", away=True))
        await wait_for(pilot, lambda: screen.item.data["away"])
        await pilot.press("o")
        await _pick(pilot, "Admin")
        await wait_for_async(pilot, lambda: _user_is(desk, "sam", admin=True))
        await wait_for(pilot, lambda: screen.item.data["admin"])
        await pilot.press("x")
        confirm = await _dialog(pilot, ConfirmScreen)
        assert confirm.question == "Remove the user sam?"
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _gone(desk, "sam"))
    await desk.db.close()


async def test_removing_a_user_asks_who_takes_their_tickets(db_path) -> None:
    desk = await seeded_desk(db_path, ["Printer on fire"])
    await desk.admin(lambda repo, u: services.assign(repo, u, 1, "rita"))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, _key(screen, "user", name="rita"))
        assert "Owns 1 ticket." in _details(screen)
        await pilot.press("x")
        picker = await _dialog(pilot, PickerScreen)
        assert picker.title_text == "rita owns 1 ticket: give them to"
        assert picker.choices[0] == ("Nobody: leave them unassigned", "")
        await _pick(pilot, "admin")
        confirm = await _dialog(pilot, ConfirmScreen)
        assert confirm.question == (
            "Remove the user rita? 1 ticket of theirs goes to admin, each with a line on its "
            "timeline."
        )
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _gone(desk, "rita"))
    ticket = await desk.ticket(1)
    assert ticket["ticket"]["owner"] == "admin"
    assert "Owner: rita → admin (rita was removed)" in [e["summary"] for e in ticket["timeline"]]
    await desk.db.close()


async def test_the_only_admin_cannot_demote_or_remove_themself_in_the_app(db_path) -> None:
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, _key(screen, "user", name="admin"))
        await pilot.press("o")
        await _pick(pilot, "Rep")
        await wait_for(
            pilot,
            lambda: any("only admin" in str(n.message) for n in app._notifications),
            what="the refusal",
        )
        await pilot.press("x")
        await _dialog(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("cannot remove yourself" in str(n.message) for n in app._notifications),
        )
    assert (await _users(desk))["admin"]["admin"] is True
    await desk.db.close()


async def test_a_rep_reads_people_but_changes_nothing(db_path) -> None:
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, _key(screen, "user", name="admin"))
        assert "Read-only: only admins change settings" in _details(screen)
        for action in ("delete", "role", "switch", "edit", "new"):
            assert screen.check_action(action, ()) is False
        await pilot.press("x", "o", "space", "n")
        await pilot.pause(0.3)
        assert isinstance(app.screen, SettingsScreen)  # no dialog opened
    assert sorted(await _users(desk)) == ["admin", "rita"]
    await desk.db.close()


async def test_people_keys_are_in_help_and_the_palette(db_path) -> None:
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot)
        await _go_to(pilot, screen, _key(screen, "user", name="rita"))
        shown = {b.binding.description for b in screen.active_bindings.values()}
        assert {"Role admin/rep", "Delete", "Edit", "New"} <= shown
        assert "Members, SSH keys" in shown  # on a user: its SSH keys (SPEC §11)
        palette = [c.title for c in app.get_system_commands(screen)]
        assert any(title.startswith("Role admin/rep (o)") for title in palette)
        await pilot.press("question_mark")
        help_screen = await _dialog(pilot, HelpScreen)
        listed = "\n".join(str(row) for row in help_screen._rows())
        assert "Role admin/rep" in listed and "Members, SSH keys" in listed
    await desk.db.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


def _details(screen: SettingsScreen) -> str:
    return str(screen.query_one("#settings-details-text", Static).render())


async def _has_team(desk: Desk, teams: dict[str, list[str]]) -> bool:
    return await _teams(desk) == teams


async def _user_is(desk: Desk, name: str, **values: Any) -> bool:
    user = (await _users(desk)).get(name, {})
    return all(user.get(k) == v for k, v in values.items())


async def _gone(desk: Desk, name: str) -> bool:
    return name not in await _users(desk)


# --- the CLI twins of the People keys ------------------------------------------------------------


def _cli(path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(path), "--as", "admin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DESKLINE_USER": ""},
    )
    assert (proc.returncode == 0) is ok, f"{args}: {proc.stdout}{proc.stderr}"
    return proc


async def test_the_cli_does_what_the_people_keys_do(db_path) -> None:
    desk = await seeded_desk(db_path, ["Printer on fire"])
    await desk.admin(lambda repo, u: services.assign(repo, u, 1, "rita"))
    await desk.db.close()
    assert (
        "not an email address"
        in _cli(db_path, "user", "add", "sam", "--email", "x@", ok=False).stderr
    )
    _cli(db_path, "user", "add", "sam", "--email", "sam@help.example")
    _cli(db_path, "user", "edit", "sam", "--display-name", "Sam Support")
    assert _cli(db_path, "user", "role", "sam", "admin").stdout == "sam is now an admin\n"
    assert _cli(db_path, "user", "away", "sam", "on").stdout == "sam is away\n"
    _cli(db_path, "team", "add", "Support", "--members", "rita")
    _cli(db_path, "team", "member", "add", "Support", "sam")
    _cli(db_path, "team", "member", "remove", "Support", "rita")
    _cli(db_path, "team", "rename", "Support", "Help")
    teams = json.loads(_cli(db_path, "team", "list", "--json").stdout)["teams"]
    assert teams == [{"name": "Help", "members": ["sam"]}]
    removed = _cli(db_path, "user", "remove", "rita", "--tickets-to", "sam").stdout
    assert removed == "User rita removed; 1 ticket to sam\n"
    users = json.loads(_cli(db_path, "user", "list", "--json").stdout)["users"]
    assert [(u["name"], u["admin"], u["away"], u["display_name"]) for u in users] == [
        ("admin", True, False, "Administrator"),
        ("sam", True, True, "Sam Support"),
    ]
    _cli(db_path, "team", "remove", "Help")
    assert json.loads(_cli(db_path, "team", "list", "--json").stdout)["teams"] == []
    shown = json.loads(_cli(db_path, "ticket", "show", "1", "--json").stdout)
    assert shown["ticket"]["owner"] == "sam"
