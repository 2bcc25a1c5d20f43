"""Users' SSH public keys and the logins made with them (the SSH door, SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.models import DraftAttachment, SshKey, SshLogin, StagedAttachment, UserKeymap
from storage.repository.base import RepositoryBase


class SshKeysMixin(RepositoryBase):
    """Keys by user and by fingerprint; logins opened, ended and listed."""

    def ssh_keys(self, user: Any | None = None) -> list[SshKey]:
        query = select(SshKey).order_by(SshKey.user_id, SshKey.id)
        if user is not None:
            query = query.where(SshKey.user_id == user.id)
        return list(self.session.scalars(query))

    def ssh_key_by_fingerprint(self, fingerprint: str) -> SshKey | None:
        return self.session.scalar(select(SshKey).where(SshKey.fingerprint == fingerprint))

    def add_ssh_key(
        self, user: Any, *, key_type: str, key_data: str, fingerprint: str, comment: str
    ) -> SshKey:
        key = SshKey(
            user_id=user.id,
            key_type=key_type,
            key_data=key_data,
            fingerprint=fingerprint,
            comment=comment,
            added_at=self.now(),
        )
        self.session.add(key)
        self.session.flush()
        return key

    def delete_ssh_key(self, key: SshKey) -> None:
        self.session.delete(key)
        self.session.flush()

    def open_ssh_login(
        self, user: Any, *, fingerprint: str, address: str, kind: str, outcome: str = "open"
    ) -> int:
        login = SshLogin(
            user_id=user.id,
            user_name=user.name,
            fingerprint=fingerprint,
            source_address=address,
            kind=kind,
            started_at=self.now(),
            ended_at=None if outcome == "open" else self.now(),
            outcome=outcome,
        )
        self.session.add(login)
        self.session.flush()
        return login.id

    def end_ssh_login(self, login_id: int, *, outcome: str = "ended") -> None:
        login = self.session.get(SshLogin, login_id)
        if login is not None and login.ended_at is None:
            login.ended_at = self.now()
            login.outcome = outcome

    def ssh_logins(self, *, limit: int | None = None) -> list[SshLogin]:
        query = select(SshLogin).order_by(SshLogin.started_at.desc(), SshLogin.id.desc())
        return list(self.session.scalars(query.limit(limit) if limit else query))

    def ssh_login_times(self, login_id: int) -> tuple[datetime, datetime | None] | None:
        login = self.session.get(SshLogin, login_id)
        return None if login is None else (login.started_at, login.ended_at)

    # --- files sent over SSH for the composer (SPEC S3) ------------------------------------------

    def stage_attachment(
        self, user_id: int, filename: str, content_type: str, data: bytes
    ) -> StagedAttachment:
        row = StagedAttachment(
            user_id=user_id,
            filename=filename,
            content_type=content_type,
            data=data,
            added_at=self.now(),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def staged_attachments(self, user_id: int) -> list[StagedAttachment]:
        query = select(StagedAttachment).where(StagedAttachment.user_id == user_id)
        return list(self.session.scalars(query.order_by(StagedAttachment.id)))

    def take_staged_attachments(self, user_id: int, scope: str) -> list[DraftAttachment]:
        """The composer's side: the user's staged files become attachments of the draft
        `scope` (the draft's key, as the composer saves it) and leave the staging table."""
        taken = []
        for row in self.staged_attachments(user_id):
            draft = DraftAttachment(
                user_id=user_id,
                scope=scope,
                filename=row.filename,
                content_type=row.content_type,
                data=row.data,
                added_at=self.now(),
            )
            self.session.add(draft)
            self.session.delete(row)
            taken.append(draft)
        self.session.flush()
        return taken

    # --- keymaps (SPEC S3: in the desk, per user) -------------------------------------------------

    def user_keymap(self, user_id: int) -> dict[str, str]:
        row = self.session.get(UserKeymap, user_id)
        return dict(row.keys) if row is not None else {}

    def set_user_keymap(self, user_id: int, keys: dict[str, str]) -> None:
        row = self.session.get(UserKeymap, user_id)
        if not keys:
            if row is not None:
                self.session.delete(row)
            return
        if row is None:
            self.session.add(UserKeymap(user_id=user_id, keys=dict(keys), updated_at=self.now()))
        else:
            row.keys, row.updated_at = dict(keys), self.now()
