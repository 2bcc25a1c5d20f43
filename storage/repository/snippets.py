"""Snippets and signatures (`automation.snippets` and `automation.signatures` keep their rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.repository.base import RepositoryBase


class SnippetsMixin(RepositoryBase):
    def snippets_for(self, user_id: int | None) -> list[m.Snippet]:
        """The shared snippets and this user's own (none: the shared ones), by name."""
        owner: ColumnElement[bool] = m.Snippet.owner_id.is_(None)
        if user_id is not None:
            owner = or_(owner, m.Snippet.owner_id == user_id)
        query = select(m.Snippet).where(owner).order_by(m.Snippet.name, m.Snippet.owner_id)
        return list(self.session.scalars(query))

    def snippet_row(self, owner_id: int | None, name: str) -> m.Snippet | None:
        """The snippet of this owner (None: shared) and name, compared without case."""
        query = select(m.Snippet).where(
            m.Snippet.owner_id.is_(None) if owner_id is None else m.Snippet.owner_id == owner_id
        )
        folded = name.casefold()
        return next((s for s in self.session.scalars(query) if s.name.casefold() == folded), None)

    def save_snippet(self, owner_id: int | None, name: str, body: str) -> m.Snippet:
        row = self.snippet_row(owner_id, name)
        if row is None:
            row = m.Snippet(owner_id=owner_id, name=name, body=body, updated_at=self.now())
            self.session.add(row)
        else:
            row.body, row.updated_at = body, self.now()
        self.session.flush()
        return row

    def delete_snippet(self, row: m.Snippet) -> None:
        self.session.delete(row)
        self.session.flush()

    def signatures_of(self, user_id: int | None, channel_id: int | None) -> list[m.Signature]:
        """Every signature that could apply: the rep's on the channel, the rep's, the channel's."""
        query = select(m.Signature).where(
            (m.Signature.user_id == user_id) | m.Signature.user_id.is_(None),
            (m.Signature.channel_id == channel_id) | m.Signature.channel_id.is_(None),
        )
        return list(self.session.scalars(query))

    def signature_row(self, user_id: int | None, channel_id: int | None) -> m.Signature | None:
        query = select(m.Signature).where(
            m.Signature.user_id.is_(None) if user_id is None else m.Signature.user_id == user_id,
            m.Signature.channel_id.is_(None)
            if channel_id is None
            else m.Signature.channel_id == channel_id,
        )
        return self.session.scalars(query).first()

    def save_signature(self, user_id: int | None, channel_id: int | None, body: str) -> None:
        row = self.signature_row(user_id, channel_id)
        if row is None:
            self.session.add(
                m.Signature(
                    user_id=user_id, channel_id=channel_id, body=body, updated_at=self.now()
                )
            )
        else:
            row.body, row.updated_at = body, self.now()
        self.session.flush()

    def delete_signature(self, user_id: int | None, channel_id: int | None) -> bool:
        row = self.signature_row(user_id, channel_id)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True


def snippets_view(session: Session, user_id: int) -> list[dict[str, Any]]:
    """The shared snippets and this user's own, by name (a read for the settings screen)."""
    query = (
        select(m.Snippet)
        .where(or_(m.Snippet.owner_id.is_(None), m.Snippet.owner_id == user_id))
        .order_by(m.Snippet.name, m.Snippet.id)
    )
    return [
        {"id": s.id, "name": s.name, "body": s.body, "shared": s.owner_id is None}
        for s in session.scalars(query)
    ]
