"""`deskline snippet …`, `signature …` and `reply --snippet/--no-signature` as a user runs them
(issue 12; SPEC D10, D18): a real subprocess on a real SQLite file."""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers import make_mail
from tests.test_cli import SUPPORT, Cli, desk_cli

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = desk_cli(tmp_path)
    made.deliver(make_mail(to=SUPPORT, subject="Broken order")[0])
    return made


def _reply_text(cli: Cli) -> str:
    """The newest reply's (or composed email's) text as it goes on the wire, decoded."""
    reply = max((row for row in cli.outbox() if row["kind"] == "reply"), key=lambda r: r["id"])
    raw = cli.run("outbox", "--raw", str(reply["id"])).stdout
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return str(message.get_content())


def test_d18_reply_text_then_snippets_in_order_then_signature(cli: Cli) -> None:
    cli.run("snippet", "set", "thanks", "--shared", "--text", "Thanks {{ contact.name }}!")
    cli.run("snippet", "set", "bye", "--text", "Bye from {{ me.name }}", "--as", "rita")
    cli.run("signature", "set", "--text", "Rita at Acme", "--as", "rita")
    cli.run(
        "reply",
        "1",
        "--text",
        "Hello",
        "--snippet",
        "bye",
        "--snippet",
        "thanks",
        "--as",
        "rita",
        "--send-now",
    )
    body = _reply_text(cli)
    assert body.index("Hello") < body.index("Bye from rita") < body.index("Thanks Carol")
    assert body.index("Thanks Carol") < body.index("-- ") < body.index("Rita at Acme")

    # snippets alone make a reply; --no-signature leaves it off this once
    cli.run("reply", "1", "--snippet", "thanks", "--no-signature", "--as", "rita", "--send-now")
    raw = _reply_text(cli)
    assert "Thanks Carol" in raw and "Rita at Acme" not in raw

    refused = cli.run("reply", "1", "--snippet", "nope", "--as", "rita", ok=False)
    assert refused.returncode == 1 and "no snippet 'nope' (snippets: bye, thanks)" in refused.stderr
    refused = cli.run("reply", "1", "--as", "rita", ok=False)
    assert "a reply needs --text, --body-file or --snippet" in refused.stderr


def test_d18_a_new_thread_gets_the_signature_and_snippets_too(cli: Cli) -> None:
    """`compose` is a person's email like a reply: text, snippets, `-- ` and the signature."""
    cli.run("snippet", "set", "thanks", "--shared", "--text", "Thanks {{ contact.name }}!")
    cli.run("signature", "set", "--text", "Rita at Acme", "--as", "rita")
    cli.run(
        "compose", "1", "--subject", "Your refund", "--text", "Hello",
        "--snippet", "thanks", "--as", "rita", "--send-now",
    )  # fmt: skip
    body = _reply_text(cli)
    assert body.index("Hello") < body.index("Thanks Carol") < body.index("-- ")
    assert body.index("-- ") < body.index("Rita at Acme")

    cli.run("compose", "1", "--text", "Plain", "--no-signature", "--as", "rita", "--send-now")
    body = _reply_text(cli)
    assert "Plain" in body and "Rita at Acme" not in body
    cli.run("compose", "1", "--text", "**Soon**", "--markdown", "--as", "rita", "--send-now")
    newest = max(row["id"] for row in cli.outbox() if row["kind"] == "reply")
    raw = cli.run("outbox", "--raw", str(newest)).stdout
    assert "text/html" in raw and "<strong>Soon</strong>" in raw
    refused = cli.run("compose", "1", "--as", "rita", ok=False)
    assert "an email needs --text, --body-file or --snippet" in refused.stderr


def test_d10_snippet_set_refuses_undefined_names_and_ticketless_failures(cli: Cli) -> None:
    refused = cli.run("snippet", "set", "x", "--text", "Hi {{ contct.name }}", ok=False)
    assert refused.returncode == 1
    assert "snippet not saved: line 1: unknown variable 'contct'" in refused.stderr
    refused = cli.run("snippet", "set", "x", "--text", "#{{ ticket.number }}", ok=False)
    assert "a conversation without a ticket: UndefinedError" in refused.stderr
    assert cli.json("snippet", "list") == {"version": 1, "snippets": []}


def test_d18_snippet_list_show_delete_and_shadowing(cli: Cli) -> None:
    cli.run("snippet", "set", "greet", "--shared", "--text", "Shared hello")
    cli.run("snippet", "set", "greet", "--text", "My hello", "--as", "rita")
    assert "yours (over shared)" in cli.run("snippet", "list", "--as", "rita").stdout
    assert cli.run("snippet", "show", "greet", "--as", "rita").stdout.strip() == "My hello"
    shown = cli.run("snippet", "show", "greet", "--shared", "--as", "rita").stdout
    assert shown.strip() == "Shared hello"
    refused = cli.run("snippet", "set", "mine", "--shared", "--text", "x", "--as", "rita", ok=False)
    assert "rita is not an admin" in refused.stderr
    cli.run("snippet", "delete", "greet", "--as", "rita")
    assert cli.run("snippet", "show", "greet", "--as", "rita").stdout.strip() == "Shared hello"


def test_d18_signature_show_set_delete_per_channel_and_user(cli: Cli) -> None:
    cli.run("signature", "set", "--channel", "support", "--everyone", "--text", "The team")
    said = cli.run("signature", "show", "--as", "rita").stdout
    assert "No signature set for you." in said
    said = cli.run("signature", "show", "--channel", "support", "--as", "rita").stdout
    assert "Replies get this one:\nThe team" in said
    cli.run("signature", "set", "--user", "rita", "--text", "Rita's, set by an admin")
    assert "Rita's, set by an admin" in cli.run("signature", "show", "--as", "rita").stdout
    refused = cli.run(
        "signature", "set", "--user", "admin", "--text", "x", "--as", "rita", ok=False
    )
    assert "rita is not an admin" in refused.stderr
    cli.run("signature", "delete", "--as", "rita")
    refused = cli.run("signature", "delete", "--as", "rita", ok=False)
    assert "no such signature" in refused.stderr
