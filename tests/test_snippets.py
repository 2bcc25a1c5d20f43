"""Snippets and signatures on the wire (issue 12; SPEC D10, D18): a reply's text, then its
snippets in order, then `-- ` and the most specific signature, before quoted text; automated mail
never carries one; a rep's own snippet shadows a shared one; undefined names are refused at save.
Real SQLite and PostgreSQL, the real SMTP test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio

from automation import admin, signatures, snippets
from automation.admin.common import SettingsError
from automation.delivery import deliver_due
from automation.forward import forward
from mail.model import Address
from runtime import reply_text
from runtime.smtp import SmtpTransport
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.servers.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]  # a fixture used below


@pytest_asyncio.fixture
async def desk(db_url: str, smtp_server: SmtpServer) -> AsyncIterator[Desk]:
    """The standard desk (acknowledgement on New, rep rita), sending through the test server,
    with ticket #1 from a customer and its acknowledgement delivered."""
    made = await Desk.create(Database(db_url))

    def configure(repo: Any, user: Any) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port = smtp_server.host, smtp_server.port
        channel.smtp_tls = "none"

    await made.admin(configure)
    await made.receive(make_mail(subject="My order arrived broken")[0])
    assert await _send(made) == 1
    yield made
    await made.close()


async def _send(desk: Desk) -> int:
    stats = await deliver_due(desk.db, SmtpTransport(desk.db, None), holder="test")
    return stats.sent


def _rita(desk: Desk) -> Desk:
    return Desk(desk.db, as_user="rita")


def _text(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def _reply(desk: Desk, smtp_server: SmtpServer, text: str, **kw: Any) -> str:
    """Rita's reply through the same path as the CLI and the composer, as it arrives."""
    body = await reply_text.compose_text(_rita(desk), text, ticket=1, **kw)
    await desk.reply(1, body, send_now=True)
    before = len(smtp_server.received)
    assert await _send(desk) == 1
    return _text(smtp_server.received[before].data)


async def test_d18_snippets_in_order_after_the_text_with_variables_rendered(
    desk: Desk, smtp_server: SmtpServer
) -> None:
    await desk.admin(
        lambda repo, user: snippets.save(
            repo, user, "thanks", "Thanks {{ contact.name }} for #{{ ticket.number }}.", shared=True
        )
    )
    await desk.as_user(
        "rita", lambda repo, user: snippets.save(repo, user, "bye", "Best, {{ me.name }}")
    )
    wire = await _reply(desk, smtp_server, "Hello!", names=["thanks", "bye"])
    assert wire.strip() == "Hello!\n\nThanks Carol Customer for #1.\n\nBest, Rita Rep"


async def test_d18_own_snippet_shadows_the_shared_one_of_the_same_name(desk: Desk) -> None:
    await desk.admin(
        lambda repo, user: snippets.save(repo, user, "Greet", "Shared hello", shared=True)
    )
    await desk.as_user("rita", lambda repo, user: snippets.save(repo, user, "greet", "My hello"))

    def seen(repo: Any, user: Any) -> tuple[list[snippets.Snippet], str, str]:
        return (
            snippets.visible(repo, user),
            snippets.named(repo, user, "GREET").body,
            snippets.named(repo, user, "greet", shared=True).body,
        )

    listed, used, shared = await desk.as_user("rita", seen)
    assert [(s.name, s.body, s.shared, s.shadows) for s in listed] == [
        ("greet", "My hello", False, True)
    ]
    assert (used, shared) == ("My hello", "Shared hello")
    # the admin (no own snippet) sees and uses the shared one
    listed, used, _ = await desk.admin(seen)
    assert [(s.name, s.shared) for s in listed] == [("Greet", True)] and used == "Shared hello"
    # a rep cannot keep shared snippets; removing one's own brings the shared one back
    with pytest.raises(SettingsError, match="not an admin"):
        await desk.as_user("rita", lambda r, u: snippets.save(r, u, "x", "y", shared=True))
    await desk.as_user("rita", lambda repo, user: snippets.delete(repo, user, "greet"))
    _, used, _ = await desk.as_user("rita", seen)
    assert used == "Shared hello"


async def test_d10_undefined_names_are_refused_at_save_and_the_lint_tries_a_ticketless_one(
    desk: Desk,
) -> None:
    with pytest.raises(SettingsError, match="unknown variable 'contct' — did you mean 'contact'"):
        await desk.as_user(
            "rita", lambda repo, user: snippets.save(repo, user, "typo", "Hi {{ contct.name }}")
        )
    rita = _rita(desk)
    samples, budget = await rita.read(lambda repo: snippets.lint_samples(repo, rita.user_of(repo)))
    assert [s.where for s in samples] == [
        "ticket #1",
        "a ticket with empty optional fields",
        "a conversation without a ticket",
    ]
    # names it knows, but a ticket's number without a ticket fails the ticketless render
    assert snippets.lint("#{{ ticket.number }}", samples, budget) == [
        "a conversation without a ticket: UndefinedError: 'None' has no attribute 'number'"
    ]
    assert snippets.lint("{% if ticket %}#{{ ticket.number }}{% endif %}", samples, budget) == []


async def test_d18_signature_after_the_text_before_the_quote_after_dashes(
    desk: Desk, smtp_server: SmtpServer
) -> None:
    await desk.as_user(
        "rita",
        lambda repo, user: signatures.save(repo, user, "{{ me.name }}\nAcme support"),
    )
    text = "Sorry about that!\n\nOn Monday, Customer wrote:\n> My order arrived broken\n> Help"
    wire = await _reply(desk, smtp_server, text)
    assert wire.strip() == (
        "Sorry about that!\n\n-- \nRita Rep\nAcme support\n\n"
        "On Monday, Customer wrote:\n> My order arrived broken\n> Help"
    )
    # removed for one message: none on this reply, the next one has it again
    wire = await _reply(desk, smtp_server, "No signature here.", signature=False)
    assert wire.strip() == "No signature here."
    wire = await _reply(desk, smtp_server, "Back again.")
    assert wire.strip().endswith("\n-- \nRita Rep\nAcme support")


async def test_d18_most_specific_signature_wins(desk: Desk, smtp_server: SmtpServer) -> None:
    async def set_as(name: str, body: str, **kw: Any) -> None:
        def change(repo: Any, user: Any) -> None:
            channel = admin.channel_named(repo, "support") if kw.get("channel") else None
            wide = kw.get("channel_wide", False)
            signatures.save(repo, user, body, channel=channel, channel_wide=wide)

        await desk.as_user(name, change)

    await set_as("admin", "Support team", channel=True, channel_wide=True)
    assert (await _reply(desk, smtp_server, "One")).strip().endswith("-- \nSupport team")
    await set_as("rita", "Rita everywhere")
    assert (await _reply(desk, smtp_server, "Two")).strip().endswith("-- \nRita everywhere")
    await set_as("rita", "Rita on support", channel=True)
    assert (await _reply(desk, smtp_server, "Three")).strip().endswith("-- \nRita on support")
    # a rep cannot set the channel's signature for everyone
    with pytest.raises(SettingsError, match="not an admin"):
        await set_as("rita", "mine", channel=True, channel_wide=True)


async def test_d18_automated_mail_never_carries_a_signature(
    desk: Desk, smtp_server: SmtpServer
) -> None:
    await desk.admin(
        lambda repo, user: signatures.save(
            repo,
            user,
            "Support team",
            channel=admin.channel_named(repo, "support"),
            channel_wide=True,
        )
    )
    await desk.as_user("rita", lambda repo, user: signatures.save(repo, user, "Rita"))
    before = len(smtp_server.received)
    await desk.receive(make_mail(subject="Another question")[0])  # its acknowledgement
    assert await _send(desk) == 1
    ack = _text(smtp_server.received[before].data)
    assert "-- \n" not in ack and "Support team" not in ack and "Rita" not in ack


def test_place_without_quote_and_with_a_forward() -> None:
    assert signatures.place("Hi", "Sig") == "Hi\n\n-- \nSig"
    assert signatures.place("Hi", None) == "Hi"
    forwarded = "See below.\n\n---------- Forwarded message ---------\nFrom: a@b.example\n\nHello"
    assert signatures.place(forwarded, "Sig") == (
        "See below.\n\n-- \nSig\n\n---------- Forwarded message ---------\nFrom: a@b.example"
        "\n\nHello"
    )
    # a `>` line in the middle of the text is the rep's own, not a quote to move
    assert signatures.place("> quoted\nmy answer", "Sig") == "> quoted\nmy answer\n\n-- \nSig"


async def test_d18_a_forward_gets_the_signature_after_the_note_before_the_forwarded_message(
    desk: Desk, smtp_server: SmtpServer
) -> None:
    await desk.as_user("rita", lambda repo, user: signatures.save(repo, user, "{{ me.name }}"))
    detail = await desk.ticket(1)
    message = int(detail["conversations"][0]["messages"][0]["id"])
    signature = await reply_text.forward_signature(_rita(desk), message)
    assert signature == "Rita Rep"
    await desk.as_user(
        "rita",
        lambda repo, user: forward(
            repo,
            user,
            message,
            (Address("dev@partner.example", ""),),
            note="Can you look?",
            send_now=True,
            signature=signature,
        ),
    )
    before = len(smtp_server.received)
    assert await _send(desk) == 1
    wire = _text(smtp_server.received[before].data)
    assert wire.startswith(
        "Can you look?\n\n-- \nRita Rep\n\n---------- Forwarded message ---------\n"
    )
