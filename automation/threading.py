"""Where does an inbound message belong? (SPEC §6 threading, E4, E10)

Headers first (In-Reply-To, then References newest first, against every stored Message-ID, received
and sent), then the `[#N]` subject token; never the subject text alone. A match from a sender who is
neither the ticket's contact nor a participant of the thread starts a new conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from automation.ports import ConversationLike, Repository, TicketLike
from mail.classify import find_ticket_token
from mail.parse import ParsedMail


@dataclass(frozen=True)
class ThreadMatch:
    conversation: ConversationLike | None  # continue this conversation
    ticket: TicketLike | None  # associate a new conversation with this ticket (token match)
    reason: str  # why, in words, stored on the message
    conflict: str | None = None
    in_reply_to_forward: bool = False  # E11: In-Reply-To names a forwarded message


def candidate_ids(mail: ParsedMail) -> list[str]:
    """In-Reply-To first, then References from the newest (rightmost) back."""
    ordered: list[str] = []
    for mid in (*mail.in_reply_to, *reversed(mail.references)):
        if mid not in ordered and mid != mail.message_id:
            ordered.append(mid)
    return ordered


def resolve_thread(
    repo: Repository, mail: ParsedMail, sender: str, *, ours: bool = False
) -> ThreadMatch:
    """Where a message belongs. `ours`: our own sent mail read back from an export (B6.1), which
    may join its thread though our address is no participant."""
    header = _header_match(repo, mail)
    token = find_ticket_token(mail.subject)
    if header is not None:
        conversation, header_name, matched_id, replied_forward = header
        conflict = None
        if token is not None and token != conversation.ticket_id:
            conflict = (
                f"subject token [#{token}] disagrees with {header_name} "
                f"(conversation {conversation.id}, ticket {conversation.ticket_id or 'none'}); "
                "headers win"
            )
        reason = f"{header_name} {matched_id} matched conversation {conversation.id}"
        if ours or _belongs(repo, sender, conversation):
            return ThreadMatch(conversation, None, reason, conflict, replied_forward)
        return ThreadMatch(
            None,
            None,
            f"{reason}, but the sender {sender or '(none)'} is neither the contact nor a "
            "participant: new conversation",
            conflict,
        )
    if token is not None:
        ticket = repo.ticket(token)
        if ticket is None:
            return ThreadMatch(None, None, f"subject token [#{token}] names no ticket: new thread")
        reason = f"subject token [#{token}] matched ticket {token}"
        while ticket.merged_into_id is not None:  # B3.1: the token of a merged ticket
            survivor = repo.ticket(ticket.merged_into_id)
            if survivor is None or survivor.id == token:
                break
            reason += f", merged into #{survivor.id}"
            ticket = survivor
        if _belongs_to_ticket(repo, sender, ticket):
            return ThreadMatch(None, ticket, f"{reason}: new conversation on the ticket")
        return ThreadMatch(
            None,
            None,
            f"{reason}, but the sender {sender or '(none)'} is neither the ticket's contact nor a "
            "participant: new conversation",
        )
    return ThreadMatch(None, None, "no In-Reply-To, References or [#N] token matched: new thread")


def _header_match(
    repo: Repository, mail: ParsedMail
) -> tuple[ConversationLike, str, str, bool] | None:
    ids = candidate_ids(mail)
    if not ids:
        return None
    found = repo.messages_by_message_id(ids)
    for mid in ids:
        message = found.get(mid)
        if message is None:
            continue
        header = "In-Reply-To" if mid in mail.in_reply_to else "References"
        replied_forward = mid in mail.in_reply_to and message.forwarded
        return repo.conversation(message.conversation_id), header, mid, replied_forward
    return None


def _belongs(repo: Repository, sender: str, conversation: ConversationLike) -> bool:
    if not sender:
        return False
    if conversation.contact is not None and conversation.contact.email == sender:
        return True
    if repo.user_by_email(sender) is not None:
        return True  # E10: a Deskline user writing into the thread
    return repo.is_participant(conversation.id, sender)


def _belongs_to_ticket(repo: Repository, sender: str, ticket: TicketLike) -> bool:
    if not sender:
        return False
    if ticket.contact is not None and ticket.contact.email == sender:
        return True
    if repo.user_by_email(sender) is not None:
        return True
    return any(repo.is_participant(c.id, sender) for c in repo.ticket_conversations(ticket.id))
