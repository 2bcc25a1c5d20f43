"""Status actions, templates and the outbox, end to end on a real database. SPEC §4, §7, E7–E15."""

from __future__ import annotations

import pytest

from automation import admin, services
from automation.templates import TemplateRenderError, render
from mail.parse import parse_message
from storage import queries
from tests.helpers import CUSTOMER, SUPPORT, Desk, make_mail


async def _ticket(desk: Desk, **kw: object) -> tuple[int, str]:
    raw, mid = make_mail(**kw)  # type: ignore[arg-type]
    await desk.receive(raw)
    return (await desk.tickets())[-1]["number"], mid


async def test_status_actions_run_whatever_moved_the_ticket(db) -> None:
    # R-A1: creation into the first status, a rep on the board, a trigger
    desk = await Desk.create(db)
    for status in ("Waiting on contact", "Waiting on us"):
        await desk.admin(
            lambda repo, u, status=status: admin.add_action(
                repo,
                u,
                pipeline_name=None,
                status_label=status,
                kind="notify",
                to="user",
                target_name="rita",
                message=f"entered {status}",
            )
        )
    number, _mid = await _ticket(desk)
    await desk.reply(number)  # trigger → Waiting on contact
    await desk.move(number, "Waiting on us")  # a rep
    notes = await desk.db.run(
        lambda repo: [
            n.text
            for n in repo.session.scalars(
                __import__("sqlalchemy").select(__import__("storage.models").models.Notification)
            )
        ]
    )
    assert notes == ["entered Waiting on contact", "entered Waiting on us"]
    assert [o["template"] for o in await desk.outbox() if o["kind"] == "automated"] == [
        "Ticket received"
    ]


async def test_ticket_received_is_sent_in_origin_thread_with_inbox_note(db) -> None:
    # R-A2, E14, SPEC §7 automated headers
    desk = await Desk.create(db)
    number, mid = await _ticket(desk)
    [row] = await desk.outbox()
    assert row["template"] == "Ticket received"
    assert row["from"] == SUPPORT
    assert row["to"] == [CUSTOMER]
    assert row["state"] == "queued"
    mail = parse_message(await desk.outbox_raw(row["id"]))
    assert mail.in_reply_to == (mid,)
    assert mail.references == (mid,)
    assert f"[#{number}]" in mail.subject
    assert mail.message_id == row["message_id"]
    assert mail.loop_marker
    assert mail.automated is not None  # our own ack is recognisably automated
    detail = await desk.ticket(number)
    note = next(e for e in detail["timeline"] if e["type"] == "inbox_note")
    assert note["data"]["template"] == "Ticket received"
    assert note["data"]["ticket"] == number
    assert note["conversation"] == detail["ticket"]["origin_conversation"]
    assert note["at"]


async def test_automated_mail_headers_and_rep_reply_headers(db) -> None:
    # SPEC §7: Auto-Submitted on automated mail only; the loop marker on both
    desk = await Desk.create(db)
    number, _ = await _ticket(desk)
    await desk.reply(number, "Thanks, looking.")
    ack, reply = await desk.outbox()
    ack_raw, reply_raw = await desk.outbox_raw(ack["id"]), await desk.outbox_raw(reply["id"])
    assert b"Auto-Submitted: auto-replied" in ack_raw
    assert b"X-Auto-Response-Suppress: All" in ack_raw
    assert b"Precedence: bulk" in ack_raw
    assert b"Auto-Submitted" not in reply_raw
    assert b"X-Deskline-Loop:" in reply_raw and b"X-Deskline-Loop:" in ack_raw
    assert parse_message(reply_raw).in_reply_to  # threaded to the customer's mail


async def test_branding_line_can_be_switched_off(db) -> None:
    # R-A3
    desk = await Desk.create(db)
    await _ticket(desk)

    def branding_off(repo, user) -> None:
        admin.require_admin(user)
        repo.set_setting("branding", False)

    await desk.admin(branding_off)
    await _ticket(desk, subject="Second")
    first, second = await desk.outbox()
    assert "Sent by Deskline" in parse_message(await desk.outbox_raw(first["id"])).text
    assert "Sent by Deskline" not in parse_message(await desk.outbox_raw(second["id"])).text


async def test_internal_notifications_to_user_team_and_owner(db) -> None:
    # R-A4, E14
    desk = await Desk.create(db, received=False)

    def setup(repo, user) -> None:
        sam = repo.add_user("sam", display_name="Sam", email="sam@help.example", is_admin=False)
        repo.add_team("Tier 2", [repo.user_by_name("rita"), sam])
        for to, target in (("user", "sam"), ("team", "Tier 2"), ("owner", None)):
            admin.add_action(
                repo,
                user,
                pipeline_name=None,
                status_label="Waiting on us",
                kind="notify",
                to=to,
                target_name=target,
            )

    await desk.admin(setup)
    number, mid = await _ticket(desk)
    raw, _ = make_mail(subject="Re: x", in_reply_to=mid)
    await desk.receive(raw)
    detail = await desk.ticket(number)
    mails = [o for o in detail["outbox"] if o["kind"] == "notification"]
    assert sorted(o["to"][0] for o in mails) == [
        "rita@help.example",
        "sam@help.example",
        "sam@help.example",
    ]
    for o in mails:
        assert b"Auto-Submitted: auto-generated" in await desk.outbox_raw(o["id"])
    skipped = [e for e in detail["timeline"] if e["type"] == "action_skipped"]
    assert len(skipped) == 1 and "no owner" in skipped[0]["summary"]
    # with an owner, the owner is notified: recipients are resolved when the action runs (E14)
    await desk.as_user("rita", lambda repo, u: services.assign(repo, u, number, "rita"))
    await desk.move(number, "New")
    await desk.move(number, "Waiting on us")  # enrolled once: nothing more (R-A7)
    assert len([o for o in await desk.outbox() if o["kind"] == "notification"]) == 3


async def test_delete_this_action_or_this_and_all_following(db) -> None:
    # R-A6
    desk = await Desk.create(db, received=False, closed=False)

    def add_three(repo, user) -> list[int]:
        return [
            admin.add_action(
                repo,
                user,
                pipeline_name=None,
                status_label="Closed",
                kind="notify",
                to="user",
                target_name="rita",
                message=str(i),
            ).id
            for i in range(3)
        ]

    ids = await desk.admin(add_three)
    assert (
        await desk.admin(lambda repo, u: admin.delete_action(repo, u, ids[1], and_following=False))
        == 1
    )
    ids.append(
        await desk.admin(
            lambda repo, u: (
                admin.add_action(
                    repo, u, pipeline_name=None, status_label="Closed", kind="notify", to="owner"
                ).id
            )
        )
    )
    assert (
        await desk.admin(lambda repo, u: admin.delete_action(repo, u, ids[2], and_following=True))
        == 2
    )
    view = await desk.db.run(
        lambda repo: queries.automation_view(repo.session, repo.pipelines()[0])
    )
    closed = next(s for s in view["statuses"] if s["status"] == "Closed")
    assert [a["id"] for a in closed["workflows"][0]["actions"]] == [ids[0]]


async def test_enroll_once_then_clone_with_reenrollment(db) -> None:
    # R-A7, E7: closed, reopened and closed again sends nothing more; a clone with
    # re-enrollment on (and the original deleted) sends again.
    desk = await Desk.create(db, received=False)
    number, _mid = await _ticket(desk)

    async def closed_mails() -> int:
        return len([o for o in await desk.outbox() if o["template"] == "Ticket closed"])

    await desk.move(number, "Closed")
    assert await closed_mails() == 1
    await desk.move(number, "Waiting on us")
    await desk.move(number, "Closed")
    assert await closed_mails() == 1
    assert any(
        "re-enrollment is off" in e["summary"] for e in (await desk.ticket(number))["timeline"]
    )

    original = await desk.db.run(
        lambda repo: next(w.id for w in repo.workflows(repo.pipelines()[0].id) if w.builtin)
    )
    with pytest.raises(admin.SettingsError, match="cannot be edited"):
        await desk.admin(lambda repo, u: admin.set_workflow(repo, u, original, reenroll=True))
    clone = await desk.admin(lambda repo, u: admin.clone_workflow(repo, u, original).id)
    await desk.admin(
        lambda repo, u: admin.set_workflow(repo, u, clone, enabled=True, reenroll=True)
    )
    await desk.admin(lambda repo, u: admin.delete_workflow(repo, u, original))
    await desk.move(number, "Waiting on us")
    await desk.move(number, "Closed")
    await desk.move(number, "Waiting on us")
    await desk.move(number, "Closed")
    assert await closed_mails() == 3


async def test_chat_tickets_skip_triggers_and_builtin_actions(db) -> None:
    # R-A8, E9
    desk = await Desk.create(db, chat=True)
    raw, mid = make_mail(subject="Hi from the chat widget")
    await desk.receive(raw, channel="chat")
    [ticket] = await desk.tickets()
    assert ticket["source"] == "chat"
    assert await desk.outbox() == []
    detail = await desk.ticket(ticket["number"])
    assert any("are not enrolled" in e["summary"] for e in detail["timeline"])
    await desk.move(ticket["number"], "Waiting on contact")
    raw, _ = make_mail(subject="Re: Hi", in_reply_to=mid)
    await desk.receive(raw, channel="chat")
    assert await desk.status(ticket["number"]) == "Waiting on contact"  # R-T2 skipped for chat


async def test_workflow_enrolling_chat_source_applies_to_chat(db) -> None:
    # R-A8: a workflow whose condition says "source is Chat" applies to chat tickets
    desk = await Desk.create(db, chat=True)

    def chat_workflow(repo, user) -> None:
        action = admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="New",
            kind="notify",
            to="user",
            target_name="rita",
        )
        clone = admin.clone_workflow(repo, user, action.workflow_id)
        admin.set_workflow(repo, user, clone.id, enabled=True, sources=["chat"])

    await desk.admin(chat_workflow)
    raw, _ = make_mail(subject="Chat question")
    await desk.receive(raw, channel="chat")
    notifications = [o for o in await desk.outbox() if o["kind"] == "notification"]
    assert len(notifications) == 1


async def test_template_error_marks_action_failed_and_keeps_ticket_change(db) -> None:
    # R-A9
    desk = await Desk.create(db, received=False, closed=False)

    def broken_template(repo, user) -> None:
        template = repo.add_template("Broken", "Hi {{ nosuchvar }}", "body", builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="send_email",
            template_name=template.name,
        )
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="notify",
            to="user",
            target_name="rita",
        )

    await desk.admin(broken_template)
    number, _ = await _ticket(desk)
    await desk.move(number, "Closed")
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Closed"
    failed = [e for e in detail["timeline"] if e["type"] == "action_failed"]
    assert len(failed) == 1 and "nosuchvar" in failed[0]["summary"]
    assert [o["kind"] for o in detail["outbox"]] == ["notification"]  # the next action ran


def test_templates_are_sandboxed_and_strict() -> None:
    # R-A9, B7
    with pytest.raises(TemplateRenderError, match="undefined"):
        render("{{ missing }}", "", {})
    with pytest.raises(TemplateRenderError):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", "", {})
    assert render("Hi {{ contact.name }}", "b", {"contact": {"name": "Ann"}}).subject == "Hi Ann"


async def test_rep_cannot_change_settings(db) -> None:
    # SPEC §7: only admins change settings
    desk = await Desk.create(db)
    with pytest.raises(admin.SettingsError, match="not an admin"):
        await desk.as_user(
            "rita", lambda repo, u: admin.set_channel(repo, u, "support", ticket_automation=False)
        )


async def test_subject_with_crlf_cannot_inject_headers(db) -> None:
    # SPEC §7: no CR/LF from user data into headers
    desk = await Desk.create(db)
    raw, _ = make_mail(subject="Help")
    await desk.receive(raw)
    await desk.as_user(
        "rita",
        lambda repo, u: services.set_subject(repo, u, 1, "Hi\r\nBcc: victim@example.com"),
    )
    await desk.move(1, "Closed")
    closed = (await desk.outbox())[-1]
    raw_out = await desk.outbox_raw(closed["id"])
    assert b"\nBcc:" not in raw_out


async def test_events_survive_a_crash_between_commit_and_handling(db) -> None:
    # E2: the change and its domain event commit together; a new engine picks it up
    desk = await Desk.create(db)
    raw, _ = make_mail()

    def store_only(repo) -> None:
        from automation.ingest import ingest_message

        ingest_message(repo, admin.channel_named(repo, "support"), parse_message(raw), raw)

    await desk.db.run(store_only)  # committed, then "the process died": no drain
    assert await desk.tickets() == []
    assert await Desk(desk.db).drain() >= 1  # a fresh engine after the restart
    assert len(await desk.tickets()) == 1
    assert len(await desk.outbox()) == 1
    assert await Desk(desk.db).drain() == 0  # handled once


async def test_failing_event_is_isolated_and_recorded(db) -> None:
    # E2: a broken event does not stop the queue
    desk = await Desk.create(db)

    def poison(repo) -> None:
        from automation.events import StatusEntered

        repo.emit(StatusEntered(ticket_id=999_999, status_id=999_999, depth=0))

    await desk.db.run(poison)
    raw, _ = make_mail()
    await desk.receive(raw)
    assert len(await desk.tickets()) == 1


async def test_actions_menu_comment_edit_clone_move(db) -> None:
    # R-A6
    desk = await Desk.create(db, received=False, closed=False)

    def menu(repo, user) -> list[dict]:
        first = admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="notify",
            to="user",
            target_name="rita",
            message="one",
        )
        second = admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="send_email",
            template_name="Ticket closed",
        )
        admin.comment_action(repo, user, second.id, "Legal asked for this wording")
        copy = admin.clone_action(repo, user, first.id)
        admin.edit_action(repo, user, copy.id, kind="notify", to="owner")
        admin.move_action(repo, user, second.id, 1)
        return []

    await desk.admin(menu)
    view = await desk.db.run(
        lambda repo: queries.automation_view(repo.session, repo.pipelines()[0])
    )
    actions = next(s for s in view["statuses"] if s["status"] == "Closed")["workflows"][0][
        "actions"
    ]
    assert [a["description"] for a in actions] == [
        "Send email “Ticket closed”",
        "Notify user rita",
        "Notify the ticket owner",
    ]
    assert actions[0]["comments"] == ["Legal asked for this wording"]
    with pytest.raises(admin.SettingsError, match="position must be between 1 and 3"):
        await desk.admin(lambda repo, u: admin.move_action(repo, u, actions[0]["id"], 4))


async def test_failed_action_can_be_retried_after_the_template_is_fixed(db) -> None:
    # R-A9: marked failed on the timeline and can be retried
    from automation.actions import retry_action
    from automation.services import actor_of

    desk = await Desk.create(db, received=False, closed=False)

    def broken(repo, user) -> None:
        repo.add_template("Follow-up", "About {{ ticket.subjekt }}", "Hi", builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="send_email",
            template_name="Follow-up",
        )

    await desk.admin(broken)
    number, _ = await _ticket(desk)
    await desk.move(number, "Closed")
    failed = next(
        e for e in (await desk.ticket(number))["timeline"] if e["type"] == "action_failed"
    )
    run_id = failed["data"]["run_id"]

    def fix(repo, user) -> None:
        template = repo.template_by_name("Follow-up")
        template.subject = "About {{ ticket.subject }}"

    await desk.admin(fix)
    state = await desk.as_user("rita", lambda repo, u: retry_action(repo, actor_of(u), run_id))
    assert state == "ok"
    assert [o["template"] for o in await desk.outbox()] == ["Follow-up"]
    with pytest.raises(Exception, match="nothing to retry"):
        await desk.as_user("rita", lambda repo, u: retry_action(repo, actor_of(u), run_id))


async def test_template_is_checked_against_a_real_ticket_before_saving(db) -> None:
    # B7, R-A9: undefined variables are errors; the built-ins are editable
    desk = await Desk.create(db)
    await _ticket(desk)
    with pytest.raises(admin.SettingsError, match=r"unknown variable .ticket\.nope."):
        await desk.admin(
            lambda repo, u: admin.set_template(
                repo, u, "Ticket received", subject="Hi {{ ticket.nope }}", body=None
            )
        )
    await desk.admin(
        lambda repo, u: admin.set_template(
            repo, u, "Ticket received", subject="Got it: {{ ticket.subject }}", body=None
        )
    )
    await _ticket(desk, subject="Second one")
    last = (await desk.outbox())[-1]
    assert last["subject"].startswith("Got it: Second one")
