"""The settings audit (SPEC S11): every settings change is one append-only row (who, when, what,
old -> new), whatever path made it; one `automation apply` is one apply id; `deskline audit
settings [--json]` is an admin's; `pg_dump` gets its password from the environment, never argv.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runtime import backup
from storage.database import Database
from tests.test_access import Cli, as_login, cli

__all__ = ["cli"]  # a fixture used below


def changes(cli: Cli, *extra: str) -> list[dict]:
    code, out, err = cli.run("audit", "settings", "--json", *extra)
    assert code == 0, err
    return list(json.loads(out)["changes"])


def test_s11_each_change_is_recorded_with_who_what_and_old_and_new(cli: Cli) -> None:
    cli.run("init")
    assert cli.run("channel", "add", "support", "--address", "help@acme.example")[0] == 0
    assert cli.run("user", "add", "rita", "--email", "rita@acme.example")[0] == 0
    assert cli.run("user", "edit", "rita", "--login", "rita2")[0] == 0
    assert cli.run("pipeline", "add", "Sales")[0] == 0
    found = changes(cli)
    assert all(c["actor"] == "admin" and c["apply_id"] is None for c in found[:4])
    assert ("pipeline", "Sales", "added") in {(c["kind"], c["object"], c["action"]) for c in found}
    login = next(c for c in found if c["kind"] == "user" and c["action"] == "changed")
    assert (login["object"], login["old"], login["new"]) == (
        "rita",
        {"login": "rita"},
        {"login": "rita2"},
    )
    added = next(c for c in found if c["kind"] == "channel" and c["action"] == "added")
    assert added["object"] == "support" and added["new"]["address"] == "help@acme.example"
    # the desk's own secret is no setting a person changed
    assert not any(c["object"] == "message_id_secret" for c in found)
    code, out, _ = cli.run("audit", "settings")
    assert code == 0 and "login: rita -> rita2" in out
    cli.run("user", "edit", "rita", "--login", "rita")
    as_login(cli, "rita")  # a rep may not read it
    code, _, err = cli.run("audit", "settings")
    assert code == 1 and "not an admin" in err


def test_s11_team_membership_changes_are_recorded_with_before_and_after(cli: Cli) -> None:
    """SPEC S11: adding or removing a team's member (a join table with no row object of its
    own) is a settings change with actor, time and the team's members before and after."""
    cli.run("init")
    for name in ("rita", "sam"):
        assert cli.run("user", "add", name, "--email", f"{name}@acme.example")[0] == 0
    assert cli.run("team", "add", "Billing", "--members", "rita")[0] == 0
    assert cli.run("team", "member", "add", "Billing", "sam")[0] == 0
    assert cli.run("team", "member", "remove", "Billing", "rita")[0] == 0
    found = [c for c in changes(cli) if c["kind"] == "team member"]
    assert [(c["object"], c["action"], c["old"], c["new"]) for c in found] == [
        ("Billing / rita", "removed", {"members": ["rita", "sam"]}, {"members": ["sam"]}),
        ("Billing / sam", "added", {"members": ["rita"]}, {"members": ["rita", "sam"]}),
        ("Billing / rita", "added", {"members": []}, {"members": ["rita"]}),
    ]
    assert all(c["actor"] == "admin" and c["at"] for c in found)
    code, out, _ = cli.run("audit", "settings")
    assert code == 0 and "team member Billing / sam added" in out
    # removing a user takes it off its teams: recorded too
    assert cli.run("user", "remove", "sam")[0] == 0
    last = next(c for c in changes(cli) if c["kind"] == "team member")
    assert (last["object"], last["action"], last["new"]) == (
        "Billing / sam",
        "removed",
        {"members": []},
    )


def test_s11_one_apply_is_one_apply_id(cli: Cli, tmp_path: Path) -> None:
    cli.run("init")
    code, exported, _ = cli.run("automation", "export")
    assert code == 0
    path = tmp_path / "automation.toml"
    path.write_text(exported)
    cli.run("pipeline", "add", "Sales")
    code, _, err = cli.run("automation", "apply", str(path))
    assert code == 0, err
    applied = [c for c in changes(cli) if c["apply_id"]]
    assert len(applied) > 1 and {c["apply_id"] for c in applied} == {applied[0]["apply_id"]}
    assert all(c["actor"] == "admin" for c in applied)
    only = changes(cli, "--apply", applied[0]["apply_id"])
    assert len(only) == len(applied)
    assert cli.run("automation", "limits", "--undo-seconds", "30")[0] == 0
    cli.run("automation", "apply", str(path))  # a second apply is another id
    again = [c for c in changes(cli) if c["apply_id"] and c["apply_id"] != applied[0]["apply_id"]]
    assert {c["apply_id"] for c in again} == {again[0]["apply_id"]}


async def test_s11_the_audit_is_append_only(db: Database) -> None:
    from tests.helpers import Desk

    desk = await Desk.create(db)
    await desk.admin(lambda repo, user: repo.set_setting("branding", False))

    def rewrite(repo) -> None:  # type: ignore[no-untyped-def]
        [row] = [c for c in repo.settings_changes() if c.object_key == "branding"]
        row.actor_name = "someone else"
        repo.session.flush()

    with pytest.raises(RuntimeError, match="append-only"):
        await db.run(rewrite)
    [row] = await db.read(
        lambda repo: [c.actor_name for c in repo.settings_changes() if c.object_key == "branding"]
    )
    assert row == "admin"


def test_s11_pg_dump_gets_its_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    seen = tmp_path / "seen"
    fake.write_text(f'#!/bin/sh\necho "$@" > {seen}\necho "$PGPASSWORD" >> {seen}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "desk.dump"
    backup._pg_dump("postgresql://desk:hunter2@db.example:5433/desk", target)
    argv, password = seen.read_text().splitlines()
    assert "hunter2" not in argv and "--no-password" in argv and "db.example" in argv
    assert password == "hunter2"
