"""Files a rep attaches to an email (SPEC D15): read whole, exactly, from a regular file, with a
content type guessed from the name. Anything else (missing, a directory, a device, a pipe, a
socket, unreadable) is refused with one line that names the file."""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path

from mail.compose import OutgoingAttachment, attachment_name

MAX_SEND_BYTES = 20_000_000  # D15: the encoded message, attachments included
MAX_SEND_SETTING = "max_send_bytes"


class AttachError(ValueError):
    """A file that cannot be attached; the message names it and says why."""


def guess_type(filename: str) -> str:
    kind, encoding = mimetypes.guess_type(filename, strict=False)
    if kind is None or encoding is not None:  # .tar.gz is a gzip file, not a tar
        return "application/gzip" if encoding == "gzip" else "application/octet-stream"
    return kind


def read_attachment(
    path: str | os.PathLike[str], *, limit: int = MAX_SEND_BYTES
) -> OutgoingAttachment:
    """The file's bytes as an attachment. Opened without following it into a FIFO's wait
    (O_NONBLOCK) and checked to be a regular file on the open descriptor, so a name swapped
    between the check and the read changes nothing."""
    shown = os.fspath(path)
    if not shown:
        raise AttachError("no file named")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(shown, flags)
    except FileNotFoundError as exc:
        raise AttachError(f"{shown}: no such file") from exc
    except IsADirectoryError as exc:
        raise AttachError(f"{shown}: is a directory, not a file") from exc
    except PermissionError as exc:
        raise AttachError(f"{shown}: permission denied") from exc
    except OSError as exc:
        raise AttachError(f"{shown}: cannot open: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise AttachError(f"{shown}: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise AttachError(f"{shown}: not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise AttachError(
                f"{shown}: {info.st_size:,} bytes, over the {limit:,}-byte limit of an email"
            )
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    except OSError as exc:
        raise AttachError(f"{shown}: cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    name = attachment_name(Path(shown).name)
    return OutgoingAttachment(name, guess_type(name), b"".join(chunks))
