"""The outbox sender: every queued email delivered over SMTP at most once, nothing dropped.

Each email goes through three commits:

1. **claim** (`queued → sending`): the row is this sender's;
2. **handed over** (`sending → handed`), after the server accepted every recipient and just
   before DATA: from here on the server may take the message;
3. **mark** (`handed → sent`, or back to `queued` with a backoff, or `failed`).

After a crash, `recover` puts `sending` rows back in the queue (the server never got DATA: a
resend cannot double them) and holds `handed` rows for a person to release or drop, because the
server may have accepted them in the instant between the end of DATA and our commit. That window
is the time the server takes to answer DATA plus one local commit, milliseconds; it is closed by
a person, never by guessing, so a message is never sent twice and never silently lost.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from automation.engine import TransactionRunner
from automation.events import Actor, Timeline
from automation.undo import CANCELLABLE, cancel_row
from mail.smtp import SmtpError

log = logging.getLogger("deskline.delivery")

MAX_ATTEMPTS = 10  # with the backoff below: about a day of retries
STALE_CLAIM = timedelta(minutes=10)
INTERRUPTED = (
    "delivery was interrupted after the message was handed to the SMTP server; it may have "
    "been delivered. Release it to send it again (same Message-ID), or drop it"
)


class Transport(Protocol):
    """Sends one email for a channel (mail.smtp.deliver with the channel's settings)."""

    async def __call__(
        self,
        channel_id: int,
        mail_from: str,
        rcpt_to: list[str],
        raw: bytes,
        before_data: Callable[[], Awaitable[None]],
    ) -> str: ...


@dataclass
class DeliveryStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, capped at 4 hours, with ±20% jitter so senders do not march together."""
    minutes = min(2 ** max(attempts - 1, 0), 240)
    return timedelta(minutes=minutes * random.uniform(0.8, 1.2))


async def deliver_due(
    db: TransactionRunner, send: Transport, *, holder: str, limit: int = 50
) -> DeliveryStats:
    stats = DeliveryStats()
    claims = await db.run(lambda repo: repo.claim_due_mail(holder, limit))
    for claim in claims:
        await _deliver_one(db, send, claim, stats)
    return stats


async def _deliver_one(
    db: TransactionRunner, send: Transport, claim: dict[str, Any], stats: DeliveryStats
) -> None:
    outbox_id = claim["id"]

    async def handed_over() -> None:
        await db.run(lambda repo: _set_state(repo, outbox_id, "handed"))

    try:
        response = await send(
            claim["channel_id"], claim["mail_from"], claim["rcpt_to"], claim["raw"], handed_over
        )
    except SmtpError as exc:
        error = exc
        await db.run(lambda repo: _failed_attempt(repo, outbox_id, error))
        if error.retryable and claim["attempts"] + 1 < MAX_ATTEMPTS:
            stats.retrying += 1
        else:
            stats.failed += 1
        stats.errors.append(f"outbox {outbox_id}: {error}")
        return
    await db.run(lambda repo: _sent(repo, outbox_id, response))
    stats.sent += 1


def _set_state(repo: Any, outbox_id: int, state: str) -> None:
    repo.outbox_row(outbox_id).state = state


def _sent(repo: Any, outbox_id: int, response: str) -> None:
    row = repo.outbox_row(outbox_id)
    row.state, row.sent_at, row.attempts = "sent", repo.now(), row.attempts + 1
    row.last_error = None
    _on_timeline(
        repo,
        row,
        Timeline.MAIL_SENT,
        f"Email “{row.subject}” to {', '.join(row.rcpt_to)} accepted by the server",
        {"message_id": row.message_id, "response": response},
    )


def _failed_attempt(repo: Any, outbox_id: int, error: SmtpError) -> None:
    """A temporary failure goes back in the queue with a backoff; a permanent one (5xx), a
    refused login, or too many attempts fail the email, on the ticket's timeline for reps."""
    row = repo.outbox_row(outbox_id)
    row.attempts += 1
    row.last_error = f"{error.kind}: {error}"
    if error.retryable and row.attempts < MAX_ATTEMPTS:
        row.state = "queued"
        row.next_attempt_at = repo.now() + backoff(row.attempts)
        return
    row.state = "failed"
    why = "the server refused it permanently" if error.kind == "permanent" else str(error)
    _on_timeline(
        repo,
        row,
        Timeline.MAIL_FAILED,
        f"Email “{row.subject}” to {', '.join(row.rcpt_to)} failed: {why}",
        {"error": str(error), "kind": error.kind, "code": error.code, "attempts": row.attempts},
    )


def recover(
    repo: Any,
    *,
    stale: timedelta = STALE_CLAIM,
    alive: Callable[[str, datetime | None], bool] | None = None,
) -> tuple[int, int]:
    """Claims of a sender that stopped: (requeued, held). A claim is abandoned when it is older
    than `stale`, or at once when `alive` says its holder no longer runs."""
    requeued = held = 0
    rows = repo.interrupted_mail(repo.now() + timedelta(seconds=1))
    cutoff = repo.now() - stale
    for row in rows:
        running = alive is None or alive(row.claimed_by or "", row.claimed_at)
        if row.claimed_at >= cutoff and running:
            continue
        if row.state == "sending":
            row.state, row.claimed_by, row.claimed_at = "queued", None, None
            requeued += 1
            continue
        row.state, row.held_reason = "held", INTERRUPTED
        held += 1
        _on_timeline(
            repo,
            row,
            Timeline.MAIL_HELD,
            f"Email “{row.subject}” held: {INTERRUPTED}",
            {"held_reason": INTERRUPTED},
        )
    return requeued, held


def release_held(repo: Any, actor: Actor, outbox_id: int) -> None:
    """A person sends a held email after all (SPEC §7: held mail is reviewable)."""
    row = _held_row(repo, outbox_id)
    if not row.raw:
        raise DeliveryError(f"email {outbox_id} cannot be sent: {row.held_reason}")
    reason = row.held_reason
    row.state, row.held_reason, row.next_attempt_at = "queued", None, repo.now()
    _review_event(repo, actor, row, "released", reason)


def drop_held(repo: Any, actor: Actor, outbox_id: int) -> None:
    row = _held_row(repo, outbox_id)
    row.state = "dropped"
    _review_event(repo, actor, row, "dropped", row.held_reason)


class DeliveryError(Exception):
    """A request about the outbox that cannot be carried out."""


def cancel_mail(repo: Any, actor: Actor, outbox_id: int) -> None:
    """D4: anyone cancels an email no sender has taken: queued (waiting for its undo window or
    for a retry) or held. Mail being handed to the server, or gone, can no longer be."""
    rows = repo.outbox_rows_locked([outbox_id])  # a sender's claim is seen, or waits for us
    if not rows:
        raise DeliveryError(f"no email {outbox_id} in the outbox")
    row = rows[0]
    if row.state in ("sending", "handed"):
        raise DeliveryError(
            f"email {outbox_id} is being handed to the mail server: it can no longer be cancelled"
        )
    if row.state not in CANCELLABLE:
        raise DeliveryError(f"email {outbox_id} cannot be cancelled: it is {row.state}")
    cancel_row(repo, actor, row, cause_id=None, why=f"by {actor.name}")


# --- a person's review of held mail: one email, or every one held for a reason ----------------


def is_safety_hold(reason: str | None) -> bool:
    """S10: mail a safety rule held (loop and rate limits, automated threads, never-notify and
    own addresses, bounces, old mail) is released only by an admin. An interrupted delivery is
    no safety rule's: whoever reviews it may send it again."""
    return reason != INTERRUPTED


def reason_matches(held_reason: str | None, wanted: str) -> bool:
    """`--reason R`: the held reason itself, or its part before the first colon ("loop
    protection"), compared without case."""
    reason = (held_reason or "").strip().casefold()
    wanted = wanted.strip().casefold()
    return bool(wanted) and wanted in (reason, reason.split(":", 1)[0].strip())


def review_held(
    repo: Any,
    user: Any,
    verb: str,
    *,
    outbox_id: int | None = None,
    reason: str | None = None,
) -> list[int]:
    """`release` or `drop` one held email (`outbox_id`), or every held email, of `reason` when
    given; each on its ticket's timeline. Returns the ids. Dropping is anyone's; releasing
    mail a safety rule held is an admin's (S10), and then nothing is released."""
    if verb not in ("release", "drop"):
        raise ValueError(f"unknown review {verb!r}")
    held = repo.outbox_by_state("held") if outbox_id is None else [_held_row(repo, outbox_id)]
    rows = held if reason is None else [r for r in held if reason_matches(r.held_reason, reason)]
    if verb == "release" and not user.is_admin:
        safety = [row for row in rows if is_safety_hold(row.held_reason)]
        if safety:
            raise DeliveryError(
                f"{user.name} is not an admin: only an admin releases mail a safety rule held "
                f"({_what(safety)}); anyone may drop it"
            )
    actor = Actor("user", user.id, user.name)
    review = release_held if verb == "release" else drop_held
    for row in rows:
        review(repo, actor, row.id)
    return [row.id for row in rows]


def _what(rows: list[Any]) -> str:
    first = rows[0]
    more = f" and {len(rows) - 1} more" if len(rows) > 1 else ""
    return f"email {first.id}: {first.held_reason}{more}"


def _held_row(repo: Any, outbox_id: int) -> Any:
    row = repo.outbox_row(outbox_id)
    if row is None:
        raise DeliveryError(f"no email {outbox_id} in the outbox")
    if row.state != "held":
        raise DeliveryError(f"email {outbox_id} is not held ({row.state})")
    return row


def _review_event(repo: Any, actor: Actor, row: Any, verb: str, reason: str | None) -> None:
    _on_timeline(
        repo,
        row,
        Timeline.MAIL_QUEUED if verb == "released" else Timeline.MAIL_DROPPED,
        f"Held email “{row.subject}” {verb} by {actor.name}",
        {"held_reason": reason, "review": verb},
        actor=actor,
    )


def _on_timeline(
    repo: Any,
    row: Any,
    type_: str,
    summary: str,
    data: dict[str, Any],
    *,
    actor: Actor | None = None,
) -> None:
    """What happened to an outbox email, on its ticket's timeline (mail of no ticket has none)."""
    if row.ticket_id is None:
        return
    repo.add_timeline(
        type_,
        actor or Actor.system("mail delivery"),
        ticket_id=row.ticket_id,
        message_row_id=row.message_row_id,
        summary=summary,
        data={"outbox_id": row.id, **data},
    )
