"""Wait a duration, or until a weekday and hour or an hour of the next day, then run the rest
(SPEC R-A5). What people type is read by `automation.durations`."""

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
                Duration(
                    "value",
                    "Wait how long? 1 hour, 90 minutes, 2 days, monday 9 or tomorrow 9",
                ),
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
                "help": 'wait, then run the rest: a duration (30m, 1h30m, "1 hour", '
                '"90 minutes", "2 days"), a weekday and hour ("mon 9", "friday 17 Europe/Berlin") '
                'or an hour of the next day ("tomorrow 9", in UTC unless a zone follows)',
            },
        ),
        fields=lambda value, args: {"value": value},
    ),
)
