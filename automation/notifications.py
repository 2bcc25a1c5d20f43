"""What a person is told inside Deskline (SPEC R-A4 and issue 13): a workflow's notification,
a ticket assigned to them by someone else, an @name mention in a note, a task of theirs that
came due. Each is a row in their notifications list; the app shows the unread count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from automation.ports import Repository, TaskLike, UserLike

ASSIGNED = "assigned"
MENTION = "mention"
TASK_DUE = "task"
NOTIFY = "notify"  # a workflow's notification (R-A4)
KINDS = (NOTIFY, ASSIGNED, MENTION, TASK_DUE)

# @name: a user's login name (letters, digits, . _ -), not the middle of an address.
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][\w.-]*)")


class NotificationRepository(Repository, Protocol):
    def tasks_come_due(self, now: datetime, limit: int) -> Sequence[TaskLike]: ...


def mentioned_names(body: str) -> list[str]:
    """The @names of a text, in order, each once, lowercased (a trailing dot is punctuation)."""
    found: list[str] = []
    for name in _MENTION.findall(body):
        name = name.rstrip(".-").lower()
        if name and name not in found:
            found.append(name)
    return found


def mentions(
    repo: Repository, author: UserLike, ticket_id: int, subject: str, body: str
) -> list[str]:
    """Tell each user named with @name in a note (never the author); their names."""
    told = []
    for name in mentioned_names(body):
        user = repo.user_by_name(name)
        if user is None or user.id == author.id:
            continue
        text = f"{author.name} mentioned you on #{ticket_id} “{subject}”: {_first_line(body)}"
        repo.notify_user(user.id, ticket_id, text, MENTION)
        told.append(user.name)
    return told


def assigned(
    repo: Repository,
    by: UserLike,
    owner: UserLike | None,
    ticket_id: int,
    subject: str,
) -> None:
    """Tell the new owner, unless they assigned it to themselves."""
    if owner is None or owner.id == by.id:
        return
    text = f"{by.name} assigned #{ticket_id} “{subject}” to you"
    repo.notify_user(owner.id, ticket_id, text, ASSIGNED)


def tasks_due(repo: NotificationRepository, limit: int = 200) -> int:
    """The periodic pass: each task that came due tells its owner, once; returns how many."""
    now = repo.now()
    tasks = repo.tasks_come_due(now, limit)
    for task in tasks:
        task.notified_at = now
        if task.user_id is not None:
            text = f"Task due on #{task.ticket_id}: {task.title}"
            repo.notify_user(task.user_id, task.ticket_id, text, TASK_DUE)
    return len(tasks)


def _first_line(body: str, width: int = 80) -> str:
    first = next((row.strip() for row in body.splitlines() if row.strip()), "")
    return first if len(first) <= width else first[: width - 1] + "…"
