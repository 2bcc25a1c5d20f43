"""`deskline explain`: the trace of a stored message or ticket from the facts recorded then
(SPEC §8 B1, §12 B1.1), on each kind of mail: new, automated, forwarded, bounce, a reply
threaded by header, one by token, and a stranger refused by the sender check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from storage.explain import TRACE_VERSION, find_message, message_trace, ticket_trace
from tests.helpers import CUSTOMER, SUPPORT, Desk, make_mail
from tests.mail.helpers import sample_bytes


async def _trace(desk: Desk, ref: str) -> dict[str, Any]:
    def read(session: Any) -> dict[str, Any]:
        message = find_message(session, ref)
        assert message is not None, ref
        return message_trace(session, message)

    return await desk.db.query(read)


def _types(trace: dict[str, Any]) -> list[str]:
    return [event["type"] for event in trace["events"]]


async def _first(desk: Desk) -> tuple[dict[str, Any], str]:
    raw, mid = make_mail()
    await desk.receive(raw)
    return await _trace(desk, mid), mid


async def test_a_new_message_shows_its_ticket_its_automation_and_its_email(db) -> None:
    desk = await Desk.create(db)
    trace, mid = await _first(desk)
    assert trace["message"]["message_id"] == mid and trace["message"]["from"] == CUSTOMER
    assert trace["classification"]["automated"] is False
    assert "new thread" in trace["threading"]["reason"] and trace["threading"]["ticket"] == 1
    types = _types(trace)
    assert types[0] == "message_received" and "ticket_created" in types
    assert "mail_queued" in types  # the acknowledgement the received status's action sent
    root = trace["events"][0]["id"]
    assert all(e["cause"] is not None for e in trace["events"][1:])
    assert trace["events"][0]["depth"] == 0 and all(e["depth"] > 0 for e in trace["events"][1:])
    assert trace["events"][1]["cause"] == root
    [email] = trace["emails"]
    assert email["to"] == CUSTOMER and email["verdict"] == "queued"
    assert email["state"] == "queued" and email["held_reason"] is None
    # by row id too, as `ticket show` prints it
    again = await _trace(desk, str(trace["message"]["id"]))
    assert again == trace


async def test_an_automated_message_says_why_and_its_email_is_not_sent(db) -> None:
    desk = await Desk.create(db)
    raw, mid = make_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    await desk.receive(raw)
    trace = await _trace(desk, mid)
    kind = trace["classification"]
    assert kind["automated"] is True and "Auto-Submitted" in kind["automated_reason"]
    assert all(e["verdict"] == "held" for e in trace["emails"])


async def test_a_forwarded_message_says_why(db) -> None:
    desk = await Desk.create(db)
    result = await desk.receive(sample_bytes("fwd_gmail_inline.eml"))
    trace = await _trace(desk, str(result.message_row_id))
    kind = trace["classification"]
    assert kind["forwarded"] is True and "Forwarded message" in kind["forwarded_reason"]


async def test_a_reply_threaded_by_header_and_one_by_token(db) -> None:
    desk = await Desk.create(db)
    _, mid = await _first(desk)
    reply, reply_mid = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    await desk.receive(reply)
    by_header = await _trace(desk, reply_mid)
    assert "In-Reply-To" in by_header["threading"]["reason"]
    assert by_header["threading"]["ticket"] == 1
    assert "trigger_fired" in _types(by_header)  # the customer's reply trigger
    token, token_mid = make_mail(subject="Re: [#1] still burning")
    await desk.receive(token)
    by_token = await _trace(desk, token_mid)
    assert "[#1]" in by_token["threading"]["reason"] and by_token["threading"]["ticket"] == 1


async def test_a_stranger_refused_by_the_sender_check_gets_the_reason(db) -> None:
    desk = await Desk.create(db)
    await _first(desk)
    raw, mid = make_mail(sender="mallory@evil.example", subject="Re: [#1] give me access")
    await desk.receive(raw)
    trace = await _trace(desk, mid)
    assert "neither the ticket's contact nor a participant" in trace["threading"]["reason"]
    assert trace["threading"]["ticket"] == 2


async def test_a_bounce_of_our_mail_says_it_went_to_our_conversation(db) -> None:
    desk = await Desk.create(db)
    await _first(desk)
    ack_id = (await desk.outbox())[0]["message_id"]
    # a real bounce sample, of our acknowledgement sent to the customer
    bounce = (
        sample_bytes("bounce_postfix_dsn.eml")
        .replace(b"<dl.t42.0123456789abcdef.abcdef0123@deskline.test>", ack_id.encode())
        .replace(b"nobody@example.org", CUSTOMER.encode())
    )
    await desk.receive(bounce)
    trace = await _trace(desk, "<20240206081403.4TqZ1x0Q2Bz9sW@mail.deskline.test>")
    assert "bounce of our message" in trace["threading"]["reason"]
    assert trace["classification"]["automated"] is True
    assert trace["threading"]["ticket"] == 1


async def test_a_ticket_trace_holds_each_of_its_messages_in_order(db) -> None:
    desk = await Desk.create(db)
    _, mid = await _first(desk)
    reply, reply_mid = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    await desk.receive(reply)
    trace = await desk.db.query(lambda s: ticket_trace(s, 1))
    assert trace is not None and trace["ticket"] == 1
    assert [m["message"]["message_id"] for m in trace["messages"]] == [mid, reply_mid]
    assert await desk.db.query(lambda s: ticket_trace(s, 99)) is None


def _cli(db: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DESKLINE_USER": ""},
    )
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc


@pytest.fixture
def cli_desk(tmp_path: Path) -> tuple[str, str]:
    db = str(tmp_path / "desk.db")
    _cli(db, "init")
    _cli(db, "channel", "add", "support", "--address", SUPPORT)
    raw, mid = make_mail()
    (tmp_path / "1.eml").write_bytes(raw)
    _cli(db, "import", str(tmp_path / "1.eml"), "--channel", "support")
    return db, mid


def test_cli_explain_json_is_versioned_and_the_text_a_tree(cli_desk: tuple[str, str]) -> None:
    db, mid = cli_desk
    data = json.loads(_cli(db, "explain", mid, "--json").stdout)
    assert data["version"] == TRACE_VERSION
    assert set(data) == {"version", "message", "classification", "threading", "events", "emails"}
    assert data["events"][0]["type"] == "message_received"
    assert {"id", "at", "type", "actor", "cause", "depth", "summary", "data"} <= set(
        data["events"][0]
    )
    ticket = json.loads(_cli(db, "explain", "--ticket", "1", "--json").stdout)
    assert ticket["ticket"] == 1 and ticket["messages"][0]["message"]["message_id"] == mid
    text = _cli(db, "explain", "#1").stdout.splitlines()
    assert text[0].startswith("Ticket #1: Printer on fire")
    assert "  threading: no In-Reply-To, References or [#N] token matched: new thread" in text
    assert "    message received: Email: Printer on fire" in text
    assert any(line.startswith("      ticket created: Ticket #1") for line in text)
    missing = _cli(db, "explain", "<nope@x>", ok=False)
    assert missing.returncode == 1 and "no message <nope@x>" in missing.stderr
    assert "no ticket #7" in _cli(db, "explain", "#7", ok=False).stderr


async def test_e_on_the_ticket_record_shows_the_trace_read_only(tmp_path: Path) -> None:
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: "#1 Printer on fire" in screen_text(app), what="record")
        await pilot.press("question_mark")  # the help lists it with its key
        await wait_for(pilot, lambda: "Explain" in screen_text(app), what="the help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Explain" not in screen_text(app), what="help closed")
        await pilot.press("E")
        await wait_for(pilot, lambda: "threading:" in screen_text(app), what="the trace")
        text = screen_text(app)
        assert "Why ticket #1 is as it is" in text and "ticket created: Ticket #1" in text
        assert "email " in text and "passed every loop guard" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: "threading:" not in screen_text(app), what="closed")
        assert "#1 Printer on fire" in screen_text(app)
    await desk.db.close()
