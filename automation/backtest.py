"""What a backtest compares (SPEC B2, B2.1): per ticket, the path of statuses, the emails that
would (not) be sent, and what every other action kind left on it (tasks, tags, custom
properties, owner and priority, notes), once under the desk's rules and once under a file's;
the differences, ticket by ticket, and per rule (trigger, workflow) how many changes each made
in each replay. Tickets are keyed by the Message-ID of the message that opened them, the same
in both replays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASPECTS = ("statuses", "emails", "tasks", "tags", "properties", "owner", "priority", "notes")


@dataclass(frozen=True)
class Outcome:
    """One ticket after a replay."""

    key: str  # the Message-ID of the ticket's first message
    subject: str
    statuses: tuple[str, ...]  # the path: the first status, then every status entered
    emails: tuple[str, ...]  # "template: subject (state)" of each email it would send
    tasks: tuple[str, ...]
    tags: tuple[str, ...] = ()  # as they stand at the end of the window
    properties: tuple[str, ...] = ()  # "name=value"
    owner: tuple[str, ...] = ()  # the owner at the end ("" none)
    priority: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # notes the automation wrote

    def as_json(self) -> dict[str, Any]:
        return {aspect: list(getattr(self, aspect)) for aspect in ASPECTS}


@dataclass(frozen=True)
class Difference:
    key: str
    subject: str
    aspect: str  # statuses / emails / tasks / ticket
    current: tuple[str, ...]
    changed: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.key,
            "subject": self.subject,
            "aspect": self.aspect,
            "current": list(self.current),
            "file": list(self.changed),
        }


@dataclass
class BacktestReport:
    since: str
    until: str
    messages: int = 0
    actions: int = 0
    skipped: list[str] = field(default_factory=list)  # rep actions not replayed, and why
    tickets: int = 0
    differences: list[Difference] = field(default_factory=list)
    # per rule ("trigger: Customer replied", "workflow: Onboarding"): changes made in each
    # replay (current, file), only where they differ
    rules: dict[str, tuple[int, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "messages": self.messages,
            "actions": self.actions,
            "skipped": self.skipped,
            "tickets": self.tickets,
            "differences": [d.as_json() for d in self.differences],
            "rules": {
                name: {"current": a, "file": b} for name, (a, b) in sorted(self.rules.items())
            },
        }


def compare(current: dict[str, Outcome], changed: dict[str, Outcome]) -> list[Difference]:
    """Every aspect of every ticket that differs between the two replays; none when equal."""
    found: list[Difference] = []
    for key in sorted(set(current) | set(changed)):
        mine, theirs = current.get(key), changed.get(key)
        if mine is None or theirs is None:
            some = mine or theirs
            assert some is not None
            found.append(
                Difference(
                    key,
                    some.subject,
                    "ticket",
                    ("opened",) if mine else (),
                    ("opened",) if theirs else (),
                )
            )
            continue
        for aspect in ASPECTS:
            a, b = getattr(mine, aspect), getattr(theirs, aspect)
            if a != b:
                found.append(Difference(key, mine.subject, aspect, a, b))
    return found


def rule_counts(current: dict[str, int], changed: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per rule, the changes it made in each replay, where they differ."""
    return {
        name: (current.get(name, 0), changed.get(name, 0))
        for name in sorted(set(current) | set(changed))
        if current.get(name, 0) != changed.get(name, 0)
    }
