"""Pipelines and their statuses (SPEC §1): add, rename, reorder, remove (moving tickets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from automation.admin.common import SettingsError, pipeline_or_default, require_admin, status_in
from automation.admin.defaults import DEFAULT_STATUSES, ensure_triggers
from automation.ports import AdminRepository, PipelineLike, StatusLike, UserLike
from automation.services import actor_of
from automation.tickets import change_status


class _Ordered(Protocol):
    id: int
    position: int


def add_status(
    repo: AdminRepository, user: UserLike, pipeline_name: str | None, label: str, state: str
) -> StatusLike:
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
    repo: AdminRepository,
    user: UserLike,
    pipeline_name: str | None,
    label: str,
    *,
    move_to: str | None,
) -> int:
    """SPEC §1: a status that still holds tickets is removed only by moving them first.

    Triggers that targeted it become broken (R-T4). Returns how many tickets were moved.
    """
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


def _clean_name(text: str, what: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise SettingsError(f"a {what} needs a name")
    if len(name) > 200:
        raise SettingsError(f"a {what} name has at most 200 characters")
    return name


def add_pipeline(
    repo: AdminRepository,
    user: UserLike,
    name: str,
    statuses: tuple[tuple[str, str], ...] = DEFAULT_STATUSES,
) -> PipelineLike:
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


def rename_pipeline(
    repo: AdminRepository, user: UserLike, name: str, new_name: str
) -> PipelineLike:
    """SPEC §1: admins rename pipelines; channels, tickets and triggers follow by id."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, name)
    new_name = _clean_name(new_name, "pipeline")
    for other in repo.pipelines():
        if other.id != pipeline.id and other.name.casefold() == new_name.casefold():
            raise SettingsError(f"a pipeline named {new_name!r} exists already")
    pipeline.name = new_name
    return pipeline


def move_pipeline(repo: AdminRepository, user: UserLike, name: str, position: int) -> PipelineLike:
    """SPEC §1: reorder pipelines (positions count from 1). The first pipeline is the default
    of commands that do not name one."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, name)
    _reposition(repo.pipelines(), pipeline, position)
    return pipeline


def _reposition(items: Sequence[_Ordered], item: _Ordered, position: int) -> None:
    """Put `item` at `position` (from 1) among `items` and renumber them all."""
    ordered = [each for each in items if each.id != item.id]
    if not 1 <= position <= len(ordered) + 1:
        raise SettingsError(f"position must be between 1 and {len(ordered) + 1}")
    ordered.insert(position - 1, item)
    for index, each in enumerate(ordered):
        each.position = index


def rename_status(
    repo: AdminRepository, user: UserLike, pipeline_name: str | None, label: str, new_label: str
) -> StatusLike:
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
    repo: AdminRepository, user: UserLike, pipeline_name: str | None, label: str, position: int
) -> StatusLike:
    """SPEC §1: reorder a pipeline's statuses (positions count from 1). New tickets enter the
    first status (R-C1), so moving a status to the top changes where tickets start."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, label)
    # by position now: an earlier move of this transaction renumbered them (the list may not)
    _reposition(sorted(repo.statuses(pipeline.id), key=lambda s: s.position), status, position)
    return status


def remove_pipeline(
    repo: AdminRepository, user: UserLike, name: str, *, move_to_pipeline: str, move_to_status: str
) -> int:
    """SPEC §1: a pipeline goes only after its tickets move to a status of another pipeline;
    its channels are connected to that pipeline. Returns how many tickets moved.

    The moved tickets enter their new status as any move does: its status actions run (R-A1)."""
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
