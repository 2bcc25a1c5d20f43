"""What a newcomer's mistakes get: one line naming the path and the cause, never a traceback
(issue 19 items 13, 14, 19, 20, 21; SPEC D8, D9, D11). Each CLI call is a real subprocess."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from automation import admin
from automation.inbound import sync_once
from mail.sources import MAX_MESSAGE_SETTING, Fetched
from storage import queries
from storage.database import HEAD_REVISION, Database
from storage.inbound import InboundDatabase
from tests.helpers import Desk, make_mail
from tests.test_cli import SUPPORT

REPOSITORY = Path(__file__).resolve().parents[1]
# Root ignores file modes: a CLI that must meet a read-only file runs without the two
# capabilities that let it, as any other user would.
ROOTLESS = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
)


def deskline(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    rootless: bool = False,
    max_memory: int | None = None,
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if max_memory is not None:  # a CLI that reads /dev/zero whole fails instead of the host
            resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    return subprocess.run(
        [*(ROOTLESS if rootless else []), sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        cwd=cwd,
        env={**os.environ, "DESKLINE_USER": "", "PYTHONPATH": str(REPOSITORY), **(env or {})},
        preexec_fn=limit,
    )


def one_line(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    """The process failed with exit 1 and one line on stderr holding every word."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    for word in words:
        assert word in line, (word, line)
    return line


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk made with the CLI: a channel and ticket #1."""
    folder = tmp_path_factory.mktemp("desk")
    db = folder / "desk.db"
    mail = folder / "first.eml"
    mail.write_bytes(make_mail(to=SUPPORT)[0])
    for args in (
        ("init",),
        ("channel", "add", "support", "--address", SUPPORT),
        ("import", str(mail), "--channel", "support"),
    ):
        proc = deskline("--db", str(db), *args)
        assert proc.returncode == 0, proc.stderr
    return db


def copy_of(db: Path, folder: Path) -> Path:
    """A WAL-mode copy of the desk, its WAL files gone (as after every clean close)."""
    folder.mkdir()
    target = folder / db.name
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    assert not target.with_name(target.name + "-wal").exists()
    return target


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[list[Path]]:
    """chmod a-w on the paths put in the list, undone after the test."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


# --- item 13: the app's `--db` -----------------------------------------------------------------


def test_the_app_says_in_one_line_why_a_database_cannot_open(
    tmp_path: Path, desk: Path, read_only: list[Path]
) -> None:
    locked_folder = tmp_path / "locked"
    locked_folder.mkdir()
    locked_folder.chmod(0o500)
    read_only.append(locked_folder)
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("shopping: milk, eggs\n" * 100)
    frozen = copy_of(desk, tmp_path / "frozen")
    frozen.chmod(0o400)
    read_only.append(frozen)
    unwritable = locked_folder / "new" / "desk.db"

    cases = [
        (("app", "--db", str(unwritable)), [str(unwritable), "Permission denied"], True),
        (("--db", str(not_a_db)), [str(not_a_db), "not a database"], False),
        (("app", "--db", str(frozen)), [str(frozen), "read-only"], True),
        (("--db", "postgres://desk@127.0.0.1:1/desk"), ["127.0.0.1:1", "refused"], False),
        (("app", "--db", "mysql://desk@db.example/desk"), ["unsupported database", "mysql"], False),
    ]
    for args, words, rootless in cases:
        one_line(deskline(*args, rootless=rootless), *words)


def test_init_says_which_file_it_created(tmp_path: Path) -> None:
    proc = deskline("init", "--db", "desk.bd", cwd=tmp_path)  # a typo of desk.db
    assert proc.returncode == 0, proc.stderr
    assert f"Created a new database file: {tmp_path / 'desk.bd'}" in proc.stdout


# --- item 14: unknown names, paths without mail (D8), and what is not a file (D11) -------------


def test_unknown_status_or_pipeline_lists_the_known_ones(desk: Path) -> None:
    one_line(
        deskline("--db", str(desk), "tickets", "--status", "Nope"),
        "no status 'Nope'",
        "Waiting on us",
    )
    pipeline = one_line(deskline("--db", str(desk), "tickets", "--pipeline", "Nope"))
    assert "no pipeline 'Nope' (pipelines: " in pipeline


def test_import_needs_mail_and_regular_files(tmp_path: Path, desk: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    import_ = ("--db", str(desk), "import", "--channel", "support")
    one_line(deskline(*import_, str(empty)), "no mail found", str(empty))

    mail = tmp_path / "one.eml"
    mail.write_bytes(make_mail(to=SUPPORT, subject="Among empty folders")[0])
    both = deskline(*import_, str(empty), str(mail))
    assert both.returncode == 0, both.stderr
    assert f"warning: no mail found in {empty}" in both.stderr and "1 stored" in both.stdout

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    one_line(deskline(*import_, str(fifo)), str(fifo), "not a regular file")
    limited = deskline(*import_, "/dev/zero", max_memory=2**30)
    one_line(limited, "/dev/zero", "not a regular file")


# --- item 19 and D9: reads beside a writer and on a read-only file ------------------------------


def test_reads_answer_at_once_while_a_writer_holds_the_lock(desk: Path) -> None:
    writer = sqlite3.connect(desk, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        for args in (("tickets",), ("ticket", "show", "1"), ("outbox",)):
            started = time.monotonic()
            # A read that waited for the writer would wait the whole minute: far from any
            # start-up time of a loaded machine.
            proc = deskline("--db", str(desk), *args, env={"DESKLINE_BUSY_TIMEOUT_MS": "60000"})
            assert proc.returncode == 0, (args, proc.stderr)
            assert time.monotonic() - started < 40, args  # it did not wait for the writer
    finally:
        writer.rollback()
        writer.close()


def test_a_read_only_desk_is_read_and_never_written(
    tmp_path: Path, desk: Path, read_only: list[Path]
) -> None:
    db = copy_of(desk, tmp_path / "file")
    db.chmod(0o400)
    read_only.append(db)
    rows = deskline("--db", str(db), "tickets", "--json", rootless=True)
    assert rows.returncode == 0, rows.stderr
    assert [t["number"] for t in json.loads(rows.stdout)["tickets"]][-1] == 1
    one_line(deskline("--db", str(db), "close", "1", rootless=True), str(db), "read-only")

    # In a read-only folder too, where SQLite can make no WAL file beside it
    folder = tmp_path / "folder"
    db = copy_of(desk, folder)
    db.chmod(0o400)
    folder.chmod(0o500)
    read_only += [db, folder]
    shown = deskline("--db", str(db), "ticket", "show", "1", "--json", rootless=True)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["ticket"]["number"] == 1
    assert sorted(p.name for p in folder.iterdir()) == ["desk.db"]


# --- item 20: a database from a newer Deskline --------------------------------------------------


def test_a_newer_database_is_named_and_left_alone(tmp_path: Path, desk: Path) -> None:
    db = copy_of(desk, tmp_path / "newer")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    for args in (("tickets",), ("init",)):
        line = one_line(deskline("--db", str(db), *args), "newer version", "9999", HEAD_REVISION)
        assert "Can't locate" not in line and "older" not in line
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


# --- item 21 and D11: one message over the size limit -------------------------------------------


def test_a_message_over_the_size_limit_goes_to_failed_and_the_rest_is_stored(
    tmp_path: Path, desk: Path
) -> None:
    limits = deskline("--db", str(desk), "automation", "limits", "--max-message-mb", "0.01")
    assert limits.returncode == 0, limits.stderr
    folder = tmp_path / "batch"
    folder.mkdir()
    big = make_mail(to=SUPPORT, subject="Huge", body="x" * 20_000)[0]
    (folder / "a-big.eml").write_bytes(big)
    (folder / "b-small.eml").write_bytes(make_mail(to=SUPPORT, subject="Small")[0])
    proc = deskline("--db", str(desk), "import", str(folder), "--channel", "support", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["stored"], summary["failed"]) == (1, 1)
    [failure] = summary["failures"]
    assert failure["source"].endswith("a-big.eml")
    assert f"({len(big)} bytes)" in failure["reason"] and "0.01 MB limit" in failure["reason"]


class _Mailbox:
    """An IMAP folder in memory (the `MailboxLike` of automation.inbound)."""

    folder = "INBOX"

    def __init__(self, mails: list[bytes]) -> None:
        self.mails = list(enumerate(mails, start=1))

    def open(self) -> int:
        return 7

    def fetch_after(
        self, last_uid: int, limit: int = 500, max_bytes: int | None = None
    ) -> list[Fetched]:
        found = [Fetched(uid, raw, len(raw)) for uid, raw in self.mails if uid > last_uid]
        return found[:limit]

    def wait(self, seconds: float) -> bool:
        return False

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


async def test_imap_keeps_the_size_limit_and_goes_on(db: Database) -> None:
    desk = await Desk.create(db)
    channel = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    await desk.store(lambda repo: repo.set_setting(MAX_MESSAGE_SETTING, 0.01))
    big = make_mail(subject="Huge", body="x" * 20_000)[0]
    box = _Mailbox([big, make_mail(subject="Small")[0]])
    stats = await sync_once(InboundDatabase(desk.runner), channel, lambda: box)
    assert (stats.fetched, stats.stored, stats.failed) == (2, 1, 1)
    [ticket] = await desk.tickets()
    assert ticket["subject"] == "Small"
    failures = await desk.query(queries.import_failures)
    assert failures[0]["source"] == "imap:INBOX#1" and "too large" in failures[0]["reason"]
