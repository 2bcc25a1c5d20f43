"""Fold quoted history out of a reply (rules.md H) and sanitise untrusted text (SPEC §7).

The split uses mail-parser-reply (``EmailReplyParser(languages=...).read(text)`` returns an
``EmailMessage`` whose ``replies`` list starts with the newest reply and gives each older
one with the quote header that introduced it), then maps that header back onto the original
lines so the visible text keeps its indentation. A trailing block of ``>`` lines is the
fallback, and the library is given at most the first 100,000 characters.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

from mail.classify import FORWARD_MARKER as _FORWARD_MARKER
from mail.textsafe import sanitize_line, sanitize_text

__all__ = ["REPLY_ABOVE_MARKER", "sanitize_line", "sanitize_text", "split_quoted"]

REPLY_ABOVE_MARKER = "-- Reply above this line --"
_MARKER = re.compile(
    r"^[> \t]*-{2,}[ \t]*(?:please[ \t]+)?reply above this line[ \t]*-{2,}[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_INTRO = re.compile(
    r"(?:wrote|schrieb|écrit|escribió|scritto|schreef|napisał|skrev|napsal)[^\n]*:\s*$",
    re.IGNORECASE,
)
_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pl", "sv", "da", "cs")
_MAX_SCAN = 100_000  # chars given to the regex-heavy library (rules.md #38, #40)
_PARSER = EmailReplyParser(languages=list(_LANGUAGES))


def split_quoted(text: str) -> tuple[str, str]:
    """(visible new text, quoted history); a message that is all quote stays visible."""
    clean = sanitize_text(text)
    cut = _cut_at_marker(clean)
    if cut is None:
        cut = _cut_with_library(clean)
    cut = _earlier_quote_block(clean, cut)
    if cut is None:
        return clean.strip("\n"), ""
    visible = clean[:cut].strip("\n").rstrip()
    if not visible.strip() or _ends_with_forward_marker(visible):
        return clean.strip("\n"), ""
    return visible, clean[cut:].strip("\n")


def _ends_with_forward_marker(visible: str) -> bool:
    """rules.md #33: forwarded content is the message, not a quote to fold."""
    last = visible.rsplit("\n", 1)[-1]
    return bool(_FORWARD_MARKER.search(last))


def _cut_at_marker(text: str) -> int | None:
    """rules.md #37: our own "reply above this line" separator wins."""
    match = _MARKER.search(text)
    return match.start() if match else None


def _cut_with_library(text: str) -> int | None:
    head = text[:_MAX_SCAN]
    try:
        message = _PARSER.read(head)
    except Exception:  # a third-party regex engine failure must not hide the message
        return None
    replies = message.replies
    if not replies:
        return None
    if replies[0].headers:
        return 0
    if len(replies) < 2 or not replies[1].headers:
        return None
    return _locate_header(head, message.text, replies[1].headers)


def _locate_header(original: str, normalized: str, header: str) -> int | None:
    """Offset in ``original`` of the line where the library's quote header starts."""
    first = next((line.strip() for line in header.split("\n") if line.strip()), "")
    if not first:
        return None
    hint = normalized.count("\n", 0, max(normalized.find(first), 0))
    lines = original.split("\n")
    matches = [i for i, line in enumerate(lines) if line.strip() == first]
    if not matches:
        return None
    index = min(matches, key=lambda i: abs(i - hint))
    return sum(len(line) + 1 for line in lines[:index])


def _earlier_quote_block(text: str, cut: int | None) -> int | None:
    """A trailing ``>`` block that starts before the cut (or alone) moves the cut up."""
    block = _cut_at_quote_block(text if cut is None else text[:cut])
    if block is None:
        return cut
    return block if cut is None or block > 0 else cut


def _cut_at_quote_block(text: str) -> int | None:
    """Start of a trailing block of ``>`` lines (blank lines allowed), with its intro line."""
    lines = text.split("\n")
    start = None
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            start = index
        elif stripped:
            break
    if start is None:
        return None
    if start > 0 and _INTRO.search(lines[start - 1]):
        start -= 1
    return sum(len(line) + 1 for line in lines[:start])
