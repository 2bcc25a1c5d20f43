"""Users, teams and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update

from storage import models as m
from storage.repository.base import RepositoryBase

_CONTACT_ID = select(m.Contact.__table__.c.id).where(
    m.Contact.__table__.c.email == bindparam("email")
)


class PeopleMixin(RepositoryBase):
    """Users, teams and contacts."""

    def user(self, user_id: Any) -> m.User | None:
        return self.session.get(m.User, user_id) if isinstance(user_id, int) else None

    def user_by_email(self, addr: str) -> m.User | None:
        """Every inbound message asks; one query per transaction answers them all."""
        if self._user_ids_by_email is None:
            rows = self.session.execute(
                select(m.User.email, m.User.id).where(m.User.email.is_not(None))
            )
            self._user_ids_by_email = {(email or "").lower(): uid for email, uid in rows}
        user_id = self._user_ids_by_email.get(addr.lower())
        return self.session.get(m.User, user_id) if user_id is not None else None

    def user_by_name(self, name: str) -> m.User | None:
        return self.session.scalar(select(m.User).where(m.User.name == name))

    def user_by_login(self, login: str) -> m.User | None:
        """The user an OS login acts as (SPEC S7)."""
        return self.session.scalar(select(m.User).where(m.User.login == login))

    def users(self) -> list[m.User]:
        return list(self.session.scalars(select(m.User).order_by(m.User.id)))

    def add_user(
        self,
        name: str,
        *,
        display_name: str,
        email: str | None,
        is_admin: bool,
        login: str | None = None,
    ) -> m.User:
        user = m.User(
            name=name,
            login=login if login is not None else name,  # S7: a user's login is its name
            display_name=display_name,
            email=email.lower() if email else None,
            is_admin=is_admin,
            created_at=self.now(),
        )
        self.session.add(user)
        self.session.flush()
        self._user_ids_by_email = None
        return user

    def delete_user(self, user: Any) -> None:
        """Remove a user (automation.admin.remove_user moved its tickets first). The messages and
        action comments it wrote stay, with their author's name and address but no author."""
        self.session.execute(
            update(m.Message).where(m.Message.author_user_id == user.id).values(author_user_id=None)
        )
        self.session.execute(
            update(m.ActionComment)
            .where(m.ActionComment.author_id == user.id)
            .values(author_id=None)
        )
        for team in self.teams_of(user.id):
            team.members.remove(user)
        self.session.delete(user)
        self.session.flush()
        self._user_ids_by_email = None

    def tickets_owned_by(self, user_id: int) -> list[m.Ticket]:
        return list(
            self.session.scalars(
                select(m.Ticket).where(m.Ticket.owner_id == user_id).order_by(m.Ticket.id)
            )
        )

    def conversations_assigned_to(self, user_id: int) -> list[m.Conversation]:
        return list(
            self.session.scalars(
                select(m.Conversation)
                .where(m.Conversation.assignee_id == user_id)
                .order_by(m.Conversation.id)
            )
        )

    def teams(self) -> list[m.Team]:
        return list(self.session.scalars(select(m.Team).order_by(m.Team.name)))

    def delete_team(self, team: Any) -> None:
        self.session.delete(team)
        self.session.flush()

    def team(self, team_id: Any) -> m.Team | None:
        return self.session.get(m.Team, team_id) if isinstance(team_id, int) else None

    def teams_of(self, user_id: int) -> list[m.Team]:
        return list(
            self.session.scalars(
                select(m.Team)
                .join(m.TeamMember, m.TeamMember.team_id == m.Team.id)
                .where(m.TeamMember.user_id == user_id)
                .order_by(m.Team.name)
            )
        )

    def team_by_name(self, name: str) -> m.Team | None:
        return self.session.scalar(select(m.Team).where(m.Team.name == name))

    def add_team(self, name: str, members: Sequence[Any]) -> m.Team:
        team = m.Team(name=name, members=list(members))
        self.session.add(team)
        self.session.flush()
        return team

    def contact_by_email(self, addr: str) -> m.Contact | None:
        contact_id = self._read(_CONTACT_ID, email=addr.lower()).scalar()
        return self.session.get(m.Contact, contact_id) if contact_id is not None else None

    def upsert_contact(self, addr: str, name: str) -> m.Contact:
        contact = self.contact_by_email(addr)
        if contact is None:  # inserted by the next flush, with whatever refers to it
            contact = m.Contact(email=addr.lower(), name=name, created_at=self.now())
            self.session.add(contact)
        elif name and not contact.name:
            contact.name = name
        return contact
