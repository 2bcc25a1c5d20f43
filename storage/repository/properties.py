"""Custom ticket properties: their definitions and the tickets' values (`automation.properties`
keeps their rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from storage import models as m
from storage.repository.base import RepositoryBase


class PropertiesMixin(RepositoryBase):
    def property_defs(self) -> list[m.PropertyDef]:
        """By name; read once per transaction (every automated email's variables name them),
        again after one is added or removed here."""
        found = self._cached(
            ("property_defs", None), lambda: list(self.session.scalars(select(m.PropertyDef)))
        )
        return sorted(found, key=lambda p: p.name)

    def property_def(self, name: str) -> m.PropertyDef | None:
        query = select(m.PropertyDef).where(m.PropertyDef.name == name.strip().casefold())
        return self.session.scalar(query)

    def add_property_def(
        self, name: str, kind: str, choices: list[str], required_to_close: bool
    ) -> m.PropertyDef:
        prop = m.PropertyDef(
            name=name,
            kind=kind,
            choices=list(choices),
            required_to_close=required_to_close,
            created_at=self.now(),
        )
        self.session.add(prop)
        self.session.flush()
        self._forget_config()
        return prop

    def remove_property_def(self, prop: Any) -> int:
        """Remove a definition and every ticket's value of it; returns how many tickets had one."""
        count = self.session.scalar(
            select(func.count()).where(m.TicketProperty.property_id == prop.id)
        )
        self.session.execute(
            delete(m.TicketProperty).where(m.TicketProperty.property_id == prop.id)
        )
        self.session.delete(prop)
        self.session.flush()
        self._forget_config()
        return int(count or 0)

    def ticket_property_values(self, ticket_id: int) -> dict[int, str]:
        query = select(m.TicketProperty.property_id, m.TicketProperty.value).where(
            m.TicketProperty.ticket_id == ticket_id
        )
        return {int(pid): str(value) for pid, value in self.session.execute(query)}

    def set_ticket_property_value(
        self, ticket_id: int, property_id: int, value: str | None
    ) -> str | None:
        """Set (None: clear) a ticket's value; returns the value it had."""
        row = self.session.get(m.TicketProperty, (ticket_id, property_id))
        old = row.value if row is not None else None
        if value is None:
            if row is not None:
                self.session.delete(row)
        elif row is None:
            self.session.add(
                m.TicketProperty(
                    ticket_id=ticket_id, property_id=property_id, value=value, updated_at=self.now()
                )
            )
        else:
            row.value, row.updated_at = value, self.now()
        self.session.flush()
        return old
