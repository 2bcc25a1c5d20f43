"""Snippets, a rep's canned responses (SPEC D10, D18): named Jinja texts in the email templates'
sandbox, with their variables, budget and static check.

Admins keep the shared snippets, every rep their own; a rep's own snippet shadows a shared one of
the same name (D18). A reply's text is what was typed, then the snippets in the order asked for.
A snippet is checked before it is saved: the static check (unknown names are errors), then renders
against the 20 newest tickets, one with empty optional fields and (D10) a conversation without a
ticket, where `ticket`, `owner`, `pipeline` and `status` are none. The renders run in a worker
within the render budget, outside any transaction: callers read the samples (`lint_samples`),
render (`lint`) and save only when nothing failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from automation.action_kinds.send_email import template_variables
from automation.admin.common import SettingsError, require_admin
from automation.admin.templates import EMPTY_VARIABLES, LINT_TICKETS
from automation.ports import ConversationLike, TicketLike, UserLike
from automation.render_budget import budget_of
from automation.render_worker import Budget, OverBudget, render_within
from automation.template_check import TEMPLATE_VARIABLES, Variable, check
from automation.templates import TemplateRenderError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_OVERRUNS = 3  # renders over the time limit before the lint stops trying more


def _text(description: str) -> Variable:
    return Variable(description, str)


_NONE_WITHOUT_TICKET = " (none in a conversation without a ticket: test `{% if ticket %}`)"

# D10: the email templates' variables, plus the rep who writes; without a ticket some are none.
SNIPPET_VARIABLES: Mapping[str, Variable] = {
    **TEMPLATE_VARIABLES,
    "ticket": Variable(
        TEMPLATE_VARIABLES["ticket"].description + _NONE_WITHOUT_TICKET,
        fields=TEMPLATE_VARIABLES["ticket"].fields,
    ),
    "me": Variable(
        "you, the rep writing",
        fields={"name": _text("your name"), "email": _text("your address")},
    ),
}


class SnippetLike(Protocol):
    owner_id: int | None
    name: str
    body: str


class SnippetRepository(Protocol):
    def snippets_for(self, user_id: int | None) -> Sequence[SnippetLike]: ...
    def snippet_row(self, owner_id: int | None, name: str) -> SnippetLike | None: ...
    def save_snippet(self, owner_id: int | None, name: str, body: str) -> SnippetLike: ...
    def delete_snippet(self, row: Any) -> None: ...
    def newest_tickets(self, limit: int) -> Sequence[TicketLike]: ...
    def setting(self, key: str, default: Any) -> Any: ...


@dataclass(frozen=True)
class Snippet:
    name: str
    body: str
    shared: bool
    shadows: bool = False  # a rep's own that hides a shared one of the same name (D18)


# --- variables -----------------------------------------------------------------------------------


def me_of(user: UserLike) -> dict[str, str]:
    return {
        "name": getattr(user, "display_name", "") or user.name,
        "email": getattr(user, "email", None) or "",
    }


def variables_for(
    repo: Any,
    user: UserLike,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
) -> dict[str, Any]:
    """What a snippet or a signature renders with: the ticket's variables when there is one,
    else the conversation's contact and channel (D10), and `me`."""
    if ticket is not None:
        found = template_variables(repo, ticket)
    else:
        contact = conversation.contact if conversation is not None else None
        channel = conversation.channel if conversation is not None else None
        found = {
            "ticket": None,
            "contact": {
                "name": contact.name if contact else "",
                "email": contact.email if contact else "",
            },
            "owner": None,
            "pipeline": None,
            "status": None,
            "channel": {
                "name": channel.name if channel else "",
                "address": (channel.address or "") if channel else "",
            },
        }
    return {**found, "me": me_of(user)}


# --- the check -------------------------------------------------------------------------------


def problems(body: str) -> list[str]:
    """The static check (B7: unknown names are errors), one line each."""
    return [str(problem) for problem in check(body, SNIPPET_VARIABLES)]


@dataclass(frozen=True)
class Sample:
    where: str  # "ticket #4", "a ticket with empty optional fields", …
    variables: dict[str, Any]


def lint_samples(repo: SnippetRepository, user: UserLike) -> tuple[list[Sample], Budget]:
    """D10: the 20 newest tickets, one with empty optional fields, a ticketless conversation
    (a read); and the render budget."""
    me = me_of(user)
    samples = [
        Sample(f"ticket #{ticket.id}", {**template_variables(cast(Any, repo), ticket), "me": me})
        for ticket in repo.newest_tickets(LINT_TICKETS)
    ]
    samples.append(Sample("a ticket with empty optional fields", {**EMPTY_VARIABLES, "me": me}))
    ticketless = variables_for(repo, user)
    samples.append(Sample("a conversation without a ticket", ticketless))
    return samples, budget_of(repo.setting)


def lint(body: str, samples: Sequence[Sample], budget: Budget | None = None) -> list[str]:
    """The static check's problems, else every sample's render failure (no transaction open)."""
    found = problems(body)
    if found:
        return found
    failures: list[str] = []
    overruns = 0
    for index, sample in enumerate(samples):
        try:
            render_within("", body, sample.variables, budget)
        except OverBudget as exc:
            failures.append(f"{sample.where}: {exc}")
            overruns += 1
            if overruns >= MAX_OVERRUNS and index + 1 < len(samples):
                failures.append(f"{len(samples) - index - 1} more not tried")
                break
        except TemplateRenderError as exc:
            failures.append(f"{sample.where}: {exc}")
    return failures


def render(body: str, variables: dict[str, Any], budget: Budget | None = None) -> str:
    """One snippet's text for a reply, rendered in a worker within the budget (D10); the
    error says why in one line."""
    return render_within("", body, variables, budget).body.rstrip("\n")


# --- snippets ------------------------------------------------------------------------------------


def checked_name(name: str) -> str:
    name = name.strip()
    if not NAME.fullmatch(name):
        raise SettingsError(
            f"not a snippet name: {name!r} (letters, digits, '.', '_' or '-', up to 64, "
            "starting with a letter or digit)"
        )
    return name


def visible(repo: SnippetRepository, user: UserLike) -> list[Snippet]:
    """The snippets this user can use, by name: their own, and the shared ones their own do not
    shadow (D18)."""
    rows = repo.snippets_for(user.id)
    own = {row.name.casefold() for row in rows if row.owner_id is not None}
    found = [
        Snippet(
            row.name,
            row.body,
            shared=row.owner_id is None,
            shadows=row.owner_id is not None
            and any(r.owner_id is None and r.name.casefold() == row.name.casefold() for r in rows),
        )
        for row in rows
        if row.owner_id is not None or row.name.casefold() not in own
    ]
    return sorted(found, key=lambda s: s.name.casefold())


def named(repo: SnippetRepository, user: UserLike, name: str, *, shared: bool = False) -> Snippet:
    """The snippet a user means by a name: their own first, else the shared one (D18);
    `shared` asks for the shared one itself."""
    if not shared:
        own = repo.snippet_row(user.id, name)
        if own is not None:
            return Snippet(own.name, own.body, shared=False)
    row = repo.snippet_row(None, name)
    if row is None:
        known = ", ".join(s.name for s in visible(repo, user)) or "none yet"
        raise SettingsError(f"no snippet {name!r} (snippets: {known})")
    return Snippet(row.name, row.body, shared=True)


def save(
    repo: SnippetRepository, user: UserLike, name: str, body: str, *, shared: bool = False
) -> Snippet:
    """Save a snippet once the static check passes (the renders are the caller's, before this
    transaction). Shared ones are admins' (D18)."""
    if shared:
        require_admin(user)
    name = checked_name(name)
    if not body.strip():
        raise SettingsError("a snippet needs a text")
    found = problems(body)
    if found:
        raise SettingsError("snippet not saved: " + "; ".join(found))
    row = repo.save_snippet(None if shared else user.id, name, body)
    return Snippet(row.name, row.body, shared=shared)


def delete(repo: SnippetRepository, user: UserLike, name: str, *, shared: bool = False) -> None:
    if shared:
        require_admin(user)
    row = repo.snippet_row(None if shared else user.id, name)
    if row is None:
        whose = "shared snippet" if shared else "snippet of yours"
        raise SettingsError(f"no {whose} named {name!r}")
    repo.delete_snippet(row)


def reply_text(text: str, snippets: Sequence[str]) -> str:
    """D18: what was typed, then the snippets in order, a blank line between."""
    parts = [part.strip("\n") for part in (text, *snippets) if part.strip()]
    return "\n\n".join(parts)
