"""Is a message automated, a bounce, a forward? Subject prefixes and ticket tokens.

Rule numbers cite /work/shared/notes/rules.md; SPEC sections cite SPEC.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from mail.headers import (
    HeaderIndex,
    clean_addr,
    decode_bytes,
    normalize_message_id,
    parse_addresses,
    unfold,
)
from mail.mime import Part, payload_bytes, payload_text, walk_parts
from mail.model import Address, Automation, BounceInfo

FORWARD_PREFIXES: tuple[str, ...] = (
    "fwd",
    "fw",
    "wg",
    "tr",
    "rv",
    "doorst",
    "vs",
    "enc",
    "i",
    "vb",
    "vl",
    "pd",
    "fwrd",
)
REPLY_PREFIXES: tuple[str, ...] = (
    "re",
    "aw",
    "sv",
    "antwort",
    "odp",
    "res",
    "r",
    "ref",
    "ynt",
    "atb",
    "回复",
    "答复",
    "回覆",
)

_PREFIX = re.compile(
    r"\s*(" + "|".join(sorted(FORWARD_PREFIXES + REPLY_PREFIXES, key=len, reverse=True)) + r")"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_TOKEN_SPACED = re.compile(r"\s*\[#\d{1,12}\]\s*")
_NEVER_NOTIFY_EXACT = re.compile(r"(?:mailer-daemon|mailer_daemon|postmaster|abuse|root)")
_NEVER_NOTIFY_ANY = re.compile(r"no-?reply|no_reply|do-?not-?reply|donotreply")
# Bounce senders: with a bounce's subject or an embedded original, either one makes a bounce.
_DAEMON = re.compile(r"(?:mailer-daemon|mailer_daemon|postmaster)")
# Senders that are never a person. A postmaster, root or abuse desk is often a person writing
# (an abuse report, a colleague as root): such mail opens a ticket and only gets no automated
# reply (the never-notify list, automation.outbound).
_MACHINE_SENDER = re.compile(r"mailer-daemon|mailer_daemon")
_OOF_SUBJECT = re.compile(
    r"\s*(?:auto(?:matic)?[ -]?reply|autoreply|out of (?:the )?office|abwesenheit"
    r"|automatische antwort|réponse automatique|respuesta automática|risposta automatica"
    r"|automatisch antwoord|odpowiedź automatyczna)",
    re.IGNORECASE,
)
_OOF_SUBJECT_TAIL = re.compile(r"[^:：\n]{0,30}[:：]|\s*[.!]?\s*$")
_BOUNCE_SUBJECT = re.compile(
    r"\s*(?:undelivered mail returned|undeliverable|undelivered mail|delivery failure"
    r"|delivery status notification|mail delivery failed|mail delivery failure|failure notice"
    r"|returned mail|delivery has failed|unzustellbar|non remis|warning: could not send"
    r"|delivery notification: delivery has failed|message delivery failure)",
    re.IGNORECASE,
)
# rules.md #29: words in a daemon's subject that mean a delivery problem (exim "Mail failure",
# "Warning: message ... delayed", ezweb "Mail System Error - Returned Mail", "[Postmaster] ...").
_DAEMON_SUBJECT = re.compile(
    r"deliver|returned|failed|failure|delayed|error|rejected|non remis|unzustellbar",
    re.IGNORECASE,
)
# rules.md #31: Microsoft JMRP complaints are not ARF but carry the reported mail as message/rfc822.
_COMPLAINT_SUBJECT = re.compile(r"\s*complaint about message from\b", re.IGNORECASE)
FORWARD_MARKER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:forwarded message|weitergeleitete nachricht|message transféré"
    r"|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada"
    r"|vidarebefordrat meddelande|wiadomość przekazana dalej)[ \t]*-{2,}"
    r"|begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|début du message réexpédié :?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_5XX = re.compile(r"(?<!\d)5\d\d(?:[ -]|$)", re.MULTILINE)
_PERMANENT_TEXT = re.compile(
    r"permanent (?:error|failure|fatal)|permanently|user unknown|no such user|does not exist"
    r"|mailbox unavailable|address rejected|no mailbox here",
    re.IGNORECASE,
)
_DELAY_TEXT = re.compile(
    r"has not yet been delivered|will (?:retry|keep trying|continue trying)"
    r"|delivery (?:is )?delayed|temporar(?:y|ily) (?:failure|error|unavailable)",
    re.IGNORECASE,
)
_BRACKET_RCPT = re.compile(r"^<([^<>\s]+@[^<>\s]+)>:", re.MULTILINE)
_HEADER_MSGID = re.compile(r"^[> \t]*Message-ID:[ \t]*((?:.*)(?:\r?\n[ \t]+.*)*)", re.I | re.M)
_MAX_SCAN = 200_000  # chars of body text scanned for markers


def strip_subject_prefixes(subject: str) -> str:
    """Remove Re:/AW:/Fwd:/WG:/... chains and our ``[#N]`` token (rules.md #27)."""
    text = " ".join(_TOKEN_SPACED.sub(" ", subject).split())
    while match := _PREFIX.match(text):
        if match.end() == 0:
            break
        text = text[match.end() :]
    return text.strip()


def _prefix_chain(subject: str) -> list[str]:
    words: list[str] = []
    text = _TOKEN_SPACED.sub(" ", subject)
    while (match := _PREFIX.match(text)) and match.end() > 0:
        words.append(match.group(1))
        text = text[match.end() :]
    return words


def find_ticket_token(subject: str) -> int | None:
    """``[#123]`` anywhere in the subject (SPEC §6, rules.md #21).

    ``#1XXXX9`` or ``Ticket 123`` are not tokens.
    """
    match = _TOKEN.search(subject)
    return int(match.group(1)) if match else None


def _local_part(addr: str) -> str:
    return addr.strip().lower().rsplit("@", 1)[0] if addr.strip() else ""


def is_never_notify_address(addr: str) -> bool:
    """Daemon, role and no-reply addresses never get automated mail (rules.md #7)."""
    local = _local_part(addr)
    if not local:
        return True
    return bool(_NEVER_NOTIFY_EXACT.fullmatch(local) or _NEVER_NOTIFY_ANY.search(local))


def is_machine_sender(addr: str) -> bool:
    """A sender no person writes as: a mail daemon or a no-reply address (SPEC §7). Mail from
    postmaster, root or abuse is a person's unless its headers or structure say otherwise."""
    local = _local_part(addr)
    return bool(_MACHINE_SENDER.fullmatch(local) or _NEVER_NOTIFY_ANY.search(local))


def _is_daemon(addr: str) -> bool:
    return bool(_DAEMON.fullmatch(addr.rsplit("@", 1)[0])) if addr else False


def detect_forward(subject: str, text: str) -> str | None:
    """Why a message is a forward (SPEC §6): subject prefix or inline marker, else None.

    A message/rfc822 part is reported separately (``ParsedMail.has_rfc822_part``, SPEC E11);
    an Outlook "-----Original Message-----" alone is a reply.
    """
    for word in _prefix_chain(subject):
        if word.lower() in FORWARD_PREFIXES:
            return f"subject prefix {word}:"
    match = FORWARD_MARKER.search(text[:_MAX_SCAN])
    return f"inline marker: {match.group(0).strip()}" if match else None


@dataclass
class _Mail:
    """What the automated-mail rules look at."""

    headers: HeaderIndex
    parts: list[Part]
    sender: Address | None
    subject: str

    @property
    def types(self) -> list[str]:
        return [part.ctype for part in self.parts]

    def report_type(self) -> str:
        root = self.parts[0]
        if root.ctype != "multipart/report":
            return ""
        return root.params.get("report-type", "").strip().lower()


def classify_automated(msg: Message, sender: Address | None, subject: str) -> Automation | None:
    """Automated-mail classification, first matching rule wins (rules.md A and E, SPEC §7)."""
    return classify_indexed(HeaderIndex(msg), walk_parts(msg), sender, subject)


def classify_indexed(
    headers: HeaderIndex, parts: list[Part], sender: Address | None, subject: str
) -> Automation | None:
    """classify_automated on an already indexed message (used by parse_message)."""
    mail = _Mail(headers, parts, sender, subject)
    for rule in _RULES:
        found = rule(mail)
        if found is not None:
            return found
    return None


def _report_rule(mail: _Mail) -> Automation | None:
    """rules.md #28, #31: delivery reports are bounces; ARF and MDN are reports."""
    report, types = mail.report_type(), mail.types
    if report == "delivery-status" or "message/delivery-status" in types:
        return Automation("bounce", "delivery status notification (message/delivery-status)")
    if report == "feedback-report" or "message/feedback-report" in types:
        return Automation("report", "abuse feedback report (ARF)")
    if report == "disposition-notification" or "message/disposition-notification" in types:
        return Automation("report", "read receipt (message/disposition-notification)")
    if _COMPLAINT_SUBJECT.match(mail.subject) and "message/rfc822" in types[1:]:
        return Automation("report", "abuse complaint with the reported message (Microsoft JMRP)")
    return None


def _bounce_rule(mail: _Mail) -> Automation | None:
    reason = _bounce_reason(mail)
    return Automation("bounce", reason) if reason else None


def _bounce_reason(mail: _Mail) -> str | None:
    """rules.md #29: non-RFC 3464 bounces, recognised by corroborating signals."""
    if "x-failed-recipients" in mail.headers:
        return "header X-Failed-Recipients"
    daemon = _daemon_signal(mail)
    subject = _BOUNCE_SUBJECT.match(mail.subject)
    if subject and daemon:
        return f"subject {subject.group(0).strip()!r} from {daemon}"
    embedded = {"message/rfc822", "text/rfc822-headers"} & set(mail.types[1:])
    if daemon and embedded:
        return f"{daemon} with an embedded original ({sorted(embedded)[0]})"
    return _daemon_subject_reason(mail)


def _daemon_subject_reason(mail: _Mail) -> str | None:
    """A mailer-daemon or postmaster address reporting a delivery problem in its subject."""
    addr = _daemon_address(mail)
    word = _DAEMON_SUBJECT.search(mail.subject) if addr else None
    return f"subject word {word.group(0)!r} from {addr}" if word else None


def _daemon_signal(mail: _Mail) -> str | None:
    if mail.sender is None or not mail.sender.addr:
        return "empty or missing From"
    if addr := _daemon_address(mail):
        return f"daemon address {addr}"
    if _null_return_path(mail.headers):
        return "null Return-Path"
    return None


def _machine_signal(mail: _Mail) -> str | None:
    """Empty From, null Return-Path, or a From or Return-Path no person writes as."""
    if mail.sender is None or not mail.sender.addr:
        return "empty or missing From"
    return_path = parse_addresses(mail.headers.raw("return-path"))[:1]
    for addr in (mail.sender.addr, *(a.addr for a in return_path)):
        if _MACHINE_SENDER.fullmatch(_local_part(addr)):
            return f"daemon address {addr}"
    if _null_return_path(mail.headers):
        return "null Return-Path"
    if is_machine_sender(mail.sender.addr):
        return f"sender {mail.sender.addr}"
    return None


def _daemon_address(mail: _Mail) -> str | None:
    """The From or Return-Path address when it is mailer-daemon or postmaster (rules.md #6)."""
    return_path = parse_addresses(mail.headers.raw("return-path"))[:1]
    candidates = [mail.sender.addr if mail.sender else "", *(a.addr for a in return_path)]
    return next((addr for addr in candidates if _is_daemon(addr)), None)


def _null_return_path(headers: HeaderIndex) -> bool:
    value = headers.raw("return-path")
    return value is not None and value.strip().replace(" ", "") in {"<>", ""}


def _oof_reason(mail: _Mail) -> str | None:
    """rules.md #8: vacation / out-of-office signals on top of an automated header."""
    headers = mail.headers
    if "x-ms-exchange-inbox-rules-loop" in headers and "x-auto-response-suppress" in headers:
        return "Exchange inbox-rules loop header"
    auto = headers.lower("auto-submitted")
    if "vacation" in auto or "owner-email=" in auto:
        return f"Auto-Submitted: {auto}"
    if match := _OOF_SUBJECT.match(mail.subject):
        return f"subject {match.group(0).strip()!r}"
    if re.search(r"\bvacation\b", mail.subject, re.IGNORECASE):
        return "subject mentions vacation"
    return None


def _auto_reply(mail: _Mail, reason: str) -> Automation:
    oof = _oof_reason(mail)
    if oof:
        return Automation("out-of-office", f"{reason}; {oof}")
    return Automation("auto-reply", reason)


def _auto_submitted_rule(mail: _Mail) -> Automation | None:
    """rules.md #1: any Auto-Submitted other than "no" (token before ; or ()."""
    value = mail.headers.text("auto-submitted")
    token = re.split(r"[;(\s]", value or "", maxsplit=1)[0].strip().lower()
    if not token or token == "no":
        return None
    return _auto_reply(mail, f"header Auto-Submitted: {value}")


def _suppress_rule(mail: _Mail) -> Automation | None:
    """rules.md #3: X-Auto-Response-Suppress is a list; All/AutoReply/OOF mean automated."""
    value = mail.headers.text("x-auto-response-suppress")
    tokens = {t.lower() for t in re.split(r"[,;\s]+", value or "") if t}
    if tokens & {"all", "autoreply", "oof"}:
        return _auto_reply(mail, f"header X-Auto-Response-Suppress: {value}")
    return None


_PRESENCE_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-AutoReply-From",
    "X-Mail-Autoreply",
)
_VALUE_HEADERS = (
    ("X-Autogenerated", "reply"),
    ("X-AMAZON-MAIL-RELAY-TYPE", "notification"),
    ("X-Loop", "yes"),
    ("X-Loop", "true"),
    ("X-FC-Machinegenerated", "true"),
)


def _vendor_header_rule(mail: _Mail) -> Automation | None:
    """rules.md #4: vendor auto-reply headers."""
    for name in _PRESENCE_HEADERS:
        value = mail.headers.lower(name)
        if name.lower() in mail.headers and value not in {"no", "false", "0"}:
            return _auto_reply(mail, f"header {name}: {value}")
    for name, expected in _VALUE_HEADERS:
        if mail.headers.lower(name) == expected:
            return _auto_reply(mail, f"header {name}: {expected}")
    return None


def _precedence_rule(mail: _Mail) -> Automation | None:
    """rules.md #2: Precedence / X-Precedence bulk, junk, list, auto_reply (prefix match)."""
    for name in ("Precedence", "X-Precedence"):
        value = mail.headers.lower(name)
        reason = f"header {name}: {value}"
        if value.startswith(("bulk", "junk")):
            return Automation("bulk", reason)
        if value.startswith("list"):
            return Automation("list", reason)
        if value.startswith("auto_reply"):
            return _auto_reply(mail, reason)
    return None


def _list_rule(mail: _Mail) -> Automation | None:
    """rules.md #5: mailing-list traffic."""
    for name in ("List-Id", "List-Unsubscribe"):
        if name.lower() in mail.headers:
            return Automation("list", f"header {name}")
    return None


def _sender_rule(mail: _Mail) -> Automation | None:
    """rules.md #6, #7: null sender, mail daemons and no-reply senders. Postmaster alone is no
    signal here: it marks a bounce only beside a bounce's subject or original (`_bounce_rule`)."""
    signal = _machine_signal(mail)
    if signal is None:
        return None
    if match := _OOF_SUBJECT.match(mail.subject):
        return Automation("out-of-office", f"{signal}; subject {match.group(0).strip()!r}")
    return Automation("noreply", signal)


def _subject_rule(mail: _Mail) -> Automation | None:
    """rules.md #8 last resort: an auto-reply subject with no automated header at all."""
    match = _OOF_SUBJECT.match(mail.subject)
    if match and _OOF_SUBJECT_TAIL.match(mail.subject, match.end()):
        return Automation("out-of-office", f"subject only: {match.group(0).strip()!r}")
    return None


_RULES: tuple[Callable[[_Mail], Automation | None], ...] = (
    _report_rule,
    _bounce_rule,
    _auto_submitted_rule,
    _suppress_rule,
    _vendor_header_rule,
    _precedence_rule,
    _list_rule,
    _sender_rule,
    _subject_rule,
)


def parse_bounce(msg: Message) -> BounceInfo | None:
    """Recipients, permanence and the bounced Message-ID of a bounce; None if not one."""
    headers = HeaderIndex(msg)
    senders = parse_addresses(headers.raw("from"))
    sender = senders[0] if senders else None
    return bounce_indexed(headers, walk_parts(msg), sender, headers.text("subject") or "")


def bounce_indexed(
    headers: HeaderIndex, parts: list[Part], sender: Address | None, subject: str
) -> BounceInfo | None:
    """parse_bounce on an already indexed message (used by parse_message)."""
    mail = _Mail(headers, parts, sender, subject)
    found = _report_rule(mail) or _bounce_rule(mail)
    if found is None or found.kind != "bounce":
        return None
    body = _plain_text(mail.parts)
    recipients = _dsn_recipients(mail.parts) or _text_recipients(headers, body)
    return BounceInfo(
        original_message_id=_original_message_id(mail.parts, body),
        recipients=recipients,
        permanent=_permanent(mail.parts, recipients, body),
    )


def _plain_text(parts: list[Part]) -> str:
    texts = [payload_text(part) for part in parts if part.ctype == "text/plain"]
    return "\n".join(texts)[:_MAX_SCAN]


def _dsn_recipients(parts: list[Part]) -> tuple[tuple[str, str, str], ...]:
    found: list[tuple[str, str, str]] = []
    for part in parts:
        if part.ctype == "message/delivery-status":
            found.extend(_parse_dsn_text(_delivery_status_text(part)))
    return tuple(found)


def _delivery_status_text(part: Part) -> str:
    """The delivery-status body as text, whether the parser split it into blocks or not."""
    payload = part.msg.get_payload()
    if not isinstance(payload, list):
        return decode_bytes(payload_bytes(part), None)
    blocks = []
    for block in payload:
        if isinstance(block, Message):
            lines = [f"{k}: {unfold(str(v))}" for k, v in block.raw_items()]
            rest = block.get_payload()
            blocks.append("\n".join([*lines, rest if isinstance(rest, str) else ""]))
    text = "\n\n".join(blocks)
    return _undo_transfer_encoding(part.msg, text)


def _undo_transfer_encoding(part: Message, text: str) -> str:
    cte = (HeaderIndex(part).raw("content-transfer-encoding") or "").strip().lower()
    try:
        if cte == "base64":
            packed = "".join(text.split())
            return decode_bytes(base64.b64decode(packed + "=" * (-len(packed) % 4)), None)
        if cte == "quoted-printable":
            return decode_bytes(binascii.a2b_qp(text.encode("utf-8", "replace")), None)
    except (binascii.Error, ValueError):
        return text
    return text


def _parse_dsn_text(text: str) -> list[tuple[str, str, str]]:
    found = []
    for block in re.split(r"\r?\n[ \t]*\r?\n", text):
        fields = _dsn_fields(block)
        rcpt = fields.get("final-recipient") or fields.get("original-recipient")
        if not rcpt:
            continue
        addr = clean_addr(rcpt.split(";", 1)[-1])
        action = (fields.get("action", "").split() or [""])[0].lower()
        status = _STATUS.search(fields.get("status", ""))
        found.append((addr, action, status.group(1) if status else ""))
    return found


def _dsn_fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in re.sub(r"\n[ \t]+", " ", block.replace("\r\n", "\n")).split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            fields.setdefault(name.strip().lower(), value.strip())
    return fields


def _text_recipients(headers: HeaderIndex, body: str) -> tuple[tuple[str, str, str], ...]:
    """Non-DSN bounces: X-Failed-Recipients, or qmail/Postfix style ``<addr>:`` lines."""
    addrs = [a.addr for a in parse_addresses(headers.raw("x-failed-recipients")) if a.addr]
    if not addrs:
        addrs = [clean_addr(m) for m in _BRACKET_RCPT.findall(body)]
    action = "delayed" if _DELAY_TEXT.search(body) else "failed"
    status = _STATUS.search(body)
    code = status.group(1) if status else ""
    return tuple((addr, action, code) for addr in dict.fromkeys(a for a in addrs if a))


def _permanent(parts: list[Part], recipients: tuple[tuple[str, str, str], ...], body: str) -> bool:
    if any(part.ctype == "message/delivery-status" for part in parts):
        return any(a == "failed" and s.startswith("5") for _, a, s in recipients)
    if not any(action == "failed" for _, action, _ in recipients):
        return False
    status_5 = any(s.startswith("5") for _, _, s in recipients)
    return status_5 or bool(_SMTP_5XX.search(body) or _PERMANENT_TEXT.search(body))


def _original_message_id(parts: list[Part], body: str) -> str | None:
    """rules.md #30: from the message/rfc822 or text/rfc822-headers part, else the body."""
    for part in parts[1:]:
        found = _embedded_message_id(part)
        if found:
            return found
    match = _HEADER_MSGID.search(body)
    return normalize_message_id(match.group(1)) if match else None


def _embedded_message_id(part: Part) -> str | None:
    if part.ctype == "message/rfc822":
        payload = part.msg.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            value = HeaderIndex(payload[0]).raw("message-id")
            return normalize_message_id(value) if value else None
    if part.ctype == "text/rfc822-headers":
        match = _HEADER_MSGID.search(payload_text(part))
        return normalize_message_id(match.group(1)) if match else None
    return None
