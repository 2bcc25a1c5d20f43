"""Who a rep's email goes to (issue 12, SPEC D16, E10): the thread's others stay in Cc (not our
own, never-notify or bouncing addresses), Bcc is in the envelope only, automated mail never
copies anyone, and a participant in copy who answers threads into the conversation. Real SMTP
server (aiosmtpd), SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from app.cli.errors import UserError
from app.cli.main import build_parser
from app.cli.outgoing import addressing_of
from automation.recipients import Addressing
from mail.model import Address
from mail.recipients import RecipientError, parse_recipients
from tests.helpers import CUSTOMER, SUPPORT, Desk, make_mail
from tests.servers.smtp import smtp_server
from tests.test_outgoing_attachments import desk_with_smtp, on_wire, send_due

__all__ = ["smtp_server"]

DAVE = "dave@partner.example"
ERIN = "erin@customer.example"
FRANK = "frank@customer.example"  # bounces
BOSS = "boss@help.example"


async def thread_with_copies(desk: Desk) -> str:
    """Carol writes to support and Dave, copying Erin, Frank, a no-reply address and herself."""
    raw, mid = make_mail(
        to=f"{SUPPORT}, Dave <{DAVE}>",
        headers={"Cc": f"Erin <{ERIN}>, {FRANK}, noreply@customer.example, {CUSTOMER}"},
    )
    await desk.receive(raw)

    def bouncing(repo, user) -> None:
        repo.upsert_contact(FRANK, "Frank").bouncing_until = repo.now() + timedelta(days=3)

    await desk.admin(bouncing)
    return mid


async def test_reply_keeps_the_others_in_cc_and_bcc_stays_off_the_headers(db, smtp_server) -> None:
    # D16: To = contact; Cc = the newest inbound's From/To/Cc minus contact, ours, never-notify
    # and bouncing; Bcc only in RCPT TO, and on the timeline
    desk = await desk_with_smtp(db, smtp_server)
    await thread_with_copies(desk)
    await send_due(desk)  # the acknowledgement
    [ack] = smtp_server.received
    assert "Cc" not in message_from_bytes(ack.data, policy=policy.default)  # never on automated
    assert ack.rcpt_to == [CUSTOMER]
    outbox_id = await desk.reply(
        1, "Looping in everyone.", addressing=Addressing(bcc=(Address(BOSS, ""),))
    )
    await send_due(desk)
    got = await on_wire(desk, smtp_server, outbox_id)
    msg = message_from_bytes(got.data, policy=policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == [CUSTOMER]
    assert [a.addr_spec for a in msg["Cc"].addresses] == [DAVE, ERIN]
    assert "Bcc" not in msg and BOSS.encode() not in got.data
    assert sorted(got.rcpt_to) == sorted([CUSTOMER, DAVE, ERIN, BOSS])
    queued = [e for e in (await desk.ticket(1))["timeline"] if e["type"] == "mail_queued"][-1]
    assert queued["data"]["cc"] == [DAVE, ERIN] and queued["data"]["bcc"] == [BOSS]
    assert "bcc " + BOSS in queued["summary"]


async def test_no_cc_and_added_cc(db, smtp_server) -> None:
    # D16: --no-cc writes to the contact alone; --cc adds to the thread's others
    desk = await desk_with_smtp(db, smtp_server)
    await thread_with_copies(desk)
    await send_due(desk)
    alone = await desk.reply(1, "Just you.", addressing=Addressing(cc=()))
    more = await desk.reply(
        1, "And Zed.", addressing=Addressing(add_cc=(Address("zed@x.example", ""),))
    )
    await send_due(desk)
    first = message_from_bytes(
        (await on_wire(desk, smtp_server, alone)).data, policy=policy.default
    )
    assert "Cc" not in first
    second = await on_wire(desk, smtp_server, more)
    msg = message_from_bytes(second.data, policy=policy.default)
    assert [a.addr_spec for a in msg["Cc"].addresses] == [DAVE, ERIN, "zed@x.example"]


async def test_bcc_is_not_carried_on_to_the_next_reply(db, smtp_server) -> None:
    # D16: a Bcc is for that one email
    desk = await desk_with_smtp(db, smtp_server)
    await thread_with_copies(desk)
    await send_due(desk)
    await desk.reply(1, "One.", addressing=Addressing(bcc=(Address(BOSS, ""),)))
    later = await desk.reply(1, "Two.")
    await send_due(desk)
    assert BOSS not in (await on_wire(desk, smtp_server, later)).rcpt_to


async def test_a_participant_in_copy_replies_into_the_thread(db, smtp_server) -> None:
    # E10: Zed, put in Cc by the rep, answers: the reply threads into the conversation and,
    # not being a Deskline user, counts as the customer side (R-T2 fires)
    desk = await desk_with_smtp(db, smtp_server)
    await thread_with_copies(desk)
    await send_due(desk)
    await desk.move(1, "Waiting on contact")
    outbox_id = await desk.reply(
        1, "Zed, can you check?", addressing=Addressing(add_cc=(Address("zed@x.example", ""),))
    )
    await send_due(desk)
    ours = await on_wire(desk, smtp_server, outbox_id)
    raw, _ = make_mail(
        sender="zed@x.example",
        name="Zed",
        subject="Re: Printer on fire [#1]",
        in_reply_to=ours.message_id,
        body="Checked: it is out.",
    )
    await desk.receive(raw)
    detail = await desk.ticket(1)
    [conversation] = detail["conversations"]
    assert conversation["messages"][-1]["from"] == "zed@x.example"
    assert await desk.status(1) == "Waiting on us"


def test_bad_addresses_are_errors_naming_them() -> None:
    # D16, §7: a bad address is an error, not a dropped recipient; no CR/LF reaches a header
    with pytest.raises(RecipientError, match="'not-an-address'"):
        parse_recipients(["ok@x.example, not-an-address"], field="--cc")
    with pytest.raises(RecipientError, match="line break"):
        parse_recipients("a@x.example\r\nBcc: evil@x.example")
    with pytest.raises(RecipientError, match="a@@x"):
        parse_recipients("a@@x")
    assert parse_recipients('"Doe, J" <J@X.example>; k@y.example') == (
        Address("j@x.example", "Doe, J"),
        Address("k@y.example", ""),
    )
    args = build_parser().parse_args(["reply", "1", "--text", "x", "--bcc", "nobody"])
    with pytest.raises(UserError, match="--bcc: not a valid email address: 'nobody'"):
        addressing_of(args)
