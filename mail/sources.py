"""Read raw messages from .eml files, Maildir folders and mbox files (SPEC §6, B6).

Sources are opened lazily: `scan` yields one `RawItem` per message with its Date for ordering
(SPEC E1: one import processes messages in Date order, ties in file order), its size, and a loader
that reads the bytes when the message's turn comes, so a large mbox is never held in memory whole;
`Inventory` keeps the same for a whole import in a few dozen bytes a message. An mbox is read in
one pass over its lines, the standard library's rule for where a message starts and ends.
Only the head of a message is read to find its Date. A path must be a regular file or a folder: a
device or FIFO (`/dev/zero`) is refused before a byte is read (D11), and a message over the size
limit (`max_message_mb`) is refused by its size without being loaded (`too_large`).
"""

from __future__ import annotations

import mailbox
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO, NamedTuple

from mail.mailbox_out import unquote_mboxrd

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HEAD_BYTES = 65536  # enough of a message to find its Date
MAX_MESSAGE_SETTING = "max_message_mb"
MAX_MESSAGE_MB = 50  # the setting's default (D11)
MB = 1_000_000


class SourceError(Exception):
    """A path that cannot be read as mail; the message names it."""


@dataclass(frozen=True)
class RawItem:
    label: str  # "path" or "path#key" for the summary and failure reports
    date: datetime
    order: int
    load: Callable[[], bytes]
    size: int | None = None  # bytes, when known before loading


class Fetched(NamedTuple):
    """One message of an IMAP fetch (`mail.imap.Mailbox.fetch_after`): its raw bytes, or None
    when it is over the size limit and was not downloaded; `size` in bytes either way (the
    server's RFC822.SIZE)."""

    uid: int
    raw: bytes | None
    size: int


@dataclass(frozen=True)
class _Found:
    label: str
    size: int
    head: bytes  # the first HEAD_BYTES, for the Date
    load: Callable[[], bytes]


def max_message_bytes(megabytes: float | None) -> int:
    """The setting `max_message_mb` in bytes (its default when unset)."""
    return int(float(MAX_MESSAGE_MB if megabytes is None else megabytes) * MB)


def too_large(size: int | None, max_bytes: int) -> str | None:
    """Why a message of `size` bytes is refused (None: it is not over the limit)."""
    if size is None or size <= max_bytes:
        return None
    return (
        f"too large: {size / MB:.1f} MB ({size} bytes), over the {max_bytes / MB:g} MB limit "
        f"(setting {MAX_MESSAGE_SETTING}); not stored"
    )


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
        try:
            for found in _messages(path):
                date = header_date(_head(found.head))
                yield RawItem(found.label, date, order, found.load, found.size)
                order += 1
        except OSError as exc:
            raise SourceError(f"{exc.filename or path}: {exc.strerror or exc}") from exc


class Inventory:
    """The messages under some paths, kept small until their turn (issue 16: an import's
    memory stays flat in its size): per message its Date and, for an mbox, where its bytes
    are, in arrays of a few dozen bytes a message, where a `RawItem` with its label and loader
    is about a kilobyte. `in_date_order` gives SPEC E1's order (ties in file order) and
    `items` makes the RawItems of one batch. Raises SourceError for a bad path, as `scan`."""

    def __init__(self, paths: list[Path]) -> None:
        self._dates = array("d")  # POSIX seconds
        self._sizes = array("q")
        self._box = array("l")  # the mbox's index in _mboxes; -1: an item kept whole
        self._key = array("q")  # its number in the mbox (the label's "#key")
        self._body = array("q")
        self._stop = array("q")
        self._mboxes: list[Path] = []
        self._kept: dict[int, RawItem] = {}  # .eml files and Maildir messages, as scanned
        for path in paths:
            try:
                self._add(path)
            except OSError as exc:
                raise SourceError(f"{exc.filename or path}: {exc.strerror or exc}") from exc

    def _add(self, path: Path) -> None:
        keys: dict[Path, int] = {}
        for found in _messages(path):
            date = header_date(_head(found.head))
            n = len(self._dates)
            self._dates.append(date.timestamp())
            self._sizes.append(found.size)
            if isinstance(found.load, MboxSpan):
                span = found.load
                if span.path not in keys:
                    keys[span.path] = 0
                    self._mboxes.append(span.path)
                self._box.append(len(self._mboxes) - 1)
                self._key.append(keys[span.path])
                keys[span.path] += 1
                self._body.append(span.body)
                self._stop.append(span.stop)
                continue
            self._kept[n] = RawItem(found.label, date, n, found.load, found.size)
            for column in (self._box, self._key, self._body, self._stop):
                column.append(-1)

    def __len__(self) -> int:
        return len(self._dates)

    def in_date_order(self) -> list[int]:
        """SPEC E1: Date order, ties (and undated mail) in file order (a stable sort)."""
        return sorted(range(len(self._dates)), key=self._dates.__getitem__)

    def items(self, numbers: Sequence[int]) -> list[RawItem]:
        return [self._item(n) for n in numbers]

    def _item(self, n: int) -> RawItem:
        if (kept := self._kept.get(n)) is not None:
            return kept
        path = self._mboxes[self._box[n]]
        return RawItem(
            f"{path}#{self._key[n]}",
            datetime.fromtimestamp(self._dates[n], UTC),
            n,
            MboxSpan(path, self._body[n], self._stop[n]),
            self._sizes[n],
        )


def holds_mail(path: Path) -> bool:
    """Is there at least one message at `path`? Stops at the first one (D8); an empty file
    holds none. Raises SourceError for a path that is missing or not a file or folder."""
    _check_path(path)
    if is_maildir(path):
        box = mailbox.Maildir(path, factory=None, create=False)
        return next(iter(box.iterkeys()), None) is not None
    if path.is_dir():
        return any(holds_mail(child) for child in _children(path))
    return path.stat().st_size > 0


def _check_path(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if not (path.is_file() or path.is_dir()):
        raise SourceError(
            f"{path}: not a regular file (a device, FIFO or socket): "
            "give .eml files, Maildir folders, mbox files or folders of them"
        )


def _messages(path: Path) -> Iterator[_Found]:
    _check_path(path)
    if is_maildir(path):
        yield from _maildir(path)
    elif path.is_dir():
        for child in _children(path):
            yield from _messages(child)
    elif is_mbox(path):
        yield from _mbox(path)
    else:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            size = handle.seek(0, 2)
        yield _Found(str(path), size, head, path.read_bytes)


def _children(folder: Path) -> list[Path]:
    """What a plain folder holds for import: its visible files and its Maildir folders."""
    return [
        child
        for child in sorted(folder.iterdir())
        if (child.is_file() and not child.name.startswith(".")) or is_maildir(child)
    ]


def _maildir(path: Path) -> Iterator[_Found]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        yield _in_box(box, key, f"{path}#{key}")


def _mbox(path: Path) -> Iterator[_Found]:
    """An mbox is read as mboxrd: a '>From ' line loses one '>' (what quoting added)."""
    for key, (body, stop, head) in enumerate(_mbox_spans(path)):
        yield _Found(f"{path}#{key}", stop - body, head, MboxSpan(path, body, stop))


def _mbox_spans(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """Each message of an mbox as (where its bytes start after the 'From ' line, where they
    end, its head up to HEAD_BYTES), in one pass that keeps nothing of the file: the standard
    library's rule (mailbox.mbox), whose table of every message's place this is not: a 'From '
    line at the start of a line starts a message, and the blank line before it is not the last
    message's."""
    with path.open("rb") as handle:
        body, held = -1, 0
        head: list[bytes] = []
        in_head = last_was_empty = False
        while True:
            position = handle.tell()
            line = handle.readline()
            if line.startswith(b"From ") or not line:
                if body >= 0:
                    yield body, position - 1 if last_was_empty else position, b"".join(head)
                if not line:
                    return
                body, head, held = position + len(line), [], 0
                in_head, last_was_empty = True, False
                continue
            last_was_empty = line == b"\n"
            if in_head and (last_was_empty or held >= HEAD_BYTES):
                in_head = False  # the header lines are all a Date needs
            elif in_head:
                head.append(line)
                held += len(line)


@dataclass(frozen=True, slots=True)
class MboxSpan:
    """Loads one message of an mbox (mboxrd: a '>From ' line loses one '>', what quoting
    added) from where `_mbox_spans` found it."""

    path: Path
    body: int
    stop: int

    def __call__(self) -> bytes:
        with self.path.open("rb") as handle:
            handle.seek(self.body)
            return unquote_mboxrd(handle.read(self.stop - self.body))


def _in_box(box: mailbox.Mailbox, key: str, label: str) -> _Found:
    """A message of a Maildir or mbox: its head and size, without reading it whole."""
    handle: BinaryIO = box.get_file(key)  # type: ignore[assignment]
    try:
        head = handle.read(HEAD_BYTES)
        handle.seek(0, 2)
        size = handle.tell()
    finally:
        handle.close()
    return _Found(label, size, head, lambda: box.get_bytes(key))
