"""Workflows (SPEC §5, R-A7): a status's built-in one, clones, their switches and enrollment
conditions."""

from __future__ import annotations

from typing import Any

from automation.admin.common import SettingsError, require_admin
from automation.conditions import ConditionError, check_values
from automation.conditions import check as check_conditions
from automation.flow import PATHS, path
from automation.ports import ActionLike, AdminRepository, StatusLike, UserLike, WorkflowLike
from automation.tickets import LIVE_SOURCES_EXCLUDED


def status_workflow(repo: AdminRepository, status: StatusLike) -> WorkflowLike:
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


def workflow_by_id(repo: AdminRepository, workflow_id: int) -> WorkflowLike:
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id} (see `deskline workflow list`)")
    return workflow


def clone_workflow(repo: AdminRepository, user: UserLike, workflow_id: int) -> WorkflowLike:
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
        copy_action(repo, action, clone, None, None)
    return clone


def copy_action(
    repo: AdminRepository,
    action: ActionLike,
    workflow: WorkflowLike,
    parent: ActionLike | None,
    branch: str | None,
) -> ActionLike:
    """A copy of the action (and of a branch's paths) at the end of the given list."""
    copy = repo.add_workflow_action(
        workflow, action.kind, dict(action.config), parent=parent, branch=branch
    )
    for which in PATHS:
        for child in path(action, which):
            copy_action(repo, child, workflow, copy, which)
    return copy


def set_workflow(
    repo: AdminRepository,
    user: UserLike,
    workflow_id: int,
    *,
    enabled: bool | None = None,
    reenroll: bool | None = None,
    sources: list[str] | None = None,
    conditions: dict[str, Any] | None = None,
) -> WorkflowLike:
    require_admin(user)
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id}")
    edits_enrollment = reenroll is not None or sources is not None or conditions is not None
    if workflow.builtin and edits_enrollment:
        raise SettingsError(
            "a built-in status workflow enrolls once and its enrollment cannot be edited: "
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
            conditions = check_values(repo, conditions)
        except ConditionError as exc:
            raise SettingsError(f"condition: {exc}") from exc
        kept = {k: v for k, v in (workflow.conditions or {}).items() if "sources" in k}
        workflow.conditions = {**kept, **conditions}
    return workflow


def same_status_workflows(repo: AdminRepository, workflow: WorkflowLike) -> list[WorkflowLike]:
    """The other workflows of the workflow's status (its original, its clones)."""
    if workflow.status_id is None:
        return []
    return [w for w in repo.status_workflows(workflow.status_id) if w.id != workflow.id]


def also_running(repo: AdminRepository, workflow: WorkflowLike) -> list[WorkflowLike]:
    """The other workflows of its status that are on and have actions: with this one on too, a
    ticket entering the status runs both (a clone beside its original sends "Ticket closed"
    twice, SPEC R-A7: switch the original off or delete it)."""
    return [w for w in same_status_workflows(repo, workflow) if w.enabled and w.actions]


def _without_sources(conditions: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (conditions or {}).items() if k not in ("sources", "exclude_sources")}


def delete_workflow(repo: AdminRepository, user: UserLike, workflow_id: int) -> None:
    require_admin(user)
    workflow = repo.workflow(workflow_id)
    if workflow is None:
        raise SettingsError(f"no workflow {workflow_id}")
    repo.delete_workflow(workflow)
