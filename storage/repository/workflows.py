"""Workflows, their actions and the admins' comments on them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from storage import models as m
from storage.repository.base import RepositoryBase


class WorkflowsMixin(RepositoryBase):
    """Workflows, their actions (a branch holds two paths) and comments."""

    def status_workflows(self, status_id: int) -> list[m.Workflow]:
        return self._cached(
            ("workflows", status_id),
            lambda: list(
                self.session.scalars(
                    select(m.Workflow)
                    .where(m.Workflow.status_id == status_id)
                    .order_by(m.Workflow.id)
                )
            ),
        )

    def workflow(self, workflow_id: int) -> m.Workflow | None:
        return self.session.get(m.Workflow, workflow_id)

    def workflows(self, pipeline_id: int) -> list[m.Workflow]:
        return list(
            self.session.scalars(
                select(m.Workflow)
                .where(m.Workflow.pipeline_id == pipeline_id)
                .order_by(m.Workflow.id)
            )
        )

    def workflow_name(self, workflow_id: int) -> str:
        workflow = self.session.get(m.Workflow, workflow_id)
        return workflow.name if workflow is not None else "(deleted workflow)"

    def add_workflow(
        self,
        *,
        name: str,
        pipeline_id: int,
        status_id: int | None,
        builtin: bool,
        enabled: bool = True,
        conditions: dict[str, Any] | None = None,
        cloned_from_id: int | None = None,
    ) -> m.Workflow:
        self._forget_config()
        workflow = m.Workflow(
            name=name,
            pipeline_id=pipeline_id,
            status_id=status_id,
            builtin=builtin,
            enabled=enabled,
            conditions=conditions or {},
            cloned_from_id=cloned_from_id,
            created_at=self.now(),
        )
        self.session.add(workflow)
        self.session.flush()
        return workflow

    def delete_workflow(self, workflow: Any) -> None:
        self._forget_config()
        self.session.delete(workflow)

    def workflow_action(self, action_id: int) -> m.WorkflowAction | None:
        return self.session.get(m.WorkflowAction, action_id)

    def add_workflow_action(
        self,
        workflow: Any,
        kind: str,
        config: dict[str, Any],
        *,
        parent: Any = None,
        branch: str | None = None,
    ) -> m.WorkflowAction:
        """At the end of the workflow's list, or of one path ("yes"/"no") of a branch."""
        self._forget_config()
        if parent is None:
            action = m.WorkflowAction(position=len(workflow.actions), kind=kind, config=config)
            workflow.actions.append(action)
        else:
            taken = [a for a in parent.children if a.branch == branch]
            action = m.WorkflowAction(
                workflow=workflow, branch=branch, position=len(taken), kind=kind, config=config
            )
            parent.children.append(action)
        self.session.flush()
        return action

    def delete_workflow_action(self, action: Any) -> None:
        """The action and, for a branch, both its paths (delete-orphan removes the rows)."""
        self._forget_config()
        if action.parent is None:
            action.workflow.actions.remove(action)
        else:
            action.parent.children.remove(action)
        self.session.flush()

    def relocate_workflow_action(self, action: Any, parent: Any, branch: str | None) -> None:
        """Put the action in another list (the workflow's, or a path of a branch); the caller
        numbers the positions."""
        self._forget_config()
        workflow, old_parent = action.workflow, action.parent
        # A plain UPDATE: moving between two delete-orphan collections through the ORM would
        # let the flush delete the row as an orphan of the list it left.
        self.session.flush()
        self.session.execute(
            update(m.WorkflowAction)
            .where(m.WorkflowAction.id == action.id)
            .values(
                parent_id=parent.id if parent is not None else None,
                branch=branch if parent is not None else None,
            )
        )
        self.session.expire(action)
        self.session.expire(workflow, ["actions"])
        for each in (old_parent, parent):
            if each is not None:
                self.session.expire(each, ["children"])

    def add_action_comment(self, action: Any, user_id: int, body: str) -> m.ActionComment:
        comment = m.ActionComment(author_id=user_id, body=body, at=self.now())
        action.comments.append(comment)
        self.session.flush()
        return comment
