"""Every app action has a CLI twin (issue 19 item 15b): a table from each binding id of the app
to the command that does the same from a shell, a test that walks the app's real binding tables
and fails on a binding in neither the table nor the navigation set, a check that each command
named exists in the parser (its options too), and the new commands at work on a real desk."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli.docs import commands
from app.cli.main import build_parser
from tests.helpers import make_mail
from tests.test_keys_help import all_bindings

SUPPORT = "help@acme.example"

# Binding id -> the CLI commands that do what the key does (one per kind of row it acts on).
# Words starting with -- are options the command must take.
TWINS: dict[str, tuple[str, ...]] = {
    # the app
    "app.tasks": ("tasks",),
    "app.notifications": ("notifications",),
    # my notifications
    "notifications.open": ("ticket show",),
    "notifications.read": ("notifications",),  # notifications read ID
    "notifications.read_all": ("notifications --all",),  # notifications read --all
    "notifications.bell": ("notifications --bell",),
    # the inbox
    "inbox.assign": ("assign", "conversation assign"),
    "inbox.close": ("close", "conversation close"),
    "inbox.create_ticket": ("ticket create --conversation",),
    "inbox.note": ("note",),
    "inbox.open_ticket": ("ticket show",),
    "inbox.reply": ("reply",),
    "inbox.reply_contact": ("reply --from-contact-record", "conversation email"),
    "inbox.undo": ("undo",),
    "inbox.open_attachment": ("attachment get",),
    "inbox.save_attachment": ("attachment get",),
    "inbox.search": ("search",),
    "inbox.save_view": ("view save",),
    "board.search": ("search",),
    "board.views": ("view list", "search --view"),
    "board.save_view": ("view save --board",),
    "inbox.filter": ("conversations", "tickets --status"),
    "inbox.snooze": ("snooze --conversation", "unsnooze --conversation"),
    "inbox.forward": ("forward --to --note",),
    "inbox.end_chat": ("chat end",),
    # the board
    "board.assign": ("assign",),
    "board.close": ("close",),
    "board.move_next": ("move",),
    "board.move_prev": ("move",),
    "board.status": ("move",),
    "board.undo": ("undo",),
    "board.pipeline": ("tickets --pipeline",),
    # the ticket record
    "ticket.close": ("close",),
    "ticket.move_next": ("move",),
    "ticket.move_prev": ("move",),
    "ticket.status": ("move",),
    "ticket.note": ("note",),
    "ticket.owner": ("assign",),
    "ticket.priority": ("ticket priority",),
    "ticket.subject": ("ticket subject",),
    "ticket.reply": ("reply", "compose"),
    "ticket.reply_contact": ("reply --from-contact-record",),
    "ticket.undo": ("undo",),
    "ticket.view": ("ticket show",),
    "ticket.snooze": ("snooze", "unsnooze"),
    "ticket.tags": ("tag", "untag"),
    "ticket.properties": ("property set",),
    "ticket.explain": ("explain",),
    "ticket.merge": ("ticket merge --into",),
    "ticket.split": ("ticket split",),
    "ticket.revert": ("undo --line",),
    "ticket.open_attachment": ("attachment get",),
    "ticket.save_attachment": ("attachment get",),
    "ticket.forward": ("forward --to --note",),
    # the composer
    "compose.send": ("reply", "compose", "note", "conversation email"),
    "compose.attach": ("reply --attach", "compose --attach", "conversation email --attach"),
    "compose.detach": ("reply --attach",),  # the files are what --attach names
    "compose.snippet": ("reply --snippet",),
    "compose.signature": ("reply --no-signature",),
    "compose.markdown": ("reply --markdown",),
    # my tasks
    "tasks.done": ("task done",),
    "tasks.open": ("ticket show",),
    # settings: one key acts on the kind of row under the cursor
    "settings.switch": (
        "channel set --ticket-automation",
        "automation set",
        "automation branding",
        "workflow enable",
        "workflow disable",
        "user away",
    ),
    "settings.target": ("automation set --target",),
    "settings.view_workflow": ("workflow show",),
    "settings.workflows": ("workflow list",),
    "settings.add_action": ("workflow action add", "automation action add"),
    "settings.edit": ("workflow action edit", "template set", "user edit", "snippet set --shared"),
    "settings.comment_action": ("workflow action comment",),
    "settings.clone_action": ("workflow action clone",),
    "settings.move_up": ("pipeline move", "pipeline status move", "workflow action move"),
    "settings.move_down": ("pipeline move", "pipeline status move", "workflow action move"),
    "settings.delete": (
        "pipeline remove",
        "pipeline status remove",
        "workflow delete",
        "workflow action delete",
        "user remove --tickets-to",
        "team remove",
        "snippet delete --shared",
    ),
    "settings.delete_following": ("workflow action delete --and-following",),
    "settings.rename": ("pipeline rename", "pipeline status rename", "team rename"),
    "settings.new": (
        "pipeline add",
        "pipeline status add",
        "template set",
        "snippet set --shared",
        "user add",
        "team add",
    ),
    "settings.role": ("user role",),
    "settings.members": (
        "team member add",
        "team member remove",
        "user key add",  # on a user row: its SSH keys
        "user key remove",
    ),
    "settings.history": ("audit settings",),
    "settings.clone_workflow": ("workflow clone",),
    "settings.reenroll": ("workflow reenroll",),
    "settings.conditions": ("workflow condition",),
    "settings.pipeline": ("automation show --pipeline", "pipeline list"),
    "settings.template_save": ("template set",),
    "settings.template_ticket": ("template show --preview",),
    # the workflow editor
    "workflows.add_action": ("workflow action add",),
    "workflows.clone": ("workflow clone",),
    "workflows.clone_action": ("workflow action clone",),
    "workflows.comment_action": ("workflow action comment",),
    "workflows.condition": ("workflow condition",),
    "workflows.delete": ("workflow delete",),
    "workflows.delete_action": ("workflow action delete",),
    "workflows.delete_following": ("workflow action delete --and-following",),
    "workflows.edit_action": ("workflow action edit",),
    "workflows.move_up": ("workflow action move",),
    "workflows.move_down": ("workflow action move",),
    "workflows.move_into": ("workflow action move --into",),
    "workflows.reenroll": ("workflow reenroll",),
    "workflows.retry": ("workflow action retry",),
    "workflows.switch": ("workflow enable", "workflow disable"),
    "workflows.pipeline": ("workflow list --pipeline",),
}

# No twin needed: navigation and the screen's own controls (moving, scrolling, switching screens,
# opening and closing dialogs, editing text in a dialog). They read or change no data.
NAVIGATION = frozenset(
    {
        "app.board",
        "app.help",
        "app.inbox",
        "app.palette",
        "app.quit",
        "app.settings",
        "board.back",
        "board.left",
        "board.right",
        "compose.editor",
        "snippets.close",  # the snippet list: back to the text
        "snippets.down",
        "snippets.up",
        "compose.keep",  # the draft of the open composer
        "compose.record",  # which record the composer writes from (a flag of reply)
        "file_picker.cancel",
        "file_picker.path",
        "file_picker.up",
        "dialog.accept",
        "dialog.cancel",
        "dialog.down",
        "dialog.no",
        "dialog.up",
        "dialog.yes",
        "explain.close",
        "explain.down",
        "explain.up",
        "help.close",
        "help.end",
        "help.home",
        "help.down",
        "help.up",
        "inbox.back",
        "inbox.channel",
        "list.down",
        "list.first",
        "list.last",
        "list.open",
        "list.page_down",
        "list.page_up",
        "list.up",
        "pane.down",
        "pane.quotes",
        "pane.up",
        "notifications.close",
        "notifications.down",
        "notifications.up",
        "refused.close",
        "settings.back",
        "settings_history.back",
        "settings.down",
        "settings.up",
        "settings.next_section",
        "settings.previous_section",
        "settings.info_close",
        "settings.info_down",
        "settings.info_up",
        "settings.template_close",
        "settings.template_variable",  # types a variable's name into the editor
        "tasks.close",
        "tasks.down",
        "tasks.up",
        "ticket.back",
        "ticket.next_conv",
        "ticket.prev_conv",
        "workflows.back",
        "workflows.down",
        "workflows.up",
    }
)


def parser_commands() -> dict[str, argparse.ArgumentParser]:
    return {c.name: c.parser for c in commands(build_parser())}


def test_every_binding_of_the_app_has_a_cli_twin_or_is_navigation() -> None:
    ids = {b.id for b in all_bindings() if b.id}
    assert len(ids) > 80  # the walk found the app's tables
    assert not set(TWINS) & NAVIGATION
    missing = sorted(ids - set(TWINS) - NAVIGATION)
    assert not missing, (
        f"bindings with no CLI twin: {missing}: add the command to TWINS, or the id to "
        "NAVIGATION if it reads and changes nothing"
    )


def test_every_binding_has_an_id() -> None:
    unnamed = [b.action for b in all_bindings() if not b.id]
    assert not unnamed, f"bindings without an id cannot be mapped: {unnamed}"


def test_every_twin_is_a_real_command_with_its_options() -> None:
    known = parser_commands()
    for binding_id, twins in TWINS.items():
        assert twins, binding_id
        for twin in twins:
            words = twin.split()
            path = " ".join(w for w in words if not w.startswith("--"))
            assert path in known, f"{binding_id}: no command `deskline {path}`"
            options = {o for a in known[path]._actions for o in a.option_strings}
            for option in (w for w in words if w.startswith("--")):
                assert option in options, f"{binding_id}: `deskline {path}` has no {option}"


# --- the new commands on a real desk ---------------------------------------------------------


class Cli:
    def __init__(self, db: str) -> None:
        self.db = db

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "--db", self.db, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "DESKLINE_USER": ""},
        )
        if ok:
            assert proc.returncode == 0, f"{args}: {proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def timeline(self, number: int) -> list[str]:
        return [e["summary"] for e in self.json("ticket", "show", str(number))["timeline"]]


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    """A desk on SQLite and on PostgreSQL (conftest's db_url), set up with the CLI."""
    c = Cli(db_url)
    c.run("init")
    c.run("channel", "add", "support", "--address", SUPPORT)
    c.run("user", "add", "rita", "--email", "rita@acme.example")
    raw, _ = make_mail(to=SUPPORT, subject="Printer on fire")
    (tmp_path / "1.eml").write_bytes(raw)
    c.run("import", str(tmp_path / "1.eml"), "--channel", "support")
    return c


def test_ticket_priority_and_subject_change_the_ticket_with_a_timeline_line(cli: Cli) -> None:
    cli.run("automation", "limits", "--undo-seconds", "600")  # a slow machine still undoes
    out = cli.run("ticket", "priority", "1", "high").stdout
    assert out.startswith("Ticket #1 priority: high") and "deskline undo" in out
    assert cli.json("ticket", "show", "1")["ticket"]["priority"] == "high"
    assert "Priority: normal → high" in cli.timeline(1)

    out = cli.run("ticket", "subject", "1", "  Printer   still on fire ").stdout
    assert out.startswith("Ticket #1 subject: Printer still on fire")
    assert cli.json("ticket", "show", "1")["ticket"]["subject"] == "Printer still on fire"
    assert "Subject: Printer on fire → Printer still on fire" in cli.timeline(1)
    # the undo window covers them as it covers the app's keys
    assert "subject" in cli.run("undo").stdout
    assert cli.json("ticket", "show", "1")["ticket"]["subject"] == "Printer on fire"


def test_an_unknown_priority_or_an_empty_subject_is_refused(cli: Cli) -> None:
    bad = cli.run("ticket", "priority", "1", "whenever", ok=False)
    assert bad.returncode == 1 and bad.stdout == ""
    [line] = bad.stderr.splitlines()
    assert all(p in line for p in ("low", "normal", "high", "urgent"))
    assert cli.json("ticket", "show", "1")["ticket"]["priority"] == "normal"
    empty = cli.run("ticket", "subject", "1", "   ", ok=False)
    assert empty.returncode == 1 and "empty" in empty.stderr
    missing = cli.run("ticket", "priority", "99", "high", ok=False)
    assert missing.returncode == 1 and "99" in missing.stderr


def test_a_conversation_without_a_ticket_is_assigned_emailed_and_closed(
    cli: Cli, tmp_path: Path
) -> None:
    cli.run("channel", "set", "support", "--ticket-automation", "off")
    raw, _ = make_mail(to=SUPPORT, subject="Just a question", sender="quiet@example.com")
    (tmp_path / "2.eml").write_bytes(raw)
    cli.run("import", str(tmp_path / "2.eml"), "--channel", "support")
    [row] = [c for c in cli.json("conversations")["conversations"] if not c["ticket"]]
    cid = str(row["id"])

    assert cli.run("conversation", "assign", cid, "rita").stdout.strip() == (
        f"Conversation {cid} owner: rita"
    )
    assert "owner" in cli.run("conversation", "assign", cid, ok=False).stderr

    out = cli.run("conversation", "email", cid, "--text", "We are on it.").stdout
    assert out.startswith(f"Email queued to the contact of conversation {cid} (outbox ")
    [mail] = [m for m in cli.json("outbox")["outbox"] if m["to"] == ["quiet@example.com"]]
    assert mail["state"] == "queued" and mail["ticket"] is None

    cli.run("conversation", "close", cid, "--send-now")
    [row] = [c for c in cli.json("conversations")["conversations"] if c["id"] == int(cid)]
    assert row["state"] == "closed"
    again = cli.run("conversation", "close", cid, ok=False)
    assert again.returncode == 1 and "already closed" in again.stderr


def test_tasks_list_yours_and_task_done_ticks_one(cli: Cli, tmp_path: Path) -> None:
    cli.run(
        "automation", "action", "add", "--status", "New", "--task", "Call back", "--for", "rita"
    )
    raw, _ = make_mail(to=SUPPORT, subject="Call me", sender="caller@example.com")
    (tmp_path / "3.eml").write_bytes(raw)
    cli.run("import", str(tmp_path / "3.eml"), "--channel", "support")
    [task] = cli.json("tasks", "--as", "rita")["tasks"]
    assert task["title"] == "Call back" and task["ticket"] == 2
    assert "Call back" in cli.run("tasks", "--as", "rita").stdout
    assert cli.json("tasks")["tasks"] == []  # the admin has none

    assert cli.run("task", "done", str(task["id"]), "--as", "rita").stdout.strip() == (
        f"Task {task['id']} done"
    )
    assert cli.json("tasks", "--as", "rita")["tasks"] == []
    assert [t["id"] for t in cli.json("tasks", "--done", "--as", "rita")["tasks"]] == [task["id"]]
    twice = cli.run("task", "done", str(task["id"]), "--as", "rita", ok=False)
    assert twice.returncode == 1 and "done already" in twice.stderr


def test_pipelines_and_statuses_from_the_command_line(cli: Cli) -> None:
    cli.run("pipeline", "add", "Billing")
    cli.run("pipeline", "rename", "Billing", "Invoices")
    cli.run("pipeline", "move", "Invoices", "1")
    cli.run("pipeline", "status", "add", "On hold", "--pipeline", "Invoices")
    cli.run("pipeline", "status", "rename", "On hold", "Paused", "--pipeline", "Invoices")
    cli.run("pipeline", "status", "move", "Paused", "1", "--pipeline", "Invoices")
    pipelines = cli.json("pipeline", "list")["pipelines"]
    assert pipelines[0]["name"] == "Invoices"
    assert pipelines[0]["statuses"][0] == {"label": "Paused", "state": "OPEN"}
    text = cli.run("pipeline", "list").stdout
    assert text.startswith("1. Invoices\n     Paused (open)\n")

    support = pipelines[1]["name"]
    busy = cli.run("pipeline", "status", "remove", "New", "--pipeline", support, ok=False)
    assert busy.returncode == 1 and "move them" in busy.stderr
    cli.run("pipeline", "status", "remove", "New", "--pipeline", support, "--move-to", "Closed")
    assert cli.json("ticket", "show", "1")["ticket"]["status"] == "Closed"

    out = cli.run(
        "pipeline",
        "remove",
        support,
        "--move-to-pipeline",
        "Invoices",
        "--move-to-status",
        "Paused",
    ).stdout
    assert "1 ticket(s) moved" in out
    assert [p["name"] for p in cli.json("pipeline", "list")["pipelines"]] == ["Invoices"]
    reps = cli.run("pipeline", "add", "Nope", "--as", "rita", ok=False)
    assert reps.returncode == 1
