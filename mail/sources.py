"""Read raw messages from .eml files, Maildir folders and mbox files (SPEC §6, B6).

Sources are opened lazily: `scan` yields one `RawItem` per message with its Date for ordering
(SPEC E1: one import processes messages in Date order, ties in file order) and a loader that reads
the bytes when the message's turn comes, so a large mbox is never held in memory whole.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from pathlib import Path

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SourceError(Exception):
    """A path that cannot be read as mail; the message names it."""


@dataclass(frozen=True)
class RawItem:
    label: str  # "path" or "path#key" for the summary and failure reports
    date: datetime
    order: int
    load: Callable[[], bytes]


def header_date(raw_head: bytes) -> datetime:
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw_head)
        value = headers.get("Date")
        parsed = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return EPOCH
    if parsed is None:
        return EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _head(raw: bytes) -> bytes:
    end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 1]


def is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def scan(paths: list[Path]) -> Iterator[RawItem]:
    """Every message under the given paths, unsorted; raises SourceError for a bad path."""
    order = 0
    for path in paths:
        for label, load in _messages(path):
            try:
                date = header_date(_head(load()[:65536]))
            except OSError as exc:
                raise SourceError(f"{label}: {exc.strerror or exc}") from exc
            yield RawItem(label, date, order, load)
            order += 1


def _messages(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if is_maildir(path):
        yield from _maildir(path)
    elif path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_file() and not child.name.startswith("."):
                yield from _messages(child)
            elif is_maildir(child):
                yield from _maildir(child)
    elif is_mbox(path):
        yield from _mbox(path)
    else:
        yield str(path), path.read_bytes


def _maildir(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        yield f"{path}#{key}", _loader(box, key)


def _mbox(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    box = mailbox.mbox(path, factory=None, create=False)
    for key in box.iterkeys():
        yield f"{path}#{key}", _loader(box, key)


def _loader(box: mailbox.Mailbox, key: str) -> Callable[[], bytes]:
    return lambda: box.get_bytes(key)


def ordered(items: list[RawItem]) -> list[RawItem]:
    """SPEC E1: Date order, ties (and undated mail) in file order."""
    return sorted(items, key=lambda item: (item.date, item.order))
