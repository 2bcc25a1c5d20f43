"""Settings an admin changes: defaults, channels, triggers, status actions, templates (SPEC §3–§5).

Only admins change settings (SPEC §7); every function here checks that first.
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from automation.actions import (
    ACTION_KINDS,
    ADD_NOTE,
    BRANCH,
    CLONE_TICKET,
    CREATE_TASK,
    DELAY,
    MOVE_TICKET,
    NOTIFY,
    PROPERTIES,
    ROTATE_OWNER,
    SEND_EMAIL,
    SET_PROPERTY,
)
from automation.conditions import ConditionError
from automation.conditions import check as check_conditions
from automation.flow import PATHS, descendants, path, renumber, siblings
from automation.flow import count as count_actions
from automation.ports import UserLike
from automation.schedule import DelayError, parse_delay
from automation.templates import BUILTIN_TEMPLATES, builtin_template_text
from automation.tickets import LIVE_SOURCES_EXCLUDED, PRIORITIES
from automation.triggers import CUSTOMER_REPLIED, DEFAULT_TARGETS, EMAIL_SENT, TRIGGER_NAMES

DEFAULT_PIPELINE = "Support Pipeline"
DEFAULT_STATUSES = (
    ("New", "OPEN"),
    ("Waiting on contact", "OPEN"),
    ("Waiting on us", "OPEN"),
    ("Closed", "CLOSED"),
)
CHANNEL_KINDS = ("email", "chat", "messenger", "form")
TRIGGER_KINDS = {"email-sent": EMAIL_SENT, "customer-replied": CUSTOMER_REPLIED}


MAX_NESTING = 4  # branches inside branches, at most this deep (the flow stays readable)


class SettingsError(Exception):
    """A settings change that is not allowed or not valid; the message says why."""


class ActionFields(TypedDict, total=False):
    """What an action does, as the CLI flags and the editor's dialogs give it; `_action_config`
    checks it and turns it into the stored config."""

    template_name: str | None  # send_email
    to: str | None  # notify: owner / user / team
    target_name: str | None  # a user, team or pipeline name, by kind
    message: str | None  # note text, notification text, task title
    property_name: str | None  # set_property
    value: str | None  # a property value, a delay, a due time, a status label
    condition: dict[str, Any] | None  # branch: the if-test (automation.conditions)


def require_admin(user: UserLike) -> None:
    if not user.is_admin:
        raise SettingsError(f"{user.name} is not an admin: only admins change settings")


def ensure_defaults(repo: Any, admin_name: str = "admin") -> list[str]:
    """E15: the default pipeline, its two triggers, the two templates and an admin; idempotent.

    Returns what was created, for the user to read.
    """
    created: list[str] = []
    pipeline = repo.pipeline_by_name(DEFAULT_PIPELINE)
    if pipeline is None and not repo.pipelines():
        pipeline = repo.add_pipeline(DEFAULT_PIPELINE)
        for label, state in DEFAULT_STATUSES:
            repo.add_status(pipeline.id, label, state)
        created.append(f"pipeline “{DEFAULT_PIPELINE}”")
    for each in repo.pipelines():
        created += ensure_triggers(repo, each)
    for name in BUILTIN_TEMPLATES:
        if repo.template_by_name(name) is None:
            subject, body = builtin_template_text(name)
            repo.add_template(name, subject, body, builtin=True)
            created.append(f"template “{name}”")
    if not any(u.is_admin for u in repo.users()):
        repo.add_user(admin_name, display_name="Administrator", email=None, is_admin=True)
        created.append(f"admin user “{admin_name}”")
    repo.instance_id()
    repo.secret()
    return created


def ensure_triggers(repo: Any, pipeline: Any) -> list[str]:
    created = []
    statuses = {s.label: s for s in repo.statuses(pipeline.id)}
    for kind, target in DEFAULT_TARGETS.items():
        if repo.trigger(pipeline.id, kind) is None:
            status = statuses.get(target)
            repo.add_trigger(pipeline.id, kind, status.id if status else None)
            created.append(f"trigger “{TRIGGER_NAMES[kind]}” in {pipeline.name}")
    return created


def pipeline_or_default(repo: Any, name: str | None) -> Any:
    if name:
        pipeline = repo.pipeline_by_name(name)
        if pipeline is None:
            known = ", ".join(p.name for p in repo.pipelines())
            raise SettingsError(f"no pipeline {name!r} (pipelines: {known})")
        return pipeline
    pipelines = repo.pipelines()
    if not pipelines:
        raise SettingsError("no pipeline: run `deskline init` first")
    return pipelines[0]


def status_in(repo: Any, pipeline: Any, label: str) -> Any:
    for status in repo.statuses(pipeline.id):
        if status.label.casefold() == label.strip().casefold():
            return status
    known = ", ".join(s.label for s in repo.statuses(pipeline.id))
    raise SettingsError(f"no status {label!r} in {pipeline.name} (statuses: {known})")


# --- channels --------------------------------------------------------------------------------


def add_channel(
    repo: Any,
    user: UserLike,
    *,
    name: str,
    kind: str,
    address: str | None,
    pipeline_name: str | None,
    ticket_automation: bool | None,
) -> Any:
    require_admin(user)
    if kind not in CHANNEL_KINDS:
        raise SettingsError(f"channel kind must be one of {', '.join(CHANNEL_KINDS)}")
    if repo.channel_by_name(name) is not None:
        raise SettingsError(f"a channel named {name!r} exists already")
    if kind == "email":
        address = _checked_address(address)
    pipeline = pipeline_or_default(repo, pipeline_name)
    if ticket_automation is None:
        ticket_automation = kind not in LIVE_SOURCES_EXCLUDED
    return repo.add_channel(
        name=name,
        kind=kind,
        address=address.lower() if address else None,
        pipeline_id=pipeline.id,
        ticket_automation=ticket_automation,
    )


def set_channel(
    repo: Any,
    user: UserLike,
    name: str,
    *,
    address: str | None = None,
    pipeline_name: str | None = None,
    ticket_automation: bool | None = None,
    bulk_opens_tickets: bool | None = None,
) -> Any:
    require_admin(user)
    channel = channel_named(repo, name)
    if address is not None:
        channel.address = _checked_address(address).lower()
    if pipeline_name is not None:
        channel.pipeline_id = pipeline_or_default(repo, pipeline_name).id
    if ticket_automation is not None:
        channel.ticket_automation = ticket_automation
    if bulk_opens_tickets is not None:
        channel.bulk_opens_tickets = bulk_opens_tickets
    return channel


def channel_named(repo: Any, name: str) -> Any:
    channel = repo.channel_by_name(name)
    if channel is None:
        known = ", ".join(c.name for c in repo.channels()) or "none yet"
        raise SettingsError(f"no channel {name!r} (channels: {known})")
    return channel


def _checked_address(address: str | None) -> str:
    address = (address or "").strip()
    if not address or "@" not in address or any(c in address for c in "\r\n <>,;"):
        raise SettingsError(f"an email channel needs a valid --address, not {address!r}")
    return address


# --- triggers --------------------------------------------------------------------------------


def set_trigger(
    repo: Any,
    user: UserLike,
    pipeline_name: str | None,
    kind_name: str,
    *,
    enabled: bool | None,
    target_label: str | None,
) -> Any:
    """R-T3 switch and R-T4 target. E5: a trigger's target must be an OPEN-state status."""
    require_admin(user)
    if kind_name not in TRIGGER_KINDS:
        raise SettingsError(f"trigger must be one of {', '.join(TRIGGER_KINDS)}")
    pipeline = pipeline_or_default(repo, pipeline_name)
    trigger = repo.trigger(pipeline.id, TRIGGER_KINDS[kind_name])
    if trigger is None:
        ensure_triggers(repo, pipeline)
        trigger = repo.trigger(pipeline.id, TRIGGER_KINDS[kind_name])
    if target_label is not None:
        status = status_in(repo, pipeline, target_label)
        if status.state != "OPEN":
            raise SettingsError(
                f"{status.label} is a closed status: a trigger's target must be open"
            )
        trigger.target_status_id = status.id
        trigger.target_status = status
    if enabled is not None:
        trigger.enabled = enabled
    return trigger


# --- status actions --------------------------------------------------------------------------


def status_workflow(repo: Any, status: Any) -> Any:
    """The built-in workflow of a status, created on first use (its enrollment: status is X)."""
    for workflow in repo.status_workflows(status.id):
        if workflow.builtin:
            return workflow
    return repo.add_workflow(
        name=f"{status.label} status actions",
        pipeline_id=status.pipeline_id,
        status_id=status.id,
        builtin=True,
    )


def add_action(
    repo: Any,
    user: UserLike,
    *,
    pipeline_name: str | None,
    status_label: str,
    kind: str,
    into: tuple[int, str] | None = None,
    **fields: Unpack[ActionFields],
) -> Any:
    """Add an action to a status's built-in workflow: at the end of its list, or `into` the
    end of a branch's path (branch action id, "yes"/"no")."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, status_label)
    config = _action_config(repo, kind, fields)
    workflow = status_workflow(repo, status)
    parent, branch = _into(repo, workflow, into)
    if kind == BRANCH:
        _check_nesting(parent, 1)
    return repo.add_workflow_action(workflow, kind, config, parent=parent, branch=branch)


def _into(repo: Any, workflow: Any, into: tuple[int, str] | None) -> tuple[Any, str | None]:
    """The branch and path an action goes into (None: the workflow's own list), checked."""
    if into is None:
        return None, None
    branch_id, which = into
    branch = repo.workflow_action(branch_id)
    if branch is None or branch.workflow_id != workflow.id:
        raise SettingsError(f"no action {branch_id} in workflow {workflow.id}")
    if branch.kind != BRANCH:
        raise SettingsError(f"action {branch_id} is not a branch: only a branch has paths")
    if which not in PATHS:
        raise SettingsError("a branch's paths are yes and no")
    return branch, which


def _check_nesting(parent: Any, levels: int) -> None:
    """`levels` branch levels placed under `parent` must stay within MAX_NESTING."""
    if _nesting(parent) + levels > MAX_NESTING:
        raise SettingsError(f"branches nest at most {MAX_NESTING} deep")


def _nesting(action: Any) -> int:
    depth = 0
    while action is not None:
        depth += action.kind == BRANCH
        action = action.parent
    return depth


def _action_config(repo: Any, kind: str, fields: ActionFields) -> dict[str, Any]:
    if kind not in ACTION_KINDS:
        raise SettingsError(f"action kind must be one of {', '.join(ACTION_KINDS)}")
    message, value = fields.get("message"), fields.get("value")
    target_name = fields.get("target_name")
    if kind == SET_PROPERTY:
        return _property_config(repo, fields.get("property_name"), value)
    if kind == ADD_NOTE:
        if not (message or "").strip():
            raise SettingsError("a note action needs its text (--message)")
        return {"body": (message or "").strip()}
    if kind == CREATE_TASK:
        return _task_config(repo, message, value, target_name)
    if kind in (MOVE_TICKET, CLONE_TICKET):
        if kind == CLONE_TICKET and not value:
            return {"status_id": None}
        status = status_in(repo, pipeline_or_default(repo, target_name), value or "")
        return {"status_id": status.id}
    if kind == DELAY:
        try:
            return parse_delay(value or "")
        except DelayError as exc:
            raise SettingsError(str(exc)) from exc
    if kind == ROTATE_OWNER:
        team = repo.team_by_name(target_name or "")
        if team is None:
            raise SettingsError(f"no team {target_name!r}: the owner rotates within a team")
        return {"team_id": team.id}
    if kind == SEND_EMAIL:
        template_name = fields.get("template_name")
        template = repo.template_by_name(template_name or "")
        if template is None:
            known = ", ".join(t.name for t in repo.templates())
            raise SettingsError(f"no template {template_name!r} (templates: {known})")
        return {"template_id": template.id}
    if kind == BRANCH:
        return _branch_config(fields.get("condition"))
    assert kind == NOTIFY
    return _notify_config(repo, fields.get("to"), target_name, message)


def _branch_config(condition: dict[str, Any] | None) -> dict[str, Any]:
    """R-A5 "branch on a condition": the if-test, in the enrollment condition's terms."""
    if not condition:
        raise SettingsError(
            'a branch needs its condition (--if), e.g. {"field": "priority", "value": "high"}'
        )
    try:
        check_conditions(condition)
    except ConditionError as exc:
        raise SettingsError(f"condition: {exc}") from exc
    return {"if": condition}


def _notify_config(
    repo: Any, to: str | None, target_name: str | None, message: str | None
) -> dict[str, Any]:
    config: dict[str, Any] = {"to": to}
    if message:
        config["message"] = message
    if to == "owner":
        return config
    if to == "user":
        found = repo.user_by_name(target_name or "")
        if found is None:
            raise SettingsError(f"no user {target_name!r}")
        config["user_id"] = found.id
        return config
    if to == "team":
        team = repo.team_by_name(target_name or "")
        if team is None:
            raise SettingsError(f"no team {target_name!r}")
        config["team_id"] = team.id
        return config
    raise SettingsError("a notification goes --to owner, user NAME or team NAME")


def _task_config(
    repo: Any, title: str | None, due: str | None, assignee: str | None
) -> dict[str, Any]:
    """R-A5 "create a task": a title, a due time (like a delay), for the owner or a user."""
    if not (title or "").strip():
        raise SettingsError("a task needs a title (--message)")
    try:
        due_config = parse_delay(due or "0s")
    except DelayError as exc:
        raise SettingsError(str(exc)) from exc
    config: dict[str, Any] = {"title": " ".join((title or "").split()), "due": due_config}
    if assignee in (None, "", "owner"):
        config["assignee"] = "owner"
    else:
        user = repo.user_by_name(assignee)
        if user is None:
            raise SettingsError(f"no user {assignee!r}")
        config["assignee"] = user.id
    return config


def _property_config(repo: Any, name: str | None, value: str | None) -> dict[str, Any]:
    """R-A5 "set a property": priority (low…urgent), owner (a user name, "" for nobody),
    subject (text)."""
    if name == "priority":
        if value not in PRIORITIES:
            raise SettingsError(f"priority must be one of {', '.join(PRIORITIES)}")
        return {"property": name, "value": value}
    if name == "owner":
        if not value:
            return {"property": name, "value": None}
        found = repo.user_by_name(value)
        if found is None:
            raise SettingsError(f"no user {value!r}")
        return {"property": name, "value": found.id}
    if name == "subject":
        text = " ".join((value or "").split())
        if not text:
            raise SettingsError("the new subject is empty")
        return {"property": name, "value": text}
    raise SettingsError(f"the property must be one of {', '.join(PROPERTIES)}")


def delete_action(repo: Any, user: UserLike, action_id: int, *, and_following: bool) -> int:
    """R-A6: delete this action, or this action and all following (in its list; a branch goes
    with both its paths). Returns how many actions went."""
    require_admin(user)
    action = _action(repo, action_id)
    actions = siblings(action)
    doomed = actions_to_delete(action, and_following=and_following)
    gone = count_actions(doomed)
    for each in doomed:
        repo.delete_workflow_action(each)
    renumber([a for a in actions if a not in doomed])
    return gone


def actions_to_delete(action: Any, *, and_following: bool) -> list[Any]:
    """The actions of its own list a delete takes (each branch among them takes its paths)."""
    if not and_following:
        return [action]
    return [a for a in siblings(action) if a.position >= action.position]


def clone_workflow(repo: Any, user: UserLike, workflow_id: int) -> Any:
    """R-A7: the clone is fully editable, starts off, with no enrollment history (E7)."""
    require_admin(user)
    original = repo.workflow(workflow_id)
    if original is None:
        raise SettingsError(f"no workflow {workflow_id}")
    conditions = dict(original.conditions or {})
    if original.builtin and "sources" not in conditions:
        conditions.setdefault("exclude_sources", sorted(LIVE_SOURCES_EXCLUDED))
    clone = repo.add_workflow(
        name=f"{original.name} (clone)",
        pipeline_id=original.pipeline_id,
        status_id=original.status_id,
        builtin=False,
        enabled=False,
        conditions=conditions,
        cloned_from_id=original.id,
    )
    for action in original.actions:
        _copy(repo, action, clone, None, None)
    return clone


def _copy(repo: Any, action: Any, workflow: Any, parent: Any, branch: str | None) -> Any:
    """A copy of the action (and of a branch's paths) at the end of the given list."""
    copy = repo.add_workflow_action(
        workflow, action.kind, dict(action.config), parent=parent, branch=branch
    )
    for which in PATHS:
        for child in path(action, which):
            _copy(repo, child, workflow, copy, which)
    return copy


def set_workflow(
    repo: Any,
    user: UserLike,
    workflow_id: int,
    *,
    enabled: bool | None = None,
    reenroll: bool | None = None,
    sources: list[str] | None = None,
    conditions: dict[str, Any] | None = None,
) -> Any:
    require_admin(user)
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id}")
    edits_enrollment = reenroll is not None or sources is not None or conditions is not None
    if workflow.builtin and edits_enrollment:
        raise SettingsError(
            "a built-in status workflow enrolls once and its enrollment cannot be edited (R-A7): "
            "clone it, change the clone, then delete the original"
        )
    if enabled is not None:
        workflow.enabled = enabled
    if reenroll is not None:
        workflow.reenroll = reenroll
    if sources is not None:
        workflow.conditions = {**_without_sources(workflow.conditions), "sources": sources}
    if conditions is not None:
        try:
            check_conditions(conditions)
        except ConditionError as exc:
            raise SettingsError(f"condition: {exc}") from exc
        kept = {k: v for k, v in (workflow.conditions or {}).items() if "sources" in k}
        workflow.conditions = {**kept, **conditions}
    return workflow


def _without_sources(conditions: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (conditions or {}).items() if k not in ("sources", "exclude_sources")}


def delete_workflow(repo: Any, user: UserLike, workflow_id: int) -> None:
    require_admin(user)
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id}")
    repo.delete_workflow(workflow)


# --- pipelines and statuses ------------------------------------------------------------------


def add_status(repo: Any, user: UserLike, pipeline_name: str | None, label: str, state: str) -> Any:
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    label = " ".join(label.split())
    if not label:
        raise SettingsError("a status needs a label")
    if state not in ("OPEN", "CLOSED"):
        raise SettingsError("a status is OPEN or CLOSED")
    if any(s.label.casefold() == label.casefold() for s in repo.statuses(pipeline.id)):
        raise SettingsError(f"{pipeline.name} has a status {label!r} already")
    return repo.add_status(pipeline.id, label, state)


def remove_status(
    repo: Any, user: UserLike, pipeline_name: str | None, label: str, *, move_to: str | None
) -> int:
    """SPEC §1: a status that still holds tickets is removed only by moving them first.

    Triggers that targeted it become broken (R-T4). Returns how many tickets were moved.
    """
    from automation.services import actor_of
    from automation.tickets import change_status

    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, label)
    if len(repo.statuses(pipeline.id)) == 1:
        raise SettingsError(f"{status.label} is the last status of {pipeline.name}")
    tickets = repo.tickets_in_status(status.id)
    if tickets and move_to is None:
        raise SettingsError(
            f"{status.label} holds {len(tickets)} ticket(s): move them to another status first"
        )
    if tickets:
        target = status_in(repo, pipeline, move_to or "")
        if target.id == status.id:
            raise SettingsError("move the tickets to a different status")
        for ticket in tickets:
            change_status(
                repo,
                ticket,
                target,
                actor_of(user),
                cause_id=None,
                depth=0,
                reason=f"status {status.label} removed",
            )
    repo.delete_status(status)
    return len(tickets)


# --- R-A6: the actions menu -------------------------------------------------------------------


def _action(repo: Any, action_id: int) -> Any:
    action = repo.workflow_action(action_id)
    if action is None:
        raise SettingsError(f"no action {action_id}")
    return action


def comment_action(repo: Any, user: UserLike, action_id: int, text: str) -> Any:
    """An admin discussion note shown beside the action (R-A6)."""
    require_admin(user)
    action = _action(repo, action_id)
    if not text.strip():
        raise SettingsError("the comment is empty")
    return repo.add_action_comment(action, user.id, text.strip())


def edit_action(
    repo: Any, user: UserLike, action_id: int, *, kind: str, **fields: Unpack[ActionFields]
) -> Any:
    require_admin(user)
    action = _action(repo, action_id)
    if action.kind == BRANCH and kind != BRANCH and action.children:
        raise SettingsError(
            f"this branch still holds {len(descendants(action))} action(s) in its paths: "
            "delete or move them first"
        )
    if kind == BRANCH and action.kind != BRANCH:
        _check_nesting(action.parent, 1)
    action.config = _action_config(repo, kind, fields)
    action.kind = kind
    return action


def clone_action(repo: Any, user: UserLike, action_id: int) -> Any:
    """A copy placed right after the original (R-A6); a branch is copied with its paths."""
    require_admin(user)
    action = _action(repo, action_id)
    copy = _copy(repo, action, action.workflow, action.parent, action.branch)
    _place(siblings(action), copy, action.position + 1)
    return copy


def move_action(repo: Any, user: UserLike, action_id: int, position: int) -> Any:
    """Move an action to another place in its list (positions count from 1)."""
    require_admin(user)
    action = _action(repo, action_id)
    actions = siblings(action)
    if not 1 <= position <= len(actions):
        raise SettingsError(f"position must be between 1 and {len(actions)}")
    _place(actions, action, position - 1)
    return action


def move_action_into(
    repo: Any,
    user: UserLike,
    action_id: int,
    into: tuple[int, str] | None,
    position: int | None = None,
) -> Any:
    """Move an action into a branch's path (branch id, "yes"/"no"), or into the workflow's own
    list (None): at the end, or at `position` (from 1)."""
    require_admin(user)
    action = _action(repo, action_id)
    parent, which = _into(repo, action.workflow, into)
    if parent is not None and (parent is action or parent in descendants(action)):
        raise SettingsError("an action cannot move into its own branch")
    if action.kind == BRANCH:
        _check_nesting(parent, _depth_below(action))
    renumber([a for a in siblings(action) if a is not action])
    repo.relocate_workflow_action(action, parent, which)
    renumber([*(a for a in siblings(action) if a is not action), action])
    if position is not None:
        move_action(repo, user, action_id, position)
    return action


def _depth_below(branch: Any) -> int:
    """How many branch levels a branch brings with it (itself included)."""
    return 1 + max((_depth_below(c) for c in branch.children if c.kind == BRANCH), default=0)


def _place(actions: list[Any], action: Any, index: int) -> None:
    ordered = [a for a in sorted(actions, key=lambda a: a.position) if a is not action]
    ordered.insert(index, action)
    renumber(ordered)


# --- templates (R-A2, R-A9, B7) ---------------------------------------------------------------


SAMPLE_VARIABLES: dict[str, Any] = {
    "ticket": {
        "number": 1,
        "subject": "Sample subject",
        "priority": "normal",
        "source": "email",
        "created_at": None,
    },
    "contact": {"name": "Sample Contact", "email": "contact@example.com"},
    "owner": {"name": "Sample Owner", "email": "owner@example.com"},
    "pipeline": {"name": DEFAULT_PIPELINE},
    "status": {"label": "New", "state": "OPEN"},
    "channel": {"name": "support", "address": "support@example.com"},
}


def preview_variables(repo: Any, ticket_number: int | None) -> dict[str, Any]:
    """The variables of a real ticket (the newest, or the one asked for), else a sample."""
    from automation.actions import template_variables

    ticket = repo.ticket(ticket_number) if ticket_number else repo.latest_ticket()
    if ticket_number and ticket is None:
        raise SettingsError(f"no ticket #{ticket_number}")
    return template_variables(repo, ticket) if ticket is not None else SAMPLE_VARIABLES


def set_template(
    repo: Any, user: UserLike, name: str, *, subject: str | None, body: str | None
) -> Any:
    """Save a template after it renders against a real ticket (B7: undefined names are errors)."""
    from automation.templates import lint

    require_admin(user)
    name = " ".join(name.split())
    if not name:
        raise SettingsError("a template needs a name")
    current = repo.template_by_name(name)
    subject = subject if subject is not None else (current.subject if current else None)
    body = body if body is not None else (current.body if current else None)
    if not subject or not body:
        raise SettingsError("a new template needs both --subject and a body")
    problem = lint(subject, body, preview_variables(repo, None))
    if problem is not None:
        raise SettingsError(f"template not saved: {problem}")
    return repo.set_template(name, subject, body)


# --- mail servers (issue 4) -------------------------------------------------------------------

TLS_MODES = ("implicit", "starttls", "none")
AUTH_MODES = ("password", "xoauth2")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MAIL_FIELDS = (
    "imap_host",
    "imap_port",
    "imap_tls",
    "imap_user",
    "imap_folder",
    "imap_secret",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_user",
    "smtp_secret",
    "auth",
)


def set_channel_mail(repo: Any, user: UserLike, name: str, **changes: Any) -> Any:
    """IMAP and SMTP settings of an email channel. Secrets are references (env:, file:,
    keyring:, command:), never the secret: a bare password is refused (SPEC §7)."""
    from mail.secrets import SecretError, check_reference

    require_admin(user)
    channel = channel_named(repo, name)
    if channel.kind != "email":
        raise SettingsError(
            f"{name} is a {channel.kind} channel: only email channels have mail servers"
        )
    for field, value in changes.items():
        if field not in MAIL_FIELDS:
            raise SettingsError(f"unknown mail setting {field}")
        if value is None:
            continue
        if field.endswith("_tls") and value not in TLS_MODES:
            raise SettingsError(f"{field} must be one of {', '.join(TLS_MODES)}")
        if field == "auth" and value not in AUTH_MODES:
            raise SettingsError(f"auth must be one of {', '.join(AUTH_MODES)}")
        if field.endswith("_port") and not 0 < int(value) < 65536:
            raise SettingsError(f"{field} must be a port number")
        if field.endswith("_secret"):
            try:
                value = check_reference(value)
            except SecretError as exc:
                raise SettingsError(str(exc)) from None
        setattr(channel, field, value)
    for side in ("imap", "smtp"):
        host = getattr(channel, f"{side}_host")
        if getattr(channel, f"{side}_tls") == "none" and host and host not in LOOPBACK_HOSTS:
            raise SettingsError(f"{side} without TLS is allowed only for a loopback server")
    return channel


# --- loop limits (SPEC §7) ----------------------------------------------------------------------


def parse_limits(text: str) -> list[list[int]]:
    """ "10/10,15/30" → [[10, 10], [15, 30]]: at most N automated emails in M minutes."""
    limits = []
    for part in text.split(","):
        count, sep, minutes = part.strip().partition("/")
        if not sep or not count.isdigit() or not minutes.isdigit():
            raise SettingsError(f"a limit is COUNT/MINUTES, e.g. 10/10,15/30 — not {part!r}")
        if int(count) < 1 or int(minutes) < 1:
            raise SettingsError(f"a limit needs a count and minutes of at least 1: {part!r}")
        limits.append([int(count), int(minutes)])
    return sorted(limits, key=lambda limit: limit[1])


def set_loop_limits(
    repo: Any, user: UserLike, *, per_ticket: str | None, per_recipient: str | None
) -> None:
    require_admin(user)
    if per_ticket is not None:
        repo.set_setting("loop_limits_per_ticket", parse_limits(per_ticket))
    if per_recipient is not None:
        repo.set_setting("loop_limits_per_recipient", parse_limits(per_recipient))


def loop_limits(repo: Any) -> dict[str, list[list[int]]]:
    from automation.outbound import PER_RECIPIENT_LIMITS, PER_TICKET_LIMITS

    return {
        "per_ticket": [list(x) for x in repo.setting("loop_limits_per_ticket", PER_TICKET_LIMITS)],
        "per_recipient": [
            list(x) for x in repo.setting("loop_limits_per_recipient", PER_RECIPIENT_LIMITS)
        ],
    }


# --- settings screen: pipelines, statuses and branding (SPEC §1, §5, R-A3) ----------------------


def set_branding(repo: Any, user: UserLike, enabled: bool) -> bool:
    """R-A3: automated emails end with a Deskline branding line; an admin setting removes it."""
    require_admin(user)
    repo.set_setting("branding", bool(enabled))
    return bool(enabled)


def _clean_name(text: str, what: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise SettingsError(f"a {what} needs a name")
    if len(name) > 200:
        raise SettingsError(f"a {what} name has at most 200 characters")
    return name


def add_pipeline(
    repo: Any,
    user: UserLike,
    name: str,
    statuses: tuple[tuple[str, str], ...] = DEFAULT_STATUSES,
) -> Any:
    """SPEC §1: admins add pipelines. A new pipeline starts with the default statuses and its two
    triggers on with their default targets (R-T1, R-T2, E15), so it is usable at once."""
    require_admin(user)
    name = _clean_name(name, "pipeline")
    if any(p.name.casefold() == name.casefold() for p in repo.pipelines()):
        raise SettingsError(f"a pipeline named {name!r} exists already")
    if not statuses:
        raise SettingsError("a pipeline needs at least one status")
    pipeline = repo.add_pipeline(name)
    for label, state in statuses:
        repo.add_status(pipeline.id, label, state)
    ensure_triggers(repo, pipeline)
    return pipeline


def rename_pipeline(repo: Any, user: UserLike, name: str, new_name: str) -> Any:
    """SPEC §1: admins rename pipelines; channels, tickets and triggers follow by id."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, name)
    new_name = _clean_name(new_name, "pipeline")
    for other in repo.pipelines():
        if other.id != pipeline.id and other.name.casefold() == new_name.casefold():
            raise SettingsError(f"a pipeline named {new_name!r} exists already")
    pipeline.name = new_name
    return pipeline


def move_pipeline(repo: Any, user: UserLike, name: str, position: int) -> Any:
    """SPEC §1: reorder pipelines (positions count from 1). The first pipeline is the default
    of commands that do not name one."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, name)
    _reposition(repo.pipelines(), pipeline, position)
    return pipeline


def _reposition(items: list[Any], item: Any, position: int) -> None:
    """Put `item` at `position` (from 1) among `items` and renumber them all."""
    ordered = [each for each in items if each.id != item.id]
    if not 1 <= position <= len(ordered) + 1:
        raise SettingsError(f"position must be between 1 and {len(ordered) + 1}")
    ordered.insert(position - 1, item)
    for index, each in enumerate(ordered):
        each.position = index


def rename_status(
    repo: Any, user: UserLike, pipeline_name: str | None, label: str, new_label: str
) -> Any:
    """SPEC §1: admins rename statuses. Triggers target statuses by id, so a renamed target stays
    a working target (R-T4); the built-in workflow's name follows the label (R-A7)."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, label)
    new_label = " ".join((new_label or "").split())
    if not new_label:
        raise SettingsError("a status needs a label")
    for other in repo.statuses(pipeline.id):
        if other.id != status.id and other.label.casefold() == new_label.casefold():
            raise SettingsError(f"{pipeline.name} has a status {new_label!r} already")
    old_label = status.label
    status.label = new_label
    for workflow in repo.status_workflows(status.id):
        if workflow.builtin and workflow.name == f"{old_label} status actions":
            workflow.name = f"{new_label} status actions"
    return status


def move_status(
    repo: Any, user: UserLike, pipeline_name: str | None, label: str, position: int
) -> Any:
    """SPEC §1: reorder a pipeline's statuses (positions count from 1). New tickets enter the
    first status (R-C1), so moving a status to the top changes where tickets start."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, label)
    _reposition(repo.statuses(pipeline.id), status, position)
    return status


def remove_pipeline(
    repo: Any, user: UserLike, name: str, *, move_to_pipeline: str, move_to_status: str
) -> int:
    """SPEC §1: a pipeline goes only after its tickets move to a status of another pipeline;
    its channels are connected to that pipeline. Returns how many tickets moved.

    The moved tickets enter their new status as any move does: its status actions run (R-A1)."""
    from automation.services import actor_of
    from automation.tickets import change_status

    require_admin(user)
    pipeline = pipeline_or_default(repo, name)
    target_pipeline = pipeline_or_default(repo, move_to_pipeline)
    if target_pipeline.id == pipeline.id:
        raise SettingsError("move the tickets to a different pipeline")
    target = status_in(repo, target_pipeline, move_to_status)
    moved = 0
    for status in repo.statuses(pipeline.id):
        for ticket in repo.tickets_in_status(status.id):
            ticket.pipeline_id = target_pipeline.id
            ticket.pipeline = target_pipeline
            change_status(
                repo,
                ticket,
                target,
                actor_of(user),
                cause_id=None,
                depth=0,
                reason=f"pipeline {pipeline.name} removed",
            )
            moved += 1
    for channel in repo.channels():
        if channel.pipeline_id == pipeline.id:
            channel.pipeline = target_pipeline
    repo.flush()
    repo.delete_pipeline(pipeline)
    return moved


# --- the workflow editor: actions by workflow id (SPEC §5, R-A6, R-A7) --------------------------


def workflow_by_id(repo: Any, workflow_id: int) -> Any:
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id} (see `deskline workflow list`)")
    return workflow


def add_action_to_workflow(
    repo: Any,
    user: UserLike,
    workflow_id: int,
    kind: str,
    *,
    into: tuple[int, str] | None = None,
    **fields: Unpack[ActionFields],
) -> Any:
    """Add an action at the end of any workflow (a built-in status workflow or a clone), or of a
    branch's path in it, checked like `add_action`."""
    require_admin(user)
    workflow = workflow_by_id(repo, workflow_id)
    config = _action_config(repo, kind, fields)
    parent, branch = _into(repo, workflow, into)
    if kind == BRANCH:
        _check_nesting(parent, 1)
    return repo.add_workflow_action(workflow, kind, config, parent=parent, branch=branch)


def require_action_in_workflow(repo: Any, user: UserLike, action_id: int, workflow_id: int) -> None:
    """Refuse to touch an action through a workflow it is not in (`--workflow ID`)."""
    require_admin(user)
    workflow = workflow_by_id(repo, workflow_id)
    action = _action(repo, action_id)
    if action.workflow_id != workflow.id:
        raise SettingsError(
            f"action {action_id} is in workflow {action.workflow_id}, not in workflow {workflow_id}"
        )
