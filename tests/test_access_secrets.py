"""Secrets are allowed per host by a host-local file (SPEC S8): whatever the database says, a
reference runs or is read only when the allow-list (a file only the worker's account can change)
lists it for the host it goes to; a channel whose secret is not allowed stops at `sync` start,
naming the file, while the others go on; `channel test` is an admin's. Real files and modes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from mail import secrets
from runtime.inbound import _accounts
from storage.database import Database
from storage.repository import SqlRepository
from tests.helpers import Desk
from tests.test_access import Cli, as_login, cli

__all__ = ["cli"]  # a fixture used below


@pytest.fixture
def allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    path = folder / "secrets.allow"
    monkeypatch.setenv(secrets.ALLOW_ENV, str(path))
    monkeypatch.setenv("DESK_TOKEN", "s3cret")
    return path


def write(path: Path, text: str, mode: int = 0o600) -> None:
    path.write_text(text)
    path.chmod(mode)


def test_s8_a_reference_is_resolved_only_when_allowed_for_its_host(allow_list: Path) -> None:
    with pytest.raises(secrets.SecretError) as absent:
        secrets.resolve("env:DESK_TOKEN", host="imap.example.org")
    assert str(allow_list) in str(absent.value)
    assert "imap.example.org env:DESK_TOKEN" in str(absent.value)
    write(allow_list, "# host  reference\n\nimap.example.org,SMTP.example.org  env:DESK_TOKEN\n")
    assert secrets.resolve("env:DESK_TOKEN", host="imap.example.org") == "s3cret"
    assert secrets.resolve("env:DESK_TOKEN", host="smtp.example.org") == "s3cret"
    with pytest.raises(secrets.SecretError, match="not allowed on this machine"):
        secrets.resolve("env:DESK_TOKEN", host="evil.example.net")  # bound to its hosts


def test_s8_a_command_not_allowed_never_runs(allow_list: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    reference = f"command:touch {marker}"
    write(allow_list, "imap.example.org env:DESK_TOKEN\n")
    with pytest.raises(secrets.SecretError):
        secrets.resolve(reference, host="imap.example.org")
    assert not marker.exists()
    write(allow_list, f"imap.example.org {reference}\n")
    with pytest.raises(secrets.SecretError, match="printed nothing"):  # it ran, allowed
        secrets.resolve(reference, host="imap.example.org")
    assert marker.exists()


def test_s8_an_allow_list_others_can_change_is_not_trusted(allow_list: Path) -> None:
    write(allow_list, "imap.example.org env:DESK_TOKEN\n", mode=0o620)
    with pytest.raises(secrets.SecretError, match="can be changed by other accounts"):
        secrets.resolve("env:DESK_TOKEN", host="imap.example.org")
    allow_list.chmod(0o644)  # readable is fine: it holds no secret
    assert secrets.resolve("env:DESK_TOKEN", host="imap.example.org") == "s3cret"
    allow_list.parent.chmod(0o777)
    with pytest.raises(secrets.SecretError, match=r"folder .* can be changed by other accounts"):
        secrets.resolve("env:DESK_TOKEN", host="imap.example.org")
    allow_list.parent.chmod(0o700)
    os.chown(allow_list, 65534, 65534)
    with pytest.raises(secrets.SecretError, match="is not this account's"):
        secrets.resolve("env:DESK_TOKEN", host="imap.example.org")


async def test_s8_a_channel_not_allowed_stops_at_sync_start_and_the_others_go_on(
    db: Database, allow_list: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = await Desk.create(db)

    def servers(repo: SqlRepository) -> None:
        support = repo.channel_by_name("support")
        assert support is not None
        sales = repo.add_channel(
            name="sales",
            kind="email",
            address="sales@acme.example",
            pipeline_id=support.pipeline_id,
            ticket_automation=True,
        )
        for channel, host in ((support, "imap.example.org"), (sales, "imap.other.example")):
            channel.imap_host, channel.imap_user = host, channel.name
            channel.imap_secret = "env:DESK_TOKEN"

    await db.run(servers)
    write(allow_list, "imap.example.org env:DESK_TOKEN\n")
    with caplog.at_level(logging.WARNING, logger="deskline.inbound"):
        accounts = await desk.store(_accounts)
    assert [name for _, name, _ in accounts] == ["support"]
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("channel sales stopped: ") and str(allow_list) in line


def test_s8_channel_test_is_for_admins(cli: Cli, allow_list: Path) -> None:
    cli.run("init")
    cli.run("channel", "add", "support", "--address", "help@acme.example")
    cli.run("user", "add", "rita")
    as_login(cli, "rita")
    code, out, err = cli.run("channel", "test", "support")
    assert code == 1 and out == "" and "rita is not an admin" in err
