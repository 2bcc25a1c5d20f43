"""The attachments of one message as the CLI and the app show them (SPEC D13): numbered from 1
in the order they were stored, which is the message's depth-first MIME order (mail.parse), each
with a safe file name (mail.filenames) and the sha256 of its bytes."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mail.filenames import is_program, safe_filename
from storage import models as m


def find_message(session: Session, reference: str) -> m.Message | None:
    """A message by its number (the id `ticket show` and the reading pane give), or by its
    Message-ID header (`<…>`)."""
    text = reference.strip()
    if text.isdigit():
        return session.get(m.Message, int(text))
    if text.startswith("<") and text.endswith(">"):
        return session.scalars(
            select(m.Message).where(m.Message.message_id == text).order_by(m.Message.id).limit(1)
        ).first()
    return None


def message_attachments(session: Session, reference: str) -> dict[str, Any] | None:
    """The message and its attachments (without their bytes); None when there is no such
    message."""
    message = find_message(session, reference)
    if message is None:
        return None
    return {
        "message": message.id,
        "subject": message.subject,
        "from": message.from_addr,
        "attachments": [
            attachment_row(number, a) for number, a in enumerate(_stored(session, message), 1)
        ],
    }


def attachment_files(
    session: Session, message_id: int, numbers: list[int] | None = None
) -> list[tuple[dict[str, Any], bytes]]:
    """The rows and bytes of a message's attachments `numbers` (all when None), in order."""
    message = session.get(m.Message, message_id)
    if message is None:
        return []
    found = []
    for number, a in enumerate(_stored(session, message), 1):
        if numbers is None or number in numbers:
            found.append((attachment_row(number, a), bytes(a.data)))
    return found


def attachment_row(number: int, attachment: m.Attachment) -> dict[str, Any]:
    """One attachment; `program` says an opener would run it (it is saved, never opened)."""
    data = bytes(attachment.data)
    name = safe_filename(attachment.filename, number, attachment.content_type)
    return {
        "number": number,
        "name": name,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": len(data),
        "inline": attachment.inline,
        "sha256": hashlib.sha256(data).hexdigest(),
        "program": is_program(name, attachment.content_type, data[:64])
        or is_program(attachment.filename, attachment.content_type, b""),
    }


def _stored(session: Session, message: m.Message) -> list[m.Attachment]:
    return list(
        session.scalars(
            select(m.Attachment)
            .where(m.Attachment.message_row_id == message.id)
            .order_by(m.Attachment.id)
        )
    )
