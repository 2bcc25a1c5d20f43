"""What the add-tag and remove-tag kinds share: the tag's check, its words, its run."""

from __future__ import annotations

import argparse
from typing import Any

from automation import tag_rules
from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionSkipped,
    SettingsError,
    Step,
)
from automation.ports import AdminRepository


def config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    try:
        return {"tag": tag_rules.normalize(fields.get("value") or "")}
    except tag_rules.TagError as exc:
        raise SettingsError(str(exc)) from None


def describe(verb: str, config: dict[str, Any]) -> str:
    return f"{verb} the tag {config.get('tag') or '(none)'}"


def from_args(value: str, args: argparse.Namespace) -> ActionFields:
    return {"value": value}


def run_change(step: Step, *, add: bool) -> str:
    tag = str(step.config.get("tag") or "")
    if not tag:
        raise ActionFailed("the action names no tag")
    changed = tag_rules.change_ticket_tags(
        step.repo, step.actor, step.ticket, [tag], add=add, cause_id=step.cause_id
    )
    if not changed:
        raise ActionSkipped(f"the ticket {'has' if add else 'does not have'} the tag {tag}")
    return f"{'tagged' if add else 'untagged'} {tag}"
