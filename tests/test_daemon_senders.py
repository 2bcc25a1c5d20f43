"""Mail from root@, abuse@ or postmaster@ written by a person opens a ticket (issue 19 item 22).

SPEC §7's never-notify list means "send no automated reply", not "open no ticket": automated
mail is what a bounce's structure, the automated headers and the mail daemons identify (R-C4).
A person writing from a role address gets a ticket and no acknowledgement, and the timeline
says why.
"""

from __future__ import annotations

import pytest

from mail.parse import parse_message
from tests.helpers import Desk, make_mail
from tests.mail.helpers import sample_bytes

ROLES = ["root@mail.example.org", "abuse@isp.example.net", "postmaster@partner.example"]


@pytest.mark.parametrize("sender", ROLES)
async def test_a_person_writing_from_a_role_address_opens_a_ticket_without_an_ack(
    db, sender: str
) -> None:
    desk = await Desk.create(db)
    raw, _ = make_mail(
        sender=sender,
        name="Sam Admin",
        subject="Your server sends us spam",
        body="Hello, a host of yours keeps sending us spam since Monday. Logs attached.",
    )
    assert parse_message(raw).automated is None
    result = await desk.receive(raw)
    assert not result.automated
    [ticket] = await desk.tickets()
    assert ticket["status"] == "New"
    [ack] = await desk.outbox()
    assert (ack["template"], ack["state"]) == ("Ticket received", "held")
    assert "never-notify" in ack["held_reason"]
    timeline = (await desk.ticket(ticket["number"]))["timeline"]
    held = [e for e in timeline if e["type"] == "mail_held"]
    assert len(held) == 1
    assert f"{sender} is a never-notify address" in held[0]["summary"]
    assert "gets no automated email" in held[0]["summary"]
    # a rep's own answer is no automated reply: it goes out
    await desk.reply(ticket["number"], "Thanks, we are looking into it.")
    reply = [o for o in await desk.outbox() if o["kind"] == "reply"]
    assert [o["state"] for o in reply] == ["queued"]


BOUNCE_FROM_POSTMASTER = (
    b"From: postmaster@mx.partner.example\r\n"
    b"To: support@help.example\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <bounce-77@mx.partner.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
    b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    b"From: support@help.example\r\nTo: gone@partner.example\r\n"
    b"Message-ID: <unknown@help.example>\r\nSubject: Ticket received\r\n\r\n"
    b"--B--\r\n"
)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (BOUNCE_FROM_POSTMASTER, "bounce"),  # postmaster with a bounce's subject and original
        (sample_bytes("bounce_postmaster_tagged_subject.eml"), "bounce"),
        (sample_bytes("bounce_postfix_dsn.eml"), "bounce"),  # mailer-daemon, a DSN
        (sample_bytes("arf_complaint.eml"), "report"),  # an abuse desk's machine report
        (make_mail(sender="MAILER-DAEMON@mx.partner.example", subject="Hello")[0], "noreply"),
        (make_mail(sender="no-reply@shop.example", subject="Your order")[0], "noreply"),
    ],
    ids=["postmaster-bounce", "postmaster-tagged", "daemon-dsn", "arf", "daemon", "no-reply"],
)
async def test_bounces_reports_and_daemons_still_open_nothing(db, raw: bytes, kind: str) -> None:
    desk = await Desk.create(db)
    automated = parse_message(raw).automated
    assert automated is not None and automated.kind == kind
    result = await desk.receive(raw)
    assert result.automated
    assert await desk.tickets() == []
    assert await desk.outbox() == []
