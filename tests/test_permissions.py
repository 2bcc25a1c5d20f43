"""File permissions (SPEC S9): whatever the umask a desk is started with, its data directory is
0700 and its database (with -wal and -shm), backups, exports and saved attachments are 0600; a
desk others can read is said in one line at start, and `deskline init --fix-permissions` closes
it. Real `deskline` processes, started under a 022 umask, on real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def deskline(
    *args: str, home: Path, db: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "DESKLINE_USER": ""}
    env.pop("DESKLINE_DB", None)
    where = ["--db", str(db)] if db is not None else []
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *where, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # a usual login umask: files 0644 unless we say
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_s9_a_new_desk_its_data_directory_and_what_it_writes_are_private(tmp_path: Path) -> None:
    made = deskline("init", home=tmp_path)
    data_dir = tmp_path / "data" / "deskline"
    database = data_dir / "deskline.db"
    assert "warning" not in made.stderr
    assert mode(data_dir) == 0o700
    assert mode(database) == 0o600
    deskline("channel", "add", "support", "--address", "help@acme.example", home=tmp_path)
    companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
    for path in companions:
        if path.exists():
            assert mode(path) == 0o600, path
    backup = tmp_path / "desk.backup"
    deskline("backup", str(backup), home=tmp_path)
    assert mode(backup) == 0o600
    export = tmp_path / "mail.mbox"
    deskline("export", "-o", str(export), home=tmp_path)
    assert mode(export) == 0o600


def test_s9_an_open_desk_warns_in_one_line_and_init_fix_permissions_closes_it(
    tmp_path: Path,
) -> None:
    deskline("init", home=tmp_path)
    data_dir = tmp_path / "data" / "deskline"
    database = data_dir / "deskline.db"
    os.chmod(data_dir, 0o755)
    os.chmod(database, 0o644)  # as a desk made by an older Deskline under umask 022
    listed = deskline("tickets", home=tmp_path)
    warnings = [line for line in listed.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"deskline: warning: {data_dir} can be read by other accounts on this machine (every "
        "email of the desk): run `deskline init --fix-permissions`"
    ]
    plain = deskline("init", home=tmp_path)
    assert plain.stderr.count("--fix-permissions") == 1
    assert (mode(data_dir), mode(database)) == (0o755, 0o644)  # only said, not changed
    fixed = deskline("init", "--fix-permissions", home=tmp_path)
    assert f"made {data_dir} 0700" in fixed.stdout and f"made {database} 0600" in fixed.stdout
    assert (mode(data_dir), mode(database)) == (0o700, 0o600)
    again = deskline("tickets", home=tmp_path)
    assert "warning" not in again.stderr
    assert "nothing to fix" in deskline("init", "--fix-permissions", home=tmp_path).stdout


def test_s9_a_desk_elsewhere_is_checked_by_its_files_only(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)  # a folder of the user's, open to others
    database = shared / "desk.db"
    deskline("init", home=tmp_path, db=database)
    assert mode(database) == 0o600 and mode(shared) == 0o755  # a folder we did not make
    os.chmod(database, 0o640)
    warned = deskline("tickets", home=tmp_path, db=database)
    assert f"{database} can be read by other accounts" in warned.stderr
    deskline("init", "--fix-permissions", home=tmp_path, db=database)
    assert mode(database) == 0o600 and mode(shared) == 0o755
