"""Defect-tolerant decoding of charsets, RFC 2047 words, raw header values and addresses.

Header values are read raw (``Message.raw_items``) and decoded here, never through the
``policy.default`` header registry: that registry raises or slows down super-linearly on
malformed and huge headers (rules.md #36, #40), and it is the slow part of parsing.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterable
from email.message import Message
from email.utils import getaddresses
from functools import lru_cache

from mail.model import Address
from mail.textsafe import sanitize_line

MAX_HEADER_CHARS = 64 * 1024  # longest header value we decode (rules.md #40)
MAX_ID_CHARS = 998  # longest Message-ID we accept (RFC 5322 line limit)
MAX_NAME_CHARS = 256

# rules.md #36: declared charsets mapped to the codecs that read what senders really mean.
_CHARSET_ALIASES: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "euc-cn": ("gb18030",),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "iso-2022-jp": ("iso2022_jp_2004", "iso2022_jp_ext", "iso2022_jp_2"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932", "shift_jis_2004"),
    "x-sjis": ("cp932", "shift_jis_2004"),
    "big5": ("cp950", "big5hkscs"),
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "us-ascii": ("utf-8", "cp1252", "latin-1"),
    "ascii": ("utf-8", "cp1252", "latin-1"),
    "ansi_x3.4-1968": ("utf-8", "cp1252", "latin-1"),
    "uft-8": ("utf-8",),
    "utf8": ("utf-8",),
    "x-utf8": ("utf-8",),
    "unicode-1-1-utf-7": ("utf-7",),
    "iso-8859-8-i": ("iso-8859-8",),
    "tis-620": ("cp874",),
    "windows-874": ("cp874",),
    "x-mac-roman": ("mac_roman",),
    "macintosh": ("mac_roman",),
}
_FALLBACK = ("utf-8", "cp1252", "latin-1")
_UNSAFE_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined"}
)

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([QqBb])\?([^?]{0,2000})\?=")
_WS = re.compile(r"\s+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ID_TOKEN = re.compile(r"<\s*([^<>\s@\x00-\x1f\x7f]+@[^<>\s@\x00-\x1f\x7f]+)\s*>")
_BARE_ID = re.compile(r"[^<>\s@\x00-\x1f\x7f]+@[^<>\s@\x00-\x1f\x7f]+")
_ADDR = re.compile(r"[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]+@[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]+")
_LOCAL_ONLY = re.compile(r"[a-z0-9._+-]+")  # e.g. "MAILER-DAEMON" with no domain
_STASHED = re.compile(r"\x01(\d+)\x01")


@lru_cache(maxsize=256)
def resolve_charset(name: str | None) -> tuple[tuple[str, ...], bool]:
    """Codecs to try, in order, for a declared charset, and whether the name was known."""
    if not name:
        return _FALLBACK, True
    key = name.strip().strip("\"'").lower()
    if key in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[key], True
    for candidate in (key, key.replace("-", ""), key.replace("-", "_")):
        codec = _lookup_text_codec(candidate)
        if codec is not None:
            return (codec,), True
    return _FALLBACK, False


def _lookup_text_codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE_CODECS:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset; never raises (rules.md #36).

    Text that none of the charset's codecs reads cleanly is tried as UTF-8 before a lossy
    decode: senders often label UTF-8 text with a legacy charset such as ISO-2022-JP.
    """
    candidates, _known = resolve_charset(charset)
    for codec in dict.fromkeys((*candidates, "utf-8")):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return data.decode(candidates[-1], errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def unsurrogate(value: str) -> str:
    """Turn the surrogate-escaped 8-bit bytes that BytesParser leaves in headers into text."""
    if value.isascii():
        return value
    try:
        return decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8", "replace")


def unfold(value: str) -> str:
    """RFC 5322 unfolding; any remaining CR or LF becomes a space."""
    if "\n" not in value and "\r" not in value:
        return value
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")


def collapse_whitespace(value: str) -> str:
    return _WS.sub(" ", value).strip()


def strip_controls(value: str) -> str:
    return _CONTROL.sub("", value)


def decode_rfc2047(value: str) -> str:
    """Decode encoded words, joining adjacent ones of one charset before decoding."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).split("*", 1)[0]
        adjacent = bool(pending) and not gap.strip()
        if not (adjacent and charset.lower() == (pending_charset or "").lower()):
            _flush(out, pending, pending_charset)
            pending, pending_charset = [], charset
        if not adjacent:
            out.append(gap)
        pending.append(_decode_word(match.group(2), match.group(3)))
        pos = match.end()
    _flush(out, pending, pending_charset)
    out.append(value[pos:])
    return "".join(out)


def _flush(out: list[str], pending: list[bytes], charset: str | None) -> None:
    if pending:
        out.append(decode_bytes(b"".join(pending), charset))


def _decode_word(encoding: str, text: str) -> bytes:
    raw = text.encode("ascii", "replace")
    if encoding in "Bb":
        try:
            return base64.b64decode(raw + b"=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            return raw
    return binascii.a2b_qp(raw, header=True)


def header_text(value: str) -> str:
    """A raw header value as one clean line of text."""
    return sanitize_line(decode_rfc2047(unsurrogate(unfold(value[:MAX_HEADER_CHARS]))))


class HeaderIndex:
    """Raw headers of one message, by lowercased name, in order."""

    def __init__(self, msg: Message) -> None:
        self._map: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._map.setdefault(str(name).strip().lower(), []).append(str(value))

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._map

    def count(self, name: str) -> int:
        return len(self._map.get(name.lower(), ()))

    def raw(self, name: str) -> str | None:
        """First value, unfolded and as text, undecoded (RFC 2047 words left alone)."""
        values = self._map.get(name.lower())
        if not values:
            return None
        return unsurrogate(unfold(values[0][:MAX_HEADER_CHARS]))

    def raw_all(self, name: str) -> list[str]:
        return [unsurrogate(unfold(v)) for v in self._map.get(name.lower(), ())]

    def text(self, name: str) -> str | None:
        """First value, decoded to one line; None when the header is absent."""
        values = self._map.get(name.lower())
        return None if not values else header_text(values[0])

    def lower(self, name: str) -> str:
        """First value decoded and lowercased; "" when absent."""
        return (self.text(name) or "").lower()


def clean_addr(addr: str) -> str:
    value = collapse_whitespace(strip_controls(addr)).strip("<>").strip().lower()
    if len(value) > 320 or not (_ADDR.fullmatch(value) or _LOCAL_ONLY.fullmatch(value)):
        return ""
    return value


def clean_name(name: str) -> str:
    return sanitize_line(decode_rfc2047(name)).strip("\"' ")[:MAX_NAME_CHARS]


def parse_addresses(value: str | None) -> tuple[Address, ...]:
    """Addresses of one header value; tolerant of garbage, never raises."""
    if not value or not value.strip():
        return ()
    words: list[str] = []
    protected = _protect_words(value[:MAX_HEADER_CHARS], words)
    try:
        pairs = getaddresses([protected])
    except Exception:  # the compat address parser has raised on odd input before
        pairs = [("", protected)]
    found = [
        Address(clean_addr(_restore_words(addr, words)), clean_name(_restore_words(name, words)))
        for name, addr in pairs
    ]
    return tuple(a for a in found if a.addr or a.name)


def _protect_words(value: str, words: list[str]) -> str:
    """Hide encoded words from the address parser: their text may hold , ; < or quotes."""
    if "=?" not in value:
        return value

    def stash(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\x01{len(words) - 1}\x01"

    return _ENCODED_WORD.sub(stash, value)


def _restore_words(value: str, words: list[str]) -> str:
    if not words or "\x01" not in value:
        return value
    return _STASHED.sub(lambda m: words[int(m.group(1))], value)


def extract_message_ids(value: str) -> list[str]:
    """All ``<local@domain>`` tokens of a header value, or one bare ``local@domain`` id."""
    text = unsurrogate(value)
    ids = [f"<{m}>" for m in _ID_TOKEN.findall(text) if len(m) + 2 <= MAX_ID_CHARS]
    if ids:
        return ids
    bare = text.strip()
    if _BARE_ID.fullmatch(bare) and len(bare) + 2 <= MAX_ID_CHARS:
        return [f"<{bare}>"]
    return []


def normalize_message_id(value: str) -> str | None:
    """The first Message-ID in ``value`` as ``<local@domain>``, or None."""
    ids = extract_message_ids(value)
    return ids[0] if ids else None


def dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
