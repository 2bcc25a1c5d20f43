"""Move the ticket to a status, in this or another pipeline (SPEC R-A5). The new status's
actions run, no trigger fires (R-T8), and a chain deeper than MAX_DEPTH stops with a timeline
note."""

from __future__ import annotations

import argparse
from typing import Any

from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    ActionSkipped,
    CliFlags,
    CliOption,
    Step,
)
from automation.action_kinds.form import Choice, PickStatus
from automation.action_kinds.names import TARGET_PIPELINE, target_place, target_status
from automation.events import MAX_DEPTH
from automation.ports import Repository
from automation.tickets import change_status

MOVE_TICKET = "move_ticket"


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    return f"Move the ticket to {target_place(repo, config) or '(removed status)'}"


def _run(step: Step) -> str:
    repo, ticket, actor = step.repo, step.ticket, step.actor
    status = repo.status(step.config.get("status_id"))
    if status is None:
        raise ActionFailed("its target status no longer exists")
    if status.id == ticket.status_id:
        raise ActionSkipped(f"the ticket is in {status.label} already")
    pipeline = repo.pipeline(status.pipeline_id)
    old_pipeline = ticket.pipeline_id
    if status.pipeline_id != ticket.pipeline_id:
        ticket.pipeline_id = pipeline.id
        ticket.pipeline = pipeline
    moved = change_status(
        repo,
        ticket,
        status,
        actor,
        cause_id=step.cause_id,
        depth=step.depth + 1,
        reason=actor.name,
    )
    if moved is None:
        ticket.pipeline_id = old_pipeline
        ticket.pipeline = repo.pipeline(old_pipeline)
        raise ActionSkipped(f"not moved: the automation chain reached depth {MAX_DEPTH}")
    return f"moved to {pipeline.name} / {status.label}"


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    return {"value": value, "target_name": args.target_pipeline}


KIND = ActionKind(
    id=MOVE_TICKET,
    order=80,
    choices=(
        Choice(
            "move",
            "Move the ticket to a status (any pipeline)",
            said=lambda fields: f"move to {fields['target_name']} / {fields['value']}",
            questions=(PickStatus("Move the ticket to"),),
        ),
    ),
    config=target_status,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--move-to",),
            {
                "metavar": "STATUS",
                "help": "move the ticket to this status (of --target-pipeline, default: the "
                "first pipeline)",
            },
        ),
        fields=_from_args,
        extras=(TARGET_PIPELINE,),
    ),
)
