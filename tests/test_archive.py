"""Out and back (SPEC B6.1, B6.2): export writes the stored mail byte for byte and imports
back into a fresh desk as the same tickets and threads; backup copies a running desk and checks
the copy; restore refuses a desk in use and a newer schema, keeps the old file, holds mail."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.helpers import make_mail
from tests.servers.smtp import smtp_server
from tests.test_cli import SUPPORT, Cli, _smtp, desk_cli

pytestmark = pytest.mark.sqlite_only
__all__ = ["smtp_server"]

START = datetime.now(UTC) - timedelta(days=3)
TRICKY = "From the start of a line\n>From already quoted\n>>From twice\nthe end"


def _mbox(path: Path, raws: list[bytes]) -> Path:
    with path.open("wb") as out:
        for raw in raws:
            out.write(b"From someone@example.org Thu Jan  1 00:00:00 2026\n")
            quoted = b"\n".join(
                b">" + line if line.lstrip(b">").startswith(b"From ") else line
                for line in raw.split(b"\n")
            )
            out.write(quoted + b"\n")
    return path


def _threads(count: int, start: datetime = START) -> list[bytes]:
    """`count` customer messages: threads of up to four, one with lines that start with From."""
    raws: list[bytes] = []
    parent: str | None = None
    for n in range(count):
        body = TRICKY if n == 1 else f"Message {n} about the case."
        if n % 4 == 0 or parent is None:
            raw, parent = make_mail(
                subject=f"Case {n}", body=body, sender=f"c{n % 37}@shop.example"
            )
        else:
            raw, _ = make_mail(
                subject=f"Re: Case {n - n % 4}",
                body=body,
                in_reply_to=parent,
                sender=f"c{(n - n % 4) % 37}@shop.example",
            )
        raws.append(_dated(raw, start + timedelta(seconds=n)))
    return raws


def _dated(raw: bytes, when: datetime) -> bytes:
    """The mail dated `when` (before the replies a test sends now, whatever ran before it)."""
    return re.sub(rb"(?m)^Date: .*$", b"Date: " + format_datetime(when).encode(), raw, count=1)


def _shape(cli: Cli) -> dict[str, list[tuple[str, str]]]:
    """What must survive the round trip: each ticket (by subject) with its messages' ids and
    directions, read straight from the file (hundreds of `ticket show` would be slow)."""
    shape: dict[str, list[tuple[str, str]]] = {}
    with sqlite3.connect(cli.db) as conn:
        rows = conn.execute(
            "SELECT t.subject, m.message_id, m.direction FROM tickets t "
            "JOIN conversations c ON c.ticket_id = t.id "
            "JOIN messages m ON m.conversation_id = c.id WHERE m.direction != 'note'"
        )
        for subject, message_id, direction in rows:
            shape.setdefault(subject, []).append((message_id, direction))
    return {subject: sorted(found) for subject, found in shape.items()}


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_export_imports_back_as_the_same_desk(tmp_path: Path, smtp_server, fmt: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = desk_cli(tmp_path / "a")
    source = _mbox(tmp_path / "in.mbox", _threads(60 if fmt == "maildir" else 1000))
    first.run("import", "--channel", "support", "--historical", str(source))
    _smtp(first, smtp_server)
    for number in (1, 2):
        first.run("reply", str(number), "--text", f"Answer to {number}", "--send-now")
    assert "sent 2" in first.run("sync", "--once").stdout
    before = _shape(first)
    assert sum(d == "outbound" for msgs in before.values() for _, d in msgs) == 2

    out = tmp_path / f"export.{fmt}"
    done = first.run("export", "--format", fmt, "-o", str(out)).stdout
    assert f"to {out}" in done
    files = [out] if fmt == "mbox" else list((out / "cur").iterdir())
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in files)
    again = first.run("export", "--format", fmt, "-o", str(out), ok=False)
    assert "exists" in again.stderr and again.stderr.count("\n") == 1

    second = Cli(tmp_path / "b")
    second.run("init")
    second.run("channel", "add", "support", "--address", SUPPORT)
    second.run("import", "--channel", "support", "--historical", str(out))
    assert _shape(second) == before  # same tickets, threads, Message-IDs; ours outgoing
    assert second.outbox() == []  # queues nothing

    # byte for byte, lines that start with "From " included (mboxrd)
    raw_of = "SELECT raw FROM messages WHERE body_text LIKE '%already quoted%'"
    if fmt == "mbox":
        with sqlite3.connect(first.db) as a, sqlite3.connect(second.db) as b:
            assert a.execute(raw_of).fetchone() == b.execute(raw_of).fetchone()
            assert b"\n>From already quoted" in b.execute(raw_of).fetchone()[0]


def test_export_of_one_ticket_and_a_window(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    source = _mbox(tmp_path / "in.mbox", _threads(8))
    cli.run("import", "--channel", "support", "--historical", str(source))
    out = tmp_path / "one"
    cli.run("export", "--format", "eml", "--ticket", "1", "-o", str(out))
    assert len(list(out.iterdir())) == 4  # the first thread: four messages
    assert out.stat().st_mode & 0o777 == 0o700
    none = tmp_path / "none.mbox"
    cli.run("export", "--since", "2999-01-01", "-o", str(none))
    assert none.read_bytes() == b""
    bad = cli.run("export", "--since", "yesterday", "-o", str(tmp_path / "x"), ok=False)
    assert "not a date" in bad.stderr


def test_backup_while_mail_is_imported_then_restore(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    recent = datetime.now(UTC) - timedelta(hours=1)  # not old mail: acknowledgements queue
    source = _mbox(tmp_path / "big.mbox", _threads(2000, recent))
    importing = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--db",
            str(cli.db),
            "import",
            "--channel",
            "support",
            str(source),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    copies = []
    try:
        for n in range(3):  # during the import: each copy is consistent and checked
            path = tmp_path / f"copy{n}.db"
            made = json.loads(cli.run("backup", str(path), "--json").stdout)
            assert made["kind"] == "sqlite" and made["counts"]["messages"] >= 0
            copies.append((path, made["counts"]))
    finally:
        assert importing.wait(timeout=600) == 0, importing.stderr.read() if importing.stderr else ""
    for path, counts in copies:
        assert path.stat().st_mode & 0o777 == 0o600
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == counts["messages"]
    final = tmp_path / "final.db"
    made = json.loads(cli.run("backup", str(final), "--json").stdout)
    assert made["counts"]["messages"] >= 2000
    with sqlite3.connect(cli.db) as conn:
        queued = conn.execute("SELECT count(*) FROM outbox WHERE state = 'queued'").fetchone()[0]
    assert queued > 0  # the acknowledgements of the import wait for SMTP

    # restore: in use is refused, a newer schema too; the old file is kept; waiting mail held
    with sqlite3.connect(cli.db) as conn:
        conn.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES ('outbox', 'worker-1', "
            "'2999-01-01 00:00:00.000000')"
        )
    busy = cli.run("restore", str(final), "--yes", ok=False)
    assert "in use" in busy.stderr and "worker-1" in busy.stderr
    with sqlite3.connect(cli.db) as conn:
        conn.execute("DELETE FROM leases")
    newer = tmp_path / "newer.db"
    newer.write_bytes(final.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    refused = cli.run("restore", str(newer), "--yes", ok=False)
    assert "newer Deskline" in refused.stderr
    unasked = cli.run("restore", str(final), ok=False)
    assert "--yes" in unasked.stderr

    done = cli.run("restore", str(final), "--yes").stdout
    assert "kept as" in done
    assert list(tmp_path.glob("desk.db.before-restore-*"))
    held = cli.json("held", "--all")["outbox"]
    assert len(held) == queued and all(h["held_reason"] == "restored from backup" for h in held)
    assert cli.run("tickets", "--json").returncode == 0
