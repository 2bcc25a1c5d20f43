"""Quick recovery (SPEC B8.7): a worker killed with SIGKILL on this host gives up its mailbox
lease and its outbox claims at once; a holder elsewhere keeps them until they run out; a
process id reused by a newer process is not taken for the old holder."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.worker import holder_alive, holder_name
from storage.database import Database
from storage.inbound import acquire_lease
from tests.helpers import Desk, make_mail
from tests.servers.smtp import smtp_server
from tests.test_cli import Cli, _mail_servers, desk_cli

__all__ = ["smtp_server"]
HOST = socket.gethostname()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_holder_is_dead_only_when_its_process_on_this_host_is_gone() -> None:
    me = holder_name()
    assert holder_alive(me)
    boot = me.split(":")[1]
    assert not holder_alive(f"{HOST}:{boot}:{_dead_pid()}")
    assert not holder_alive(f"{HOST}:{_dead_pid()}")  # the older host:pid form
    assert holder_alive(f"elsewhere.example:{boot}:{_dead_pid()}")  # another host: trusted
    assert holder_alive(f"{HOST}:otherboot:{_dead_pid()}")  # before a reboot: runs out alone
    # a process id now used by a process that started after the claim is not the holder
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        assert not holder_alive(f"{HOST}:{boot}:{later.pid}", long_ago)
        assert holder_alive(f"{HOST}:{boot}:{later.pid}", datetime.now(UTC) + timedelta(seconds=5))
    finally:
        later.kill()
        later.wait()


async def test_the_lease_of_a_dead_holder_is_taken_at_once(db: Database) -> None:
    await Desk.create(db)
    dead = f"{HOST}:{holder_name().split(':')[1]}:{_dead_pid()}"
    assert await db.run(lambda repo: acquire_lease(repo, "inbound:1", dead, 60))
    mine = holder_name()
    assert not await db.run(lambda repo: acquire_lease(repo, "inbound:1", mine, 60))
    assert await db.run(lambda repo: acquire_lease(repo, "inbound:1", mine, 60, holder_alive))
    other = f"elsewhere.example:b:{_dead_pid()}"
    assert not await db.run(lambda repo: acquire_lease(repo, "inbound:1", other, 60, holder_alive))


@pytest.mark.sqlite_only
def test_a_worker_killed_with_sigkill_gives_its_mailbox_up_at_once(
    tmp_path: Path, smtp_server, imap_server, imap_folder: str
) -> None:
    cli: Cli = desk_cli(tmp_path)
    env = {**os.environ, **_mail_servers(cli, smtp_server, imap_server, imap_folder)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", str(cli.db), "sync"],
        env={**env, "DESKLINE_USER": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(cli.db) as conn:
                if conn.execute(
                    "SELECT count(*) FROM leases WHERE name LIKE 'inbound:%'"
                ).fetchone()[0]:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the worker never took its mailbox")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    imap_server.append(imap_folder, make_mail(subject="After the crash")[0])
    started = time.monotonic()
    once = cli.run("sync", "--once", env=env)
    assert "another worker holds" not in once.stderr
    assert time.monotonic() - started < 30  # not the 60 s lease
    subjects = [t["subject"] for t in cli.json("tickets")["tickets"]]
    assert "After the crash" in subjects
