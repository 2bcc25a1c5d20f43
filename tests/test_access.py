"""Who acts on the local CLI (SPEC S7): the OS login maps to one user; `--as` and DESKLINE_USER
are an admin's (or the SQLite file owner's); an unknown login is told the fix; `init` on an empty
desk makes its admin the login that ran it (the PostgreSQL bootstrap); `sync` acts as the system.

The commands run in this process (app.cli.main.main) on SQLite and PostgreSQL; the OS login is
set by replacing runtime.identity.login_name, the one place that reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli.main import main
from runtime import identity


class Cli:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url, self.capsys = url, capsys
        self.login: dict[str, str] = {}

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--db", self.url, *args])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("DESKLINE_USER", raising=False)
    login = {"name": "boss"}
    monkeypatch.setattr(identity, "login_name", lambda: login["name"])
    c = Cli(db_url, capsys)
    c.login = login
    return c


def as_login(cli: Cli, name: str) -> None:
    cli.login["name"] = name


def not_the_owner(cli: Cli) -> None:
    """The SQLite file belongs to another account (the PostgreSQL desk has no file)."""
    if cli.url.startswith("sqlite"):
        os.chown(Path(cli.url.split("///", 1)[1]), 65534, 65534)


def users(cli: Cli) -> dict[str, str | None]:
    code, out, _ = cli.run("user", "list", "--json")
    assert code == 0
    return {u["name"]: u["login"] for u in json.loads(out)["users"]}


def test_s7_init_makes_its_login_the_admin_and_a_user_logs_in_as_its_name(cli: Cli) -> None:
    code, out, _ = cli.run("init")
    assert code == 0 and "created the login “boss” as admin" in out
    assert cli.run("user", "add", "rita")[0] == 0
    assert cli.run("user", "add", "tom", "--login", "thomas")[0] == 0
    assert users(cli) == {"admin": "boss", "rita": "rita", "tom": "thomas"}
    # a login belongs to one user
    code, _, err = cli.run("user", "add", "ann", "--login", "thomas")
    assert code == 1 and "acts as tom already" in err
    assert cli.run("user", "edit", "tom", "--login", "tom")[0] == 0
    assert users(cli)["tom"] == "tom"
    as_login(cli, "thomas")
    code, _, err = cli.run("tasks")
    assert code == 1
    assert err.strip().splitlines()[-1] == (  # after a warning if the file is open to others
        "deskline: error: your login 'thomas' is no Deskline user: an admin runs "
        "`deskline user add NAME --login thomas` (or `deskline user edit NAME --login thomas`)"
    )


def test_s7_a_rep_passing_as_admin_is_refused_and_an_admin_may(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.run("init")
    cli.run("user", "add", "rita")
    not_the_owner(cli)
    as_login(cli, "rita")
    code, _, err = cli.run("pipeline", "add", "Sales", "--as", "admin")
    assert code == 1
    assert "--as (or DESKLINE_USER) is for admins: your login 'rita' is rita, a rep" in err
    monkeypatch.setenv("DESKLINE_USER", "admin")  # the same thing as --as
    code, _, err = cli.run("pipeline", "add", "Sales")
    assert code == 1 and "is for admins" in err
    monkeypatch.setenv("DESKLINE_USER", "rita")  # naming yourself is fine
    assert cli.run("tasks")[0] == 0
    monkeypatch.delenv("DESKLINE_USER")
    code, _, err = cli.run("pipeline", "add", "Sales")  # as rita: the domain refuses a rep
    assert code == 1 and "is for admins" not in err
    as_login(cli, "boss")  # the admin's login may act as anyone
    assert cli.run("tasks", "--as", "rita", "--json")[0] == 0


def test_s7_an_unknown_login_may_not_pass_as_unless_it_owns_the_sqlite_file(cli: Cli) -> None:
    cli.run("init")
    as_login(cli, "stranger")
    code, _, err = cli.run("tasks")
    assert code == 1 and "user add NAME --login stranger" in err
    owner = cli.url.startswith("sqlite")  # this process's account owns the file: bootstrap
    code, _, err = cli.run("tasks", "--as", "admin")
    assert (code == 0) is owner, err
    not_the_owner(cli)
    code, _, err = cli.run("tasks", "--as", "admin")
    assert code == 1 and "is no Deskline user" in err


def test_s7_sync_acts_as_the_system_whatever_the_login(cli: Cli) -> None:
    cli.run("init")
    as_login(cli, "stranger")
    code, _, err = cli.run("sync", "--once")
    assert code == 0, err


def test_s7_an_ssh_session_acts_as_its_key_and_refuses_another_as(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.run("init")
    cli.run("user", "add", "rita")
    monkeypatch.setattr(identity, "_SESSION_USER", None)
    identity.bind_session_user("rita")
    as_login(cli, "boss")  # the server's login is an admin's: it counts for nothing here
    code, _, err = cli.run("pipeline", "add", "Sales", "--as", "admin")
    assert code == 1 and "not accepted over SSH" in err
    assert cli.run("tasks", "--as", "rita")[0] == 0


def test_s7_the_app_refuses_an_unknown_login_in_one_line_before_it_starts(cli: Cli) -> None:
    cli.run("init")
    as_login(cli, "stranger")
    code, _, err = cli.run("app", "--no-mail")  # refused before any screen is drawn
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "deskline: error: your login 'stranger' is no Deskline user: an admin runs "
        "`deskline user add NAME --login stranger` (or `deskline user edit NAME --login "
        "stranger`)"
    )
