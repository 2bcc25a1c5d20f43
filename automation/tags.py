"""Tags: free words on a ticket that reps add and remove, searched with `tag:` (issue 13).

A tag is folded to lower case with its spaces made single; at most 64 characters; no control
characters and no commas (a comma separates tags where several are typed). Each change is a
timeline line with its actor.
"""

from __future__ import annotations

from collections.abc import Iterable

from automation import tag_rules
from automation.events import Actor
from automation.ports import Repository, UserLike
from automation.services import DomainError, actor_of, get_ticket

MAX_TAG = tag_rules.MAX_TAG


def normalize(tag: str) -> str:
    """The stored form of a tag as typed; DomainError when it cannot be one."""
    try:
        return tag_rules.normalize(tag)
    except tag_rules.TagError as exc:
        raise DomainError(str(exc)) from None


def split(typed: str) -> list[str]:
    """Tags typed as one line, separated by commas ("billing, vip")."""
    return [normalize(part) for part in typed.split(",") if part.strip()]


def tag_ticket(repo: Repository, user: UserLike, number: int, tags: Iterable[str]) -> list[str]:
    """Add tags; returns the ones the ticket did not have yet (each change on the timeline)."""
    return _change(repo, actor_of(user), number, tags, add=True)


def untag_ticket(repo: Repository, user: UserLike, number: int, tags: Iterable[str]) -> list[str]:
    """Remove tags; returns the ones the ticket had."""
    return _change(repo, actor_of(user), number, tags, add=False)


def _change(
    repo: Repository, actor: Actor, number: int, tags: Iterable[str], *, add: bool
) -> list[str]:
    ticket = get_ticket(repo, number)
    wanted = list(dict.fromkeys(normalize(tag) for tag in tags))
    if not wanted:
        raise DomainError("give at least one tag")
    return tag_rules.change_ticket_tags(repo, actor, ticket, wanted, add=add)
