"""Send an email to the ticket's contact from a template (SPEC R-A2, R-A3, R-A9, §7)."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    ActionSkipped,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import TEMPLATES, Choice, Pick
from automation.events import Timeline
from automation.outbound import queue_conversation_mail
from automation.ports import AdminRepository, Repository, TicketLike
from automation.property_types import json_value
from automation.render_budget import budget_of, render_for_action
from automation.templates import TemplateRenderError, with_branding

SEND_EMAIL = "send_email"


def template_variables(repo: Repository, ticket: TicketLike) -> dict[str, Any]:
    """What a template may name (B7), from a ticket."""
    contact, owner, channel = ticket.contact, ticket.owner, ticket.channel
    return {
        "ticket": {
            "number": ticket.id,
            "subject": ticket.subject,
            "priority": ticket.priority,
            "source": ticket.source,
            "created_at": ticket.created_at,
            "tags": repo.ticket_tags(ticket.id),
            "properties": _properties(repo, ticket),
        },
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
        },
        "owner": {"name": owner.display_name or owner.name, "email": owner.email or ""}
        if owner
        else None,
        "pipeline": {"name": ticket.pipeline.name},
        "status": {"label": ticket.status.label, "state": ticket.status.state},
        "channel": {
            "name": channel.name if channel else "",
            "address": (channel.address or "") if channel else "",
        },
    }


def _properties(repo: Repository, ticket: TicketLike) -> dict[str, Any]:
    """Every custom property by name (issue 13): the ticket's value, or None."""
    values = repo.ticket_property_values(ticket.id)
    return {
        p.name: json_value(p.kind, values[p.id]) if p.id in values else None
        for p in repo.property_defs()
    }


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    template_name = fields.get("template_name")
    template = repo.template_by_name(template_name or "")
    if template is None:
        known = ", ".join(t.name for t in repo.templates())
        raise SettingsError(f"no template {template_name!r} (templates: {known})")
    return {"template_id": template.id}


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    template = repo.template(config.get("template_id"))
    return f"Send email “{template.name if template else '(deleted template)'}”"


def _run(step: Step) -> str:
    repo, ticket = step.repo, step.ticket
    template = repo.template(step.config.get("template_id"))
    if template is None:
        raise ActionFailed("its template was deleted")
    conversation = repo.conversation_for_automated_mail(ticket)
    if conversation is None:
        raise ActionSkipped(_no_email_thread(ticket))
    if conversation.contact is None:
        raise ActionSkipped("the ticket has no contact")
    try:
        # D10: rendered outside the engine's transaction from these variables, within budget
        rendered = render_for_action(
            template.subject,
            template.body,
            template_variables(repo, ticket),
            budget_of(repo.setting),
        )
    except TemplateRenderError as exc:
        raise ActionFailed(f"template “{template.name}”: {exc}") from exc
    body = with_branding(rendered.body, repo.setting("branding", True))
    automated_only = repo.only_automated_inbound(conversation.id)
    hold = (
        f"the thread holds only automated mail ({automated_only}): no auto-reply"
        if automated_only
        else None
    )
    queued = queue_conversation_mail(
        repo,
        ticket=ticket,
        conversation=conversation,
        subject=rendered.subject,
        body=body,
        actor=step.actor,
        kind="automated",
        sent_from="automation",
        cause_id=step.cause_id,
        template_name=template.name,
        extra_hold=hold,
    )
    repo.add_timeline(
        Timeline.INBOX_NOTE,
        step.actor,
        ticket_id=ticket.id,
        conversation_id=conversation.id,
        message_row_id=queued.message_row_id,
        cause_id=queued.timeline_id,
        summary=f"Automated email “{template.name}” sent from ticket #{ticket.id}",
        data={"template": template.name, "ticket": ticket.id, "outbox_id": queued.outbox_id},
    )
    return f"email “{template.name}” {queued.state} to {conversation.contact.email}"


def _no_email_thread(ticket: TicketLike) -> str:
    channel = ticket.channel
    if channel is not None and channel.kind == "form":  # C2: the timeline says why
        return (
            f"the form channel {channel.name} names no email channel to reply through: "
            "no email queued"
        )
    return "the ticket has no email conversation to write in"


KIND = ActionKind(
    id=SEND_EMAIL,
    order=10,
    choices=(
        Choice(
            "email",
            "Send email to the contact (a template)",
            said=lambda fields: f"send “{fields['template_name']}”",
            questions=(Pick("template_name", "Send which template?", source=TEMPLATES),),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--send-email",), {"metavar": "TEMPLATE", "help": "email the contact (a template)"}
        ),
        fields=lambda value, args: {"template_name": value},
    ),
)
