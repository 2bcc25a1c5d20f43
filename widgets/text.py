"""Untrusted text made safe to draw (SPEC §7): no control sequences, never parsed as markup."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.content import Content

from mail.textsafe import sanitize_line, sanitize_text


def line(value: object) -> str:
    """One line of mail-derived text (subject, name, address) for a Segment or Content."""
    return sanitize_line("" if value is None else str(value))


def block(value: object) -> str:
    """A body: control characters gone, tabs as spaces, line breaks kept."""
    return sanitize_text("" if value is None else str(value)).expandtabs(4)


def plain(value: object) -> Content:
    """Content never parses markup: `[bold]` and `[@click=...]` show as typed."""
    return Content(line(value))


def clock() -> datetime:
    """Now; snapshot tests replace it to freeze relative dates."""
    return datetime.now(UTC)


def age(when: datetime | None, now: datetime | None = None) -> str:
    """5m, 3h, 2d, 4w: how long ago, in at most three cells."""
    if when is None:
        return ""
    now = now or clock()
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{min(seconds // size, 99)}{unit}"
    return "now"


def stamp(when: datetime | None) -> str:
    """A local date and time for headers: 2026-11-25 14:03."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M")
