"""Parse raw inbound mail into a ParsedMail, never raising on malformed mail.

Structure comes from the stdlib parser with ``policy.default``; header values are decoded
from their raw form by :mod:`mail.headers` so that no malformed header can stop parsing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from mail.classify import bounce_indexed, classify_indexed, detect_forward
from mail.headers import (
    HeaderIndex,
    dedupe,
    extract_message_ids,
    normalize_message_id,
    parse_addresses,
)
from mail.mime import Part, payload_bytes, payload_text, walk_parts
from mail.model import Address, Attachment, Automation, BounceInfo
from mail.textsafe import sanitize_text

__all__ = [
    "Address",
    "Attachment",
    "Automation",
    "BounceInfo",
    "MailParseError",
    "ParsedMail",
    "extract_message_ids",
    "normalize_message_id",
    "parse_message",
]

NO_CONTENT = "(no visible content)"
TOO_DEEP = "(message structure too deeply nested to display)"
TOO_MANY_PARTS = "(message has too many MIME parts to display)"
MAX_MIME_HEADERS = 1000  # Content-Type lines; parse cost grows with them (rules.md #40)
MAX_LINKS = 5000  # rules.md #35
MAX_SUBJECT_CHARS = 1000
MAX_ADDRESSES = 1000
SYNTHETIC_DOMAIN = "deskline.invalid"

_PARSER = BytesParser(policy=policy.default)
_HEADER_START = re.compile(rb"[!-9;-~]+[ \t]*:")
_KNOWN_HEADER = re.compile(
    rb"(?:from|to|cc|subject|date|message-id|mime-version|content-[a-z-]+|received|reply-to"
    rb"|in-reply-to|references|return-path|sender|delivered-to|x-[a-z0-9-]+|list-[a-z-]+"
    rb"|auto-submitted|precedence|dkim-signature|authentication-results)[ \t]*:",
    re.IGNORECASE,
)
_LINK = re.compile(r"<a[\s>]", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
MAX_FALLBACK_HTML = 1_000_000
_BOUNDARY_LINE = re.compile(r"^--([^\s-][^\s]{0,69}?)[ \t]*$", re.MULTILINE)
_CONTENT_TYPE_LINE = re.compile(rb"^content-type[ \t]*:", re.IGNORECASE | re.MULTILINE)


class MailParseError(ValueError):
    """The input is not mail at all (empty, or headerless binary)."""


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    message_id_synthesized: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    automated: Automation | None
    forwarded: str | None
    has_rfc822_part: bool
    bounce: BounceInfo | None
    loop_marker: str | None
    list_id: str | None
    defects: tuple[str, ...]
    size: int


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: str | None = None
    other_text: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    has_rfc822: bool = False


def parse_message(raw: bytes) -> ParsedMail:
    """Parse one raw message; only input that is not mail at all raises MailParseError."""
    if not raw or not raw.strip():
        raise MailParseError("not an email message: the input is empty")
    unified = _bare_cr_to_lf(raw)
    repaired, defects = _repair_header_block(unified)
    if unified is not raw:
        defects.append("bare-cr-line-endings")
    msg = _parse_structure(repaired, defects)
    headers = HeaderIndex(msg)
    if not list(msg.raw_items()):
        _check_headerless(msg)
        defects.append("no-headers")
    return _build(raw, msg, headers, defects)


def _parse_structure(raw: bytes, defects: list[str]) -> Message:
    """The stdlib parse; hostile MIME (rules.md #40) keeps the headers and gets a notice."""
    if _too_many_parts(raw):
        defects.append("mime-too-many-parts")
        return _PARSER.parsebytes(_headers_with_notice(raw, TOO_MANY_PARTS))
    try:
        return _PARSER.parsebytes(raw)
    except RecursionError:
        defects.append("mime-nesting-too-deep")
        return _PARSER.parsebytes(_headers_with_notice(raw, TOO_DEEP))


def _too_many_parts(raw: bytes) -> bool:
    for count, _match in enumerate(_CONTENT_TYPE_LINE.finditer(raw), start=1):
        if count > MAX_MIME_HEADERS:
            return True
    return False


def _bare_cr_to_lf(raw: bytes) -> bytes:
    """Old Mac mail ends lines with a bare CR; the parser would keep them inside payloads.

    A bare-CR soft line break then truncates quoted-printable text and DSN fields go unread.
    """
    if b"\n" in raw or b"\r" not in raw:
        return raw
    return raw.replace(b"\r", b"\n")


def _build(raw: bytes, msg: Message, headers: HeaderIndex, defects: list[str]) -> ParsedMail:
    parts = walk_parts(msg)
    sender = _first(parse_addresses(headers.raw("from")))
    subject = (headers.text("subject") or "")[:MAX_SUBJECT_CHARS]
    body = _collect_body(parts)
    text = _body_text(body)
    automated = classify_indexed(headers, parts, sender, subject)
    is_report = automated is not None and automated.kind in {"bounce", "report"}
    message_id, synthesized = _message_id(raw, headers, defects)
    return ParsedMail(
        message_id=message_id,
        message_id_synthesized=synthesized,
        in_reply_to=tuple(dedupe(extract_message_ids(headers.raw("in-reply-to") or ""))),
        references=_references(headers),
        sender=sender,
        reply_to=_addresses(headers, "reply-to"),
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        subject=subject,
        date=_date(headers, defects),
        text=text,
        html=body.html,
        attachments=tuple(body.attachments),
        automated=automated,
        forwarded=detect_forward(subject, text),
        has_rfc822_part=body.has_rfc822 and not is_report,
        bounce=bounce_indexed(headers, parts, sender, subject) if is_report else None,
        loop_marker=headers.text("x-deskline-loop") or None,
        list_id=headers.text("list-id") or None,
        defects=tuple(dedupe(defects + _part_defects(parts))),
        size=len(raw),
    )


def _first(addresses: tuple[Address, ...]) -> Address | None:
    return addresses[0] if addresses else None


def _addresses(headers: HeaderIndex, name: str) -> tuple[Address, ...]:
    values = headers.raw_all(name)
    return parse_addresses(", ".join(values))[:MAX_ADDRESSES] if values else ()


def _repair_header_block(raw: bytes) -> tuple[bytes, list[str]]:
    """Drop header lines with no colon when real headers follow them.

    The stdlib parser ends the header block at such a line and turns every header after it
    into body text; dropping the stray line keeps From, Subject and Message-ID readable.
    """
    stripped = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")  # BOM from Windows exports
    end = _header_end(stripped)
    lines = stripped[:end].split(b"\n")
    bad = [i for i, line in enumerate(lines) if not _header_line_ok(i, line)]
    if not bad or not any(_KNOWN_HEADER.match(line) for line in lines[bad[0] + 1 :]):
        return stripped, []
    drop = set(bad)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return b"\n".join(kept) + stripped[end:], ["header-line-without-colon"]


def _headers_with_notice(raw: bytes, notice: str) -> bytes:
    """The header block without its MIME headers, and a notice as the body."""
    lines = raw[: _header_end(raw)].split(b"\n")
    kept: list[bytes] = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.lower().startswith(b"content-")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept).rstrip(b"\r\n") + b"\n\n" + notice.encode()


def _header_end(raw: bytes) -> int:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)


def _header_line_ok(index: int, line: bytes) -> bool:
    if not line.strip() or line[:1] in b" \t":
        return True
    if index == 0 and line.startswith(b"From "):
        return True
    return bool(_HEADER_START.match(line))


def _check_headerless(msg: Message) -> None:
    body = payload_bytes(Part("text/plain", msg, {}, None, ""))
    if not body.strip():
        raise MailParseError("not an email message: no header block and no body")
    sample = body[:4096]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if b"\x00" in sample or controls * 10 > len(sample):
        raise MailParseError("not an email message: binary data with no header block")


def _message_id(raw: bytes, headers: HeaderIndex, defects: list[str]) -> tuple[str, bool]:
    values = headers.raw_all("message-id")
    if len(values) > 1:
        defects.append("duplicate-message-id")
    found = normalize_message_id(values[0]) if values else None
    if found:
        return found, False
    defects.append("invalid-message-id" if values else "missing-message-id")
    return f"<{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_DOMAIN}>", True


def _references(headers: HeaderIndex) -> tuple[str, ...]:
    """All ids of the References header; a huge one keeps the root and the last 50."""
    values = headers.raw_all("references")
    refs = dedupe(extract_message_ids(values[0])) if values else []
    return tuple(refs if len(refs) <= 51 else refs[:1] + refs[-50:])


def _date(headers: HeaderIndex, defects: list[str]) -> datetime | None:
    value = headers.raw("date")
    if not value or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("unparseable-date")
        return None


def _collect_body(parts: list[Part]) -> _Body:
    body = _Body()
    for part in parts:
        if part.ctype.startswith("multipart/"):
            if isinstance(part.msg.get_payload(), str):
                _collect_unbounded(part, body)
            continue
        _collect_leaf(part, body)
    return body


def _collect_leaf(part: Part, body: _Body) -> None:
    ctype, disp = part.ctype, part.disposition
    in_body = disp != "attachment" and not part.filename
    if in_body and ctype == "text/plain":
        body.plain.append(payload_text(part))
        return
    if in_body and ctype == "text/html" and body.html is None:
        body.html = payload_text(part)
        return
    if in_body and ctype.startswith("text/") and body.other_text is None:
        body.other_text = payload_text(part)
    inline = disp == "inline" or (disp is None and "content-id" in part.msg)
    body.attachments.append(Attachment(part.filename, ctype, payload_bytes(part), inline))
    body.has_rfc822 = body.has_rfc822 or ctype == "message/rfc822"


def _collect_unbounded(part: Part, body: _Body) -> None:
    """A multipart with no boundary parameter: find the boundary in the body, else plain text."""
    payload = str(part.msg.get_payload())
    match = _BOUNDARY_LINE.search(payload)
    if match is None:
        body.plain.append(payload_text(part))
        return
    head = f'Content-Type: multipart/mixed; boundary="{match.group(1)}"\r\n\r\n'.encode()
    inner = _PARSER.parsebytes(head + payload.encode("utf-8", "surrogateescape"))
    for sub in walk_parts(inner)[1:]:
        if not sub.ctype.startswith("multipart/"):
            _collect_leaf(sub, body)


def _body_text(body: _Body) -> str:
    """rules.md #34: text/plain, else HTML as text, else the first text/*, else a notice."""
    plain = "\n".join(body.plain)
    if plain.strip():
        return sanitize_text(plain)
    if body.html is not None:
        converted = html_to_text(body.html)
        if converted.strip():
            return sanitize_text(converted)
    if body.other_text and body.other_text.strip():
        return sanitize_text(body.other_text)
    return NO_CONTENT


def html_to_text(html: str) -> str:
    """HTML converted with inscriptis; hostile HTML gives a notice instead (rules.md #35)."""
    links = len(_LINK.findall(html))
    if links > MAX_LINKS:
        return f"(HTML body too large to convert: {links} links)"
    try:
        from inscriptis import get_text  # imported lazily: only HTML-only mail needs it

        converted = get_text(html).strip("\n")
    except Exception:  # a converter failure falls back to crude tag stripping
        converted = ""
    return converted if converted.strip() else _strip_tags(html)


def _strip_tags(html: str) -> str:
    import html as html_module

    visible = _INVISIBLE.sub(" ", html[:MAX_FALLBACK_HTML])
    return " ".join(html_module.unescape(_TAG.sub(" ", visible)).split())


def _part_defects(parts: list[Part]) -> list[str]:
    names = []
    for part in parts:
        for defect in getattr(part.msg, "defects", ()):
            names.append(_defect_name(type(defect).__name__))
    return names


def _defect_name(class_name: str) -> str:
    base = class_name.removesuffix("Defect")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", base).lower()
