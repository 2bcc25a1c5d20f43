"""Status actions: a workflow per status, enrolled once.

SPEC §4: R-A1..R-A4, R-A7..R-A9, E7..E9, E14.

Each action runs on its own: a failure is recorded on the timeline (retryable) and the other actions
and the ticket change stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from automation.conditions import describe as describe_conditions
from automation.conditions import matches
from automation.events import MAX_DEPTH, Actor, StatusEntered, Timeline
from automation.flow import path, siblings
from automation.outbound import queue_conversation_mail, queue_notification_mail
from automation.ports import (
    ActionLike,
    Repository,
    ScheduledStepLike,
    TicketLike,
    WorkflowLike,
)
from automation.schedule import describe_delay, describe_due, due_time, format_duration
from automation.templates import TemplateRenderError, render, with_branding
from automation.tickets import (
    LIVE_SOURCES_EXCLUDED,
    PRIORITIES,
    change_status,
    depth_capped,
    record_property,
    set_owner,
)

SEND_EMAIL = "send_email"
NOTIFY = "notify"
SET_PROPERTY = "set_property"
ADD_NOTE = "add_note"
ROTATE_OWNER = "rotate_owner"
DELAY = "delay"
CREATE_TASK = "create_task"
MOVE_TICKET = "move_ticket"
CLONE_TICKET = "clone_ticket"
BRANCH = "branch"
ACTION_KINDS = (
    SEND_EMAIL,
    NOTIFY,
    SET_PROPERTY,
    ADD_NOTE,
    ROTATE_OWNER,
    DELAY,
    CREATE_TASK,
    MOVE_TICKET,
    CLONE_TICKET,
    BRANCH,
)
LATE_AFTER = timedelta(minutes=1)  # a step resumed later than this past its due time is "late"
PROPERTIES = ("priority", "owner", "subject")


class ActionFailed(Exception):
    """The action could not run; the message is shown on the timeline."""


class ActionSkipped(Exception):
    """The action had nothing to do (e.g. notify the owner of a ticket with no owner)."""


def on_status_entered(repo: Repository, event: StatusEntered) -> None:
    ticket = repo.ticket(event.ticket_id)
    if ticket is None:
        return
    for workflow in repo.status_workflows(event.status_id):
        _run_workflow(repo, workflow, ticket, event)


def applies_to_source(workflow: WorkflowLike, source: str) -> bool:
    """R-A8 / E9: built-in workflows skip chat and messenger unless their condition names them."""
    conditions = workflow.conditions or {}
    if "sources" in conditions:
        return source in conditions["sources"]
    excluded = conditions.get("exclude_sources")
    if excluded is None:
        excluded = sorted(LIVE_SOURCES_EXCLUDED) if workflow.builtin else []
    return source not in excluded


def _run_workflow(
    repo: Repository, workflow: WorkflowLike, ticket: TicketLike, event: StatusEntered
) -> None:
    if not workflow.enabled or not workflow.actions:
        return  # E7: enrolled only while on and with at least one action
    actor = Actor("workflow", workflow.id, workflow.name)
    if not applies_to_source(workflow, ticket.source):
        _note_skip(repo, ticket, actor, event, f"{ticket.source} tickets are not enrolled (R-A8)")
        return
    if not matches(repo, workflow.conditions, ticket):
        why = describe_conditions(workflow.conditions)
        _note_skip(repo, ticket, actor, event, f"its enrollment condition is not met: {why}")
        return
    if not workflow.reenroll and repo.enrollment_exists(workflow.id, ticket.id):
        _note_skip(
            repo,
            ticket,
            actor,
            event,
            "already enrolled once; re-enrollment is off (R-A7): clone the workflow to change it",
        )
        return
    enrolled = repo.add_timeline(
        Timeline.ENROLLED,
        actor,
        ticket_id=ticket.id,
        cause_id=event.cause_id,
        summary=f"Enrolled in workflow “{workflow.name}”",
        data={"workflow_id": workflow.id, "depth": event.depth},
    )
    enrollment_id = repo.add_enrollment(workflow.id, ticket.id, enrolled)
    run = _Run(workflow, ticket, actor, enrollment_id, enrolled, event.depth)
    _run_from(repo, run, list(workflow.actions), 0)


@dataclass(frozen=True)
class _Run:
    """One enrollment going through its workflow's actions."""

    workflow: WorkflowLike
    ticket: TicketLike
    actor: Actor
    enrollment_id: int
    cause_id: int
    depth: int


def _run_from(repo: Repository, run: _Run, actions: list[Any], start: int) -> bool:
    """Run actions[start:] in order, going down the path a branch picks. False when a delay
    stopped the run (the rest is stored and resumes later)."""
    for index in range(start, len(actions)):
        action = actions[index]
        if action.kind == DELAY:
            _wait(repo, run, action, index)
            return False
        if action.kind == BRANCH:
            if not _run_from(repo, run, path(action, _take_branch(repo, run, action)), 0):
                return False
            continue
        run_action(repo, action, run)
    return True


def _take_branch(repo: Repository, run: _Run, branch: ActionLike) -> str:
    """R-A5 if/else: test the ticket as it is now; the chosen path is on the timeline."""
    condition = branch.config.get("if") or {}
    which = "yes" if matches(repo, condition, run.ticket) else "no"
    met = "met" if which == "yes" else "not met"
    detail = f"{which} path: {describe_conditions(condition)} is {met}"
    _record(repo, branch, run, "ok", detail)
    return which


def _continue_after(repo: Repository, run: _Run, action: ActionLike) -> None:
    """The rest of the action's list, then the rest of each list around it (a branch's path
    ends where the branch stood, and the run goes on after the branch)."""
    while True:
        actions = siblings(action)
        index = next(i for i, each in enumerate(actions) if each.id == action.id)
        if not _run_from(repo, run, actions, index + 1) or action.parent is None:
            return
        action = action.parent


def _wait(repo: Repository, run: _Run, action: ActionLike, index: int) -> None:
    due = due_time(action.config, repo.now())
    waiting = repo.add_timeline(
        Timeline.WAITING,
        run.actor,
        ticket_id=run.ticket.id,
        cause_id=run.cause_id,
        summary=f"{describe_delay(action.config)}: the next steps run at {due:%Y-%m-%d %H:%M} UTC",
        data={"action_id": action.id, "due_at": due.isoformat(), "workflow_id": run.workflow.id},
    )
    repo.add_scheduled_step(
        workflow_id=run.workflow.id,
        ticket_id=run.ticket.id,
        enrollment_id=run.enrollment_id,
        next_position=index + 1,
        after_action_id=action.id,
        due_at=due,
        depth=run.depth,
        cause_id=waiting,
    )


def resume_step(repo: Repository, step: ScheduledStepLike) -> None:
    """Go on with a workflow whose delay is over: at once when overdue, and said so."""
    now = repo.now()
    step.done_at = now
    ticket = repo.ticket(step.ticket_id)
    workflow = repo.workflow(step.workflow_id)
    if ticket is None or workflow is None:
        return  # deleted meanwhile: nothing left to act on
    actor = Actor("workflow", workflow.id, workflow.name)
    delay = repo.workflow_action(step.after_action_id) if step.after_action_id else None
    if not workflow.enabled:
        _stopped(repo, step, ticket, actor, "the workflow is off")
        return
    if step.after_action_id is not None and (delay is None or delay.workflow_id != workflow.id):
        _stopped(repo, step, ticket, actor, "its delay step was deleted from the workflow")
        return
    late = now - step.due_at
    summary = "Delay over"
    if late > LATE_AFTER:
        summary += (
            f", late by {format_duration(int(late.total_seconds()))} (Deskline was not running)"
        )
    resumed = repo.add_timeline(
        Timeline.RESUMED,
        actor,
        ticket_id=ticket.id,
        cause_id=step.cause_id,
        summary=summary,
        data={"late_seconds": max(0, int(late.total_seconds())), "stopped": False},
    )
    run = _Run(workflow, ticket, actor, step.enrollment_id, resumed, step.depth)
    if delay is None:  # a step stored before branches existed: a top-level position
        _run_from(repo, run, list(workflow.actions), step.next_position)
    else:
        _continue_after(repo, run, delay)


def _stopped(
    repo: Repository, step: ScheduledStepLike, ticket: TicketLike, actor: Actor, why: str
) -> None:
    repo.add_timeline(
        Timeline.RESUMED,
        actor,
        ticket_id=ticket.id,
        cause_id=step.cause_id,
        summary=f"Delay over, but {why}: its remaining steps did not run",
        data={"late_seconds": 0, "stopped": True},
    )


def run_action(repo: Repository, action: ActionLike, run: _Run) -> str:
    """Run one action; record ran / failed / skipped. Returns the state."""
    try:
        # Actions check everything that can fail before they write, so an ActionFailed or
        # ActionSkipped leaves nothing half-done and needs no savepoint. Anything else is a bug
        # or a database error: it fails the whole event, which rolls back and is retried.
        detail = _perform(repo, action, run.ticket, run.actor, run.cause_id, run.depth)
    except ActionSkipped as exc:
        state, detail = "skipped", str(exc)
    except ActionFailed as exc:
        state, detail = "failed", str(exc)
    else:
        state = "ok"
    _record(repo, action, run, state, detail)
    return state


def _record(repo: Repository, action: ActionLike, run: _Run, state: str, detail: str) -> None:
    """An action run and its timeline line (ran / failed / skipped, with why)."""
    run_id = repo.add_action_run(
        run.enrollment_id, action.id, run.ticket.id, state, detail, run.depth
    )
    kind, verb = {
        "ok": (Timeline.ACTION_RAN, "ran"),
        "failed": (Timeline.ACTION_FAILED, "failed"),
        "skipped": (Timeline.ACTION_SKIPPED, "skipped"),
    }[state]
    repo.add_timeline(
        kind,
        run.actor,
        ticket_id=run.ticket.id,
        cause_id=run.cause_id,
        summary=f"Action “{describe_action(repo, action)}” {verb}"
        + (f": {detail}" if detail else ""),
        data={"action_id": action.id, "run_id": run_id, "state": state, "detail": detail},
    )


def _perform(
    repo: Repository,
    action: ActionLike,
    ticket: TicketLike,
    actor: Actor,
    cause_id: int,
    depth: int,
) -> str:
    if action.kind == SEND_EMAIL:
        return _send_email(repo, action.config, ticket, actor, cause_id)
    if action.kind == NOTIFY:
        return _notify(repo, action.config, ticket, actor, cause_id)
    if action.kind == SET_PROPERTY:
        return _set_property(repo, action.config, ticket, actor, cause_id)
    if action.kind == ADD_NOTE:
        return _add_note(repo, action.config, ticket, actor, cause_id)
    if action.kind == ROTATE_OWNER:
        return _rotate_owner(repo, action, ticket, actor, cause_id)
    if action.kind == CREATE_TASK:
        return _create_task(repo, action, ticket, actor, cause_id)
    if action.kind == MOVE_TICKET:
        return _move_ticket(repo, action.config, ticket, actor, cause_id, depth)
    if action.kind == CLONE_TICKET:
        return _clone_ticket(repo, action.config, ticket, actor, cause_id, depth)
    raise ActionFailed(f"unknown action kind {action.kind!r}")


def template_variables(repo: Repository, ticket: TicketLike) -> dict[str, Any]:
    contact, owner, channel = ticket.contact, ticket.owner, ticket.channel
    return {
        "ticket": {
            "number": ticket.id,
            "subject": ticket.subject,
            "priority": ticket.priority,
            "source": ticket.source,
            "created_at": ticket.created_at,
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


def _send_email(
    repo: Repository, config: dict[str, Any], ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    template = repo.template(config.get("template_id"))
    if template is None:
        raise ActionFailed("its template was deleted")
    conversation = repo.conversation_for_automated_mail(ticket)
    if conversation is None:
        raise ActionSkipped("the ticket has no email conversation to write in")
    if conversation.contact is None:
        raise ActionSkipped("the ticket has no contact")
    try:
        rendered = render(template.subject, template.body, template_variables(repo, ticket))
    except TemplateRenderError as exc:
        raise ActionFailed(f"template “{template.name}”: {exc}") from exc
    body = with_branding(rendered.body, repo.setting("branding", True))
    automated_only = repo.only_automated_inbound(conversation.id)
    hold = (
        f"the thread holds only automated mail ({automated_only}): no auto-reply (SPEC §7)"
        if automated_only
        else None
    )
    queued = queue_conversation_mail(
        repo,
        ticket=ticket,
        conversation=conversation,
        subject=rendered.subject,
        body=body,
        actor=actor,
        kind="automated",
        sent_from="automation",
        cause_id=cause_id,
        template_name=template.name,
        extra_hold=hold,
    )
    repo.add_timeline(
        Timeline.INBOX_NOTE,
        actor,
        ticket_id=ticket.id,
        conversation_id=conversation.id,
        message_row_id=queued.message_row_id,
        cause_id=queued.timeline_id,
        summary=f"Automated email “{template.name}” sent from ticket #{ticket.id}",
        data={"template": template.name, "ticket": ticket.id, "outbox_id": queued.outbox_id},
    )
    return f"email “{template.name}” {queued.state} to {conversation.contact.email}"


def _notify(
    repo: Repository, config: dict[str, Any], ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    recipients = _recipients(repo, config, ticket)
    text = (
        config.get("message")
        or f"Ticket #{ticket.id} “{ticket.subject}” is now {ticket.status.label}"
    )
    for user in recipients:
        repo.add_notification(user.id, ticket.id, text)
        if user.email:
            queue_notification_mail(
                repo,
                ticket=ticket,
                recipient=user.email,
                recipient_name=user.display_name or user.name,
                subject=f"[Deskline] {text}",
                body=f"{text}\n\nOpen it in Deskline: ticket #{ticket.id}.\n",
                actor=actor,
                cause_id=cause_id,
            )
    return "notified " + ", ".join(u.name for u in recipients)


def _recipients(repo: Repository, config: dict[str, Any], ticket: TicketLike) -> list[Any]:
    """E14: resolved when the action runs."""
    target = config.get("to")
    if target == "owner":
        if ticket.owner is None:
            raise ActionSkipped("the ticket has no owner (R-A4)")
        return [ticket.owner]
    if target == "user":
        user = repo.user(config.get("user_id"))
        if user is None:
            raise ActionFailed("its user no longer exists")
        return [user]
    if target == "team":
        team = repo.team(config.get("team_id"))
        if team is None:
            raise ActionFailed("its team no longer exists")
        if not team.members:
            raise ActionSkipped(f"team {team.name} has no members")
        return list(team.members)
    raise ActionFailed(f"unknown notification target {target!r}")


def _set_property(
    repo: Repository, config: dict[str, Any], ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    """R-A5: set priority, owner or subject; a value equal to the current one is a skip."""
    name, value = config.get("property"), config.get("value")
    old: str | None
    if name == "priority":
        if value not in PRIORITIES:
            raise ActionFailed(f"priority {value!r} is not one of {', '.join(PRIORITIES)}")
        old = ticket.priority
        if old == value:
            raise ActionSkipped(f"priority is already {value}")
        ticket.priority = str(value)
    elif name == "owner":
        owner = repo.user(value) if value is not None else None
        if value is not None and owner is None:
            raise ActionFailed("its user no longer exists")
        if ticket.owner_id == (owner.id if owner else None):
            raise ActionSkipped("the ticket has that owner already")
        old, value = set_owner(repo, ticket, owner)
    elif name == "subject":
        text = " ".join(str(value or "").split())
        if not text:
            raise ActionFailed("the new subject is empty")
        old, value = ticket.subject, text
        if old == value:
            raise ActionSkipped("the subject is already that")
        ticket.subject = text
    else:
        raise ActionFailed(f"cannot set {name!r} (only {', '.join(PROPERTIES)})")
    ticket.updated_at = repo.now()
    record_property(repo, actor, ticket, str(name), old, value, cause_id)
    return f"{name} set to {value or '(none)'}"


def _add_note(
    repo: Repository, config: dict[str, Any], ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    """R-A5: an internal note on the ticket, written by the workflow; never mailed."""
    body = str(config.get("body") or "").strip()
    if not body:
        raise ActionFailed("the note is empty")
    message_id = None
    if ticket.origin_conversation_id is not None:
        message_id = repo.add_note_message(ticket.origin_conversation_id, None, body).id
    repo.add_timeline(
        Timeline.NOTE,
        actor,
        ticket_id=ticket.id,
        conversation_id=ticket.origin_conversation_id,
        message_row_id=message_id,
        cause_id=cause_id,
        summary=f"Note: {body.splitlines()[0][:120]}",
        data={"body": body},
    )
    return "note added"


def _rotate_owner(
    repo: Repository, action: ActionLike, ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    """R-A5: round-robin within a team, skipping users marked away; the turn is kept in the
    action's config, so it goes on where it stopped after a restart."""
    team = repo.team(action.config.get("team_id"))
    if team is None:
        raise ActionFailed("its team no longer exists")
    members = sorted(team.members, key=lambda user: user.id)
    present = [user for user in members if not user.away]
    if not present:
        raise ActionSkipped(f"every member of {team.name} is away" if members else "no members")
    last = action.config.get("last_user_id")
    following = [user for user in present if last is None or user.id > last]
    owner = (following or present)[0]
    action.config = {**action.config, "last_user_id": owner.id}
    old, new = set_owner(repo, ticket, owner)
    record_property(repo, actor, ticket, "owner", old, new, cause_id)
    return f"owner {new} (round-robin in {team.name})"


def _create_task(
    repo: Repository, action: ActionLike, ticket: TicketLike, actor: Actor, cause_id: int
) -> str:
    """R-A5: a follow-up task for the ticket owner (or a named user), due after a duration or
    at a weekday and hour; listed per user in the app."""
    config = action.config
    if config.get("assignee", "owner") == "owner":
        user = ticket.owner
    else:
        user = repo.user(config.get("assignee"))
        if user is None:
            raise ActionFailed("its user no longer exists")
    due = due_time(config.get("due") or {"seconds": 0}, repo.now())
    title = str(config.get("title") or "Follow up")
    task_id = repo.add_task(
        ticket_id=ticket.id,
        user_id=user.id if user else None,
        title=title,
        due_at=due,
        workflow_id=action.workflow_id,
    )
    who = user.name if user else "nobody (the ticket has no owner)"
    repo.add_timeline(
        Timeline.TASK_CREATED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Task “{title}” for {who}, due {due:%Y-%m-%d %H:%M} UTC",
        data={"task_id": task_id, "user": user.name if user else None, "due_at": due.isoformat()},
    )
    return f"task for {who}"


def _move_ticket(
    repo: Repository,
    config: dict[str, Any],
    ticket: TicketLike,
    actor: Actor,
    cause_id: int,
    depth: int,
) -> str:
    """R-A5: move to a status, in this or another pipeline. The new status's actions run, no
    trigger fires (R-T8), and a chain deeper than MAX_DEPTH stops with a timeline note."""
    status = repo.status(config.get("status_id"))
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
        repo, ticket, status, actor, cause_id=cause_id, depth=depth + 1, reason=actor.name
    )
    if moved is None:
        ticket.pipeline_id = old_pipeline
        ticket.pipeline = repo.pipeline(old_pipeline)
        raise ActionSkipped(f"not moved: the automation chain reached depth {MAX_DEPTH} (R-T8)")
    return f"moved to {pipeline.name} / {status.label}"


def _clone_ticket(
    repo: Repository,
    config: dict[str, Any],
    ticket: TicketLike,
    actor: Actor,
    cause_id: int,
    depth: int,
) -> str:
    """R-A5: a new ticket with this one's subject, contact, channel, priority and owner, in the
    chosen status (default: the first of this pipeline). Its status actions run one level
    deeper, so a workflow that clones into its own status stops at MAX_DEPTH (R-T8)."""
    status = repo.status(config.get("status_id")) if config.get("status_id") else None
    if config.get("status_id") and status is None:
        raise ActionFailed("its target status no longer exists")
    if status is None:
        status = repo.statuses(ticket.pipeline_id)[0]
    if depth_capped(repo, ticket, actor, cause_id, depth + 1, "Not cloned"):
        raise ActionSkipped(f"not cloned: the automation chain reached depth {MAX_DEPTH} (R-T8)")
    clone = repo.add_ticket(
        subject=ticket.subject,
        pipeline_id=status.pipeline_id,
        status_id=status.id,
        contact_id=ticket.contact_id,
        channel_id=ticket.channel_id,
        source=ticket.source,
        origin_conversation_id=None,
    )
    clone.priority = ticket.priority
    clone.owner_id = ticket.owner_id
    created = repo.add_timeline(
        Timeline.TICKET_CREATED,
        actor,
        ticket_id=clone.id,
        cause_id=cause_id,
        summary=f"Ticket #{clone.id} cloned from #{ticket.id} into {status.label}",
        data={"cloned_from": ticket.id, "status": status.label},
    )
    repo.emit(StatusEntered(clone.id, status.id, depth=depth + 1, cause_id=created))
    return f"cloned as #{clone.id}"


def describe_action(repo: Repository, action: ActionLike) -> str:
    config = action.config
    if action.kind == SEND_EMAIL:
        template = repo.template(config.get("template_id"))
        return f"Send email “{template.name if template else '(deleted template)'}”"
    if action.kind == NOTIFY:
        target = config.get("to")
        if target == "user":
            user = repo.user(config.get("user_id"))
            return f"Notify user {user.name if user else '(deleted)'}"
        if target == "team":
            team = repo.team(config.get("team_id"))
            return f"Notify team {team.name if team else '(deleted)'}"
        return "Notify the ticket owner"
    if action.kind == SET_PROPERTY:
        name, value = config.get("property"), config.get("value")
        if name == "owner":
            user = repo.user(value) if value is not None else None
            value = user.name if user else "nobody"
        return f"Set {name} to {value}"
    if action.kind == ADD_NOTE:
        return f"Add note “{str(config.get('body') or '')[:40]}”"
    if action.kind == DELAY:
        return describe_delay(config)
    if action.kind in (MOVE_TICKET, CLONE_TICKET):
        status = repo.status(config.get("status_id")) if config.get("status_id") else None
        where = f"{repo.pipeline(status.pipeline_id).name} / {status.label}" if status else ""
        if action.kind == MOVE_TICKET:
            return f"Move the ticket to {where or '(removed status)'}"
        return f"Clone the ticket into {where or 'its first status'}"
    if action.kind == CREATE_TASK:
        due = describe_due(config.get("due") or {"seconds": 0})
        return f"Create task “{config.get('title') or 'Follow up'}” ({due})"
    if action.kind == ROTATE_OWNER:
        team = repo.team(config.get("team_id"))
        return f"Rotate owner in team {team.name if team else '(deleted)'}"
    if action.kind == BRANCH:
        return f"If {describe_conditions(config.get('if'))}"
    return action.kind


def _note_skip(
    repo: Repository, ticket: TicketLike, actor: Actor, event: StatusEntered, reason: str
) -> None:
    repo.add_timeline(
        Timeline.ENROLLMENT_SKIPPED,
        actor,
        ticket_id=ticket.id,
        cause_id=event.cause_id,
        summary=f"Workflow “{actor.name}” did not enroll the ticket: {reason}",
        data={"workflow_id": actor.id, "reason": reason},
    )


def retry_action(repo: Repository, actor: Actor, run_id: int) -> str:
    """R-A9: run a failed action again (after its template was fixed, say). Returns its state."""
    run = repo.action_run(run_id)
    if run is None:
        raise ActionFailed(f"no action run {run_id}")
    if run.state != "failed":
        raise ActionFailed(f"action run {run_id} did not fail ({run.state}): nothing to retry")
    action = repo.workflow_action(run.action_id) if run.action_id is not None else None
    ticket = repo.ticket(run.ticket_id)
    if action is None or ticket is None:
        raise ActionFailed(f"the action or the ticket of run {run_id} no longer exists")
    workflow_actor = Actor("workflow", action.workflow_id, repo.workflow_name(action.workflow_id))
    cause = repo.add_timeline(
        Timeline.ACTION_RETRIED,
        actor,
        ticket_id=ticket.id,
        summary=f"Retry of the failed action “{describe_action(repo, action)}”",
        data={"run_id": run_id},
    )
    run.state = "retried"
    again = _Run(action.workflow, ticket, workflow_actor, run.enrollment_id, cause, run.depth)
    return run_action(repo, action, again)
