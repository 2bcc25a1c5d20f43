"""Who a person's email goes to (SPEC D16): To is the contact; Cc by default the other people of
the newest inbound message (its From, To and Cc) without the contact, our own addresses,
never-notify addresses and recipients that bounce; Bcc only in the envelope. Automated mail never
has copies (automation.outbound)."""

from __future__ import annotations

from dataclasses import dataclass

from automation.outbound import Recipients
from automation.ports import ConversationLike, Repository
from mail.classify import is_never_notify_address
from mail.compose import OutgoingAttachment
from mail.model import Address
from mail.recipients import dedupe_addresses


@dataclass(frozen=True)
class Addressing:
    """What a person chose beyond the text: `cc` None means the default Cc (D16), a tuple is
    the whole Cc as edited (the composer); `add_cc` is added to either (`--cc`); `to` None
    means the contact."""

    to: tuple[Address, ...] | None = None
    cc: tuple[Address, ...] | None = None
    add_cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    attachments: tuple[OutgoingAttachment, ...] = ()


def default_cc(repo: Repository, conversation: ConversationLike) -> tuple[Address, ...]:
    """D16: the From, To and Cc of the thread's newest inbound message, less the contact, our
    own addresses, never-notify addresses and recipients whose mail bounced recently."""
    contact = conversation.contact.email if conversation.contact is not None else ""
    own = repo.own_addresses()
    now = repo.now()
    kept = []
    for addr in repo.newest_inbound_addresses(conversation.id):
        addr = addr.lower()
        if not addr or addr == contact or addr in own or is_never_notify_address(addr):
            continue
        known = repo.contact_by_email(addr)
        if known is not None and known.bouncing_until is not None and known.bouncing_until > now:
            continue
        kept.append(Address(addr, ""))
    return dedupe_addresses(kept, without=[contact])


def resolve(
    repo: Repository, conversation: ConversationLike, addressing: Addressing | None
) -> Recipients | None:
    """The To, Cc and Bcc of a person's email in `conversation` (None: to the contact alone,
    as before any choice, when there is no one else)."""
    addressing = addressing or Addressing()
    contact = conversation.contact
    to = addressing.to
    if to is None:
        to = (Address(contact.email, contact.name),) if contact is not None else ()
    base = default_cc(repo, conversation) if addressing.cc is None else addressing.cc
    cc = dedupe_addresses((*base, *addressing.add_cc), without=[a.addr for a in to])
    bcc = dedupe_addresses(addressing.bcc, without=[a.addr for a in (*to, *cc)])
    if addressing.to is None and not cc and not bcc:
        return None
    return Recipients(to, cc, bcc)


def reply_defaults(
    repo: Repository, ticket_number: int | None, conversation_id: int | None
) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    """The To and Cc a composer starts with (D16): the contact, and the thread's others; the
    thread is the one chosen, else the ticket's origin."""
    if conversation_id is None and ticket_number is not None:
        ticket = repo.ticket(ticket_number)
        conversation_id = ticket.origin_conversation_id if ticket is not None else None
    if conversation_id is None:
        return (), ()
    conversation = repo.conversation(conversation_id)
    contact = conversation.contact
    to = (Address(contact.email, contact.name),) if contact is not None else ()
    return to, default_cc(repo, conversation)
