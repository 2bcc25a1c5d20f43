"""The standard desk: what the demo, the benchmarks and the tests start from.

`init`'s defaults (SPEC E15: the pipeline, the two triggers, an admin), then channels, reps, a
team of them and status actions as a `Setup` describes. One builder, so a test desk, a benchmark
desk and the demo are configured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automation import admin

SUPPORT = "support@help.example"


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str = "email"
    address: str | None = SUPPORT
    ticket_automation: bool | None = True  # None: the kind's default (chat starts off)


@dataclass(frozen=True)
class RepSpec:
    name: str
    display_name: str
    email: str


@dataclass(frozen=True)
class ActionSpec:
    status: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


RECEIVED = ActionSpec("New", "send_email", {"template_name": "Ticket received"})
CLOSED = ActionSpec("Closed", "send_email", {"template_name": "Ticket closed"})


def notify_team(team: str, status: str = "Waiting on us") -> ActionSpec:
    return ActionSpec(status, "notify", {"to": "team", "target_name": team})


@dataclass(frozen=True)
class Setup:
    channels: tuple[ChannelSpec, ...] = (ChannelSpec("support"),)
    reps: tuple[RepSpec, ...] = ()
    team: str | None = None  # a team of all the reps
    actions: tuple[ActionSpec, ...] = (RECEIVED, CLOSED)


@dataclass
class Built:
    admin_id: int
    pipeline_id: int
    channels: dict[str, int]
    reps: list[Any]


def build_standard(repo: Any, setup: Setup = Setup()) -> Built:
    """Configure a migrated, empty desk in the caller's transaction."""
    admin.ensure_defaults(repo)
    boss = repo.user_by_name("admin")
    reps = [
        repo.add_user(r.name, display_name=r.display_name, email=r.email, is_admin=False)
        for r in setup.reps
    ]
    if setup.team is not None:
        repo.add_team(setup.team, reps)
    channels = {}
    for spec in setup.channels:
        channel = admin.add_channel(
            repo,
            boss,
            name=spec.name,
            kind=spec.kind,
            address=spec.address,
            pipeline_name=None,
            ticket_automation=spec.ticket_automation,
        )
        channels[spec.name] = channel.id
    for action in setup.actions:
        admin.add_action(
            repo,
            boss,
            pipeline_name=None,
            status_label=action.status,
            kind=action.kind,
            **action.fields,
        )
    pipeline = admin.pipeline_or_default(repo, None)
    return Built(admin_id=boss.id, pipeline_id=pipeline.id, channels=channels, reps=reps)
