"""Ticket creation and the two status triggers, end to end on a real database (SQLite and
PostgreSQL): raw mail → ingestion → engine → tickets, timeline and outbox. SPEC §2, §3, §9."""

from __future__ import annotations

from automation import admin, services
from automation.events import Actor
from automation.tickets import change_status
from mail.parse import parse_message
from tests.helpers import CUSTOMER, SUPPORT, Desk, make_mail


async def _new_ticket(desk: Desk, **kw: object) -> tuple[int, str]:
    raw, mid = make_mail(**kw)  # type: ignore[arg-type]
    await desk.receive(raw)
    tickets = await desk.tickets()
    return tickets[-1]["number"], mid


async def test_new_mail_opens_ticket_in_first_status_with_origin_thread(db) -> None:
    # R-C1
    desk = await Desk.create(db, received=False, closed=False)
    number, mid = await _new_ticket(desk)
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "New"
    assert detail["ticket"]["pipeline"] == "Support Pipeline"
    assert detail["ticket"]["contact"] == CUSTOMER
    origin = detail["conversations"][0]
    assert origin["id"] == detail["ticket"]["origin_conversation"]
    assert origin["association"] == "origin"
    assert origin["messages"][0]["message_id"] == mid
    created = next(e for e in detail["timeline"] if e["type"] == "ticket_created")
    received = next(e for e in detail["timeline"] if e["type"] == "message_received")
    assert created["cause"] == received["id"]  # E12: every change names its cause


async def test_channel_without_ticket_automation_keeps_conversation_only(db) -> None:
    # R-C2, E13
    desk = await Desk.create(db)
    await desk.admin(lambda repo, u: admin.set_channel(repo, u, "support", ticket_automation=False))
    raw, _ = make_mail()
    result = await desk.receive(raw)
    assert await desk.tickets() == []
    ticket = await desk.as_user(
        "rita",
        lambda repo, u: services.create_ticket_by_hand(repo, u, result.conversation_id).id,
    )
    detail = await desk.ticket(ticket)
    assert detail["ticket"]["origin_conversation"] == result.conversation_id
    # E13: full automation from then on: the New status action ran, the customer's reply fires R-T2
    assert [o["template"] for o in await desk.outbox()] == ["Ticket received"]
    reply, _ = make_mail(
        subject="Re: Printer on fire",
        in_reply_to=detail["conversations"][0]["messages"][0]["message_id"],
    )
    await desk.receive(reply)
    assert await desk.status(ticket) == "Waiting on us"


async def test_reply_in_thread_never_creates_second_ticket(db) -> None:
    # R-C3
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    raw, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    result = await desk.receive(raw)
    assert result.threaded
    assert len(await desk.tickets()) == 1
    assert len((await desk.ticket(number))["conversations"][0]["messages"]) == 3  # + our ack


async def test_same_message_twice_is_stored_once(db) -> None:
    # SPEC §6 idempotent ingestion
    desk = await Desk.create(db)
    raw, _ = make_mail()
    first = await desk.receive(raw)
    second = await desk.receive(raw)
    assert (first.outcome, second.outcome) == ("stored", "duplicate")
    assert len(await desk.tickets()) == 1
    assert len(await desk.outbox()) == 1


async def test_automated_mail_opens_no_ticket_and_gets_no_answer(db) -> None:
    # R-C4, SPEC §7
    desk = await Desk.create(db)
    auto, _ = make_mail(
        subject="Automatic reply: hello", headers={"Auto-Submitted": "auto-replied"}
    )
    bulk, _ = make_mail(
        sender="news@list.example",
        subject="Digest",
        headers={"List-Id": "<digest.list.example>", "Precedence": "bulk"},
    )
    for raw in (auto, bulk):
        result = await desk.receive(raw)
        assert result.automated
    assert await desk.tickets() == []
    assert await desk.outbox() == []
    automated = await desk.db.query(
        lambda s: __import__("storage.queries").queries.list_conversations(s, automated=True)
    )
    assert len(automated) == 2


async def test_bulk_mail_opens_ticket_when_channel_allows_but_ack_is_held(db) -> None:
    # R-C4 per-channel setting; SPEC §7 no auto-reply to automated mail
    desk = await Desk.create(db)
    await desk.admin(lambda repo, u: admin.set_channel(repo, u, "support", bulk_opens_tickets=True))
    raw, _ = make_mail(sender="news@list.example", headers={"List-Id": "<x.list.example>"})
    await desk.receive(raw)
    assert len(await desk.tickets()) == 1
    [ack] = await desk.outbox()
    assert ack["state"] == "held"
    assert "automated" in ack["held_reason"]


async def test_mail_from_own_address_opens_no_ticket(db) -> None:
    # R-C4, rules.md #14
    desk = await Desk.create(db)
    raw, _ = make_mail(sender=SUPPORT, name="Support")
    result = await desk.receive(raw)
    assert result.own_mail
    assert await desk.tickets() == []
    assert await desk.outbox() == []


async def test_our_own_rendered_mail_fed_back_is_not_a_conversation_start(db) -> None:
    # rules.md #14: the loop marker names this instance
    desk = await Desk.create(db)
    await _new_ticket(desk)
    ack = await desk.outbox_raw((await desk.outbox())[0]["id"])
    # the same bytes arrive at another address of ours (e.g. a Bcc copy): stored, no ticket
    result = await desk.receive(ack.replace(b"Message-ID: <dl.", b"Message-ID: <copy."))
    assert result.own_mail
    assert len(await desk.tickets()) == 1


async def test_rep_reply_from_ticket_record_moves_to_waiting_on_contact(db) -> None:
    # R-T1
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    await desk.reply(number)
    assert await desk.status(number) == "Waiting on contact"
    types = await desk.timeline_types(number)
    assert "trigger_fired" in types


async def test_reply_from_contact_record_note_and_status_action_email_do_not_fire_rt1(db) -> None:
    # R-T1, E3
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    assert await desk.status(number) == "New"  # the "Ticket received" email did not fire R-T1
    await desk.reply(number, from_contact_record=True)
    await desk.as_user("rita", lambda repo, u: services.add_note(repo, u, number, "internal"))
    assert await desk.status(number) == "New"
    detail = await desk.ticket(number)
    skipped = [e for e in detail["timeline"] if e["type"] == "trigger_skipped"]
    assert any("contact record" in e["summary"] for e in skipped)
    contact_mail = [o for o in detail["outbox"] if o["kind"] == "reply"]
    assert len(contact_mail) == 1  # E3: it is still sent and on the timeline


async def test_customer_reply_in_origin_thread_moves_to_waiting_on_us(db) -> None:
    # R-T2
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.reply(number)
    raw, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid, body="Still burning.")
    await desk.receive(raw)
    assert await desk.status(number) == "Waiting on us"


async def test_reply_to_our_ack_threads_by_our_message_id(db) -> None:
    # SPEC §6: replies to our own outgoing mail thread (GUIDE: a common peer bug)
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    ack = (await desk.outbox())[0]
    raw, _ = make_mail(subject="Changed subject entirely", in_reply_to=ack["message_id"])
    result = await desk.receive(raw)
    assert result.threaded
    assert await desk.status(number) == "Waiting on us"


async def test_references_only_match_threads(db) -> None:
    # SPEC §6: References when In-Reply-To is unknown, newest first
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    raw, _ = make_mail(
        subject="Re: x", in_reply_to="<unknown@elsewhere>", references=["<older@nowhere>", mid]
    )
    await desk.receive(raw)
    assert len(await desk.tickets()) == 1
    message = (await desk.ticket(number))["conversations"][0]["messages"][-1]
    assert message["thread_reason"].startswith("References")


async def test_forward_in_origin_thread_does_not_fire_rt2(db) -> None:
    # R-T2.1, SPEC §6 forward prefixes
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.reply(number)
    raw, _ = make_mail(subject="Fwd: Printer on fire", in_reply_to=mid, body="FYI")
    await desk.receive(raw)
    assert await desk.status(number) == "Waiting on contact"
    detail = await desk.ticket(number)
    assert detail["conversations"][0]["messages"][-1]["forwarded"]


async def test_reply_to_a_forward_does_not_fire_rt2(db) -> None:
    # R-T2.1, E11
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.reply(number)
    fwd, fwd_id = make_mail(subject="WG: Printer on fire", in_reply_to=mid)
    await desk.receive(fwd)
    reply, _ = make_mail(subject="Re: WG: Printer on fire", in_reply_to=fwd_id)
    await desk.receive(reply)
    assert await desk.status(number) == "Waiting on contact"


async def test_new_thread_from_same_customer_does_not_fire_rt2(db) -> None:
    # R-T2.1: a new thread is a new conversation (and, by R-C1, a new ticket)
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    await desk.reply(number)
    raw, _ = make_mail(subject="Another question")
    await desk.receive(raw)
    assert await desk.status(number) == "Waiting on contact"
    assert len(await desk.tickets()) == 2


async def test_token_reply_from_contact_opens_associated_thread_without_firing(db) -> None:
    # E4, R-T2.1
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    await desk.reply(number)
    raw, _ = make_mail(subject=f"About my ticket [#{number}]")
    result = await desk.receive(raw)
    assert result.threaded
    detail = await desk.ticket(number)
    assert [c["association"] for c in detail["conversations"]] == ["origin", "token"]
    assert await desk.status(number) == "Waiting on contact"
    assert len(await desk.tickets()) == 1


async def test_after_reopen_replies_in_associated_threads_fire(db) -> None:
    # R-T2.2, E4, E5
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    side, side_id = make_mail(subject=f"Side question [#{number}]")
    await desk.receive(side)
    await desk.move(number, "Closed")
    await desk.move(number, "Waiting on contact")  # a reopen by a rep
    assert (await desk.ticket(number))["ticket"]["reopened"] is True
    raw, _ = make_mail(subject="Re: Side question", in_reply_to=side_id)
    await desk.receive(raw)
    assert await desk.status(number) == "Waiting on us"


async def test_customer_reply_reopens_closed_ticket(db) -> None:
    # R-T2.3, E5
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.move(number, "Closed")
    raw, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid, body="It is back.")
    await desk.receive(raw)
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Waiting on us"
    assert detail["ticket"]["state"] == "OPEN"
    assert detail["ticket"]["reopened"] is True
    assert any(e["summary"] == "Reopened by customer reply" for e in detail["timeline"])
    assert detail["conversations"][0]["state"] == "open"


async def test_switched_off_trigger_does_nothing_and_does_not_act_on_the_past(db) -> None:
    # R-T3
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.admin(
        lambda repo, u: admin.set_trigger(
            repo, u, None, "customer-replied", enabled=False, target_label=None
        )
    )
    raw, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    await desk.receive(raw)
    assert await desk.status(number) == "New"
    await desk.admin(
        lambda repo, u: admin.set_trigger(
            repo, u, None, "customer-replied", enabled=True, target_label=None
        )
    )
    assert await desk.status(number) == "New"


async def test_edit_action_changes_target_and_removed_target_breaks_trigger(db) -> None:
    # R-T4, E5
    desk = await Desk.create(db)
    await desk.admin(lambda repo, u: admin.add_status(repo, u, None, "Escalated", "OPEN"))
    await desk.admin(
        lambda repo, u: admin.set_trigger(
            repo, u, None, "customer-replied", enabled=None, target_label="Escalated"
        )
    )
    number, mid = await _new_ticket(desk)
    raw, _ = make_mail(subject="Re: x", in_reply_to=mid)
    await desk.receive(raw)
    assert await desk.status(number) == "Escalated"
    await desk.admin(lambda repo, u: admin.remove_status(repo, u, None, "Escalated", move_to="New"))
    view = await desk.db.run(
        lambda repo: __import__("storage.queries").queries.automation_view(
            repo.session, repo.pipelines()[0]
        )
    )
    replied = next(t for t in view["triggers"] if t["kind"] == "customer_replied")
    assert replied["broken"] and replied["target"] is None
    raw, _ = make_mail(subject="Re: x", in_reply_to=mid)
    await desk.receive(raw)
    assert await desk.status(number) == "New"
    assert any("broken" in e["summary"] for e in (await desk.ticket(number))["timeline"])


async def test_target_status_must_be_open(db) -> None:
    # E5
    desk = await Desk.create(db)
    try:
        await desk.admin(
            lambda repo, u: admin.set_trigger(
                repo, u, None, "email-sent", enabled=None, target_label="Closed"
            )
        )
    except admin.SettingsError as exc:
        assert "closed status" in str(exc)
    else:
        raise AssertionError("a closed target was accepted")


async def test_view_workflow_shows_enrollment_and_one_action(db) -> None:
    # R-T5
    desk = await Desk.create(db)
    view = await desk.db.run(
        lambda repo: __import__("storage.queries").queries.automation_view(
            repo.session, repo.pipelines()[0]
        )
    )
    sent = next(t for t in view["triggers"] if t["kind"] == "email_sent")
    assert "ticket record" in sent["workflow"]["enrollment"]
    assert sent["workflow"]["action"] == "Set ticket status to Waiting on contact"


async def test_trigger_to_current_status_changes_nothing_and_runs_no_actions(db) -> None:
    # R-T6
    desk = await Desk.create(db)
    await desk.admin(
        lambda repo, u: admin.add_action(
            repo,
            u,
            pipeline_name=None,
            status_label="Waiting on us",
            kind="notify",
            to="user",
            target_name="rita",
        )
    )
    number, mid = await _new_ticket(desk)
    for _ in range(2):
        raw, _ = make_mail(subject="Re: x", in_reply_to=mid)
        await desk.receive(raw)
    detail = await desk.ticket(number)
    assert [e["type"] for e in detail["timeline"]].count("status_changed") == 1
    assert len([o for o in detail["outbox"] if o["kind"] == "notification"]) == 1
    assert any("already in" in e["summary"] for e in detail["timeline"])


async def test_automated_reply_on_closed_ticket_changes_nothing(db) -> None:
    # R-T7, rules.md #9
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    await desk.as_user("rita", lambda repo, u: services.assign(repo, u, number, "rita"))
    await desk.move(number, "Closed")
    raw, _ = make_mail(
        subject="Out of office", in_reply_to=mid, headers={"Auto-Submitted": "auto-replied"}
    )
    await desk.receive(raw)
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Closed"
    assert detail["ticket"]["owner"] == "rita"
    assert detail["ticket"]["reopened"] is False
    assert detail["conversations"][0]["messages"][-1]["automated"] == "out-of-office"


async def test_automation_status_change_runs_actions_without_refiring_triggers(db) -> None:
    # R-T8: event → trigger → status → actions, each caused by the one before
    desk = await Desk.create(db)
    await desk.admin(
        lambda repo, u: admin.add_action(
            repo,
            u,
            pipeline_name=None,
            status_label="Waiting on contact",
            kind="notify",
            to="user",
            target_name="rita",
        )
    )
    number, _ = await _new_ticket(desk)
    await desk.reply(number)
    timeline = {e["id"]: e for e in (await desk.ticket(number))["timeline"]}
    ran = next(e for e in timeline.values() if e["type"] == "action_ran" and "rita" in e["summary"])
    chain = []
    cursor = ran
    while cursor is not None:
        chain.append(cursor["type"])
        cursor = timeline.get(cursor["cause"]) if cursor["cause"] else None
    assert chain == ["action_ran", "enrolled", "status_changed", "trigger_fired", "mail_queued"]
    assert [e["type"] for e in timeline.values()].count("trigger_fired") == 1


async def test_depth_cap_stops_chains(db) -> None:
    # R-T8, E8: a change at depth 11 is not applied and the timeline says so
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)

    def deep_move(repo) -> int | None:
        ticket = repo.ticket(number)
        target = repo.statuses(ticket.pipeline_id)[2]
        return change_status(
            repo, ticket, target, Actor("workflow", None, "loop"), cause_id=None, depth=11
        )

    assert await desk.run(deep_move) is None
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "New"
    assert detail["timeline"][-1]["type"] == "depth_cap"


async def test_mail_from_a_users_address_is_outgoing_and_fires_nothing(db) -> None:
    # E10
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    raw, _ = make_mail(sender="rita@help.example", name="Rita", subject="Re: x", in_reply_to=mid)
    await desk.receive(raw)
    detail = await desk.ticket(number)
    assert detail["conversations"][0]["messages"][-1]["direction"] == "outbound"
    assert detail["ticket"]["status"] == "New"


async def test_participant_in_cc_can_reply(db) -> None:
    # E10: a participant of the thread who is not a user fires R-T2
    desk = await Desk.create(db)
    raw, mid = make_mail(headers={"Cc": "dave@customer.example"})
    await desk.receive(raw)
    reply, _ = make_mail(
        sender="dave@customer.example", name="Dave", in_reply_to=mid, subject="Re: Printer on fire"
    )
    await desk.receive(reply)
    assert len(await desk.tickets()) == 1
    assert await desk.status(1) == "Waiting on us"


async def test_stranger_quoting_a_token_gets_own_ticket(db) -> None:
    # SPEC §6 sender check, rules.md #22
    desk = await Desk.create(db)
    number, mid = await _new_ticket(desk)
    raw, _ = make_mail(sender="mallory@evil.example", subject=f"Re: [#{number}] give me access")
    await desk.receive(raw)
    tickets = await desk.tickets()
    assert len(tickets) == 2
    assert tickets[1]["contact"] == "mallory@evil.example"
    message = (await desk.ticket(tickets[1]["number"]))["conversations"][0]["messages"][0]
    assert "neither the ticket's contact nor a participant" in message["thread_reason"]
    hijack, _ = make_mail(sender="mallory@evil.example", subject="Re: x", in_reply_to=mid)
    await desk.receive(hijack)
    assert len((await desk.ticket(number))["conversations"][0]["messages"]) == 2  # mail + ack


async def test_headers_win_over_token_and_the_conflict_is_recorded(db) -> None:
    # SPEC §6: headers win over a token; the message records the conflict
    desk = await Desk.create(db)
    first, mid = await _new_ticket(desk)
    await _new_ticket(desk, subject="Second issue")
    raw, _ = make_mail(subject="Re: [#2] mixed up", in_reply_to=mid)
    await desk.receive(raw)
    message = (await desk.ticket(first))["conversations"][0]["messages"][-1]
    assert message["thread_conflict"] and "[#2]" in message["thread_conflict"]


async def test_bounce_of_our_mail_lands_on_ticket_and_blocks_automated_mail(db) -> None:
    # R-C4, rules.md #19, #30
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    ack_id = (await desk.outbox())[0]["message_id"]
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.help.example>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Sun, 01 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bounce1@mx.help.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; {CUSTOMER}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: {CUSTOMER}\r\nMessage-ID: {ack_id}\r\nSubject: ack\r\n\r\n"
        "--B--\r\n"
    ).encode()
    assert parse_message(bounce).bounce is not None
    await desk.receive(bounce)
    assert len(await desk.tickets()) == 1
    detail = await desk.ticket(number)
    assert detail["conversations"][0]["messages"][-1]["automated"] == "bounce"
    assert any(e["type"] == "bounce" for e in detail["timeline"])
    await desk.move(number, "Closed")
    closed = [o for o in await desk.outbox() if o["template"] == "Ticket closed"]
    assert closed[0]["state"] == "held"
    assert "bounced" in closed[0]["held_reason"]


async def test_rep_email_to_closed_ticket_reopens_it(db) -> None:
    # E5: R-T1 applies to closed tickets too, and a move out of CLOSED is a reopen
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    await desk.move(number, "Closed")
    await desk.reply(number, "One more thing.")
    detail = await desk.ticket(number)
    assert (detail["ticket"]["status"], detail["ticket"]["reopened"]) == (
        "Waiting on contact",
        True,
    )
    reopened = next(e for e in detail["timeline"] if e["type"] == "reopened")
    assert reopened["summary"] == "Reopened by Email sent to customer"


async def test_composed_thread_fires_rt1_and_after_reopen_rt2(db) -> None:
    # R-T1 "a new email composed on the ticket", E4, R-T2.2
    desk = await Desk.create(db)
    number, _ = await _new_ticket(desk)
    await desk.as_user(
        "rita",
        lambda repo, u: services.compose(repo, u, number, "Your replacement", "It ships today."),
    )
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Waiting on contact"
    composed = detail["conversations"][1]
    assert composed["association"] == "composed"
    sent_id = composed["messages"][0]["message_id"]
    answer, _ = make_mail(subject="Re: Your replacement", in_reply_to=sent_id)
    await desk.receive(answer)
    assert await desk.status(number) == "Waiting on contact"  # not the origin, not reopened
    await desk.move(number, "Closed")
    await desk.move(number, "New")
    again, _ = make_mail(subject="Re: Your replacement", in_reply_to=sent_id)
    await desk.receive(again)
    assert await desk.status(number) == "Waiting on us"
