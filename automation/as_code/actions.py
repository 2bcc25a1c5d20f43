"""An action's stored config and the fields a file gives it (`admin.ActionFields`): by name,
never by id, so a file applies to any desk. `fields_of` is the inverse of each kind's `config`."""

from __future__ import annotations

from typing import Any

from automation.durations import WEEKDAYS
from automation.ports import AdminRepository


def delay_text(config: dict[str, Any]) -> str:
    """A delay's config as `parse_delay` reads it back: "3600 seconds", "monday 9 UTC"."""
    if "seconds" in config:
        return f"{int(config['seconds'])} seconds"
    day = "tomorrow" if "days" in config else WEEKDAYS[int(config["weekday"])]
    return f"{day} {int(config['hour'])} {config.get('tz') or 'UTC'}"


def _place(repo: AdminRepository, status_id: Any) -> dict[str, Any]:
    status = repo.status(status_id) if status_id else None
    if status is None:
        return {}
    return {"target_name": repo.pipeline(status.pipeline_id).name, "value": status.label}


def _user(repo: AdminRepository, user_id: Any) -> str | None:
    user = repo.user(user_id) if isinstance(user_id, int) else None
    return user.name if user is not None else None


def _team(repo: AdminRepository, team_id: Any) -> str | None:
    team = repo.team(team_id) if isinstance(team_id, int) else None
    return team.name if team is not None else None


def fields_of(repo: AdminRepository, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The fields that give this config again; an unknown kind keeps its config as it is."""
    if kind == "add_note":
        return {"message": config.get("body")}
    if kind == "branch":
        return {"condition": config.get("if")}
    if kind in ("add_tag", "remove_tag"):
        return {"value": config.get("tag")}
    if kind in ("move_ticket", "clone_ticket"):
        return _place(repo, config.get("status_id"))
    if kind == "delay":
        return {"value": delay_text(config)}
    if kind == "create_task":
        assignee = config.get("assignee")
        who = "owner" if assignee == "owner" else _user(repo, assignee)
        return {
            "message": config.get("title"),
            "value": delay_text(config["due"]),
            "target_name": who,
        }
    if kind == "notify":
        name = _user(repo, config.get("user_id")) or _team(repo, config.get("team_id"))
        return {"to": config.get("to"), "target_name": name, "message": config.get("message")}
    if kind == "rotate_owner":
        return {"target_name": _team(repo, config.get("team_id"))}
    if kind == "send_email":
        template = repo.template(config.get("template_id"))
        return {"template_name": template.name if template is not None else None}
    if kind == "set_property":
        value = config.get("value")
        if config.get("property") == "owner":
            value = _user(repo, value) or ""
        return {"property_name": config.get("property"), "value": value}
    return {"config": dict(config)}


FIELD_NAMES = (
    "template_name",
    "to",
    "target_name",
    "message",
    "property_name",
    "value",
    "condition",
)
