"""Add an internal note to the ticket, written by the workflow; never mailed (SPEC R-A5)."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import Choice, Text
from automation.events import Timeline
from automation.ports import AdminRepository, Repository

ADD_NOTE = "add_note"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    message = fields.get("message")
    if not (message or "").strip():
        raise SettingsError("a note action needs its text (--message)")
    return {"body": (message or "").strip()}


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    return f"Add note “{str(config.get('body') or '')[:40]}”"


def _run(step: Step) -> str:
    repo, ticket = step.repo, step.ticket
    body = str(step.config.get("body") or "").strip()
    if not body:
        raise ActionFailed("the note is empty")
    message_id = None
    if ticket.origin_conversation_id is not None:
        message_id = repo.add_note_message(ticket.origin_conversation_id, None, body).id
    repo.add_timeline(
        Timeline.NOTE,
        step.actor,
        ticket_id=ticket.id,
        conversation_id=ticket.origin_conversation_id,
        message_row_id=message_id,
        cause_id=step.cause_id,
        summary=f"Note: {body.splitlines()[0][:120]}",
        data={"body": body},
    )
    return "note added"


KIND = ActionKind(
    id=ADD_NOTE,
    order=40,
    choices=(
        Choice(
            "note",
            "Add an internal note",
            said=lambda fields: "add a note",
            questions=(Text("message", "Note text", current="body"),),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(("--note",), {"metavar": "TEXT", "help": "add an internal note to the ticket"}),
        fields=lambda value, args: {"message": value},
    ),
)
