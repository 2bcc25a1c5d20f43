"""Backup and restore of a desk (SPEC B6.2, B6.3, S9, S11).

SQLite: the online backup API copies the database from one read snapshot while sessions and the
mail worker go on writing; the copy is then checked (integrity check, and the row count of every
table against the counts read in that same snapshot). PostgreSQL: `pg_dump` in its custom
format, its password passed in the environment, never on the command line.

Restore (SQLite) refuses while the desk is in use (a live lease or a session's heartbeat),
refuses a backup from a newer Deskline, keeps the replaced file beside it, and holds every email
that was waiting to be sent ("restored from backup"), so nothing goes out twice by surprise.

What a backup holds is the desk; what the host trusts (the SSH host key, the secrets a worker
may resolve) is not in the database, and a backup does not carry it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from runtime.files import create_private

HELD_REASON = "restored from backup"
WAITING = ("queued", "sending", "handed")
NOT_CARRIED = (
    "The backup holds the desk's database only: the SSH host key and the secrets this host lets "
    "the mail worker use are not in it."
)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why, in one line."""


@dataclass
class BackupReport:
    path: Path
    kind: str  # "sqlite" or "pg_dump"
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def backup(url: str, target: Path) -> BackupReport:
    """A consistent, checked copy of the desk at `url` in the new file `target` (0600)."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} exists: give a new file name, nothing is overwritten")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _pg_dump(url, target)
    source = Path(parsed.database or "")
    if not source.is_file():
        raise BackupError(f"{source} is not a Deskline database file")
    return _sqlite_backup(source, target)


def _sqlite_backup(source: Path, target: Path) -> BackupReport:
    os.close(create_private(target))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("BEGIN")  # one snapshot for the counts and the copy
        counts = _counts(src)
        src.backup(dst)
        src.rollback()
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        copied = _counts(dst)
    except sqlite3.Error as exc:
        dst.close()
        target.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()
    dst.close()
    if problems != ["ok"] or copied != counts:
        target.unlink(missing_ok=True)
        raise BackupError(f"the copy did not check out ({'; '.join(problems)[:200]}); removed")
    return BackupReport(target, "sqlite", counts, [NOT_CARRIED])


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'message_search%'"
        )
    ]
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def _pg_dump(url: str, target: Path) -> BackupReport:
    tool = shutil.which("pg_dump") or _pg_bin("pg_dump")
    if tool is None:
        raise BackupError("pg_dump is not installed: install the PostgreSQL client tools")
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)  # never on the command line (S11)
    command = [tool, "--format=custom", "--file", str(target), "--no-password"]
    for flag, value in (
        ("--host", parsed.host),
        ("--port", parsed.port),
        ("--username", parsed.username),
    ):
        if value:
            command += [flag, str(value)]
    command.append(parsed.database or "")
    os.close(create_private(target))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1:] or ['?']}")
    notes = ["Made by pg_dump (custom format): restore it with pg_restore.", NOT_CARRIED]
    return BackupReport(target, "pg_dump", {}, notes)


def _pg_bin(name: str) -> str | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    return None


# --- restore -------------------------------------------------------------------------------------


def restore(
    backup_file: Path, target: Path, *, head_revision: str, now: datetime | None = None
) -> Path | None:
    """Put `backup_file` in place of the desk file `target`; returns where the replaced file
    was kept (None: there was none). Refuses a desk in use and a newer schema."""
    backup_file, target = Path(backup_file), Path(target)
    now = now or datetime.now(UTC)
    revision = _revision(backup_file)
    if revision is None:
        raise BackupError(f"{backup_file} is not a Deskline backup (no schema version in it)")
    if revision > head_revision:
        raise BackupError(
            f"{backup_file} is from a newer Deskline (schema {revision}; this one knows "
            f"{head_revision}): restore it with that version"
        )
    if target.exists():
        _refuse_if_in_use(target, now)
    staged = target.with_name(target.name + ".restoring")
    staged.unlink(missing_ok=True)
    os.close(create_private(staged))
    src, dst = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True), sqlite3.connect(staged)
    try:
        src.backup(dst)
        dst.execute(
            "UPDATE outbox SET state = 'held', held_reason = ?, claimed_by = NULL "
            f"WHERE state IN ({', '.join('?' for _ in WAITING)})",
            (HELD_REASON, *WAITING),
        )
        dst.execute("DELETE FROM leases")
        dst.commit()
    finally:
        src.close()
        dst.close()
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%dT%H%M%S}")
        os.replace(target, kept)
        for suffix in ("-wal", "-shm"):
            side = target.with_name(target.name + suffix)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + suffix))
    os.replace(staged, target)
    return kept


def _revision(path: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _refuse_if_in_use(target: Path, now: datetime) -> None:
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        leases = conn.execute("SELECT name, holder, expires_at FROM leases").fetchall()
        beats = _heartbeats(conn, now)
    except sqlite3.Error:
        return  # not a desk with leases: nothing holds it
    finally:
        conn.close()
    live = [f"{name} (held by {holder})" for name, holder, until in leases if _after(until, now)]
    if live or beats:
        what = ", ".join(live) or f"{beats} open session(s)"
        raise BackupError(f"{target} is in use ({what}): stop the worker and the app first")


def _heartbeats(conn: sqlite3.Connection, now: datetime) -> int:
    """App sessions that beat in the last 15 seconds (SPEC D22)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "presence" not in tables:
        return 0
    recent = now - timedelta(seconds=15)
    return sum(
        1 for (beat,) in conn.execute("SELECT beat_at FROM presence") if _after(beat, recent)
    )


def _after(value: object, now: datetime) -> bool:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when > now
