"""The settings audit (SPEC S11): every change of the desk's settings, whoever made it and by
whatever path (CLI, settings screen, `automation apply`, a migration of data), is one row of
`settings_audit`, written in the same transaction by one hook on the session's flush.

The hook looks at the ORM objects a flush writes: rows of the audited tables added, changed (the
columns that changed, old -> new) or removed. The actor is the user the transaction acts as
(`set_actor`, called where the desk resolves its user); without one the change is the system's
(mail, migrations). One `automation apply` marks its transaction with one apply id
(`begin_apply`). The table is append-only: nothing here updates or deletes its rows, and the hook
refuses a flush that would.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.repository.base import RepositoryBase

_ACTOR = "deskline.audit.actor"
_APPLY = "deskline.audit.apply"
SYSTEM = "(system)"

# Settings keys that are not settings: the desk's identity and secret, a person's own bell.
_NOT_AUDITED_KEYS = ("instance_id", "message_id_secret")
_NOT_AUDITED_PREFIXES = ("notifications.bell.",)
# Columns that say nothing about the setting (times, caches, the key's blob).
_SKIPPED_COLUMNS = frozenset({"created_at", "updated_at", "added_at", "key_data", "position_cache"})

# Model name -> the kind shown in the audit. Looked up by name: a model another part of the
# desk adds later is audited once it is named here.
AUDITED = {
    "Setting": "setting",
    "Pipeline": "pipeline",
    "Status": "status",
    "User": "user",
    "Team": "team",
    "TeamMember": "team member",
    "Channel": "channel",
    "FormSettings": "form",
    "ChatSettings": "chat",
    "Trigger": "trigger",
    "Template": "template",
    "Workflow": "workflow",
    "WorkflowAction": "workflow action",
    "SshKey": "ssh key",
    "PropertyDef": "property",
    "Snippet": "snippet",
    "Signature": "signature",
    "UserKeymap": "keymap",
}


def set_actor(session: Session, user: Any) -> None:
    """The transaction acts as `user` (None: the system)."""
    session.info[_ACTOR] = (user.id, user.name) if user is not None else None


def begin_apply(session: Session) -> str:
    """Mark this transaction as one `automation apply`: its changes share the id returned."""
    apply_id = session.info.get(_APPLY) or uuid.uuid4().hex[:16]
    session.info[_APPLY] = apply_id
    return str(apply_id)


class AuditMixin(RepositoryBase):
    """Reading the settings audit; writing it is the flush hook's."""

    def settings_changes(
        self, *, limit: int | None = None, apply_id: str | None = None
    ) -> list[m.SettingsChange]:
        query = select(m.SettingsChange).order_by(m.SettingsChange.id.desc())
        if apply_id:
            query = query.where(m.SettingsChange.apply_id == apply_id)
        if limit:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def begin_apply(self) -> str:
        return begin_apply(self.session)


# --- the history, paged (the settings screen's list; newest first, keyset on the id) ---------


def change_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(m.SettingsChange)) or 0)


def change_index(session: Session, change_id: int) -> int | None:
    """Where the change `change_id` is in the newest-first list (None: there is none)."""
    if session.get(m.SettingsChange, change_id) is None:
        return None
    newer = select(func.count()).where(m.SettingsChange.id > change_id)
    return int(session.scalar(newer) or 0)


def change_rows(
    session: Session, offset: int, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """`limit` changes, newest first, from `offset` or right after the change `after`."""
    c = m.SettingsChange
    newest = select(c).order_by(c.id.desc()).limit(limit)
    query = newest.where(c.id < after) if after is not None else newest.offset(offset)
    return [
        {
            "id": change.id,
            "sort": change.id,
            "at": change.at,
            "actor": change.actor_name,
            "apply_id": change.apply_id,
            "kind": change.kind,
            "object": change.object_key,
            "action": change.action,
            "old": change.old or {},
            "new": change.new or {},
        }
        for change in session.scalars(query)
    ]


def _kind(obj: Any) -> str | None:
    return AUDITED.get(type(obj).__name__)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return f"({len(value)} bytes)"
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def _columns(obj: Any) -> list[str]:
    return [c.key for c in inspect(type(obj)).column_attrs if c.key not in _SKIPPED_COLUMNS]


def _values(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {key: _plain(state.dict.get(key)) for key in _columns(obj) if key in state.dict}


def _object_key(obj: Any, values: dict[str, Any]) -> str:
    if isinstance(obj, m.Setting):
        return str(obj.key)
    for attr in ("name", "fingerprint"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    ids = [f"{k}={v}" for k, v in values.items() if k == "id" or k.endswith("_id")]
    return ", ".join(ids) or type(obj).__name__


def _audited(obj: Any) -> bool:
    if _kind(obj) is None:
        return False
    if isinstance(obj, m.Setting):
        key = str(obj.key)
        return key not in _NOT_AUDITED_KEYS and not key.startswith(_NOT_AUDITED_PREFIXES)
    return True


def _changed(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    old, new = {}, {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        old[key], new[key] = _plain(before), _plain(after)
    return old, new


@event.listens_for(Session, "before_flush")
def _record(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, m.SettingsChange):  # SPEC S11
            raise RuntimeError("the settings audit is append-only")
    rows: list[tuple[Any, str, dict[str, Any], dict[str, Any]]] = []
    for obj in session.new:
        if _audited(obj):
            rows.append((obj, "added", {}, _values(obj)))
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            old, new = _changed(obj)
            if new or old:
                rows.append((obj, "changed", old, new))
    for obj in session.deleted:
        if _audited(obj):
            rows.append((obj, "removed", _values(obj), {}))
    members = _membership_changes(session)
    if not rows and not members:
        return
    actor = session.info.get(_ACTOR)
    clock = session.info.get("deskline.clock") or m.utcnow
    at = clock()
    changes = [
        (_kind(obj), _object_key(obj, {**old, **new}), action, old, new)
        for obj, action, old, new in rows
    ]
    changes += [("team member", key, action, old, new) for key, action, old, new in members]
    for kind, key, action, old, new in changes:
        session.add(
            m.SettingsChange(
                at=at,
                actor_id=actor[0] if actor else None,
                actor_name=actor[1] if actor else SYSTEM,
                apply_id=session.info.get(_APPLY),
                kind=kind,
                object_key=key[:300],
                action=action,
                old=old,
                new=new,
            )
        )


def _membership_changes(
    session: Session,
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Members added to or removed from a team (SPEC S11). `team_members` is a join table with
    no row object of its own, so the loop above never sees it: the change is in the history of
    the team's `members` collection. One row per member, with the team's members before and
    after."""
    found: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for team in list(session.new) + list(session.dirty):
        if not isinstance(team, m.Team):
            continue
        history = inspect(team).attrs.members.history
        if not history.has_changes():
            continue
        kept = [u.name for u in history.unchanged]
        before = sorted(kept + [u.name for u in history.deleted])
        after = sorted(kept + [u.name for u in history.added])
        for user, action in [(u, "added") for u in history.added] + [
            (u, "removed") for u in history.deleted
        ]:
            found.append(
                (f"{team.name} / {user.name}", action, {"members": before}, {"members": after})
            )
    return found
