"""Signatures (SPEC D18): one per rep on a channel, per rep, or per channel; the most specific
wins. A signature is Jinja with the snippets' variables and check (D10), rendered outside any
transaction by the caller. It goes on a rep's replies and forwards after the text, before quoted
text, after a `-- ` line; automated mail never carries one (only a rep's sending adds it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from automation.admin.common import SettingsError, require_admin
from automation.snippets import problems
from mail.classify import FORWARD_MARKER

SEPARATOR = "-- "  # the signature delimiter mail clients know (RFC 3676 §4.3)

_INTRO = re.compile(r"^.{0,300}\b(?:wrote|schrieb|écrit|escribió|scritto|schreef)\s*:\s*$")


class SignatureLike(Protocol):
    user_id: int | None
    channel_id: int | None
    body: str


class SignatureRepository(Protocol):
    def signatures_of(
        self, user_id: int | None, channel_id: int | None
    ) -> Sequence[SignatureLike]: ...
    def signature_row(self, user_id: int | None, channel_id: int | None) -> Any: ...
    def save_signature(self, user_id: int | None, channel_id: int | None, body: str) -> None: ...
    def delete_signature(self, user_id: int | None, channel_id: int | None) -> bool: ...


def for_reply(repo: SignatureRepository, user_id: int, channel_id: int | None) -> str | None:
    """D18: the rep's signature on this channel, else the rep's, else the channel's, else none."""
    rows = repo.signatures_of(user_id, channel_id)

    def rank(row: SignatureLike) -> int:
        return (2 if row.user_id is not None else 0) + (1 if row.channel_id is not None else 0)

    ranked = sorted(rows, key=rank, reverse=True)
    return ranked[0].body if ranked else None


def place(text: str, signature: str | None) -> str:
    """D18: the text, a `-- ` line and the signature, then the quoted text the reply carries
    (a forwarded message, or an "… wrote:" and its `>` lines) if any."""
    if not signature or not signature.strip():
        return text
    lines = text.rstrip("\n").split("\n")
    cut = _quote_start(lines)
    own, quoted = "\n".join(lines[:cut]).rstrip(), "\n".join(lines[cut:])
    signed = (
        f"{own}\n\n{SEPARATOR}\n{signature.strip(chr(10))}"
        if own
        else (f"{SEPARATOR}\n{signature.strip(chr(10))}")
    )
    return f"{signed}\n\n{quoted}" if quoted else signed


def _quote_start(lines: list[str]) -> int:
    """Where the quoted tail of a reply starts (len(lines): none)."""
    for index, line in enumerate(lines):
        if FORWARD_MARKER.match(line):
            return index
    end = len(lines)
    while end > 0 and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if end == len(lines) or not any(line.startswith(">") for line in lines[end:]):
        return len(lines)
    if end > 0 and _INTRO.match(lines[end - 1].strip()):
        return end - 1
    return end


def _who(user: Any, for_user: Any | None) -> int | None:
    """Whose signature a change is about: one's own, or (admins) another rep's."""
    if for_user is None or for_user.id == user.id:
        return int(user.id)
    require_admin(user)
    return int(for_user.id)


def save(
    repo: SignatureRepository,
    user: Any,
    body: str,
    *,
    for_user: Any | None = None,
    channel: Any | None = None,
    channel_wide: bool = False,
) -> None:
    """Set a signature: the rep's own (on a channel or everywhere); a channel's for everyone and
    other reps' are admins' (`channel_wide`: no rep)."""
    if not body.strip():
        raise SettingsError("a signature needs a text")
    found = problems(body)
    if found:
        raise SettingsError("signature not saved: " + "; ".join(found))
    user_id = None if channel_wide else _who(user, for_user)
    if user_id is None:
        require_admin(user)
        if channel is None:
            raise SettingsError("a signature for everyone is set per channel (--channel)")
    repo.save_signature(user_id, channel.id if channel is not None else None, body)


def delete(
    repo: SignatureRepository,
    user: Any,
    *,
    for_user: Any | None = None,
    channel: Any | None = None,
    channel_wide: bool = False,
) -> None:
    user_id = None if channel_wide else _who(user, for_user)
    if user_id is None:
        require_admin(user)
    if not repo.delete_signature(user_id, channel.id if channel is not None else None):
        raise SettingsError("no such signature")


def shown(
    repo: SignatureRepository,
    user: Any,
    *,
    for_user: Any | None = None,
    channel: Any | None = None,
    channel_wide: bool = False,
) -> str | None:
    """The signature set for exactly this rep (or every rep) and channel (none: not set)."""
    user_id = None if channel_wide else _who(user, for_user)
    row = repo.signature_row(user_id, channel.id if channel is not None else None)
    return row.body if row is not None else None
