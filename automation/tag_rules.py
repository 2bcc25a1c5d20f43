"""The rules of tags (issue 13), for people (`automation.tags`) and workflows (the add-tag and
remove-tag action kinds) alike: how a typed tag is stored, and one change with its timeline line.

A tag is folded to lower case with its spaces made single; at most 64 characters; no control
characters and no commas (a comma separates tags where several are typed).
"""

from __future__ import annotations

from collections.abc import Iterable

from automation.events import Actor, Timeline
from automation.ports import Repository, TicketLike

MAX_TAG = 64


class TagError(ValueError):
    """A tag that cannot be; the message says why in one line."""


def normalize(tag: str) -> str:
    """The stored form of a tag as typed; TagError when it cannot be one."""
    words = " ".join(tag.split()).casefold()
    if not words:
        raise TagError("a tag needs at least one letter or digit")
    if len(words) > MAX_TAG:
        raise TagError(f"the tag {words[:20]!r}… is longer than {MAX_TAG} characters")
    if "," in words or any(ord(ch) < 32 or ord(ch) == 127 for ch in words):
        raise TagError(f"a tag has no commas or control characters: {words!r}")
    return words


def change_ticket_tags(
    repo: Repository,
    actor: Actor,
    ticket: TicketLike,
    tags: Iterable[str],
    *,
    add: bool,
    cause_id: int | None = None,
) -> list[str]:
    """Add or remove stored-form tags; returns the ones that changed (one timeline line)."""
    change = repo.add_ticket_tag if add else repo.remove_ticket_tag
    changed = [tag for tag in dict.fromkeys(tags) if change(ticket.id, tag)]
    if changed:
        verb = "Tagged" if add else "Untagged"
        repo.add_timeline(
            Timeline.TAGS_CHANGED,
            actor,
            ticket_id=ticket.id,
            cause_id=cause_id,
            summary=f"{verb} {', '.join(changed)}",
            data={"added" if add else "removed": changed},
        )
        ticket.updated_at = repo.now()
    return changed
