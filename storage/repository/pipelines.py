"""Pipelines, their statuses and triggers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage import models as m
from storage.repository.base import RepositoryBase


class PipelinesMixin(RepositoryBase):
    """Pipelines, their statuses and their triggers (cached per transaction)."""

    def pipeline(self, pipeline_id: int) -> m.Pipeline:
        return self.session.get_one(m.Pipeline, pipeline_id)

    def pipelines(self) -> list[m.Pipeline]:
        return list(self.session.scalars(select(m.Pipeline).order_by(m.Pipeline.position)))

    def pipeline_by_name(self, name: str) -> m.Pipeline | None:
        return self.session.scalar(select(m.Pipeline).where(m.Pipeline.name == name))

    def add_pipeline(self, name: str) -> m.Pipeline:
        self._forget_config()
        position = self.session.scalar(select(func.count()).select_from(m.Pipeline)) or 0
        pipeline = m.Pipeline(name=name, position=position)
        self.session.add(pipeline)
        self.session.flush()
        return pipeline

    def delete_pipeline(self, pipeline: Any) -> None:
        """Its statuses, triggers and workflows go with it; its tickets and channels must have
        moved first (automation.admin.remove_pipeline)."""
        self._forget_config()
        self.session.delete(pipeline)
        self.session.flush()
        for position, each in enumerate(self.pipelines()):
            each.position = position

    def status(self, status_id: Any) -> m.Status | None:
        return self.session.get(m.Status, status_id) if isinstance(status_id, int) else None

    def statuses(self, pipeline_id: int) -> list[m.Status]:
        return self._cached(
            ("statuses", pipeline_id),
            lambda: list(
                self.session.scalars(
                    select(m.Status)
                    .where(m.Status.pipeline_id == pipeline_id)
                    .order_by(m.Status.position, m.Status.id)
                )
            ),
        )

    def add_status(self, pipeline_id: int, label: str, state: str) -> m.Status:
        self._forget_config()
        position = len(self.statuses(pipeline_id))
        status = m.Status(pipeline_id=pipeline_id, label=label, state=state, position=position)
        self.session.add(status)
        self.session.flush()
        self._forget_config()
        return status

    def delete_status(self, status: Any) -> None:
        self._forget_config()
        for trigger in self.session.scalars(
            select(m.Trigger).where(m.Trigger.target_status_id == status.id)
        ):
            trigger.target_status_id = None
            trigger.target_status = None
        self.session.flush()
        self.session.delete(status)
        self.session.flush()
        for position, each in enumerate(self.statuses(status.pipeline_id)):
            each.position = position

    def trigger(self, pipeline_id: int, kind: str) -> m.Trigger | None:
        return self._cached(
            ("trigger", (pipeline_id, kind)),
            lambda: self.session.scalar(
                select(m.Trigger).where(
                    m.Trigger.pipeline_id == pipeline_id, m.Trigger.kind == kind
                )
            ),
        )

    def triggers(self, pipeline_id: int) -> list[m.Trigger]:
        return list(
            self.session.scalars(
                select(m.Trigger).where(m.Trigger.pipeline_id == pipeline_id).order_by(m.Trigger.id)
            )
        )

    def add_trigger(self, pipeline_id: int, kind: str, target_status_id: int | None) -> m.Trigger:
        self._forget_config()
        trigger = m.Trigger(pipeline_id=pipeline_id, kind=kind, target_status_id=target_status_id)
        self.session.add(trigger)
        self.session.flush()
        return trigger
