"""Files Deskline writes for the user (attachments) and the desktop's opener (SPEC D14, S9).

A file is created, never followed: O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600, so neither a file
that is already there nor a symlink planted at the name is written through. In a directory a
taken name becomes `name (1).ext`, `name (2).ext`…; an explicit path that exists is replaced
only when the caller says so, by a new file renamed over it (a symlink there is replaced, its
target untouched). Deskline never runs what it saves: an opener is a program the user chose
($OPENER) or the desktop's own, given the file's path.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from mail.filenames import split_extension

FILE_MODE = 0o600
DIR_MODE = 0o700
MAX_CLASH_NUMBER = 9999
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class FileRefused(Exception):
    """The file cannot be written as asked; the message is one line for the user."""


class FileExists(FileRefused):
    """An explicit path that is already there, and no permission to replace it."""


def create_private(path: Path) -> int:
    """A new file at `path` (0600), never over an existing one nor through a symlink: its open
    descriptor, for the caller to write and close."""
    return os.open(path, _CREATE, FILE_MODE)


# Set in an SSH session's process (SPEC S3): no file of the server is written or opened there.
_SERVER_FILES_REFUSED: str | None = None


def refuse_server_files(reason: str) -> None:
    """From now on this process writes and opens no file for the user: `reason` says why."""
    global _SERVER_FILES_REFUSED
    _SERVER_FILES_REFUSED = reason


def server_files_refused() -> bool:
    """This process is an SSH session's (S3): it reads, writes and opens no file of the server."""
    return _SERVER_FILES_REFUSED is not None


def _check_server_files() -> None:
    if _SERVER_FILES_REFUSED is not None:
        raise FileRefused(_SERVER_FILES_REFUSED)


def downloads_dir() -> Path:
    """The user's downloads directory (platformdirs: $XDG_DOWNLOAD_DIR, else ~/Downloads)."""
    from platformdirs import user_downloads_dir

    return Path(user_downloads_dir())


def save_in(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` to a new file `name` in `directory` (made 0700 if missing); a name that is
    taken becomes `name (1).ext`, `name (2).ext`… `name` must be one path component."""
    _check_server_files()
    _one_component(name)
    try:
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise FileRefused(f"cannot use the directory {directory}: {_reason(exc)}") from exc
    try:
        for candidate in _candidates(name):
            try:
                fd = os.open(candidate, _CREATE, FILE_MODE, dir_fd=dir_fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise FileRefused(f"cannot write {directory / candidate}: {_reason(exc)}") from exc
            _write_all(fd, data, _remover(candidate, dir_fd))
            return directory / candidate
    finally:
        os.close(dir_fd)
    raise FileRefused(f"every name like {name} is taken in {directory}")


def save_at(path: Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write `data` to exactly `path`. A path that exists (a symlink too) is an error unless
    `overwrite`, and then a new file takes its place: the old one, or a symlink's target, is
    never written through."""
    _check_server_files()
    try:
        fd = os.open(path, _CREATE, FILE_MODE)
    except FileExistsError as exc:
        if not overwrite:
            raise FileExists(f"{path} exists (--overwrite replaces it)") from exc
        return _replace(path, data)
    except IsADirectoryError as exc:
        raise FileRefused(f"{path} is a directory") from exc
    except OSError as exc:
        raise FileRefused(f"cannot write {path}: {_reason(exc)}") from exc
    _write_all(fd, data, lambda: path.unlink())
    return path


def _replace(path: Path, data: bytes) -> Path:
    if path.is_dir() and not path.is_symlink():
        raise FileRefused(f"{path} is a directory")
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".deskline-", suffix=".part")
    except OSError as exc:
        raise FileRefused(f"cannot write in {path.parent}: {_reason(exc)}") from exc
    _write_all(fd, data, lambda: os.unlink(temporary))
    try:
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise FileRefused(f"cannot replace {path}: {_reason(exc)}") from exc
    return path


def _remover(name: str, dir_fd: int) -> Callable[[], None]:
    return lambda: os.unlink(name, dir_fd=dir_fd)


def _write_all(fd: int, data: bytes, undo: Callable[[], None]) -> None:
    """Write every byte and close; on failure remove the half-written file."""
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600 whatever the umask (S9)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            undo()
        raise FileRefused(f"cannot write the file: {_reason(exc)}") from exc
    os.close(fd)


def _candidates(name: str) -> list[str]:
    stem, ext = split_extension(name)
    return [name] + [f"{stem} ({n}){ext}" for n in range(1, MAX_CLASH_NUMBER + 1)]


def _one_component(name: str) -> None:
    if not name or "/" in name or "\x00" in name or name in {".", ".."}:
        raise FileRefused(f"not a file name: {name!r}")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# --- opening ---------------------------------------------------------------------------------


def has_display() -> bool:
    """A desktop to open files on: macOS, or an X11 or Wayland display."""
    if sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def opener_command(path: Path) -> list[str] | None:
    """How the desktop opens `path`: $OPENER, else `open` (macOS) or `xdg-open`; None without a
    display or an opener (or in an SSH session)."""
    if not has_display() or _SERVER_FILES_REFUSED is not None:
        return None
    chosen = os.environ.get("OPENER", "").strip()
    if chosen:
        return [*shlex.split(chosen), str(path)]
    program = "open" if sys.platform == "darwin" else "xdg-open"
    found = shutil.which(program)
    return [found, str(path)] if found else None


def launch_opener(command: list[str]) -> None:
    """Start the opener on its own, detached from the terminal: the app does not wait for it."""
    _check_server_files()
    try:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        raise FileRefused(f"cannot start {command[0]}: {_reason(exc)}") from exc


# --- the desk's own files (SPEC S9) -------------------------------------------------------------

PRIVATE_UMASK = 0o077
DESK_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def data_dir() -> Path:
    """Deskline's data directory (platformdirs): the default desk and the host key live here."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("deskline"))


def private_umask() -> None:
    """Every file and directory this process makes is its account's alone (S9)."""
    os.umask(PRIVATE_UMASK)


def desk_files(database: Path) -> list[Path]:
    """The SQLite file and its companions that exist (-wal, -shm, -journal)."""
    found = [database.with_name(database.name + suffix) for suffix in DESK_FILE_SUFFIXES]
    return [path for path in found if path.exists()]


def open_to_others(database: Path, data_dir: Path | None = None) -> list[Path]:
    """The desk's files (and the data directory, when the desk is in it) that an account other
    than the owner may read or enter: group or others have a permission bit."""
    loose = [path for path in desk_files(database) if path.stat().st_mode & 0o077]
    mine = data_dir is not None and database.parent == data_dir and data_dir.is_dir()
    if mine and data_dir is not None and data_dir.stat().st_mode & 0o077:
        loose.insert(0, data_dir)
    return loose


def open_warning(database: Path, data_dir: Path | None = None) -> str | None:
    """One line when the desk is open to other accounts, with the command that closes it."""
    try:
        loose = open_to_others(database, data_dir)
    except OSError:
        return None
    if not loose:
        return None
    return (
        f"{loose[0]} can be read by other accounts on this machine (every email of the desk): "
        "run `deskline init --fix-permissions`"
    )


def close_to_others(database: Path, data_dir: Path | None = None) -> list[Path]:
    """Make the desk's files 0600 (and its data directory 0700); returns what changed."""
    changed = []
    for path in open_to_others(database, data_dir):
        os.chmod(path, DIR_MODE if path.is_dir() else FILE_MODE, follow_symlinks=False)
        changed.append(path)
    return changed
