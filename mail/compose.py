"""Build outgoing mail safely: loop headers, bounded References, signed Message-IDs.

Rule numbers cite rules.md (B: outbound headers); SPEC §7 is the safety section.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import quoprimime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from mail.classify import strip_subject_prefixes
from mail.headers import dedupe, normalize_message_id
from mail.markdown import alternative
from mail.model import Address

LOOP_HEADER = "X-Deskline-Loop"
AUTO_SUBMITTED_VALUES = frozenset({"auto-replied", "auto-generated"})
MAX_REFERENCES = 10  # rules.md #11

_LINEBREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FIELD_NAME = re.compile(r"[!-9;-~]+")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_TAG = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OUR_ID = re.compile(r"<dl\.([A-Za-z0-9_-]{1,64})\.([0-9a-f]{16})\.([0-9a-f]{10})@[^<>\s@]+>")
_RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "precedence",
        LOOP_HEADER.lower(),
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


class HeaderInjectionError(ValueError):
    """A header name, address or id from user data cannot be used safely."""


@dataclass(frozen=True)
class OutgoingAttachment:
    """A file sent with a rep's email (SPEC D15): its bytes exactly, a name and a type."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMail:
    from_addr: Address
    to: tuple[Address, ...]
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    auto_submitted: str | None  # "auto-replied" / "auto-generated" / None for rep replies
    loop_marker: str  # instance id, goes into X-Deskline-Loop
    extra_headers: tuple[tuple[str, str], ...] = ()
    cc: tuple[Address, ...] = ()  # D16: Bcc is never a header, only the envelope's
    html: str | None = None  # D18: a Markdown reply's text/html alternative
    attachments: tuple[OutgoingAttachment, ...] = ()


def one_line(value: str) -> str:
    """Collapse any CR/LF (and other breaks) to one space: user data never starts a header."""
    return " ".join(_CONTROLS.sub("", _LINEBREAKS.sub(" ", value)).split())


def build_message(mail: OutgoingMail, now: datetime | None = None) -> bytes:
    """RFC 5322 bytes with CRLF line ends, UTF-8 text/plain (rules.md #10-#12, SPEC §7).

    Assembled by hand from validated parts: every value is one line (`one_line`), non-ASCII
    text is RFC 2047 encoded and the body quoted-printable, so the result is 7-bit. This is
    several times faster than `EmailMessage` with the header registry, and outgoing mail is
    built for every acknowledgement a bulk import queues. With attachments the text is the
    first part of a multipart/mixed message and each file follows, base64 (D15).
    """
    if not mail.to:
        raise HeaderInjectionError("an outgoing message needs at least one recipient")
    headers = [
        ("From", _header_address(mail.from_addr)),
        ("To", _address_list(mail.to)),
        *([("Cc", _address_list(mail.cc))] if mail.cc else []),
        ("Subject", _header_text("Subject", mail.subject)),
        ("Date", format_datetime((now or datetime.now(UTC)).astimezone(UTC))),
        ("Message-ID", _checked_id(mail.message_id)),
        *_thread_headers(mail),
        *_automation_headers(mail),
        *((_checked_name(name), _header_text(name, value)) for name, value in mail.extra_headers),
        ("MIME-Version", "1.0"),
    ]
    text_part = [
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    text = mail.text.replace("\r\n", "\n").replace("\r", "\n")
    # quoprimime works on one character per byte: hand it the UTF-8 bytes as latin-1 text
    body = quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), maxlinelen=76, eol="\r\n")
    ending = "" if body.endswith("\r\n") else "\r\n"
    if mail.html is not None:  # D18: text/plain first, then its text/html
        text_part, body = alternative(text_part, body, mail.html)
    if not mail.attachments:
        head = "\r\n".join(f"{name}: {value}" for name, value in [*headers, *text_part])
        return f"{head}\r\n\r\n{body}{ending}".encode("ascii")
    boundary = f"=_dl_{secrets.token_hex(12)}"
    head = "\r\n".join(
        f"{name}: {value}"
        for name, value in [*headers, ("Content-Type", f'multipart/mixed; boundary="{boundary}"')]
    )
    first = "\r\n".join(f"{name}: {value}" for name, value in text_part)
    parts = [f"{first}\r\n\r\n{body}{ending}".encode("ascii")]
    parts += [attachment_part(a) for a in mail.attachments]
    delimiter = f"--{boundary}\r\n".encode("ascii")
    out = [f"{head}\r\n\r\n".encode("ascii")]
    for part in parts:
        out += [delimiter, part if part.endswith(b"\r\n") else part + b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def _address_list(addresses: Sequence[Address]) -> str:
    return ",\r\n ".join(_header_address(a) for a in addresses)


def attachment_part(attachment: OutgoingAttachment) -> bytes:
    """One attached file as a MIME part: base64 of its exact bytes, the name in
    Content-Disposition with RFC 2231 encoding when it is not ASCII (and in Content-Type's
    `name` for old readers). A message/rfc822 part (a forwarded .eml) is kept as a message
    when it is 7-bit text, else sent as a file."""
    name = attachment_name(attachment.filename)
    maintype, _, subtype = attachment.content_type.lower().partition("/")
    if not re.fullmatch(r"[a-z0-9!#$&^_.+-]+", maintype) or not re.fullmatch(
        r"[a-z0-9!#$&^_.+-]+", subtype
    ):
        maintype, subtype = "application", "octet-stream"
    if maintype == "message":
        if subtype == "rfc822" and _seven_bit_crlf(attachment.data):
            head = (
                "Content-Type: message/rfc822\r\n"
                f"Content-Disposition: {_disposition(name)}\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n"
            )
            return head.encode("ascii") + attachment.data
        maintype, subtype = "application", "octet-stream"
    part = EmailMessage(policy=SMTP)
    part.set_content(  # bytes: always base64
        attachment.data,
        maintype=maintype,
        subtype=subtype,
        disposition="attachment",
        filename=name,
    )
    del part["MIME-Version"]
    return part.as_bytes(policy=SMTP)


def _disposition(name: str) -> str:
    part = EmailMessage(policy=SMTP)
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", name, header="Content-Disposition")
    value = part.as_string(policy=SMTP).split(":", 1)[1].strip()
    return value.split("\r\n\r\n", 1)[0].strip()


def _seven_bit_crlf(data: bytes) -> bool:
    lone = data.replace(b"\r\n", b"")
    return data.isascii() and b"\n" not in lone and b"\r" not in lone


def attachment_name(filename: str) -> str:
    """The last path component of a file's name, one line without controls (SPEC §7)."""
    name = one_line(filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\u202a-\u202e\u2066-\u2069\x80-\x9f]", "", name).strip()
    return name or "attachment"


def _header_text(name: str, value: str) -> str:
    """One line of text, RFC 2047 encoded when it is not ASCII, folded under 78 columns."""
    text = one_line(value)
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset, header_name=name).encode(linesep="\r\n")


def _thread_headers(mail: OutgoingMail) -> list[tuple[str, str]]:
    found = []
    parent = normalize_message_id(one_line(mail.in_reply_to or ""))
    if parent and parent.isascii():  # a threading hint from inbound data: dropped if unusable
        found.append(("In-Reply-To", parent))
    refs = trim_references(mail.references)
    if refs:
        found.append(("References", "\r\n ".join(refs)))
    return found


def _automation_headers(mail: OutgoingMail) -> list[tuple[str, str]]:
    """SPEC §7: automated mail says so; rep replies carry only the loop marker."""
    found = []
    if mail.auto_submitted is not None:
        if mail.auto_submitted not in AUTO_SUBMITTED_VALUES:
            raise HeaderInjectionError(f"unsupported Auto-Submitted value {mail.auto_submitted!r}")
        found += [
            ("Auto-Submitted", mail.auto_submitted),
            ("X-Auto-Response-Suppress", "All"),
            ("Precedence", "bulk"),
        ]
    marker = one_line(mail.loop_marker)
    if not marker:
        raise HeaderInjectionError("the loop marker (instance id) must not be empty")
    found.append((LOOP_HEADER, _header_text(LOOP_HEADER, marker)))
    return found


def _header_address(address: Address) -> str:
    return formataddr((one_line(address.name), check_address(address.addr)), charset="utf-8")


def check_address(value: str) -> str:
    """`local@domain` with an ASCII (IDNA) domain, or HeaderInjectionError."""
    addr = one_line(value).strip()
    local, at, domain = addr.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or ".." in local:
        raise HeaderInjectionError(f"not a valid email address: {addr!r}")
    return f"{local}@{_ascii_domain(domain)}"


def _ascii_domain(domain: str) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError as exc:
        raise HeaderInjectionError(f"not a valid mail domain: {domain!r}") from exc
    if not _DOMAIN.fullmatch(ascii_domain):
        raise HeaderInjectionError(f"not a valid mail domain: {domain!r}")
    return ascii_domain


def _checked_id(value: str) -> str:
    found = normalize_message_id(one_line(value))
    if found is None or found != one_line(value) or not found.isascii():
        raise HeaderInjectionError(f"not a valid Message-ID: {value!r}")
    return found


def _checked_name(name: str) -> str:
    if not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED:
        raise HeaderInjectionError(f"header name not allowed: {name!r}")
    return name


def make_message_id(domain: str, secret: bytes, tag: str) -> str:
    """``<dl.{tag}.{random}.{hmac10}@domain>``: ours, tamper-evident (rules.md #12)."""
    if not _TAG.fullmatch(tag):
        raise ValueError(f"a Message-ID tag is letters, digits, _ or -: {tag!r}")
    nonce = secrets.token_hex(8)
    return f"<dl.{tag}.{nonce}.{_mac(secret, tag, nonce)}@{_ascii_domain(domain)}>"


def verify_message_id(message_id: str, secret: bytes) -> str | None:
    """The tag of one of our own Message-IDs when its HMAC is valid, else None."""
    match = _OUR_ID.fullmatch(message_id.strip())
    if match is None:
        return None
    tag, nonce, mac = match.groups()
    return tag if hmac.compare_digest(mac, _mac(secret, tag, nonce)) else None


def _mac(secret: bytes, tag: str, nonce: str) -> str:
    return hmac.new(secret, f"{tag}.{nonce}".encode(), hashlib.sha256).hexdigest()[:10]


def trim_references(refs: Sequence[str]) -> tuple[str, ...]:
    """Valid ids, deduplicated in order; over 10 keeps the first 4 and last 6 (rules.md #11)."""
    found = (normalize_message_id(one_line(ref)) for ref in refs)
    ids = dedupe(ref for ref in found if ref and ref.isascii())
    if len(ids) > MAX_REFERENCES:
        ids = ids[:4] + ids[-6:]
    return tuple(ids)


def with_ticket_token(subject: str, number: int) -> str:
    """Append `` [#N]`` unless it is there; another ticket's token is replaced."""
    token = f"[#{number}]"
    text = one_line(subject)
    if token in text:
        return text
    text = re.sub(r"\s*\[#\d{1,12}\]", "", text).strip()
    return f"{text} {token}".strip()


def reply_subject(ticket_subject: str, ticket_number: int) -> str:
    """``Re: <subject without prefixes and tokens> [#N]``."""
    base = strip_subject_prefixes(one_line(ticket_subject)) or "(no subject)"
    return f"Re: {base} [#{ticket_number}]"
