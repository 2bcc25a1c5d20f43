"""Branch on a condition (SPEC R-A5 if/else): a ticket that matches takes the yes path, any
other the no path; then the run goes on after the branch. The paths are `automation.flow`'s."""

from __future__ import annotations

import argparse
import json
from typing import Any

from automation.action_kinds.base import (
    ActionFields,
    ActionKind,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
    TakePath,
)
from automation.action_kinds.form import Choice, Condition
from automation.conditions import ConditionError, check_values, matches
from automation.conditions import check as check_conditions
from automation.conditions import describe as describe_conditions
from automation.ports import AdminRepository, Repository

BRANCH = "branch"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    """The if-test, in the enrollment condition's terms."""
    condition = fields.get("condition")
    if not condition:
        raise SettingsError(
            'a branch needs its condition (--if), e.g. {"field": "priority", "value": "high"}'
        )
    try:
        check_conditions(condition)
        condition = check_values(repo, condition)
    except ConditionError as exc:
        raise SettingsError(f"condition: {exc}") from exc
    return {"if": condition}


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    return f"If {describe_conditions(config.get('if'))}"


def _run(step: Step) -> TakePath:
    """Test the ticket as it is now; the chosen path is on the timeline."""
    condition = step.config.get("if") or {}
    which = "yes" if matches(step.repo, condition, step.ticket) else "no"
    met = "met" if which == "yes" else "not met"
    return TakePath(which, f"{which} path: {describe_conditions(condition)} is {met}")


def condition_from_json(text: str, *, flag: str = "") -> dict[str, Any]:
    """A condition tree given as JSON (`automation.conditions` checks what it says)."""
    said = f"{flag}: " if flag else ""
    try:
        condition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{said}the condition is not JSON: {exc}") from exc
    if not isinstance(condition, dict):
        raise SettingsError(
            f'{said}the condition is a JSON object, e.g. {{"field": "priority", "value": "high"}}'
        )
    return condition


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    return {"condition": condition_from_json(value, flag="--if")}


KIND = ActionKind(
    id=BRANCH,
    order=100,
    choices=(
        Choice(
            "branch",
            "Branch: if a condition holds do one thing, else another",
            said=lambda fields: f"if {describe_conditions(fields['condition'])}",
            questions=(Condition("condition", "Take the yes path when", current="if"),),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--if",),
            {
                "dest": "branch_if",
                "metavar": "JSON",
                "help": "branch on a condition: the ticket takes the yes path if it "
                "matches, else the no path, then goes on after the branch (the condition as in "
                "`deskline workflow condition`)",
            },
        ),
        fields=_from_args,
        position=85,  # listed before --clone-ticket, as it always was
    ),
)
