"""A generated support-mail corpus for benchmarks: new threads, replies (some to our own outgoing
mail, added in a second phase once our Message-IDs exist), HTML-only mail, attachments and
auto-replies, in the proportions GUIDE.md asks for."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

_VOCABULARY = (
    "invoice order printer login password export refund shipping account error screen "
    "update server timeout billing report crash upgrade license customer delivery broken "
    "please help urgent thanks again question issue since yesterday working again"
)
WORDS = tuple(_VOCABULARY.split())
SUPPORT = "support@bench.deskline.test"


@dataclass
class Thread:
    sender: str
    subject: str
    message_ids: list[str]


def _text(rng: random.Random, words: int) -> str:
    lines = []
    for _ in range(max(1, words // 12)):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return "\n".join(lines)


def _message(
    rng: random.Random,
    n: int,
    sender: str,
    subject: str,
    when: datetime,
    kind: str,
    parent: list[str] | None,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = f"Customer {sender.split('@')[0]} <{sender}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    mid = f"<bench.{n}.{rng.getrandbits(40):x}@{sender.split('@')[1]}>"
    msg["Message-ID"] = mid
    if parent:
        msg["In-Reply-To"] = parent[-1]
        msg["References"] = " ".join(parent[-10:])
    if kind == "auto":
        msg["Auto-Submitted"] = "auto-replied"
    body = _text(rng, rng.randint(30, 200))
    if kind == "html":
        msg.set_content(
            f"<html><body><p>{body.replace(chr(10), '</p><p>')}</p></body></html>", subtype="html"
        )
    else:
        msg.set_content(body)
    if kind == "attachment":
        msg.add_attachment(
            rng.randbytes(rng.randint(2_000, 20_000)),
            maintype="application",
            subtype="pdf",
            filename="scan.pdf",
        )
    return bytes(msg), mid


# SPEC B8.5, D1: the corpus is dated inside `old_mail_hours` (24) of the run's clock, so its
# acknowledgements are queued as live mail's are, not held as old mail.
SPAN = timedelta(hours=18)


def generate(
    count: int, seed: int = 1, now: datetime | None = None
) -> tuple[list[bytes], list[Thread]]:
    """Phase one: `count` mails, about 70% new threads and 30% replies to the customer's own
    earlier mail; 15% HTML-only, 5% with an attachment, 2% auto-replies. Dated over the 18
    hours before `now` (the run's clock), at most 30 s apart, the newest an hour before it."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    step = min(timedelta(seconds=30), SPAN / max(count, 1))
    start = now - timedelta(hours=1) - step * count
    threads: list[Thread] = []
    mails: list[bytes] = []
    for n in range(count):
        when = start + step * n
        roll = rng.random()
        kind = (
            "html"
            if roll < 0.15
            else "attachment"
            if roll < 0.20
            else "auto"
            if roll < 0.22
            else "plain"
        )
        if threads and rng.random() < 0.30 and kind != "auto":
            thread = rng.choice(threads)
            raw, mid = _message(
                rng, n, thread.sender, f"Re: {thread.subject}", when, kind, thread.message_ids
            )
            thread.message_ids.append(mid)
        else:
            sender = f"c{n}@cust{n % 997}.example"
            subject = " ".join(rng.choice(WORDS) for _ in range(5)).capitalize()
            if kind == "auto":
                subject = f"Automatic reply: {subject}"
            raw, mid = _message(rng, n, sender, subject, when, kind, None)
            if kind != "auto":
                threads.append(Thread(sender, subject, [mid]))
        mails.append(raw)
    return mails, threads


def replies_to_ours(
    acks: list[tuple[str, str, str]], count: int, seed: int = 2, now: datetime | None = None
) -> Iterator[tuple[bytes, str]]:
    """Phase two: customers answer our acknowledgements (to, subject, our Message-ID), dated
    in the last hour before `now`, after every phase-one mail."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = now - timedelta(hours=1) + timedelta(seconds=1)
    chosen = rng.sample(acks, min(count, len(acks)))
    step = min(timedelta(seconds=1), timedelta(minutes=50) / max(len(chosen), 1))
    for n, (to, subject, our_id) in enumerate(chosen):
        raw, _ = _message(
            rng,
            10_000_000 + n,
            to,
            f"Re: {subject}",
            start + step * n,
            "plain",
            [our_id],
        )
        yield raw, our_id
