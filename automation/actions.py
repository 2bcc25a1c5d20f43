"""Status actions: a workflow per status, enrolled once; the run through its actions.

SPEC §4: R-A1..R-A4, R-A7..R-A9, E7..E9, E14.

Each action runs on its own: a failure is recorded on the timeline (retryable) and the other actions
and the ticket change stand. What each kind of action does is its module's in
`automation.action_kinds`; this module walks the list and records what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from automation.action_kinds import registry
from automation.action_kinds.add_note import ADD_NOTE
from automation.action_kinds.base import (
    ActionFailed,
    ActionSkipped,
    Outcome,
    Step,
    TakePath,
    Wait,
)
from automation.action_kinds.branch import BRANCH
from automation.action_kinds.clone_ticket import CLONE_TICKET
from automation.action_kinds.create_task import CREATE_TASK
from automation.action_kinds.delay import DELAY
from automation.action_kinds.move_ticket import MOVE_TICKET
from automation.action_kinds.notify import NOTIFY
from automation.action_kinds.rotate_owner import ROTATE_OWNER
from automation.action_kinds.send_email import SEND_EMAIL, template_variables
from automation.action_kinds.set_property import SET_PROPERTY
from automation.conditions import describe as describe_conditions
from automation.conditions import matches
from automation.events import Actor, StatusEntered, Timeline
from automation.flow import path, siblings
from automation.ports import (
    ActionLike,
    Repository,
    ScheduledStepLike,
    TicketLike,
    WorkflowLike,
)
from automation.schedule import format_duration
from automation.tickets import LIVE_SOURCES_EXCLUDED

__all__ = [  # the kind ids stay importable from here, as callers always did
    "ADD_NOTE",
    "BRANCH",
    "CLONE_TICKET",
    "CREATE_TASK",
    "DELAY",
    "MOVE_TICKET",
    "NOTIFY",
    "ROTATE_OWNER",
    "SEND_EMAIL",
    "SET_PROPERTY",
    "ActionFailed",
    "ActionSkipped",
    "applies_to_source",
    "describe_action",
    "on_status_entered",
    "resume_step",
    "retry_action",
    "run_action",
    "template_variables",
]
LATE_AFTER = timedelta(minutes=1)  # a step resumed later than this past its due time is "late"


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
        _note_skip(repo, ticket, actor, event, f"{ticket.source} tickets are not enrolled")
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
            "already enrolled once; re-enrollment is off: clone the workflow to change it",
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
        _, outcome = _attempt(repo, action, run)
        if isinstance(outcome, Wait):
            _wait(repo, run, action, outcome, index)
            return False
        taken = path(action, outcome.which) if isinstance(outcome, TakePath) else []
        if taken and not _run_from(repo, run, taken, 0):
            return False
    return True


def _continue_after(repo: Repository, run: _Run, action: ActionLike) -> None:
    """The rest of the action's list, then the rest of each list around it (a branch's path
    ends where the branch stood, and the run goes on after the branch)."""
    while True:
        actions = siblings(action)
        index = next(i for i, each in enumerate(actions) if each.id == action.id)
        if not _run_from(repo, run, actions, index + 1) or action.parent is None:
            return
        action = action.parent


def _wait(repo: Repository, run: _Run, action: ActionLike, wait: Wait, index: int) -> None:
    waiting = repo.add_timeline(
        Timeline.WAITING,
        run.actor,
        ticket_id=run.ticket.id,
        cause_id=run.cause_id,
        summary=f"{wait.what}: the next steps run at {wait.until:%Y-%m-%d %H:%M} UTC",
        data={
            "action_id": action.id,
            "due_at": wait.until.isoformat(),
            "workflow_id": run.workflow.id,
        },
    )
    repo.add_scheduled_step(
        workflow_id=run.workflow.id,
        ticket_id=run.ticket.id,
        enrollment_id=run.enrollment_id,
        next_position=index + 1,
        after_action_id=action.id,
        due_at=wait.until,
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
    return _attempt(repo, action, run)[0]


def _attempt(repo: Repository, action: ActionLike, run: _Run) -> tuple[str, Outcome | None]:
    """Run one action through its kind and record what it did: ran / failed / skipped, with
    why (a wait is recorded by `_wait`). Returns the state and, unless it failed or was
    skipped, the kind's outcome."""
    step = Step(repo, action, run.ticket, run.actor, run.cause_id, run.depth)
    outcome: Outcome | None = None
    try:
        # Kinds check everything that can fail before they write, so an ActionFailed or
        # ActionSkipped leaves nothing half-done and needs no savepoint. Anything else is a bug
        # or a database error: it fails the whole event, which rolls back and is retried.
        outcome = registry.perform(step)
    except ActionSkipped as exc:
        state, detail = "skipped", str(exc)
    except ActionFailed as exc:
        state, detail = "failed", str(exc)
    else:
        if isinstance(outcome, Wait):
            return "waiting", outcome
        state = "ok"
        detail = outcome.detail if isinstance(outcome, TakePath) else outcome
    _record(repo, action, run, state, detail)
    return state, outcome


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


def describe_action(repo: Repository, action: ActionLike) -> str:
    return registry.describe(repo, action.kind, action.config)


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
