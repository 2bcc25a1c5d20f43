"""What a workflow action kind declares (SPEC R-A1..R-A5, B8.3), and what its parts exchange.

A kind is one `ActionKind` value in a module of this package: its stored id, the rows it adds to
the app's "what does it do?" picker (with the questions each row asks), how the fields an admin
gives become its stored config, its description, its CLI flag, and how it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from automation.action_kinds.form import Choice
from automation.events import Actor
from automation.ports import ActionLike, AdminRepository, Repository, TicketLike


class SettingsError(Exception):
    """A settings change that is not allowed or not valid; the message says why.

    Raised by the kinds' config checks and by every function of `automation.admin` (which
    re-exports it)."""


class ActionFailed(Exception):
    """The action could not run; the message is shown on the timeline."""


class ActionSkipped(Exception):
    """The action had nothing to do (e.g. notify the owner of a ticket with no owner)."""


class ActionFields(TypedDict, total=False):
    """What an action does, as the CLI flags and the editor's dialogs give it; its kind's
    `config` checks it and turns it into the stored config."""

    template_name: str | None  # send_email
    to: str | None  # notify: owner / user / team
    target_name: str | None  # a user, team or pipeline name, by kind
    message: str | None  # note text, notification text, task title
    property_name: str | None  # set_property
    value: str | None  # a property value, a delay, a due time, a status label
    condition: dict[str, Any] | None  # branch: the if-test (automation.conditions)


@dataclass(frozen=True)
class Step:
    """One action about to run on one ticket, and the timeline line that caused it."""

    repo: Repository
    action: ActionLike
    ticket: TicketLike
    actor: Actor
    cause_id: int
    depth: int

    @property
    def config(self) -> dict[str, Any]:
        return self.action.config


@dataclass(frozen=True)
class Wait:
    """The run stops after this action; the rest of its list runs at `until` (a delay)."""

    until: datetime
    what: str  # the wait in words, e.g. "Wait 1 h"


@dataclass(frozen=True)
class TakePath:
    """The run goes down this path of the action ("yes" / "no"), then on after it (a branch)."""

    which: str
    detail: str


# What running a kind gives: a detail for the timeline ("ran: <detail>"), or a change of course.
Outcome = str | Wait | TakePath


@dataclass(frozen=True)
class CliOption:
    """One argparse option: its flags and `add_argument` keywords (help, metavar, dest…)."""

    flags: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return str(self.options.get("dest") or self.flags[0].lstrip("-").replace("-", "_"))


@dataclass(frozen=True)
class CliFlags:
    """How `action add` / `action edit` ask for a kind: its own flag (one of "what the action
    does (exactly one)"), the options that go with it, and the fields they give."""

    flag: CliOption
    fields: Callable[[Any, argparse.Namespace], ActionFields]  # the flag's value, all the args
    extras: tuple[CliOption, ...] = ()  # listed after every kind's flag; shared ones once
    position: int | None = None  # place among the flags (default: the kind's order)


@dataclass(frozen=True)
class ActionKind:
    """Everything Deskline knows about one kind of workflow action."""

    id: str  # stored in each action row: never change it (B8.3)
    order: int  # place in the picker and in lists of kinds
    choices: tuple[Choice, ...]  # its rows in the app's "what does it do?" picker
    config: Callable[[AdminRepository, ActionFields], dict[str, Any]]  # raises SettingsError
    describe: Callable[[Repository, dict[str, Any]], str]  # from its stored config
    run: Callable[[Step], Outcome]  # raises ActionFailed / ActionSkipped
    cli: CliFlags

    @property
    def label(self) -> str:
        """The kind in words, as its first picker row says it."""
        return self.choices[0].label

    @property
    def cli_position(self) -> int:
        return self.order if self.cli.position is None else self.cli.position
