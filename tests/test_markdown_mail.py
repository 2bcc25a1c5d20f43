"""A reply marked Markdown (issue 12; SPEC D18: opt-in, raw HTML off) goes out as text/plain plus
a text/html alternative; the HTML is sanitised: raw HTML in the Markdown is text, unsafe link
schemes are not links, the signature stays plain. Plain text stays the default. Real SMTP server,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest_asyncio

from automation import admin, signatures
from mail.markdown import to_html
from runtime import reply_text
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.servers.smtp import SmtpServer, smtp_server
from tests.test_snippets import _send

__all__ = ["smtp_server"]  # a fixture used below

MARKDOWN = (
    "Hello **Carol**,\n\n"
    "<script>alert('x')</script>\n\n"
    "- step one\n- step two\n\n"
    "[the guide](https://docs.example/guide) and [bad](javascript:alert(1))"
)


@pytest_asyncio.fixture
async def desk(db_url: str, smtp_server: SmtpServer) -> AsyncIterator[Desk]:
    made = await Desk.create(Database(db_url), received=False)

    def configure(repo: Any, user: Any) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port = smtp_server.host, smtp_server.port
        channel.smtp_tls = "none"

    await made.admin(configure)
    await made.receive(make_mail(subject="How do I reset it?")[0])
    yield made
    await made.close()


async def _sent(desk: Desk, smtp_server: SmtpServer, text: str, **kw: Any) -> EmailMessage:
    rita = Desk(desk.db, as_user="rita")
    body = await reply_text.compose_text(rita, text, ticket=1)
    await desk.reply(1, body, send_now=True, **kw)
    before = len(smtp_server.received)
    assert await _send(desk) == 1
    message = message_from_bytes(smtp_server.received[before].data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_d18_markdown_reply_is_text_plus_sanitised_html_alternative(
    desk: Desk, smtp_server: SmtpServer
) -> None:
    await desk.as_user("rita", lambda repo, user: signatures.save(repo, user, "Rita <b>Rep</b>"))
    message = await _sent(desk, smtp_server, MARKDOWN, markdown=True)
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = list(message.iter_parts())
    assert plain.get_content_type() == "text/plain" and rich.get_content_type() == "text/html"
    text = str(plain.get_content()).replace("\r\n", "\n")
    assert text.startswith(MARKDOWN) and text.rstrip().endswith("-- \nRita <b>Rep</b>")
    html = str(rich.get_content())
    assert "<strong>Carol</strong>" in html and "<li>step one</li>" in html
    assert "<script" not in html and "&lt;script&gt;alert(" in html
    assert '<a href="https://docs.example/guide" rel="noopener noreferrer nofollow">' in html
    assert "javascript:" not in html.split("[bad]")[0] and 'href="javascript' not in html
    assert "<b>" not in html and "Rita &lt;b&gt;Rep&lt;/b&gt;" in html  # the signature is text


async def test_d18_plain_text_stays_the_default(desk: Desk, smtp_server: SmtpServer) -> None:
    message = await _sent(desk, smtp_server, "Hello **Carol**")
    assert message.get_content_type() == "text/plain"
    assert str(message.get_content()).strip() == "Hello **Carol**"


def test_html_document_escapes_and_keeps_quotes_after_the_signature_plain() -> None:
    document = to_html("Hi <img src=x onerror=alert(1)>\n-- \nSig\n\n> quoted <i>")
    assert "<img" not in document and "onerror=alert(1)&gt;" in document
    assert "-- <br>\nSig<br>\n<br>\n&gt; quoted &lt;i&gt;" in document
