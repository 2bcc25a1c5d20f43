"""Make untrusted text safe to show in a terminal (SPEC §7)."""

from __future__ import annotations

import re

# CSI (7- and 8-bit), OSC strings (ended by BEL or ST), then any other two-byte ESC sequence.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize_text(s: str) -> str:
    """Drop ANSI sequences, C0/C1 controls (but \\n, \\t) and bidi overrides; CRLF -> LF."""
    text = s.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub("", _ANSI.sub("", text))


def sanitize_line(s: str) -> str:
    """sanitize_text for one-line fields: any run of whitespace becomes one space."""
    return " ".join(sanitize_text(s).split())
