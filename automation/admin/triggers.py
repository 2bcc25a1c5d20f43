"""A pipeline's two triggers: on or off, and their target status (R-T3, R-T4, E5)."""

from __future__ import annotations

from automation.admin.common import SettingsError, pipeline_or_default, require_admin, status_in
from automation.admin.defaults import ensure_triggers
from automation.ports import AdminRepository, TriggerLike, UserLike
from automation.triggers import CUSTOMER_REPLIED, EMAIL_SENT

TRIGGER_KINDS = {"email-sent": EMAIL_SENT, "customer-replied": CUSTOMER_REPLIED}


def set_trigger(
    repo: AdminRepository,
    user: UserLike,
    pipeline_name: str | None,
    kind_name: str,
    *,
    enabled: bool | None,
    target_label: str | None,
) -> TriggerLike:
    """R-T3 switch and R-T4 target. E5: a trigger's target must be an OPEN-state status."""
    require_admin(user)
    if kind_name not in TRIGGER_KINDS:
        raise SettingsError(f"trigger must be one of {', '.join(TRIGGER_KINDS)}")
    pipeline = pipeline_or_default(repo, pipeline_name)
    trigger = repo.trigger(pipeline.id, TRIGGER_KINDS[kind_name])
    if trigger is None:
        ensure_triggers(repo, pipeline)
        trigger = repo.trigger(pipeline.id, TRIGGER_KINDS[kind_name])
        assert trigger is not None  # ensure_triggers adds every missing trigger
    if target_label is not None:
        status = status_in(repo, pipeline, target_label)
        if status.state != "OPEN":
            raise SettingsError(
                f"{status.label} is a closed status: a trigger's target must be open"
            )
        trigger.target_status_id = status.id
        trigger.target_status = status
    if enabled is not None:
        trigger.enabled = enabled
    return trigger
