"""What every settings change starts with: the error it raises and the admin check (SPEC §7:
only admins change settings), and the pipeline and status lookups by name."""

from __future__ import annotations

from automation.action_kinds.base import SettingsError
from automation.action_kinds.names import pipeline_or_default, status_in
from automation.ports import UserLike

__all__ = ["SettingsError", "pipeline_or_default", "require_admin", "status_in"]


def require_admin(user: UserLike) -> None:
    if not user.is_admin:
        raise SettingsError(f"{user.name} is not an admin: only admins change settings")
