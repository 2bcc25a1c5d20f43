"""`deskline workflow ...`: the workflow editor from the command line (SPEC §5, R-A6, R-A7).

Real `deskline` subprocesses on a real SQLite file, as in tests/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_mail
from tests.test_cli import SUPPORT, Cli, desk_cli

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return desk_cli(tmp_path)


def _workflows(cli: Cli, **by: Any) -> dict[str, Any]:
    """The one workflow of `workflow list --json` whose fields match `by`."""
    listing = cli.json("workflow", "list")
    assert listing["version"] == 1
    [found] = [w for w in listing["workflows"] if all(w[k] == v for k, v in by.items())]
    return dict(found)


def _one_line_error(proc: Any, message: str) -> None:
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def _acks(cli: Cli, template: str) -> list[int]:
    return [o["ticket"] for o in cli.outbox() if o["template"] == template]


def test_help_lists_the_subcommands(cli: Cli) -> None:
    out = cli.run("workflow", "--help").stdout
    for name in ("list", "show", "clone", "enable", "disable", "reenroll", "delete", "action"):
        assert f"    {name} " in out
    menu = cli.run("workflow", "action", "--help").stdout
    for name in ("add", "edit", "comment", "clone", "move", "delete"):
        assert f"    {name} " in menu


def test_list_shows_builtin_workflows_and_their_counts(cli: Cli) -> None:
    """R-A7: a status's actions are a built-in workflow "ticket status is X"; the list shows
    what each did: enrollments (all time, 7 days), action runs of 7 days and the last failure."""
    for i in range(2):
        cli.deliver(make_mail(to=SUPPORT, subject=f"Question {i}")[0])
    # A template that renders for an owned ticket (it is checked against the newest) and fails
    # for a ticket without an owner (R-A9: the action fails, the change stands)
    cli.run("assign", "2", "rita")
    body = cli.mail / "owner.txt"
    body.write_text("{{ owner.name }} has it.\n")
    cli.run(
        "template", "set", "Owner", "--subject", "For {{ owner.name }}", "--body-file", str(body)
    )
    closed = _workflows(cli, status="Closed")
    cli.run("workflow", "action", "add", "--workflow", str(closed["id"]), "--send-email", "Owner")
    cli.run("close", "1")

    new = _workflows(cli, status="New")
    assert (new["name"], new["builtin"], new["enabled"], new["reenroll"]) == (
        "New status actions",
        True,
        True,
        False,
    )
    assert new["enrollment"] == "Ticket status is New"
    assert (new["action_count"], new["enrolled_tickets"], new["enrolled_7d"]) == (1, 2, 2)
    assert new["runs_7d"]["ok"] == 2 and new["runs_7d"]["failed"] == 0
    assert new["last_failure"] is None

    closed = _workflows(cli, status="Closed")
    assert (closed["action_count"], closed["enrolled_tickets"]) == (2, 1)
    assert (closed["runs_7d"]["ok"], closed["runs_7d"]["failed"]) == (1, 1)
    failure = closed["last_failure"]
    assert failure["ticket"] == 1 and "has no attribute 'name'" in failure["detail"]

    table = cli.run("workflow", "list").stdout
    assert "New status actions" in table and "Closed status actions" in table
    assert "built-in" in table and "2 ok, 0 failed" in table and "1 ok, 1 failed" in table
    assert "last failure" in table
    # the run id in the list is the one `workflow action retry` takes (R-A9)
    retry = cli.run("workflow", "action", "retry", str(failure["run_id"]), ok=False)
    assert "retried: failed" in retry.stdout


def test_show_prints_the_flow_with_comments(cli: Cli) -> None:
    """R-A6/R-A7: the editor shows the enrollment, re-enrollment, on/off and the ordered actions
    with their comments."""
    closed = _workflows(cli, status="Closed")
    wid = str(closed["id"])
    cli.run("workflow", "action", "add", "--workflow", wid, "--notify", "user:rita")
    detail = cli.json("workflow", "show", wid)
    assert detail["version"] == 1
    first, second = (a["id"] for a in detail["workflow"]["actions"])
    cli.run("workflow", "action", "comment", str(second), "rita wants to know", "--workflow", wid)

    out = cli.run("workflow", "show", wid).stdout
    assert "Enrollment: Ticket status is Closed" in out
    assert "Conversation source is not Chat or Messenger" in out  # R-A8
    assert "Re-enrollment off" in out and "deskline workflow clone" in out
    lines = out.splitlines()
    step1 = next(i for i, line in enumerate(lines) if "1. Send email “Ticket closed”" in line)
    assert f"[action {first}]" in lines[step1]
    assert lines[step1 + 1].strip() == "↓"
    assert "2. Notify user rita" in lines[step1 + 2] and f"[action {second}]" in lines[step1 + 2]
    assert lines[step1 + 3] == "        # rita wants to know"  # indented under its step
    assert "No failed actions." in out

    detail = cli.json("workflow", "show", wid)
    assert [a["comments"] for a in detail["workflow"]["actions"]] == [[], ["rita wants to know"]]
    assert detail["workflow"]["enrollment_conditions"][0] == "Ticket status is Closed"
    assert detail["failures"] == []
    _one_line_error(cli.run("workflow", "show", "999", ok=False), "no workflow 999")


def test_clone_reenroll_and_delete_the_original(cli: Cli) -> None:
    """R-A7: the built-in workflow enrolls once and refuses re-enrollment; its clone starts off,
    takes re-enrollment, and once switched on with the original deleted, a ticket closed twice
    gets "Ticket closed" twice."""
    raw, first_id = make_mail(to=SUPPORT, subject="Broken order")
    cli.deliver(raw)
    original = _workflows(cli, status="Closed", builtin=True)
    refused = cli.run("workflow", "reenroll", str(original["id"]), "on", ok=False)
    _one_line_error(refused, "R-A7")

    out = cli.run("workflow", "clone", str(original["id"])).stdout
    clone = _workflows(cli, status="Closed", builtin=False)
    assert f"Workflow {clone['id']}" in out and "off" in out
    assert (clone["enabled"], clone["reenroll"], clone["action_count"]) == (False, False, 1)
    assert clone["cloned_from"] == original["id"]
    assert clone["enrolled_tickets"] == 0  # E7: no enrollment history

    cli.run("workflow", "reenroll", str(clone["id"]), "on")
    enabled = cli.run("workflow", "enable", str(clone["id"])).stdout
    assert f"workflow {original['id']}" in enabled  # both on for Closed: said so
    deleted = cli.run("workflow", "delete", str(original["id"])).stdout
    assert "deleted" in deleted
    listing = cli.json("workflow", "list")["workflows"]
    assert [w["id"] for w in listing if w["status"] == "Closed"] == [clone["id"]]
    shown = cli.run("workflow", "show", str(clone["id"])).stdout
    assert "Re-enrollment on" in shown

    cli.run("close", "1")
    reply, _ = make_mail(to=SUPPORT, subject="Re: Broken order", in_reply_to=first_id)
    cli.deliver(reply)  # R-T2.3 reopens
    cli.run("close", "1")
    assert _acks(cli, "Ticket closed") == [1, 1]
    assert _workflows(cli, id=clone["id"])["enrolled_tickets"] == 2


def test_disable_and_enable_change_what_the_next_ticket_gets(cli: Cli) -> None:
    """R-A1/E7: a switched-off workflow enrolls nobody; switched on again, the next ticket gets
    its "Ticket received"."""
    new = _workflows(cli, status="New")
    cli.run("workflow", "disable", str(new["id"]))
    assert _workflows(cli, id=new["id"])["enabled"] is False
    cli.deliver(make_mail(to=SUPPORT, subject="While off")[0])
    assert _acks(cli, "Ticket received") == []
    assert "Off: no ticket enrolls" in cli.run("workflow", "show", str(new["id"])).stdout

    cli.run("workflow", "enable", str(new["id"]))
    cli.deliver(make_mail(sender="dan@customer.example", to=SUPPORT, subject="While on")[0])
    assert _acks(cli, "Ticket received") == [2]
    # the older command stays an alias of the same switch
    cli.run("automation", "workflow", "set", str(new["id"]), "--enabled", "off")
    assert _workflows(cli, id=new["id"])["enabled"] is False


def test_action_add_and_delete_on_a_clone_by_workflow_id(cli: Cli) -> None:
    """R-A6/R-A7: a clone is fully editable; its actions are added and deleted by workflow id."""
    new = _workflows(cli, status="New")
    cli.run("workflow", "clone", str(new["id"]))
    clone = _workflows(cli, status="New", builtin=False)
    wid = str(clone["id"])
    added = cli.run("workflow", "action", "add", "--workflow", wid, "--notify", "owner").stdout
    assert f"workflow {wid}" in added
    actions = cli.json("workflow", "show", wid)["workflow"]["actions"]
    assert [a["description"] for a in actions] == [
        "Send email “Ticket received”",
        "Notify the ticket owner",
    ]
    # the built-in workflow is untouched
    assert _workflows(cli, id=new["id"])["action_count"] == 1

    builtin_action = cli.json("workflow", "show", str(new["id"]))["workflow"]["actions"][0]["id"]
    wrong = cli.run(
        "workflow", "action", "delete", str(builtin_action), "--workflow", wid, ok=False
    )
    _one_line_error(wrong, f"not in workflow {wid}")
    cli.run("workflow", "action", "delete", str(actions[0]["id"]), "--workflow", wid)
    left = cli.json("workflow", "show", wid)["workflow"]["actions"]
    assert [a["id"] for a in left] == [actions[1]["id"]]

    # the clone's enrollment condition is editable (R-A7); the built-in one's is not
    condition = '{"field": "priority", "op": "is", "value": "high"}'
    cli.run("workflow", "condition", wid, condition)
    shown = cli.json("workflow", "show", wid)["workflow"]["enrollment_conditions"]
    assert shown[-1] == "Ticket matches: priority is high"
    _one_line_error(cli.run("workflow", "condition", str(new["id"]), condition, ok=False), "R-A7")
    _one_line_error(
        cli.run("workflow", "action", "add", "--workflow", "999", "--notify", "owner", ok=False),
        "no workflow 999",
    )
    _one_line_error(cli.run("workflow", "enable", "999", ok=False), "no workflow 999")
    _one_line_error(cli.run("workflow", "delete", "999", ok=False), "no workflow 999")


def test_a_rep_is_refused_but_may_read(cli: Cli) -> None:
    """SPEC §1/§7: only admins change workflows (R-A6, R-A7); reps read them."""
    new = _workflows(cli, status="New")
    wid = str(new["id"])
    action = str(cli.json("workflow", "show", wid)["workflow"]["actions"][0]["id"])
    for args in (
        ("workflow", "clone", wid),
        ("workflow", "disable", wid),
        ("workflow", "reenroll", wid, "off"),
        ("workflow", "delete", wid),
        ("workflow", "action", "add", "--workflow", wid, "--notify", "owner"),
        ("workflow", "action", "delete", action, "--workflow", wid),
    ):
        _one_line_error(cli.run(*args, "--as", "rita", ok=False), "rita is not an admin")
    assert (
        cli.json("workflow", "list")["workflows"]
        == cli.json("workflow", "list", "--as", "rita")["workflows"]
    )
    assert _workflows(cli, id=new["id"]) == new  # nothing changed
    shown = cli.run("workflow", "show", wid, "--as", "rita").stdout
    assert "Send email “Ticket received”" in shown
