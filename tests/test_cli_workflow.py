"""`deskline workflow ...`: the workflow editor from the command line (SPEC §5, R-A6, R-A7).

Real `deskline` subprocesses on a real SQLite file, as in tests/test_cli.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_mail
from tests.test_cli import SUPPORT, Cli, desk_cli

pytestmark = pytest.mark.sqlite_only
VIP = '{"field": "contact_domain", "value": "vip.example"}'  # a branch's --if (R-A5)


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
    """The tickets mailed with `template`, in the order the emails were queued (the outbox
    lists newest first)."""
    return [o["ticket"] for o in reversed(cli.outbox()) if o["template"] == template]


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
    # A template that passes the lint (no ticket is closed when it is saved) and fails once a
    # ticket without an owner is closed (R-A9: the action fails, the change stands)
    cli.run("assign", "2", "rita")
    body = cli.mail / "owner.txt"
    body.write_text('{% if status.label == "Closed" %}{{ owner.name }} has it.{% endif %}\n')
    cli.run("template", "set", "Owner", "--subject", "Closed", "--body-file", str(body))
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
    _one_line_error(refused, "cannot be edited")

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
    _one_line_error(
        cli.run("workflow", "condition", str(new["id"]), condition, ok=False), "cannot be edited"
    )
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
        ("workflow", "action", "add", "--workflow", wid, "--if", VIP),
        ("workflow", "action", "move", action, "--top"),
    ):
        _one_line_error(cli.run(*args, "--as", "rita", ok=False), "rita is not an admin")
    assert (
        cli.json("workflow", "list")["workflows"]
        == cli.json("workflow", "list", "--as", "rita")["workflows"]
    )
    assert _workflows(cli, id=new["id"]) == new  # nothing changed
    shown = cli.run("workflow", "show", wid, "--as", "rita").stdout
    assert "Send email “Ticket received”" in shown


# --- branches (R-A5 "branch on a condition", edited with the actions menu of R-A6) ------------


def _added(proc: Any) -> int:
    """The id in "Action N added ...", the first line of `action add`."""
    found = re.match(r"Action (\d+) added", proc.stdout)
    assert found, proc.stdout
    return int(found.group(1))


def _add(cli: Cli, wid: str, *what: str) -> int:
    return _added(cli.run("workflow", "action", "add", "--workflow", wid, *what))


def _flow(cli: Cli, wid: str) -> list[dict[str, Any]]:
    return list(cli.json("workflow", "show", wid)["workflow"]["actions"])


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def _path_ids(cli: Cli, wid: str, branch: int) -> dict[str, list[int]]:
    [row] = [a for a in _flow(cli, wid) if a["id"] == branch]
    return {which: _ids(row["paths"][which]) for which in ("yes", "no")}


def _notes(cli: Cli, number: int) -> list[str]:
    events = sorted(cli.ticket(number)["timeline"], key=lambda e: e["id"])
    return [e["data"]["body"] for e in events if e["type"] == "note"]


def _new_workflow(cli: Cli) -> str:
    return str(_workflows(cli, status="New")["id"])


def test_help_explains_branches(cli: Cli) -> None:
    """R-A5: `action add --help` says what a branch is and shows how to fill its paths."""
    add = cli.run("workflow", "action", "add", "--help").stdout
    assert "--if JSON" in add and "--in BRANCH_ID:yes|no" in add
    assert 'deskline workflow action add --workflow 7 \\\n      --if \'{"field": "source"' in add
    assert 'deskline workflow action add --workflow 7 --note "Chat!" --in 12:yes' in add
    assert max(len(line) for line in add.split("Branches:")[1].splitlines()) <= 80
    status_add = cli.run("automation", "action", "add", "--help").stdout
    assert "deskline automation action add --status New --note" in status_add
    move = cli.run("workflow", "action", "move", "--help").stdout
    assert "--into BRANCH_ID:yes|no" in move and "--top" in move


def test_a_branch_built_with_the_cli_is_drawn_nested_and_a_ticket_takes_its_path(
    cli: Cli,
) -> None:
    """R-A5 if/else: a branch with actions in both paths, built with `action add --if` and
    `--in` (by workflow id and by status), is drawn nested with each action's id (R-A6); a VIP
    ticket takes the yes path, another the no path, and both go on after the branch."""
    wid = _new_workflow(cli)
    added = cli.run("workflow", "action", "add", "--workflow", wid, "--if", VIP).stdout
    branch = int(added.split()[1])
    assert f"--in {branch}:yes and --in {branch}:no" in added
    urgent = _add(cli, wid, "--set", "priority=urgent", "--in", f"{branch}:yes")
    vip_note = _add(cli, wid, "--note", "VIP customer", "--in", f"{branch}:yes")
    by_status = cli.run(
        "automation", "action", "add", "--status", "New", "--note", "Regular customer",
        "--in", f"{branch}:no",
    )  # fmt: skip
    assert f"at the end of the no path of branch {branch}" in by_status.stdout
    regular = _added(by_status)
    after = _add(cli, wid, "--note", "After the branch")
    cli.run("workflow", "action", "comment", str(branch), "VIPs first")

    out = cli.run("workflow", "show", wid).stdout.splitlines()
    top = out.index(f"   2. If contact_domain is vip.example  [action {branch}]")
    assert out[top + 1 : top + 9] == [
        "        # VIPs first",
        f"      yes →  1. Set priority to urgent  [action {urgent}]",
        "               ↓",
        f"             2. Add note “VIP customer”  [action {vip_note}]",
        f"       no →  1. Add note “Regular customer”  [action {regular}]",
        "     ↓",
        f"   3. Add note “After the branch”  [action {after}]",
        "     ↓",
    ]
    assert all(len(line) <= 80 for line in out[top : top + 9])
    # --json carries the nested rows
    [row] = [a for a in _flow(cli, wid) if a["id"] == branch]
    assert (row["kind"], row["config"]["if"]) == ("branch", json.loads(VIP))
    assert row["paths"]["yes"][1]["description"] == "Add note “VIP customer”"
    assert _path_ids(cli, wid, branch) == {"yes": [urgent, vip_note], "no": [regular]}

    cli.deliver(make_mail(sender="boss@vip.example", to=SUPPORT, subject="VIP here")[0])
    cli.deliver(make_mail(sender="dan@customer.example", to=SUPPORT, subject="Regular")[0])
    assert cli.ticket(1)["ticket"]["priority"] == "urgent"
    assert _notes(cli, 1) == ["VIP customer", "After the branch"]
    assert cli.ticket(2)["ticket"]["priority"] == "normal"
    assert _notes(cli, 2) == ["Regular customer", "After the branch"]
    assert _acks(cli, "Ticket received") == [1, 2]  # the action before the branch ran for both


def test_move_into_a_branch_path_and_back_to_the_top(cli: Cli) -> None:
    """R-A6 move: `--into BRANCH_ID:yes|no` puts an action into a branch's path (at the end,
    or at POSITION), POSITION alone moves it within that path, `--top` takes it back to the
    workflow's own list; an empty path is drawn as "(nothing)"; `edit --if` changes the
    branch's condition (R-A5)."""
    wid = _new_workflow(cli)
    [received] = _ids(_flow(cli, wid))
    branch = _add(cli, wid, "--if", VIP)
    first = _add(cli, wid, "--note", "First")
    second = _add(cli, wid, "--note", "Second")
    shown = cli.run("workflow", "show", wid).stdout
    assert "      yes →  (nothing)\n       no →  (nothing)\n" in shown

    moved = cli.run("workflow", "action", "move", str(first), "--into", f"{branch}:no").stdout
    assert f"moved to position 1 of the no path of branch {branch}" in moved
    cli.run("workflow", "action", "move", str(second), "1", "--into", f"{branch}:no")
    assert _path_ids(cli, wid, branch) == {"yes": [], "no": [second, first]}
    assert _ids(_flow(cli, wid)) == [received, branch]
    cli.run("workflow", "action", "move", str(second), "2")  # within its path
    assert _path_ids(cli, wid, branch)["no"] == [first, second]

    back = cli.run("workflow", "action", "move", str(first), "1", "--top").stdout
    assert "moved to position 1 of the workflow's own list" in back
    assert _ids(_flow(cli, wid)) == [first, received, branch]
    assert _path_ids(cli, wid, branch) == {"yes": [], "no": [second]}

    cli.run(
        "workflow", "action", "edit", str(branch), "--if", '{"field": "priority", "value": "high"}'
    )
    assert _flow(cli, wid)[2]["description"] == "If priority is high"

    before = cli.json("workflow", "show", wid)
    _one_line_error(
        cli.run("workflow", "action", "move", str(branch), "--into", f"{branch}:yes", ok=False),
        "cannot move into its own branch",
    )
    _one_line_error(
        cli.run("workflow", "action", "move", str(first), ok=False),
        "a POSITION in its list, --into BRANCH_ID:yes|no or --top",
    )
    _one_line_error(
        cli.run("workflow", "action", "move", str(first), "9", "--into", f"{branch}:yes", ok=False),
        "position must be between",
    )
    _one_line_error(
        cli.run("workflow", "action", "edit", str(branch), "--note", "x", ok=False),
        "still holds 1 action(s) in its paths",
    )
    assert cli.json("workflow", "show", wid) == before  # refused: nothing changed


def test_bad_in_and_bad_if_are_refused_and_change_nothing(cli: Cli) -> None:
    """R-A5/R-A6: a malformed `--in`/`--into`, a path of a missing action or of an action that
    is no branch, and an `--if` that is not JSON, not an object or not a valid condition each
    get one clear line and exit 1; the workflow stays as it was."""
    wid = _new_workflow(cli)
    branch = _add(cli, wid, "--if", VIP)
    note = _add(cli, wid, "--note", "Top")
    before = cli.json("workflow", "show", wid)
    add = ("workflow", "action", "add", "--workflow", wid)
    refused = [
        ((*add, "--note", "x", "--in", str(branch)), "--in is BRANCH_ID:yes or BRANCH_ID:no"),
        ((*add, "--note", "x", "--in", f"{branch}:maybe"), "--in is BRANCH_ID:yes or BRANCH_ID:no"),
        ((*add, "--note", "x", "--in", "x:yes"), "--in is BRANCH_ID:yes or BRANCH_ID:no"),
        ((*add, "--note", "x", "--in", "999:yes"), f"no action 999 in workflow {wid}"),
        ((*add, "--note", "x", "--in", f"{note}:yes"), f"action {note} is not a branch"),
        ((*add, "--if", "priority is high"), "--if: the condition is not JSON"),
        ((*add, "--if", '["priority"]'), "--if: the condition is a JSON object"),
        ((*add, "--if", '{"field": "shoe", "value": 1}'), "field must be one of"),
        ((*add, "--if", "{}"), "a branch needs its condition (--if)"),
        (
            ("workflow", "action", "move", str(note), "--into", f"{branch}-yes"),
            "--into is BRANCH_ID:yes or BRANCH_ID:no",
        ),
        (("workflow", "action", "edit", str(branch), "--if", "nope"), "not JSON"),
        (
            ("automation", "action", "add", "--status", "New", "--note", "x", "--in", "1:"),
            "--in is BRANCH_ID:yes or BRANCH_ID:no",
        ),
    ]
    for args, message in refused:
        _one_line_error(cli.run(*args, ok=False), message)
    assert cli.json("workflow", "show", wid) == before


def test_deleting_or_cloning_a_branch_counts_its_paths(cli: Cli) -> None:
    """R-A6 delete: a branch goes with the actions of its paths, "this action and all
    following" too, and the output says how many went; clones copy the paths (R-A6, R-A7)."""
    wid = _new_workflow(cli)
    [received] = _ids(_flow(cli, wid))
    branch = _add(cli, wid, "--if", VIP)
    _add(cli, wid, "--note", "Yes 1", "--in", f"{branch}:yes")
    _add(cli, wid, "--note", "Yes 2", "--in", f"{branch}:yes")
    _add(cli, wid, "--note", "No 1", "--in", f"{branch}:no")
    _add(cli, wid, "--note", "After")

    cloned = cli.run("workflow", "clone", wid).stdout
    assert "with 6 actions" in cloned
    clone = _workflows(cli, status="New", builtin=False)
    assert "(6 actions)" in cli.run("workflow", "delete", str(clone["id"])).stdout

    copy = int(cli.run("workflow", "action", "clone", str(branch)).stdout.split()[1])
    assert len(_path_ids(cli, wid, copy)["yes"]) == 2
    deleted = cli.run("workflow", "action", "delete", str(copy)).stdout
    assert "Deleted 4 actions (3 of them in branch paths)" in deleted
    following = cli.run(
        "workflow", "action", "delete", str(branch), "--and-following", "--workflow", wid
    ).stdout
    assert "Deleted 5 actions (3 of them in branch paths)" in following
    assert _ids(_flow(cli, wid)) == [received]
    assert cli.run("workflow", "action", "delete", str(received)).stdout.strip() == (
        "Deleted 1 action"
    )
