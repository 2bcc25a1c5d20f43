"""`deskline automation export|check|diff|apply` (SPEC B4, B4.1, B4.2): the automation as TOML.

Real `deskline` subprocesses on real SQLite files, as in tests/test_cli.py.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from automation import admin
from automation.as_code.apply import apply, diff
from automation.as_code.export import export_text
from automation.as_code.toml_out import dumps
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_cli import Cli, desk_cli

VIP = '{"field": "contact_domain", "value": "vip.example"}'


def _rich_desk(tmp_path: Path) -> Cli:
    """A desk with a second pipeline, a custom template, a branch with a delay, a comment, a
    clone with a condition, changed limits and a trigger switched off."""
    cli = desk_cli(tmp_path)
    cli.run("pipeline", "add", "Sales")
    cli.run("pipeline", "status", "add", "Quoted", "--pipeline", "Sales")
    body = tmp_path / "body.txt"
    body.write_text('Hello {{ contact.name }},\n"quoted" \\ back\n\twith a tab\n')
    cli.run(
        "template",
        "set",
        "Nudge",
        "--subject",
        "About {{ ticket.subject }}",
        "--body-file",
        str(body),
    )
    new = _workflow(cli, status="New")
    wid = str(new["id"])
    cli.run("workflow", "action", "add", "--workflow", wid, "--if", VIP)
    branch = cli.json("workflow", "show", wid)["workflow"]["actions"][-1]["id"]
    cli.run(
        "workflow",
        "action",
        "add",
        "--workflow",
        wid,
        "--delay",
        "2 hours",
        "--in",
        f"{branch}:yes",
    )
    cli.run(
        "workflow",
        "action",
        "add",
        "--workflow",
        wid,
        "--send-email",
        "Nudge",
        "--in",
        f"{branch}:yes",
    )
    cli.run("workflow", "action", "comment", str(branch), "VIPs get a nudge", "--workflow", wid)
    cli.run("workflow", "clone", wid)
    clone = _workflow(cli, status="New", builtin=False)
    cli.run("workflow", "condition", str(clone["id"]), VIP)
    cli.run("automation", "set", "customer-replied", "off")
    cli.run("snippet", "set", "refund", "--shared", "--text", "Refunds take {{ 5 }} days.")
    cli.run("snippet", "set", "mine", "--text", "A rep's own: not in the file.")
    cli.run("automation", "limits", "--undo-seconds", "30", "--old-mail-hours", "48")
    cli.run(
        "channel",
        "set",
        "support",
        "--imap-host",
        "imap.acme.example",
        "--imap-user",
        "desk",
        "--imap-secret",
        "env:DESK_IMAP_PASSWORD",
    )
    return cli


def _workflow(cli: Cli, **by: Any) -> dict[str, Any]:
    [found] = [
        w
        for w in cli.json("workflow", "list")["workflows"]
        if all(w[k] == v for k, v in by.items())
    ]
    return dict(found)


def _fresh(tmp_path: Path, name: str) -> Cli:
    where = tmp_path / name
    where.mkdir()
    cli = Cli(where)
    cli.run("init")
    cli.run("user", "add", "rita", "--email", "rita@acme.example")
    return cli


def _export(cli: Cli, path: Path) -> str:
    text = cli.run("automation", "export").stdout
    path.write_text(text)
    return text


def _without_counts(view: Any) -> Any:
    """The JSON without its ids (a fresh desk numbers its rows in its own order)."""
    if isinstance(view, dict):
        return {k: _without_counts(v) for k, v in view.items() if k != "id"}
    if isinstance(view, list):
        return [_without_counts(v) for v in view]
    return view


def test_export_apply_export_is_byte_identical(tmp_path: Path) -> None:
    """B4.1: export → apply on a fresh desk → export gives the same bytes, and the same
    `automation show --json` and `workflow list --json`."""
    source = _rich_desk(tmp_path)
    first = _export(source, tmp_path / "desk.toml")
    assert "_secret" not in first and "DESK_IMAP_PASSWORD" not in first
    assert tomllib.loads(first)["templates"]["Nudge"]["body"].startswith(
        "Hello {{ contact.name }},\n"
    )
    assert tomllib.loads(first)["snippets"] == {"refund": {"body": "Refunds take {{ 5 }} days."}}
    fresh = _fresh(tmp_path, "fresh")
    fresh.run("automation", "apply", str(tmp_path / "desk.toml"))
    assert fresh.run("automation", "export").stdout == first
    assert [s["name"] for s in fresh.json("snippet", "list")["snippets"]] == ["refund"]
    for pipeline in ("Support Pipeline", "Sales"):
        for command in (("automation", "show"), ("workflow", "list")):
            args = (*command, "--pipeline", pipeline, "--json")
            mine = json.loads(source.run(*args).stdout)
            theirs = json.loads(fresh.run(*args).stdout)
            assert _without_counts(theirs) == _without_counts(mine)


def test_diff_of_an_unchanged_file_says_nothing_changes(tmp_path: Path) -> None:
    cli = _rich_desk(tmp_path)
    _export(cli, tmp_path / "desk.toml")
    assert cli.run("automation", "diff", str(tmp_path / "desk.toml")).stdout == "Nothing changes\n"
    text = (tmp_path / "desk.toml").read_text().replace("undo_seconds = 30", "undo_seconds = 5")
    (tmp_path / "desk.toml").write_text(text)
    out = cli.run("automation", "diff", str(tmp_path / "desk.toml")).stdout
    assert "limits: changed “limits” (undo_seconds)" in out
    assert cli.json("automation", "limits")["undo_seconds"] == 30  # diff writes nothing


def test_check_reports_a_bad_value_with_its_line(tmp_path: Path) -> None:
    cli = _rich_desk(tmp_path)
    text = _export(cli, tmp_path / "desk.toml")
    assert cli.run("automation", "check", str(tmp_path / "desk.toml")).stdout.endswith(
        "no problems\n"
    )
    lines = text.splitlines()
    number = lines.index('state = "closed"') + 1
    lines[number - 1] = 'state = "shut"'
    lines.append("colour = 3")
    (tmp_path / "bad.toml").write_text("\n".join(lines) + "\n")
    proc = cli.run("automation", "check", str(tmp_path / "bad.toml"), ok=False)
    assert f"line {number}: status Closed: state must be open or closed" in proc.stderr
    assert "unknown key 'colour'" in proc.stderr
    (tmp_path / "broken.toml").write_text("format = 1\n[limits\n")
    broken = cli.run("automation", "check", str(tmp_path / "broken.toml"), ok=False)
    assert "line 2" in broken.stderr


def test_removing_a_status_with_tickets_needs_moved_to(tmp_path: Path) -> None:
    """B4.2: refused, nothing changes; with moved_to the tickets move and the status goes."""
    cli = _rich_desk(tmp_path)
    cli.deliver(make_mail(subject="Help")[0])
    text = _export(cli, tmp_path / "desk.toml")
    doc = tomllib.loads(text)
    del doc["pipelines"]["Support Pipeline"]["statuses"]["New"]
    doc["workflows"] = {k: v for k, v in doc["workflows"].items() if "/New/" not in k}
    doc["limits"]["undo_seconds"] = 7
    (tmp_path / "gone.toml").write_text(dumps(doc, inline=("conditions", "condition")))
    refused = cli.run("automation", "apply", str(tmp_path / "gone.toml"), ok=False)
    assert "move them to another status first" in refused.stderr
    assert cli.run("automation", "export").stdout == text
    doc["pipelines"]["Support Pipeline"]["moved_to"] = {"New": "Waiting on us"}
    (tmp_path / "gone.toml").write_text(dumps(doc, inline=("conditions", "condition")))
    cli.run("automation", "apply", str(tmp_path / "gone.toml"))
    assert (
        "New"
        not in tomllib.loads(cli.run("automation", "export").stdout)["pipelines"][
            "Support Pipeline"
        ]["statuses"]
    )
    assert cli.json("tickets")["tickets"][0]["status"] == "Waiting on us"


def test_a_rep_cannot_apply(tmp_path: Path) -> None:
    cli = _rich_desk(tmp_path)
    _export(cli, tmp_path / "desk.toml")
    refused = cli.run("--as", "rita", "automation", "apply", str(tmp_path / "desk.toml"), ok=False)
    assert "only admins change settings" in refused.stderr


# --- the domain on both databases (the `db` fixture: SQLite and PostgreSQL) -------------------


async def test_apply_on_both_databases(db: Database) -> None:
    """Apply (B4.2) in one transaction on SQLite and PostgreSQL: a status with tickets needs
    moved_to (refused: nothing changes), a rep is refused, a changed file applied and the
    original applied back export the original bytes, and its diff is empty."""
    desk = await Desk.create(db)
    await desk.receive(make_mail(subject="Help")[0])

    def tuned(repo: Any, user: Any) -> None:
        admin.set_template(repo, user, "Nudge", subject="Re {{ ticket.subject }}", body='a "b"\n')
        wid = admin.status_workflow(repo, admin.status_in(repo, repo.pipelines()[0], "New")).id
        admin.add_action_to_workflow(repo, user, wid, "send_email", template_name="Nudge")

    await desk.admin(tuned)
    original = await desk.read(export_text)
    doc = tomllib.loads(original)
    del doc["pipelines"]["Support Pipeline"]["statuses"]["New"]
    doc["workflows"] = {k: v for k, v in doc["workflows"].items() if "/New/" not in k}
    doc["limits"]["undo_seconds"] = 3
    doc["templates"]["Nudge"]["body"] = "changed\n"
    with pytest.raises(admin.SettingsError, match="move them to another status first"):
        await desk.admin(lambda repo, user: apply(repo, user, doc))
    assert await desk.read(export_text) == original
    with pytest.raises(admin.SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, user: apply(repo, user, doc))
    doc["pipelines"]["Support Pipeline"]["moved_to"] = {"New": "Waiting on us"}
    await desk.admin(lambda repo, user: apply(repo, user, doc))
    changed = tomllib.loads(await desk.read(export_text))
    assert "New" not in changed["pipelines"]["Support Pipeline"]["statuses"]
    assert changed["limits"]["undo_seconds"] == 3
    assert (await desk.tickets())[0]["status"] == "Waiting on us"
    back = tomllib.loads(original)
    back["pipelines"]["Support Pipeline"]["statuses"]["New"]["position"] = 1
    await desk.admin(lambda repo, user: apply(repo, user, back))
    assert await desk.read(export_text) == original
    assert await desk.read(lambda repo: diff(repo, back)) == []


def test_the_toml_writer_round_trips_through_tomllib() -> None:
    """Strings escaped as TOML says (quotes, backslashes, control characters, three quotes in a
    multi-line body), keys quoted when not bare, nested arrays of tables (a branch's paths)."""
    document = {
        "format": 1,
        "limits": {"max_message_mb": 50.0, "branding": False},
        "templates": {
            'odd "name"': {"subject": "a\tb", "body": 'x """ y \\ \u0001\r\n\tz\n'},
            "plain": {"subject": "s", "body": "\nstarts with a line break\n"},
        },
        "workflows": {
            "P/S/w": {
                "conditions": {"all": [{"field": "priority", "value": ["high", "urgent"]}]},
                "actions": [
                    {"kind": "branch", "yes": [{"kind": "delay", "no": [{"kind": "x"}]}]},
                    {"kind": "add_note", "comments": ["one", "two"]},
                ],
            },
            "empty": {"conditions": {}, "actions": []},
        },
    }
    text = dumps(document, inline=("conditions",), header="a header")
    assert tomllib.loads(text) == document
    assert text.startswith("# a header\n")
    assert '[[workflows."P/S/w".actions.yes.no]]' in text


def test_a_template_that_does_not_lint_is_not_applied(tmp_path: Path) -> None:
    cli = _rich_desk(tmp_path)
    text = _export(cli, tmp_path / "desk.toml")
    bad = text.replace("About {{ ticket.subject }}", "About {{ ticket.nope }}")
    (tmp_path / "bad.toml").write_text(bad)
    line = bad.splitlines().index('subject = "About {{ ticket.nope }}"') + 1
    refused = cli.run("automation", "apply", str(tmp_path / "bad.toml"), ok=False)
    assert f"line {line}: template Nudge" in refused.stderr
    assert "nothing applied" in refused.stderr
    assert cli.run("automation", "export").stdout == text


def test_shared_snippets_are_checked_applied_and_removed_as_the_file_says(tmp_path: Path) -> None:
    # B4.1, B4.2, D10: a shared snippet naming an unknown variable is a problem on its line; the
    # file's snippets replace the shared ones (a rep's own stay)
    cli = _rich_desk(tmp_path)
    text = _export(cli, tmp_path / "desk.toml")
    bad = text.replace("Refunds take {{ 5 }} days.", "Hi {{ customer.name }}")
    (tmp_path / "bad.toml").write_text(bad)
    failed = cli.run("automation", "check", str(tmp_path / "bad.toml"), ok=False)
    line = bad.splitlines().index('body = "Hi {{ customer.name }}"') + 1
    assert failed.returncode == 1 and f"line {line}:" in failed.stdout + failed.stderr
    assert "customer" in failed.stdout + failed.stderr
    swapped = text.replace(
        '[snippets.refund]\nbody = "Refunds take {{ 5 }} days."',
        ('[snippets.thanks]\nbody = "Thanks, {{ contact.name }}."'),
    )
    assert swapped != text
    (tmp_path / "swapped.toml").write_text(swapped)
    cli.run("automation", "apply", str(tmp_path / "swapped.toml"))
    names = {s["name"]: s["shared"] for s in cli.json("snippet", "list")["snippets"]}
    assert names == {"thanks": True, "mine": False}
