"""Kill to first new ticket (issue 16 item 3, SPEC B8.7), for `benchmarks.imap_bench`.

A real `deskline sync` worker holds a Dovecot folder's lease and is killed with SIGKILL; a mail
is APPENDed at once and a new worker is started: the figure is the time from the kill to the
commit of that mail's ticket. Measured twice in the same run: the dead holder on this host
(detected at once, as the outbox already does) and, as the baseline, the same holder rewritten
to name another host, which the new worker must trust until its lease (60 s) runs out.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from benchmarks.corpus import SUPPORT
from tests.helpers import make_mail
from tests.servers.dovecot import DovecotServer

PASSWORD_ENV = "BENCH_IMAP_PASSWORD"
ELSEWHERE = "elsewhere.example"


def _cli(db: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(db), *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def desk_on(server: DovecotServer, folder: str, workdir: Path) -> tuple[Path, dict[str, str]]:
    """A desk made with the CLI whose support channel reads `folder`; its environment."""
    db = workdir / "recovery.db"
    # the host's allow-list of secret references (SPEC S8): a private one for this run's
    allow = workdir / "secrets.allow"
    allow.write_text(f"{server.host} env:{PASSWORD_ENV}\n")
    allow.chmod(0o600)
    env = {
        **os.environ,
        "DESKLINE_USER": "",
        "DESKLINE_SECRETS_ALLOW": str(allow),
        PASSWORD_ENV: server.password,
    }
    _cli(db, env, "init")
    _cli(db, env, "channel", "add", "support", "--address", SUPPORT)
    _cli(
        db,
        env,
        "channel",
        "set",
        "support",
        "--imap-host",
        server.host,
        "--imap-port",
        str(server.port),
        "--imap-tls",
        "none",
        "--imap-user",
        server.user,
        "--imap-folder",
        folder,
        "--imap-secret",
        f"env:{PASSWORD_ENV}",
    )
    return db, env


def _worker(db: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", str(db), "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _scalar(db: Path, sql: str, *args: object) -> object:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        row = conn.execute(sql, args).fetchone()
        conn.commit()
    return row[0] if row else None


def _until(test: object, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


def _ticket(db: Path, subject: str) -> bool:
    return bool(_scalar(db, "SELECT count(*) FROM tickets WHERE subject = ?", subject))


def kill_to_ticket(
    db: Path, env: dict[str, str], server: DovecotServer, folder: str, *, elsewhere: bool
) -> float:
    """Seconds from SIGKILL of a working `deskline sync` to the ticket of a mail that arrived
    after it, with a new worker started at once. `elsewhere`: the dead holder's lease names
    another host (the baseline: trusted until it runs out)."""
    tag = "elsewhere" if elsewhere else "here"
    first = _worker(db, env)
    try:
        warm = f"Before the kill ({tag})"
        server.append(folder, make_mail(to=SUPPORT, subject=warm)[0])
        _until(lambda: _ticket(db, warm), 120, "the first worker stored no mail")
    finally:
        killed = time.monotonic()
        first.kill()
        first.wait()
    if elsewhere:
        host = "(SELECT substr(holder, instr(holder, ':')))"
        _scalar(
            db,
            f"UPDATE leases SET holder = ? || {host} WHERE name LIKE 'inbound:%'",
            ELSEWHERE,
        )
    after = f"After the kill ({tag})"
    server.append(folder, make_mail(to=SUPPORT, subject=after)[0])
    second = _worker(db, env)
    try:
        stored = _until(lambda: _ticket(db, after), 180, "the new worker stored no mail")
    finally:
        second.terminate()
        second.wait(timeout=60)
    return stored - killed


def measure(server: DovecotServer, folder: str, workdir: Path) -> dict[str, float]:
    """Kill to first new ticket: with the dead holder on this host, and elsewhere."""
    server.create_folder(folder)
    db, env = desk_on(server, folder, workdir)
    return {
        "here": kill_to_ticket(db, env, server, folder, elsewhere=False),
        "elsewhere": kill_to_ticket(db, env, server, folder, elsewhere=True),
    }
