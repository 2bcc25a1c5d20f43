"""Defect-tolerant access to MIME structure: content types, params, payloads.

Each part's Content-Type and Content-Disposition are parsed once (``Part``): the
``policy.default`` header registry re-parses a header on every access, which was the
largest cost of parsing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from io import BytesIO
from types import MappingProxyType
from typing import cast

from mail.headers import decode_bytes, decode_rfc2047, unfold, unsurrogate

MAX_DEPTH = 40  # nesting beyond this is hostile (rules.md #40)
MAX_PARTS = 500

_CTYPE = re.compile(r"\s*([A-Za-z0-9!#$&^_.+-]+)/([A-Za-z0-9!#$&^_.+-]+)")
_RAW_NAME = re.compile(r"""(?:^|;)\s*(?:file)?name\s*=\s*(?:"([^"]*)"|([^\s;]+))""", re.I)
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_GEN_POLICY = policy.default.clone(linesep="\r\n", max_line_length=0)
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Part:
    """One MIME part with its parsed Content-Type and Content-Disposition."""

    ctype: str
    msg: Message
    params: Mapping[str, str]
    disposition: str | None
    filename: str

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")


def part_of(msg: Message) -> Part:
    ctype, params = _content_type(msg)
    disposition, disp_params = _disposition(msg)
    name = disp_params.get("filename") or params.get("name") or _raw_filename(msg)
    return Part(ctype, msg, params, disposition, sanitize_filename(decode_rfc2047(name)))


def _header(msg: Message, name: str) -> object | None:
    if name not in msg:
        return None
    try:
        return msg.get(name)
    except Exception:  # a malformed header must never stop parsing
        return None


def _clean_params(header: object) -> Mapping[str, str]:
    params = getattr(header, "params", None)
    if not params:
        return _EMPTY
    return {str(k).lower(): unsurrogate(str(v)) for k, v in params.items()}


def _content_type(msg: Message) -> tuple[str, Mapping[str, str]]:
    header = _header(msg, "content-type")
    if header is None:
        raw = _raw(msg, "content-type")
        match = _CTYPE.match(raw) if raw else None
        ctype = f"{match.group(1)}/{match.group(2)}".lower() if match else msg.get_default_type()
        return ctype, _EMPTY
    ctype = str(getattr(header, "content_type", "")).lower()
    if ctype.count("/") != 1:
        return "text/plain", _EMPTY
    return ctype, _clean_params(header)


def _disposition(msg: Message) -> tuple[str | None, Mapping[str, str]]:
    header = _header(msg, "content-disposition")
    if header is None:
        return None, _EMPTY
    value = getattr(header, "content_disposition", None)
    return (str(value).lower() if value else None), _clean_params(header)


def _raw(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name:
            return unsurrogate(unfold(str(value)))
    return None


def _raw_filename(msg: Message) -> str:
    """Names the registry rejected, e.g. an unquoted RFC 2047 word (Outlook)."""
    for header in ("content-disposition", "content-type"):
        raw = _raw(msg, header)
        match = _RAW_NAME.search(raw) if raw else None
        if match:
            return match.group(1) if match.group(1) is not None else match.group(2)
    return ""


def sanitize_filename(name: str) -> str:
    base = re.split(r"[/\\]", _FILENAME_BAD.sub("", name))[-1].strip()
    return "" if base in {".", ".."} else base[:255]


def payload_bytes(part: Part) -> bytes:
    """Decoded payload of a leaf; for message/* parts the embedded message bytes."""
    if part.ctype.startswith("message/"):
        return _message_bytes(part.msg)
    try:
        data = part.msg.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.msg.get_payload()
    return unsurrogate(raw).encode("utf-8") if isinstance(raw, str) else b""


def payload_text(part: Part) -> str:
    return decode_bytes(payload_bytes(part), part.charset)


def _message_bytes(msg: Message) -> bytes:
    payload = msg.get_payload()
    if not isinstance(payload, list):
        return unsurrogate(str(payload)).encode("utf-8")
    chunks = [_generate(sub) for sub in payload if isinstance(sub, Message)]
    return b"\r\n".join(chunks)


def _generate(msg: Message) -> bytes:
    out = BytesIO()
    try:
        BytesGenerator(out, policy=_GEN_POLICY).flatten(cast(EmailMessage, msg))
    except Exception:  # regeneration of a defective part: keep what we can
        return unsurrogate(str(msg.get_payload())).encode("utf-8", "replace")
    return out.getvalue()


def walk_parts(msg: Message) -> list[Part]:
    """Every part, depth first, not descending into message/* parts."""
    found: list[Part] = []
    _walk(msg, 0, found)
    return found


def _walk(msg: Message, depth: int, found: list[Part]) -> None:
    if len(found) >= MAX_PARTS:
        return
    part = part_of(msg)
    found.append(part)
    if part.ctype.startswith("message/") or depth >= MAX_DEPTH or not msg.is_multipart():
        return
    payload = msg.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, depth + 1, found)
