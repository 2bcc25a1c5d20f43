"""`deskline template set|lint|rename|delete` (issue 18 items 1 and 7, issue 19 item 18; SPEC B7,
D10): the static check and the lint against the newest tickets before saving, renaming and deleting
custom templates, and deleting one in use only with a replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_mail
from tests.test_cli import SUPPORT, Cli, desk_cli

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return desk_cli(tmp_path)


def _body(cli: Cli, text: str) -> str:
    path = cli.mail / f"body{cli.count}.txt"
    cli.count += 1
    path.write_text(text)
    return str(path)


def test_set_refuses_an_unknown_variable_in_a_branch_with_the_line(cli: Cli) -> None:
    body = _body(cli, 'Hello\n{% if ticket.priority == "high" %}{{ ownr.name }}{% endif %}\n')
    refused = cli.run("template", "set", "VIP", "--subject", "Hi", "--body-file", body, ok=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        "template not saved: line 2: unknown variable 'ownr' — did you mean 'owner'?"
    )
    assert "VIP" not in cli.run("template", "list").stdout


def test_lint_renders_against_the_newest_tickets_and_names_the_failing_one(cli: Cli) -> None:
    # a template that fails only for high-priority tickets is caught with the ticket's number
    for subject in ("First", "Second", "Third"):
        cli.deliver(make_mail(to=SUPPORT, subject=subject)[0])
    cli.run("ticket", "priority", "2", "high")
    body = _body(
        cli,
        '{% if ticket.priority == "high" %}{{ 1 // 0 }}{% endif %}Hello {{ contact.name }}\n',
    )
    refused = cli.run("template", "set", "Odd", "--subject", "Hi", "--body-file", body, ok=False)
    assert "ticket #2: " in refused.stderr and "ZeroDivisionError" in refused.stderr
    assert "ticket #1" not in refused.stderr and "ticket #3" not in refused.stderr

    # a template that breaks without an owner fails on the ticket with empty optional fields
    body = _body(cli, "Your rep: {{ owner.name }}\n")
    refused = cli.run("template", "set", "Rep", "--subject", "Hi", "--body-file", body, ok=False)
    assert "a ticket with empty optional fields: " in refused.stderr

    good = _body(cli, "Hello {{ contact.name }}\n")
    cli.run("template", "set", "Good", "--subject", "Hi {{ ticket.number }}", "--body-file", good)
    said = cli.run("template", "lint", "Good").stdout
    assert "no problems (rendered against 3 ticket(s) and one with empty optional fields)" in said
    assert cli.json("template", "lint", "Good") == {
        "version": 1,
        "template": "Good",
        "tickets": 3,
        "problems": [],
    }


def test_a_template_slow_only_for_some_tickets_is_caught(cli: Cli) -> None:
    cli.deliver(make_mail(to=SUPPORT, subject="Calm")[0])
    cli.deliver(make_mail(to=SUPPORT, subject="Hot")[0])
    cli.run("ticket", "priority", "2", "high")
    slow = (
        '{% if ticket.priority == "high" %}{% for i in range(100000) %}'
        "{% for j in range(100000) %}{% endfor %}{% endfor %}{% endif %}Hi\n"
    )
    body = _body(cli, slow)
    stored = cli.run("template", "set", "Slow", "--subject", "Hi", "--body-file", body, ok=False)
    assert "ticket #2: the template took more than 2 s to render (the limit)" in stored.stderr
    assert "ticket #1" not in stored.stderr


def test_rename_and_delete_custom_templates(cli: Cli) -> None:
    body = _body(cli, "Dear {{ contact.name }}\n")
    cli.run("template", "set", "Done", "--subject", "Done", "--body-file", body)
    cli.run("template", "set", "Other", "--subject", "Other", "--body-file", body)
    assert cli.run("template", "rename", "Done", "Finished").stdout.strip() == (
        "Template Done renamed to Finished"
    )
    refused = cli.run("template", "rename", "Ticket closed", "Bye", ok=False)
    assert "built-in template: it cannot be renamed" in refused.stderr
    refused = cli.run("template", "rename", "Finished", "other", ok=False)
    assert "exists already" in refused.stderr

    cli.run("automation", "action", "add", "--status", "Closed", "--send-email", "Finished")
    refused = cli.run("template", "delete", "Finished", ok=False)
    assert refused.returncode == 1
    assert "“Finished” is sent by 1 action" in refused.stderr
    assert "--replace-with NAME" in refused.stderr
    said = cli.run("template", "delete", "Finished", "--replace-with", "Other").stdout
    assert said.strip() == "Template Finished deleted; 1 action(s) now send Other"
    names = [t["name"] for t in cli.json("template", "list")["templates"]]
    assert "Finished" not in names
    closed = next(
        s for s in cli.json("automation", "action", "list")["statuses"] if s["status"] == "Closed"
    )
    descriptions = [a["description"] for a in closed["workflows"][0]["actions"]]
    assert descriptions == ["Send email “Ticket closed”", "Send email “Other”"]
    assert cli.run("template", "delete", "Other", "--replace-with", "Other", ok=False).returncode
    refused = cli.run("template", "delete", "Ticket received", ok=False)
    assert "built-in template: it cannot be deleted" in refused.stderr
