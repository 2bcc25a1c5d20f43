"""Tags: free words on a ticket that reps add and remove, searched with `tag:` (issue 13).

A tag is folded to lower case with its spaces made single; at most 64 characters; no control
characters and no commas (a comma separates tags where several are typed). Each change is a
timeline line with its actor.
"""

from __future__ import annotations

from collections.abc import Iterable

from automation.events import Actor, Timeline
from automation.ports import Repository, UserLike
from automation.services import DomainError, actor_of, get_ticket

MAX_TAG = 64


def normalize(tag: str) -> str:
    """The stored form of a tag as typed; DomainError when it cannot be one."""
    words = " ".join(tag.split()).casefold()
    if not words:
        raise DomainError("a tag needs at least one letter or digit")
    if len(words) > MAX_TAG:
        raise DomainError(f"the tag {words[:20]!r}… is longer than {MAX_TAG} characters")
    if "," in words or any(ord(ch) < 32 or ord(ch) == 127 for ch in words):
        raise DomainError(f"a tag has no commas or control characters: {words!r}")
    return words


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
    change = repo.add_ticket_tag if add else repo.remove_ticket_tag
    changed = [tag for tag in wanted if change(ticket.id, tag)]
    if changed:
        verb = "Tagged" if add else "Untagged"
        repo.add_timeline(
            Timeline.TAGS_CHANGED,
            actor,
            ticket_id=ticket.id,
            summary=f"{verb} {', '.join(changed)}",
            data={"added" if add else "removed": changed},
        )
        ticket.updated_at = repo.now()
    return changed
