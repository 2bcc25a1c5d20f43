"""Clone the ticket: a new ticket with this one's subject, contact, channel, priority and owner,
in the chosen status (default: the first of this pipeline) (SPEC R-A5). Its status actions run
one level deeper, so a workflow that clones into its own status stops at MAX_DEPTH (R-T8)."""

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
from automation.ports import AdminRepository, Repository
from automation.tickets import TicketStart, depth_capped, start_ticket

CLONE_TICKET = "clone_ticket"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    if not fields.get("value"):
        return {"status_id": None}
    return target_status(repo, fields)


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    return f"Clone the ticket into {target_place(repo, config) or 'its first status'}"


def _run(step: Step) -> str:
    repo, ticket = step.repo, step.ticket
    status_id = step.config.get("status_id")
    status = repo.status(status_id) if status_id else None
    if status_id and status is None:
        raise ActionFailed("its target status no longer exists")
    if status is None:
        status = repo.statuses(ticket.pipeline_id)[0]
    depth = step.depth + 1
    if depth_capped(repo, ticket, step.actor, step.cause_id, depth, "Not cloned"):
        raise ActionSkipped(f"not cloned: the automation chain reached depth {MAX_DEPTH}")
    start = TicketStart(
        subject=ticket.subject,
        status=status,
        contact_id=ticket.contact_id,
        channel_id=ticket.channel_id,
        source=ticket.source,
        priority=ticket.priority,
        owner_id=ticket.owner_id,
    )
    clone = start_ticket(
        repo,
        start,
        step.actor,
        cause_id=step.cause_id,
        depth=depth,
        run_actions=True,
        summary=lambda number: f"Ticket #{number} cloned from #{ticket.id} into {status.label}",
        data={"cloned_from": ticket.id, "status": status.label},
    )
    return f"cloned as #{clone.id}"


def _said(fields: Any) -> str:
    if not fields.get("value"):
        return "clone"
    return f"clone to {fields['target_name']} / {fields['value']}"


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    return {"value": value or None, "target_name": args.target_pipeline}


KIND = ActionKind(
    id=CLONE_TICKET,
    order=90,
    choices=(
        Choice(
            "clone",
            "Clone the ticket",
            said=_said,
            questions=(PickStatus("Clone the ticket to", first="Its pipeline's first status"),),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--clone-ticket",),
            {
                "metavar": "STATUS",
                "nargs": "?",
                "const": "",
                "help": "clone the ticket into STATUS of --target-pipeline (default: the first "
                "status of its pipeline)",
            },
        ),
        fields=_from_args,
        extras=(TARGET_PIPELINE,),
    ),
)
