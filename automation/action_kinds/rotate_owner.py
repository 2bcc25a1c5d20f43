"""Rotate the owner round-robin within a team, skipping users marked away (SPEC R-A5)."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    ActionSkipped,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import TEAMS, Choice, Pick
from automation.ports import AdminRepository, Repository
from automation.tickets import record_property, set_owner

ROTATE_OWNER = "rotate_owner"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    target_name = fields.get("target_name")
    team = repo.team_by_name(target_name or "")
    if team is None:
        raise SettingsError(f"no team {target_name!r}: the owner rotates within a team")
    return {"team_id": team.id}


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    team = repo.team(config.get("team_id"))
    return f"Rotate owner in team {team.name if team else '(deleted)'}"


def _run(step: Step) -> str:
    """The turn is kept in the action's config, so it goes on where it stopped after a
    restart."""
    repo, action = step.repo, step.action
    team = repo.team(action.config.get("team_id"))
    if team is None:
        raise ActionFailed("its team no longer exists")
    members = sorted(team.members, key=lambda user: user.id)
    present = [user for user in members if not user.away]
    if not present:
        raise ActionSkipped(f"every member of {team.name} is away" if members else "no members")
    last = action.config.get("last_user_id")
    following = [user for user in present if last is None or user.id > last]
    owner = (following or present)[0]
    action.config = {**action.config, "last_user_id": owner.id}
    old, new = set_owner(repo, step.ticket, owner)
    record_property(repo, step.actor, step.ticket, "owner", old, new, step.cause_id)
    return f"owner {new} (round-robin in {team.name})"


KIND = ActionKind(
    id=ROTATE_OWNER,
    order=50,
    choices=(
        Choice(
            "rotate",
            "Rotate the owner within a team (skips users marked away)",
            said=lambda fields: f"rotate owner in {fields['target_name']}",
            questions=(
                Pick(
                    "target_name", "Rotate within which team?", source=TEAMS, empty="No teams yet."
                ),
            ),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--rotate-owner",),
            {"metavar": "TEAM", "help": "rotate the owner within a team (skips away users)"},
        ),
        fields=lambda value, args: {"target_name": value},
    ),
)
