"""A rep's reply text with its snippets and signature (SPEC D10, D18), for the CLI and the app.

The snippets and the signature are Jinja: their sources and variables are read first, then each
renders in a worker within the render budget with no transaction open (D10), and only then does
the caller's change send the text. The signature is placed by `automation.signatures.place`
after the text, before quoted text."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from automation import services, signatures, snippets
from automation.render_worker import Budget
from runtime.desk import Desk
from storage.repository import SqlRepository


@dataclass(frozen=True)
class Sources:
    variables: dict[str, Any]
    budget: Budget
    snippets: tuple[str, ...]  # the bodies, in the order asked for
    signature: str | None


def read_sources(
    repo: SqlRepository,
    user: Any,
    *,
    ticket: int | None = None,
    conversation: int | None = None,
    names: Sequence[str] = (),
    signature: bool = True,
) -> Sources:
    """The variables of the ticket (or the ticketless conversation), the snippets by name (a
    rep's own first, D18) and the signature that applies (a read)."""
    found_ticket = services.get_ticket(repo, ticket) if ticket is not None else None
    found_conversation = None
    if conversation is not None:
        found_conversation = services.get_conversation(repo, conversation)
        if found_ticket is None and found_conversation.ticket_id is not None:
            found_ticket = services.get_ticket(repo, found_conversation.ticket_id)
    variables = snippets.variables_for(
        repo, user, ticket=found_ticket, conversation=found_conversation
    )
    bodies = tuple(snippets.named(repo, user, name).body for name in names)
    source = None
    if signature:
        channel = (
            found_conversation.channel
            if found_conversation is not None
            else (found_ticket.channel if found_ticket is not None else None)
        )
        source = signatures.for_reply(repo, user.id, channel.id if channel is not None else None)
    budget = snippets.budget_of(repo.setting)
    return Sources(variables, budget, bodies, source)


async def render_snippet(sources: Sources, body: str) -> str:
    return await asyncio.to_thread(snippets.render, body, sources.variables, sources.budget)


async def render_signature(sources: Sources) -> str | None:
    if sources.signature is None:
        return None
    return await asyncio.to_thread(
        snippets.render, sources.signature, sources.variables, sources.budget
    )


async def compose_text(
    desk: Desk,
    text: str,
    *,
    ticket: int | None = None,
    conversation: int | None = None,
    names: Sequence[str] = (),
    signature: bool = True,
) -> str:
    """D18: the typed text, the snippets in order, then `-- ` and the signature (if any)."""
    sources = await desk.read(
        lambda repo: read_sources(
            repo,
            desk.user_of(repo),
            ticket=ticket,
            conversation=conversation,
            names=names,
            signature=signature,
        )
    )
    rendered = [await render_snippet(sources, body) for body in sources.snippets]
    body = snippets.reply_text(text, rendered)
    return signatures.place(body, await render_signature(sources))


async def forward_signature(desk: Desk, message_row_id: int) -> str | None:
    """D18: the signature of the desk's user for a forward of this message (its channel's)."""

    def read(repo: SqlRepository) -> Sources | None:
        source = repo.forward_source(message_row_id)
        if source is None:
            return None
        user = desk.user_of(repo)
        return read_sources(repo, user, conversation=int(source["conversation_id"]))

    sources = await desk.read(read)
    return await render_signature(sources) if sources is not None else None
