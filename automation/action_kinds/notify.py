"""Notify the ticket owner, a user or a team inside Deskline, and by email (SPEC R-A4, E14)."""

from __future__ import annotations

import argparse
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
from automation.action_kinds.form import TEAMS, USERS, Choice, Pick, Question, Text
from automation.outbound import queue_notification_mail
from automation.ports import AdminRepository, Repository, TicketLike, UserLike

NOTIFY = "notify"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    to, target_name, message = fields.get("to"), fields.get("target_name"), fields.get("message")
    config: dict[str, Any] = {"to": to}
    if message:
        config["message"] = message
    if to == "owner":
        return config
    if to == "user":
        found = repo.user_by_name(target_name or "")
        if found is None:
            raise SettingsError(f"no user {target_name!r}")
        config["user_id"] = found.id
        return config
    if to == "team":
        team = repo.team_by_name(target_name or "")
        if team is None:
            raise SettingsError(f"no team {target_name!r}")
        config["team_id"] = team.id
        return config
    raise SettingsError("a notification goes --to owner, user NAME or team NAME")


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    target = config.get("to")
    if target == "user":
        user = repo.user(config.get("user_id"))
        return f"Notify user {user.name if user else '(deleted)'}"
    if target == "team":
        team = repo.team(config.get("team_id"))
        return f"Notify team {team.name if team else '(deleted)'}"
    return "Notify the ticket owner"


def _run(step: Step) -> str:
    repo, ticket = step.repo, step.ticket
    recipients = _recipients(repo, step.config, ticket)
    text = (
        step.config.get("message")
        or f"Ticket #{ticket.id} “{ticket.subject}” is now {ticket.status.label}"
    )
    for user in recipients:
        repo.add_notification(user.id, ticket.id, text)
        if user.email:
            queue_notification_mail(
                repo,
                ticket=ticket,
                recipient=user.email,
                recipient_name=user.display_name or user.name,
                subject=f"[Deskline] {text}",
                body=f"{text}\n\nOpen it in Deskline: ticket #{ticket.id}.\n",
                actor=step.actor,
                cause_id=step.cause_id,
            )
    return "notified " + ", ".join(u.name for u in recipients)


def _recipients(repo: Repository, config: dict[str, Any], ticket: TicketLike) -> list[UserLike]:
    """E14: resolved when the action runs."""
    target = config.get("to")
    if target == "owner":
        if ticket.owner is None:
            raise ActionSkipped("the ticket has no owner")
        return [ticket.owner]
    if target == "user":
        user = repo.user(config.get("user_id"))
        if user is None:
            raise ActionFailed("its user no longer exists")
        return [user]
    if target == "team":
        team = repo.team(config.get("team_id"))
        if team is None:
            raise ActionFailed("its team no longer exists")
        if not team.members:
            raise ActionSkipped(f"team {team.name} has no members")
        return list(team.members)
    raise ActionFailed(f"unknown notification target {target!r}")


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    to, _, target = value.partition(":")
    return {"to": to, "target_name": target or None, "message": args.message}


_MESSAGE = Text(
    "message",
    "Notification text (optional; enter for the default)",
    current="message",
    optional=True,
)


def _choice(to: str, label: str, *pick: Question) -> Choice:
    return Choice(
        to,
        label,
        said=lambda fields: f"notify {fields.get('target_name') or 'the ticket owner'}",
        questions=(*pick, _MESSAGE),
        preset={"to": to},
        stored={"to": to},
    )


KIND = ActionKind(
    id=NOTIFY,
    order=20,
    choices=(
        _choice("owner", "Notify the ticket owner"),
        _choice(
            "user",
            "Notify a user",
            Pick("target_name", "Notify which user?", source=USERS, empty="No users yet."),
        ),
        _choice(
            "team",
            "Notify a team",
            Pick("target_name", "Notify which team?", source=TEAMS, empty="No teams yet."),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--notify",),
            {
                "metavar": "WHO",
                "help": "internal notification: owner, user:NAME or team:NAME",
            },
        ),
        fields=_from_args,
        extras=(
            CliOption(
                ("--message",),
                {"help": "with --notify: the notification text (default: the ticket and status)"},
            ),
        ),
    ),
)
