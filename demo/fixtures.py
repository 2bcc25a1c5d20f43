"""Binary fixtures for the demo's mail: a screenshot, an invoice and an HTML alternative."""

from __future__ import annotations

import struct
import zlib


def png() -> bytes:
    """A small real PNG (a grey gradient), standing in for a screenshot."""
    width, height = 64, 24
    rows = b"".join(b"\x00" + bytes((x * 4) % 256 for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf(title: str) -> bytes:
    """A one-page PDF showing `title`."""
    text = title.replace("(", "").replace(")", "")
    return (
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
        f"4 0 obj<</Length {len(text) + 30}>>stream\nBT /F1 18 Tf 72 760 Td ({text}) Tj ET\n"
        "endstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    ).encode()


def html(text: str) -> str:
    """The HTML part a mail client adds to a plain-text mail: one <p> per paragraph."""
    paragraphs = "".join(
        "<p>" + part.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>") + "</p>"
        for part in text.strip().split("\n\n")
    )
    return f'<html><body style="font-family: sans-serif">{paragraphs}</body></html>'
