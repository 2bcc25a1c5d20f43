"""Value types shared by the mail package (re-exported by :mod:`mail.parse`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """One mailbox: ``addr`` is lowercased and single-line ("" if unparseable)."""

    addr: str
    name: str


@dataclass(frozen=True)
class Attachment:
    """A non-body MIME leaf; ``filename`` carries no path separators or control chars."""

    filename: str
    content_type: str
    data: bytes
    inline: bool


@dataclass(frozen=True)
class Automation:
    """Why a message counts as automated (rules.md A, SPEC §7)."""

    kind: str
    reason: str


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery report says about the message that bounced (rules.md E28-E30)."""

    original_message_id: str | None
    recipients: tuple[tuple[str, str, str], ...]
    permanent: bool
