"""Wait a duration, or until a weekday and hour, then run the rest (SPEC R-A5)."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.base import (
    ActionFields,
    ActionKind,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
    Wait,
)
from automation.action_kinds.form import Choice, Duration
from automation.ports import AdminRepository, Repository
from automation.schedule import DelayError, describe_delay, due_time, parse_delay

DELAY = "delay"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    try:
        return parse_delay(fields.get("value") or "")
    except DelayError as exc:
        raise SettingsError(str(exc)) from exc


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    return describe_delay(config)


def _run(step: Step) -> Wait:
    return Wait(due_time(step.config, step.repo.now()), describe_delay(step.config))


KIND = ActionKind(
    id=DELAY,
    order=60,
    choices=(
        Choice(
            "delay",
            "Wait (a duration, or until a weekday and hour)",
            said=lambda fields: f"wait {fields['value']}",
            questions=(
                Duration("value", "Wait how long? 30m, 1h, 2d, or a weekday and an hour: monday 9"),
            ),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--delay",),
            {
                "metavar": "WHEN",
                "help": "wait, then run the rest: a duration (30m, 1h30m, 2d) or a weekday and "
                'hour ("mon 9", "friday 17 Europe/Berlin")',
            },
        ),
        fields=lambda value, args: {"value": value},
    ),
)
