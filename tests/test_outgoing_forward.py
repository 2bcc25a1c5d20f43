"""Forward (issue 12, SPEC D17): a stored message with its attachments goes to anyone as an
outgoing email in a new conversation associated `forward`, sent from `forward`; R-T1 fires only
with the contact in To; replies to it never fire R-T2 nor reopen; oversized forwards are refused;
it waits the undo window (D2). Real SMTP server, SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from automation import undo
from automation.forward import forward
from automation.outbound import MailRefused
from mail.model import Address
from tests.helpers import CUSTOMER, SUPPORT, Desk, make_mail
from tests.servers.smtp import smtp_server
from tests.test_outgoing_attachments import desk_with_smtp, on_wire, send_due

__all__ = ["smtp_server"]

SHOT = bytes(range(256)) * 64
LOG = "résumé.log"
COLLEAGUE = "dev@partner.example"


def mail_with_files() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Carol <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Printer on fire"
    msg["Message-ID"] = "<files.1@customer.example>"
    msg["Date"] = "Sat, 05 Dec 2026 01:00:00 +0000"
    msg.set_content("See the screenshot and the log.")
    msg.add_attachment(SHOT, maintype="image", subtype="png", filename="shot.png")
    msg.add_attachment(b"line 1\nline 2\n", maintype="text", subtype="plain", filename=LOG)
    return bytes(msg)


async def first_inbound(desk: Desk) -> int:
    detail = await desk.ticket(1)
    return int(detail["conversations"][0]["messages"][0]["id"])


async def do_forward(desk: Desk, message: int, to: str, **kw) -> int:
    return await desk.as_user(
        "rita", lambda repo, user: forward(repo, user, message, (Address(to, ""),), **kw)
    )


async def test_forward_carries_the_attachments_and_moves_nothing(db, smtp_server) -> None:
    # D17: a forward to a colleague: original files byte-identical, a new conversation
    # associated `forward`, sent_from forward; R-T1 skipped (not the contact)
    desk = await desk_with_smtp(db, smtp_server)
    await desk.receive(mail_with_files())
    await send_due(desk)  # the acknowledgement
    before = await desk.status(1)
    outbox_id = await do_forward(desk, await first_inbound(desk), COLLEAGUE, note="Can you look?")
    await send_due(desk)
    got = await on_wire(desk, smtp_server, outbox_id)
    assert got.rcpt_to == [COLLEAGUE]
    msg = message_from_bytes(got.data, policy=policy.default)
    assert msg["Subject"] == "Fwd: Printer on fire [#1]"
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("Can you look?") and "---------- Forwarded message ---------" in text
    assert "See the screenshot and the log." in text
    files = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert hashlib.sha256(files["shot.png"]).digest() == hashlib.sha256(SHOT).digest()
    assert files[LOG] == b"line 1\nline 2\n"
    assert b"filename*=utf-8''r%C3%A9sum%C3%A9.log" in got.data
    detail = await desk.ticket(1)
    forwarded = [c for c in detail["conversations"] if c["association"] == "forward"]
    assert len(forwarded) == 1 and forwarded[0]["contact"] == COLLEAGUE
    assert forwarded[0]["messages"][0]["sent_from"] == "forward"
    assert await desk.status(1) == before
    skipped = [e for e in detail["timeline"] if e["type"] == "trigger_skipped"]
    assert any("someone other than the contact" in e["summary"] for e in skipped)


async def test_a_forward_to_the_contact_fires_r_t1(db) -> None:
    # D17: R-T1 only when the contact is in To
    desk = await Desk.create(db)
    await desk.receive(mail_with_files())
    await do_forward(desk, await first_inbound(desk), CUSTOMER)
    await desk.runner.drain()
    assert await desk.status(1) == "Waiting on contact"


async def test_a_reply_to_a_forward_never_fires_r_t2_nor_reopens(db, smtp_server) -> None:
    # D17: the colleague answers the forward after the ticket was closed: stored in the
    # forward's thread, no R-T2, the ticket stays closed
    desk = await desk_with_smtp(db, smtp_server)
    await desk.receive(mail_with_files())
    await send_due(desk)
    outbox_id = await do_forward(desk, await first_inbound(desk), COLLEAGUE)
    await send_due(desk)
    ours = await on_wire(desk, smtp_server, outbox_id)
    await desk.move(1, "Closed")
    raw, _ = make_mail(
        sender=COLLEAGUE, subject="Re: Fwd: Printer on fire [#1]", in_reply_to=ours.message_id
    )
    await desk.receive(raw)
    await desk.runner.drain()
    assert await desk.status(1) == "Closed"
    detail = await desk.ticket(1)
    [thread] = [c for c in detail["conversations"] if c["association"] == "forward"]
    assert thread["messages"][-1]["from"] == COLLEAGUE
    assert "customer_replied" not in [
        e["data"].get("trigger") for e in detail["timeline"] if e["type"] == "trigger_fired"
    ]


async def test_an_oversized_forward_is_refused(db) -> None:
    # D15: the encoded forward is over the limit: refused, nothing queued
    desk = await Desk.create(db)
    await desk.receive(mail_with_files())
    await desk.admin(lambda repo, user: repo.set_setting("max_send_bytes", 10_000))
    with pytest.raises(MailRefused, match="over the limit"):
        await do_forward(desk, await first_inbound(desk), COLLEAGUE)
    assert [r["kind"] for r in await desk.outbox()] == ["automated"]
    assert not [c for c in (await desk.ticket(1))["conversations"] if c["association"] == "forward"]


async def test_a_forward_waits_the_undo_window_and_can_be_undone(db) -> None:
    # D2: a person's forward waits undo_seconds; undo cancels it
    desk = await Desk.create(db)
    await desk.receive(mail_with_files())
    outbox_id = await do_forward(desk, await first_inbound(desk), COLLEAGUE)
    [row] = [r for r in await desk.outbox() if r["id"] == outbox_id]
    assert row["state"] == "queued"
    await desk.as_user("rita", undo.undo_last)
    [row] = [r for r in await desk.outbox() if r["id"] == outbox_id]
    assert row["state"] == "cancelled"


def test_forward_and_attach_through_the_cli(tmp_path) -> None:
    # D17 + D15 on the command line: forward MESSAGE --to, reply --attach --cc --bcc; a bad
    # address or file is one line and exit 1
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    cli.deliver(mail_with_files())
    message = cli.ticket(1)["conversations"][0]["messages"][0]["id"]
    bad = cli.run("forward", str(message), "--to", "not an address", ok=False)
    assert bad.returncode == 1 and "--to: not a valid email address" in bad.stderr
    done = cli.run("forward", str(message), "--to", COLLEAGUE, "--note", "FYI", "--as", "rita")
    assert f"to {COLLEAGUE} queued" in done.stdout and "deskline undo" in done.stdout
    (tmp_path / "fix.txt").write_text("patched\n")
    cli.run(
        "reply",
        "1",
        "--text",
        "Attached.",
        "--attach",
        str(tmp_path / "fix.txt"),
        "--cc",
        "boss@partner.example",
        "--bcc",
        "audit@acme.example",
        "--as",
        "rita",
    )
    missing = cli.run("reply", "1", "--text", "x", "--attach", str(tmp_path / "nope"), ok=False)
    assert missing.returncode == 1 and "nope: no such file" in missing.stderr
    detail = cli.ticket(1)
    forwards = [c for c in detail["conversations"] if c["association"] == "forward"]
    assert forwards and forwards[0]["messages"][0]["sent_from"] == "forward"
    origin = detail["conversations"][0]["messages"][-1]
    assert origin["cc"][-1] == "boss@partner.example"  # after the thread's others
    # D16: the blind copy is on our own message in `ticket show --json`, never in its Cc
    assert origin["bcc"] == ["audit@acme.example"]
    assert "audit@acme.example" not in origin["cc"]
