"""Settings, drafts and templates."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from storage import models as m
from storage.repository.base import RepositoryBase


class SettingsMixin(RepositoryBase):
    """Instance settings (loop limits, branding, ids), drafts and email templates."""

    def setting(self, key: str, default: Any) -> Any:
        if key not in self._settings:
            row = self.session.get(m.Setting, key)
            self._settings[key] = row.value if row is not None else default
        return self._settings[key]

    def set_setting(self, key: str, value: Any) -> None:
        self.session.merge(m.Setting(key=key, value=value))
        self._settings[key] = value

    def instance_id(self) -> str:
        value = self.setting("instance_id", None)
        if value is None:
            value = secrets.token_hex(8)
            self.set_setting("instance_id", value)
        return str(value)

    def secret(self) -> bytes:
        value = self.setting("message_id_secret", None)
        if value is None:
            value = secrets.token_hex(32)
            self.set_setting("message_id_secret", value)
        return bytes.fromhex(value)

    def save_draft(self, user_id: int, scope: str, body: str) -> None:
        if body.strip():
            self.session.merge(
                m.Draft(user_id=user_id, scope=scope, body=body, updated_at=self.now())
            )
        else:
            self.discard_draft(user_id, scope)

    def discard_draft(self, user_id: int, scope: str) -> None:
        row = self.session.get(m.Draft, (user_id, scope))
        if row is not None:
            self.session.delete(row)

    def template(self, template_id: Any) -> m.Template | None:
        return self.session.get(m.Template, template_id) if isinstance(template_id, int) else None

    def template_by_name(self, name: str) -> m.Template | None:
        return self.session.scalar(select(m.Template).where(m.Template.name == name))

    def templates(self) -> list[m.Template]:
        return list(self.session.scalars(select(m.Template).order_by(m.Template.id)))

    def add_template(self, name: str, subject: str, body: str, *, builtin: bool) -> m.Template:
        template = m.Template(
            name=name, subject=subject, body=body, builtin=builtin, updated_at=self.now()
        )
        self.session.add(template)
        self.session.flush()
        return template

    def set_template(self, name: str, subject: str, body: str) -> m.Template:
        template = self.template_by_name(name)
        if template is None:
            return self.add_template(name, subject, body, builtin=False)
        template.subject, template.body, template.updated_at = subject, body, self.now()
        return template

    def delete_template(self, template: Any) -> None:
        self.session.delete(template)
        self.session.flush()

    def workflow_actions_of_kind(self, kind: str) -> list[m.WorkflowAction]:
        """Every action of this kind in every workflow (which actions send a template)."""
        action = m.WorkflowAction
        return list(
            self.session.scalars(select(action).where(action.kind == kind).order_by(action.id))
        )

    def newest_tickets(self, limit: int) -> list[m.Ticket]:
        return list(
            self.session.scalars(select(m.Ticket).order_by(m.Ticket.id.desc()).limit(limit))
        )
