"""Write raw messages out as mbox (mboxrd), one .eml file each, or a Maildir (SPEC B6.1).

Every file is created private (0600, directories 0700) and never over an existing path: the
target must not exist. Bytes are written as stored; mboxrd quotes a line that starts with any
number of '>' then "From " by one more '>', which `mail.sources` removes again when it reads an
mbox, so an export imports back byte for byte.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FORMATS = ("mbox", "eml", "maildir")
_FROM_LINE = re.compile(rb"(?m)^(>*From )")
_QUOTED_FROM = re.compile(rb"(?m)^>(>*From )")


class ExportError(ValueError):
    """The export cannot be written where asked; the message says why, in one line."""


@dataclass(frozen=True)
class OutMessage:
    raw: bytes
    sender: str  # the envelope sender for the mbox From_ line
    at: datetime  # when it was sent or received
    name: str  # a stable file name stem: its number in the export and the message's id


def quote_mboxrd(raw: bytes) -> bytes:
    return _FROM_LINE.sub(rb">\1", raw)


def unquote_mboxrd(raw: bytes) -> bytes:
    return _QUOTED_FROM.sub(rb"\1", raw)


def write(messages: Iterable[OutMessage], target: Path, fmt: str) -> int:
    """Write the messages to `target` (which must not exist) in `fmt`; returns how many."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    if target.exists() or target.is_symlink():
        raise ExportError(f"{target} exists: give a path that does not, nothing is overwritten")
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent} is not a directory")
    if fmt == "mbox":
        return _mbox(messages, target)
    os.mkdir(target, 0o700)
    if fmt == "eml":
        return _files(messages, target, lambda m: f"{m.name}.eml")
    for sub in ("cur", "new", "tmp"):
        os.mkdir(target / sub, 0o700)
    host = socket.gethostname().replace("/", "_").replace(":", "_") or "deskline"
    return _files(
        messages, target / "cur", lambda m: f"{int(m.at.timestamp())}.{m.name}.{host}:2,S"
    )


def _private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)


def _mbox(messages: Iterable[OutMessage], target: Path) -> int:
    count = 0
    with os.fdopen(_private(target), "wb") as out:
        for message in messages:
            stamp = time.strftime("%a %b %d %H:%M:%S %Y", message.at.astimezone(UTC).timetuple())
            sender = re.sub(r"\s", "", message.sender) or "MAILER-DAEMON"
            out.write(f"From {sender} {stamp}\n".encode("ascii", "replace"))
            body = quote_mboxrd(message.raw)
            out.write(body if body.endswith(b"\n") else body + b"\n")
            out.write(b"\n")
            count += 1
    return count


def _files(
    messages: Iterable[OutMessage], folder: Path, name_of: Callable[[OutMessage], str]
) -> int:
    count = 0
    for message in messages:
        name = name_of(message)
        with os.fdopen(_private(folder / name), "wb") as out:
            out.write(message.raw)
        count += 1
    return count
