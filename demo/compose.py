"""Writing the demo's customer mail as a mail client would: headers, threading, quoted history,
forwards, HTML alternatives and attachments. Raw bytes, ready for the real ingestion path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from demo import fixtures
from demo.config import COMPANY
from demo.people import Person
from mail.classify import strip_subject_prefixes


@dataclass(frozen=True)
class LastMessage:
    """The newest message of a conversation that has a Message-ID: what a reply answers."""

    conversation_id: int
    message_id: str
    references: list[str]
    subject: str
    from_name: str
    from_addr: str
    sent_at: datetime
    text: str


def compose_mail(
    sender: Person,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str,
    *,
    parent: LastMessage | None = None,
    headers: dict[str, str] | None = None,
    html: bool = False,
    attachment: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender.header
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    if parent is not None:
        msg["In-Reply-To"] = parent.message_id
        msg["References"] = " ".join([*parent.references[-9:], parent.message_id])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(fixtures.html(body), subtype="html")
    if attachment == "png":
        msg.add_attachment(
            fixtures.png(), maintype="image", subtype="png", filename="screenshot.png"
        )
    elif attachment == "pdf":
        msg.add_attachment(
            fixtures.pdf(subject), maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return bytes(msg)


def quoted_reply(text: str, parent: LastMessage, *, quote: bool = True) -> str:
    """A reply as mail clients write it: new text on top, then "On … wrote:" and "> " lines
    (the reading pane folds them away)."""
    if not quote:
        return text + "\n"
    name = parent.from_name
    if not name or name in ("support", "billing"):  # our mail carries the channel's name
        name = f"{COMPANY} Support"
    who = f"{name} <{parent.from_addr}>" if parent.from_addr else name
    sent = parent.sent_at
    when = f"{sent:%a}, {sent.day} {sent:%b %Y} at {sent:%H:%M}"
    lines = parent.text.strip().splitlines()[:20]
    quoted = "\n".join(f"> {line}".rstrip() for line in lines)
    return f"{text}\n\nOn {when}, {who} wrote:\n{quoted}\n"


def reply_subject(parent: LastMessage, fallback: str) -> str:
    return "Re: " + (strip_subject_prefixes(parent.subject) or fallback)


def forward_body(sender: Person, subject: str, body: str, when: datetime) -> str:
    """A customer forwarding a mail from their IT desk (R-T2.1 marks it on the timeline)."""
    return (
        f"Hi,\n\nforwarding this from our IT team, can you have a look?\n\n{sender.first}\n\n"
        "---------- Forwarded message ---------\n"
        f"From: IT Desk <it@{sender.domain}>\n"
        f"Date: {format_datetime(when - timedelta(hours=3))}\n"
        f"Subject: {subject}\n\n{body}"
    )


def out_of_office(sender: Person, when: datetime) -> str:
    back = when + timedelta(days=4)
    return (
        f"Thank you for your email. I am out of the office until "
        f"{back:%A}, {back.day} {back:%B} with limited access to email.\n\n"
        f"{sender.name}\n"
    )
