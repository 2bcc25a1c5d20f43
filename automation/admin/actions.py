"""A workflow's actions (SPEC R-A1..R-A6): add, edit, comment, clone, move, delete, keeping the
branch tree whole. What each kind of action takes is its own (`automation.action_kinds`)."""

from __future__ import annotations

from typing import Any, Unpack

from automation.action_kinds import registry
from automation.action_kinds.base import ActionFields
from automation.action_kinds.branch import BRANCH
from automation.admin.common import SettingsError, pipeline_or_default, require_admin, status_in
from automation.admin.workflows import copy_action, status_workflow, workflow_by_id
from automation.flow import PATHS, descendants, path, renumber, siblings
from automation.flow import count as count_actions
from automation.ports import (
    ActionCommentLike,
    ActionLike,
    AdminRepository,
    UserLike,
    WorkflowLike,
)

MAX_NESTING = 4  # branches inside branches, at most this deep (the flow stays readable)


def add_action(
    repo: AdminRepository,
    user: UserLike,
    *,
    pipeline_name: str | None,
    status_label: str,
    kind: str,
    into: tuple[int, str] | None = None,
    **fields: Unpack[ActionFields],
) -> ActionLike:
    """Add an action to a status's built-in workflow: at the end of its list, or `into` the
    end of a branch's path (branch action id, "yes"/"no")."""
    require_admin(user)
    pipeline = pipeline_or_default(repo, pipeline_name)
    status = status_in(repo, pipeline, status_label)
    config = registry.config_of(repo, kind, fields)
    return _add(repo, status_workflow(repo, status), kind, config, into)


def add_action_to_workflow(
    repo: AdminRepository,
    user: UserLike,
    workflow_id: int,
    kind: str,
    *,
    into: tuple[int, str] | None = None,
    **fields: Unpack[ActionFields],
) -> ActionLike:
    """Add an action at the end of any workflow (a built-in status workflow or a clone), or of a
    branch's path in it, checked like `add_action`."""
    require_admin(user)
    workflow = workflow_by_id(repo, workflow_id)
    return _add(repo, workflow, kind, registry.config_of(repo, kind, fields), into)


def _add(
    repo: AdminRepository,
    workflow: WorkflowLike,
    kind: str,
    config: dict[str, Any],
    into: tuple[int, str] | None,
) -> ActionLike:
    parent, branch = _into(repo, workflow, into)
    if kind == BRANCH:
        _check_nesting(parent, 1)
    return repo.add_workflow_action(workflow, kind, config, parent=parent, branch=branch)


def _into(
    repo: AdminRepository, workflow: WorkflowLike, into: tuple[int, str] | None
) -> tuple[ActionLike | None, str | None]:
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


def _check_nesting(parent: ActionLike | None, levels: int) -> None:
    """`levels` branch levels placed under `parent` must stay within MAX_NESTING."""
    if _nesting(parent) + levels > MAX_NESTING:
        raise SettingsError(f"branches nest at most {MAX_NESTING} deep")


def _nesting(action: ActionLike | None) -> int:
    depth = 0
    while action is not None:
        depth += action.kind == BRANCH
        action = action.parent
    return depth


def delete_action(
    repo: AdminRepository, user: UserLike, action_id: int, *, and_following: bool
) -> int:
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


def actions_to_delete(action: ActionLike, *, and_following: bool) -> list[ActionLike]:
    """The actions of its own list a delete takes (each branch among them takes its paths)."""
    if not and_following:
        return [action]
    return [a for a in siblings(action) if a.position >= action.position]


def _action(repo: AdminRepository, action_id: int) -> ActionLike:
    action = repo.workflow_action(action_id)
    if action is None:
        raise SettingsError(f"no action {action_id}")
    return action


def comment_action(
    repo: AdminRepository, user: UserLike, action_id: int, text: str
) -> ActionCommentLike:
    """An admin discussion note shown beside the action (R-A6)."""
    require_admin(user)
    action = _action(repo, action_id)
    if not text.strip():
        raise SettingsError("the comment is empty")
    return repo.add_action_comment(action, user.id, text.strip())


def edit_action(
    repo: AdminRepository,
    user: UserLike,
    action_id: int,
    *,
    kind: str,
    **fields: Unpack[ActionFields],
) -> ActionLike:
    require_admin(user)
    action = _action(repo, action_id)
    if action.kind == BRANCH and kind != BRANCH and action.children:
        raise SettingsError(
            f"this branch still holds {len(descendants(action))} action(s) in its paths: "
            "delete or move them first"
        )
    if kind == BRANCH and action.kind != BRANCH:
        _check_nesting(action.parent, 1)
    action.config = registry.config_of(repo, kind, fields)
    action.kind = kind
    return action


def clone_action(repo: AdminRepository, user: UserLike, action_id: int) -> ActionLike:
    """A copy placed right after the original (R-A6); a branch is copied with its paths."""
    require_admin(user)
    action = _action(repo, action_id)
    copy = copy_action(repo, action, action.workflow, action.parent, action.branch)
    _copy_comments(repo, user, action, copy)
    _place(siblings(action), copy, action.position + 1)
    return copy


def _copy_comments(
    repo: AdminRepository, user: UserLike, action: ActionLike, copy: ActionLike
) -> None:
    """The copy keeps the original's comments (R-A6), a branch's paths theirs too: a comment
    says why an action is there, which holds for its copy."""
    for comment in action.comments:
        author = comment.author_id if comment.author_id is not None else user.id
        repo.add_action_comment(copy, author, comment.body)
    for which in PATHS:
        for child, copied in zip(path(action, which), path(copy, which), strict=True):
            _copy_comments(repo, user, child, copied)


def move_action(repo: AdminRepository, user: UserLike, action_id: int, position: int) -> ActionLike:
    """Move an action to another place in its list (positions count from 1)."""
    require_admin(user)
    action = _action(repo, action_id)
    actions = siblings(action)
    if not 1 <= position <= len(actions):
        raise SettingsError(f"position must be between 1 and {len(actions)}")
    _place(actions, action, position - 1)
    return action


def move_action_into(
    repo: AdminRepository,
    user: UserLike,
    action_id: int,
    into: tuple[int, str] | None,
    position: int | None = None,
) -> ActionLike:
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


def _depth_below(branch: ActionLike) -> int:
    """How many branch levels a branch brings with it (itself included)."""
    return 1 + max((_depth_below(c) for c in branch.children if c.kind == BRANCH), default=0)


def _place(actions: list[ActionLike], action: ActionLike, index: int) -> None:
    ordered = [a for a in sorted(actions, key=lambda a: a.position) if a is not action]
    ordered.insert(index, action)
    renumber(ordered)


def require_action_in_workflow(
    repo: AdminRepository, user: UserLike, action_id: int, workflow_id: int
) -> None:
    """Refuse to touch an action through a workflow it is not in (`--workflow ID`)."""
    require_admin(user)
    workflow = workflow_by_id(repo, workflow_id)
    action = _action(repo, action_id)
    if action.workflow_id != workflow.id:
        raise SettingsError(
            f"action {action_id} is in workflow {action.workflow_id}, not in workflow {workflow_id}"
        )
