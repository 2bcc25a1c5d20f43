"""A Markdown reply's text/html alternative (issue 12; SPEC D18: opt-in, raw HTML off).

The rep's Markdown is rendered by markdown-it-py's CommonMark preset with raw HTML off: a
`<script>` typed in the text is shown as text. Links keep markdown-it's own check, which refuses
`javascript:`, `vbscript:`, `file:` and `data:` (but some images) URLs, and open with no referrer.
What follows the signature line (`-- `: the signature and any quoted text) is plain text, escaped,
its line breaks kept. The text/plain part is what the rep wrote, unchanged.
"""

from __future__ import annotations

import html
import secrets
from email import quoprimime
from typing import Any

from markdown_it import MarkdownIt

SIGNATURE_LINE = "-- "

_md = MarkdownIt("commonmark", {"html": False})


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> Any:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    return self.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _link_open)


def to_html(text: str) -> str:
    """The HTML document of a Markdown reply."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = lines.index(SIGNATURE_LINE) if SIGNATURE_LINE in lines else len(lines)
    body = _md.render("\n".join(lines[:cut]))
    tail = lines[cut:]
    if tail:
        escaped = "<br>\n".join(html.escape(line) for line in tail)
        body += f'<p class="signature">{escaped}</p>\n'
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f"<body>\n{body}</body></html>\n"
    )


def _quoted_printable(text: str) -> str:
    # quoprimime works on one character per byte: hand it the UTF-8 bytes as latin-1 text
    return quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), maxlinelen=76, eol="\r\n")


def alternative(
    text_headers: list[tuple[str, str]], text_body: str, document: str
) -> tuple[list[tuple[str, str]], str]:
    """The text part (its headers and encoded body) and the HTML document as one
    multipart/alternative part: its headers and its body (text first, HTML preferred)."""
    boundary = f"=_dl_alt_{secrets.token_hex(12)}"
    first = "\r\n".join(f"{name}: {value}" for name, value in text_headers)
    second = (
        'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    )
    parts = []
    for head, body in ((first, text_body), (second, _quoted_printable(document))):
        ending = "" if body.endswith("\r\n") else "\r\n"
        parts.append(f"--{boundary}\r\n{head}\r\n\r\n{body}{ending}")
    headers = [("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    return headers, "".join(parts) + f"--{boundary}--\r\n"
