"""The outbox sender against a real SMTP server (aiosmtpd on loopback) and a real database.
SPEC §6 outbound, §7 loop safety; issue 4 "Outbound" and "Loop safety"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automation import admin
from automation.delivery import INTERRUPTED, deliver_due, drop_held, recover, release_held
from automation.events import Actor
from mail.parse import parse_message
from runtime.smtp import SmtpTransport
from tests.helpers import CUSTOMER, Desk, make_mail
from tests.servers.smtp import SmtpServer, free_port, smtp_server, smtp_tls_server

__all__ = ["smtp_server", "smtp_tls_server"]  # fixtures used below


async def _desk_with_smtp(db, server: SmtpServer, *, tls: str = "none") -> Desk:
    desk = await Desk.create(db)

    def configure(repo, user) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port, channel.smtp_tls = server.host, server.port, tls

    await desk.admin(configure)
    return desk


async def _send(desk: Desk, server: SmtpServer | None = None):
    context = server.client_context if server is not None else None
    return await deliver_due(desk.db, SmtpTransport(desk.db, context), holder="test")


async def _make_due(desk: Desk) -> None:
    def due(repo) -> None:
        for row in repo.outbox_by_state("queued"):
            row.next_attempt_at = repo.now() - timedelta(seconds=1)

    await desk.db.run(due)


async def test_queued_ack_is_delivered_once_with_its_stored_message_id(db, smtp_server) -> None:
    # SPEC §6: the sender delivers the row with its stable Message-ID
    desk = await _desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert stats.sent == 1
    [row] = await desk.outbox()
    [got] = smtp_server.received
    assert got.message_id == row["message_id"]
    assert got.rcpt_to == [CUSTOMER]
    assert row["state"] == "sent" and row["sent_at"]
    assert "mail_sent" in await desk.timeline_types(1)
    assert (await _send(desk)).sent == 0  # nothing is sent twice
    assert len(smtp_server.received) == 1


async def test_temporary_failure_then_success(db, smtp_server) -> None:
    # issue 4: temporary ones (4xx, network) retry with backoff
    desk = await _desk_with_smtp(db, smtp_server)
    smtp_server.recorder.data_replies.append("451 4.7.1 Greylisted, try again later")
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert (stats.sent, stats.retrying) == (0, 1)
    [row] = await desk.outbox()
    assert row["state"] == "queued" and row["attempts"] == 1 and "451" in row["last_error"]
    assert (await _send(desk)).sent == 0  # not due yet: backoff
    await _make_due(desk)
    assert (await _send(desk)).sent == 1
    assert len(smtp_server.received) == 1


async def test_permanent_failure_is_on_the_ticket_timeline(db, smtp_server) -> None:
    # issue 4: permanent failures (5xx) are marked on the ticket's timeline and shown to reps
    desk = await _desk_with_smtp(db, smtp_server)
    smtp_server.recorder.rcpt_replies.append("550 5.1.1 No such user here")
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert stats.failed == 1
    [row] = await desk.outbox()
    assert row["state"] == "failed" and "550" in row["last_error"]
    failed = [e for e in (await desk.ticket(1))["timeline"] if e["type"] == "mail_failed"]
    assert len(failed) == 1 and failed[0]["data"]["code"] == 550
    assert smtp_server.received == []
    await _make_due(desk)
    assert (await _send(desk)).sent == 0  # a failed email stays failed


async def test_delivery_over_starttls_with_a_verified_certificate(db, smtp_tls_server) -> None:
    desk = await _desk_with_smtp(db, smtp_tls_server, tls="starttls")
    await desk.receive(make_mail()[0])
    assert (await _send(desk, smtp_tls_server)).sent == 1
    assert len(smtp_tls_server.received) == 1


async def test_untrusted_certificate_is_a_tls_error_and_retried(db, smtp_tls_server) -> None:
    desk = await _desk_with_smtp(db, smtp_tls_server, tls="starttls")
    await desk.receive(make_mail()[0])
    stats = await _send(desk)  # the default trust store does not know the test CA
    assert stats.retrying == 1 and "tls" in stats.errors[0].lower()
    assert smtp_tls_server.received == []


async def test_unreachable_server_is_temporary(db, smtp_server) -> None:
    desk = await _desk_with_smtp(db, smtp_server)

    def nowhere(repo, user) -> None:
        admin.channel_named(repo, "support").smtp_port = free_port()

    await desk.admin(nowhere)
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert stats.retrying == 1 and "refused" in stats.errors[0]
    assert (await desk.outbox())[0]["state"] == "queued"


async def test_plain_smtp_is_refused_to_a_non_loopback_host(db, smtp_server) -> None:
    # issue 4: TLS "none" is allowed only for loopback
    desk = await _desk_with_smtp(db, smtp_server)

    def remote(repo, user) -> None:
        admin.channel_named(repo, "support").smtp_host = "mail.example.com"

    await desk.admin(remote)
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert "loopback" in stats.errors[0]


async def test_a_crash_before_data_requeues_and_after_handover_holds(db, smtp_server) -> None:
    # issue 4: at most once even if killed between the server's acceptance and the mark;
    # nothing lost: what may have been accepted waits in the held list for a person.
    desk = await _desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail()[0])
    await desk.receive(make_mail(sender="dan@customer.example", subject="Second")[0])

    def crash_mid_send(repo) -> None:
        first, second = repo.claim_due_mail("dead-worker", 10)
        repo.outbox_row(second["id"]).state = "handed"  # DATA was under way when it died
        for claim in (first, second):
            repo.outbox_row(claim["id"]).claimed_at = repo.now() - timedelta(hours=1)

    await desk.db.run(crash_mid_send)
    assert await desk.db.run(lambda repo: recover(repo)) == (1, 1)
    assert (await _send(desk)).sent == 1
    rows = await desk.outbox()
    assert [r["state"] for r in rows] == ["sent", "held"]
    assert rows[1]["held_reason"] == INTERRUPTED
    rita = Actor("user", None, "rita")
    await desk.db.run(lambda repo: release_held(repo, rita, rows[1]["id"]))
    assert (await _send(desk)).sent == 1
    assert sorted(r.rcpt_to[0] for r in smtp_server.received) == [CUSTOMER, "dan@customer.example"]


async def test_held_mail_can_be_dropped(db, smtp_server) -> None:
    desk = await _desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail(sender="noreply@shop.example")[0])  # automated: no ticket
    await desk.admin(lambda repo, u: admin.set_channel(repo, u, "support", bulk_opens_tickets=True))
    await desk.receive(
        make_mail(sender="news@list.example", headers={"List-Id": "<l.list.example>"})[0]
    )
    [held] = [r for r in await desk.outbox() if r["state"] == "held"]
    await desk.db.run(lambda repo: drop_held(repo, Actor("user", None, "rita"), held["id"]))
    assert [r["state"] for r in await desk.outbox()] == ["dropped"]
    assert (await _send(desk)).sent == 0


async def test_auto_responder_loop_is_bounded_by_the_limits(db, smtp_server) -> None:
    # SPEC §7: an auto-responder that sends no automated headers at all and answers every mail
    # with a new thread: only the rate limits can stop it. Limits shrunk to keep the test short.
    desk = await _desk_with_smtp(db, smtp_server)

    def small_limits(repo, user) -> None:
        repo.set_setting("loop_limits_per_recipient", [[5, 10], [8, 60]])

    await desk.admin(small_limits)
    await desk.receive(make_mail(sender="bot@loop.example", subject="Hello")[0])
    for _ in range(20):  # each round: we send, the bot answers with a brand-new thread
        before = len(smtp_server.received)
        await _send(desk)
        for got in smtp_server.received[before:]:  # a new subject, no [#N], no headers
            n = parse_message(got.data).message_id[4:12]
            await desk.receive(make_mail(sender="bot@loop.example", subject=f"Thanks {n}")[0])
    assert len(smtp_server.received) == 5  # bounded by the 10-minute window
    held = [r for r in await desk.outbox() if r["state"] == "held"]
    assert held and all("loop protection" in r["held_reason"] for r in held)


async def test_per_ticket_limit_holds_automated_mail(db, smtp_server) -> None:
    # SPEC §7: per ticket and recipient
    desk = await _desk_with_smtp(db, smtp_server)

    def limits(repo, user) -> None:
        repo.set_setting("loop_limits_per_ticket", [[2, 10]])
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Waiting on us",
            kind="send_email",
            template_name="Ticket received",
        )
        action = admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Waiting on us",
            kind="send_email",
            template_name="Ticket closed",
        )
        clone = admin.clone_workflow(repo, user, action.workflow_id)
        admin.set_workflow(repo, user, clone.id, enabled=True, reenroll=True)
        admin.delete_workflow(repo, user, action.workflow_id)

    await desk.admin(limits)
    raw, mid = make_mail()
    await desk.receive(raw)
    for _ in range(3):  # each entry into "Waiting on us" sends two automated emails
        await desk.receive(make_mail(subject="Re: x", in_reply_to=mid)[0])
        await desk.move(1, "New")
    rows = [r for r in await desk.outbox() if r["kind"] == "automated"]
    assert [r["state"] for r in rows][:2] == ["queued", "queued"]
    assert all(r["state"] == "held" for r in rows[2:]) and len(rows) > 2
    assert "on ticket #1" in rows[2]["held_reason"]


@pytest.mark.parametrize("tls", ["implicit", "bogus"])
async def test_settings_errors_are_precise(db, smtp_server, tls: str) -> None:
    desk = await _desk_with_smtp(db, smtp_server, tls=tls)
    await desk.receive(make_mail()[0])
    stats = await _send(desk)
    assert stats.errors and ("TLS" in stats.errors[0] or "tls" in stats.errors[0])
