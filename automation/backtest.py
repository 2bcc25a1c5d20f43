"""What a backtest compares (SPEC B2.1): per ticket, the path of statuses, the emails that would
be sent and the tasks made, once under the desk's rules and once under a file's; the
differences, ticket by ticket. Tickets are keyed by the Message-ID of the message that opened
them, the same in both replays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASPECTS = ("statuses", "emails", "tasks")


@dataclass(frozen=True)
class Outcome:
    """One ticket after a replay."""

    key: str  # the Message-ID of the ticket's first message
    subject: str
    statuses: tuple[str, ...]  # the path: the first status, then every status entered
    emails: tuple[str, ...]  # "template: subject (state)" of each email it would send
    tasks: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "statuses": list(self.statuses),
            "emails": list(self.emails),
            "tasks": list(self.tasks),
        }


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

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "messages": self.messages,
            "actions": self.actions,
            "skipped": self.skipped,
            "tickets": self.tickets,
            "differences": [d.as_json() for d in self.differences],
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
