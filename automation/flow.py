"""The shape of a workflow's actions: a list in which a branch holds a "yes" and a "no" path
(SPEC R-A5 "branch on a condition"). Pure functions over ActionLike; no database here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from automation.ports import ActionLike

PATHS = ("yes", "no")


def path(branch: ActionLike, which: str) -> list[Any]:
    """The actions of one path of a branch, in order."""
    return sorted((a for a in branch.children if a.branch == which), key=lambda a: a.position)


def siblings(action: ActionLike) -> list[Any]:
    """The list the action sits in: its workflow's, or its path of the parent branch."""
    if action.parent is None:
        return sorted(action.workflow.actions, key=lambda a: a.position)
    return path(action.parent, action.branch or "yes")


def descendants(action: ActionLike) -> list[Any]:
    found: list[Any] = []
    for child in action.children:
        found.append(child)
        found.extend(descendants(child))
    return found


def count(actions: Sequence[Any]) -> int:
    """How many actions a list holds, those in its branches' paths included."""
    return sum(1 + len(descendants(action)) for action in actions)


def renumber(actions: Sequence[Any]) -> None:
    for position, each in enumerate(actions):
        each.position = position
