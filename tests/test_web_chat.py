"""Live chat on the web (SPEC C3-C7, R-A8, E9), end to end: the real server (uvicorn, as
`deskline serve --http` runs it), a real headless Chromium through Selenium, the real CLI in a
subprocess, the terminal app under Pilot, and the database.

A visitor writes in the widget and the message is an inbound chat message in the inbox; a rep's
reply (`deskline reply`) shows in the browser within a second, over the WebSocket or the
long-poll fallback, and never becomes an email; a returning visitor continues; markup a visitor
types is shown as text in the browser, the app and the CLI; bursts get 429 and store nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from app.screens.inbox import InboxScreen
from automation import admin, chat, chat_settings
from automation.actions import SET_PROPERTY
from storage import models as m
from storage.database import Database
from storage.repository import chat as chat_store
from tests.app_helpers import make_app, ready, screen_text, wait_for, wait_for_async
from tests.helpers import Desk, make_mail
from tests.web_helpers import WebServer, browser, web  # noqa: F401 (fixtures)

HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def serve(web: Any) -> Any:  # noqa: F811 (the fixture of tests.web_helpers, renamed)
    return web


@pytest.fixture
def chromium(browser: Any) -> Any:  # noqa: F811
    return browser


async def chat_desk(url: str, *, online: bool = True) -> Desk:
    """The standard desk with a chat channel (ticket automation on) that sends transcripts
    through the support address; with `online` a rep's app session beats (C6)."""
    desk = await Desk.create(Database(url), chat=True)

    def configure(repo: Any, user: Any) -> None:
        chat_settings.set_chat_channel(
            repo, user, "chat", reply_through="support", origins=["https://shop.example.com"]
        )

    await desk.admin(configure)
    if online:
        await beat(desk)
    return desk


async def beat(desk: Desk, session: str = "rita-app") -> None:
    def run(repo: Any) -> None:
        rita = repo.user_by_name("rita")
        repo.beat(session, rita.id, ticket_id=None, conversation_id=None, replying_since=None)

    await desk.store(run)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/desk.db"


def deskline(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKLINE_USER": "rita", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", url, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def open_chat(driver: Any, server: WebServer, *, transport: str | None = None) -> None:
    driver.get(server.url + "/chat/chat" + (f"?transport={transport}" if transport else ""))
    WebDriverWait(driver, 10).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, ".dlc-start:not(.dlc-hidden)")
            or d.find_elements(By.CSS_SELECTOR, ".dlc-compose:not(.dlc-hidden)")
        )
    )


def start(driver: Any, name: str, email: str = "") -> None:
    driver.find_element(By.CSS_SELECTOR, ".dlc-start input[name=name]").send_keys(name)
    if email:
        driver.find_element(By.CSS_SELECTOR, ".dlc-start input[name=email]").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, ".dlc-start button").click()
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".dlc-compose:not(.dlc-hidden)")
    )


def say(driver: Any, text: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, ".dlc-compose textarea")
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, ".dlc-compose button[type=submit]").click()


def bubbles(driver: Any) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".dlc-log .dlc-msg")]


@dataclass(frozen=True)
class Line:
    id: int
    conversation_id: int
    direction: str
    body_text: str


async def chat_messages(desk: Desk) -> list[Line]:
    def load(session: Any) -> list[Line]:
        from sqlalchemy import select

        query = (
            select(m.Message)
            .join(m.Conversation, m.Conversation.id == m.Message.conversation_id)
            .where(m.Conversation.source == "chat")
            .order_by(m.Message.id)
        )
        return [
            Line(x.id, x.conversation_id, x.direction, x.body_text) for x in session.scalars(query)
        ]

    return await desk.db.query(load)


async def wait_db(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {check}")


async def tickets(desk: Desk, count: int) -> list[dict[str, Any]]:
    """The desk's tickets once there are `count` (the web side opens a chat's ticket right
    after it answered the visitor)."""

    async def enough() -> list[dict[str, Any]] | None:
        found = await desk.tickets()
        return found if len(found) >= count else None

    found = await wait_db(enough)
    assert len(found) == count
    return found


# --- the browser -------------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_visitor_writes_and_a_reps_cli_reply_shows_within_a_second(
    tmp_path: Path, serve: Any, chromium: Any
) -> None:
    """C3, C4, R-C1, E9: the visitor's message is an inbound chat message with a chat ticket
    (the built-in workflow skips it); `deskline reply` reaches the chromium within a second over
    the WebSocket, and no email is queued."""
    url = sqlite_url(tmp_path)
    desk = await chat_desk(url)
    server = serve(url)
    open_chat(chromium, server)
    start(chromium, "Vera Visitor", "vera@example.org")
    say(chromium, "Is the blue kettle in stock?")
    messages = await wait_db(lambda: chat_messages(desk))
    assert [(x.direction, x.body_text.strip()) for x in messages] == [
        ("inbound", "Is the blue kettle in stock?")
    ]
    [ticket] = await tickets(desk, 1)
    assert (ticket["source"], ticket["contact_name"]) == ("chat", "Vera Visitor")
    detail = await desk.ticket(ticket["number"])
    assert "enrollment_skipped" in [e["type"] for e in detail["timeline"]]  # E9

    WebDriverWait(chromium, 10).until(
        lambda d: d.execute_script("return !!document.querySelector('.dlc-log') && true")
    )
    await beat(desk)
    result = deskline(url, "reply", str(ticket["number"]), "--text", "Yes, 12 left.")
    assert result.returncode == 0, result.stderr
    committed = time.monotonic()
    WebDriverWait(chromium, 5, poll_frequency=0.02).until(
        lambda d: any("Yes, 12 left." in b for b in bubbles(d))
    )
    assert time.monotonic() - committed < 1.0  # C4 / B8.4: within a second
    assert await desk.outbox() == []  # C4: never by email
    assert "Chat message" in result.stdout
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_long_poll_fallback_delivers_a_reply_and_a_returning_visitor_continues(
    tmp_path: Path, serve: Any, chromium: Any
) -> None:
    """C4 fallback and C3: without WebSocket the widget long-polls; the reply arrives within a
    second. The visitor comes back later (same chromium): the chat is there and continues; once
    a rep ends it (`deskline chat end`), the next message starts a new chat."""
    url = sqlite_url(tmp_path)
    desk = await chat_desk(url)
    server = serve(url)
    open_chat(chromium, server, transport="poll")
    start(chromium, "Paul Poller")
    say(chromium, "First question")
    [first] = await wait_db(lambda: chat_messages(desk))
    await tickets(desk, 1)
    # the reply, written while the page long-polls
    await asyncio.sleep(0.5)
    result = deskline(url, "reply", "1", "--text", "Polled answer")
    assert result.returncode == 0, result.stderr
    committed = time.monotonic()
    WebDriverWait(chromium, 5, poll_frequency=0.02).until(
        lambda d: any("Polled answer" in b for b in bubbles(d))
    )
    assert time.monotonic() - committed < 1.0

    # A reply while the visitor is away shows on return (C4).
    chromium.get("about:blank")
    assert deskline(url, "reply", "1", "--text", "Anything else?").returncode == 0
    open_chat(chromium, server)
    WebDriverWait(chromium, 10).until(lambda d: any("Anything else?" in b for b in bubbles(d)))
    assert any("First question" in b for b in bubbles(chromium))
    say(chromium, "No, thanks")
    found = await wait_db(lambda: _when(chat_messages(desk), lambda rows: len(rows) == 4 and rows))
    assert {x.conversation_id for x in found} == {first.conversation_id}

    ended = deskline(url, "chat", "end", str(first.conversation_id))
    assert ended.returncode == 0, ended.stderr
    WebDriverWait(chromium, 5).until(
        lambda d: "The chat has ended" in d.find_element(By.CSS_SELECTOR, ".dlc-log").text
    )
    say(chromium, "One more thing")
    rows = await wait_db(lambda: _when(chat_messages(desk), lambda rows: len(rows) == 5 and rows))
    assert rows[-1].conversation_id != first.conversation_id  # C3: a new chat
    await tickets(desk, 2)
    await desk.db.close()


async def _when(rows: Any, check: Any) -> Any:
    return check(await rows)


@pytest.mark.sqlite_only
async def test_markup_a_visitor_types_is_text_in_the_browser_the_app_and_the_cli(
    tmp_path: Path, serve: Any, chromium: Any
) -> None:
    """§7, C3: an `<img onerror>` in the name and the message is shown literally."""
    url = sqlite_url(tmp_path)
    desk = await chat_desk(url)
    server = serve(url)
    open_chat(chromium, server)
    start(chromium, HOSTILE)
    say(chromium, "Look: " + HOSTILE)
    await tickets(desk, 1)
    assert deskline(url, "reply", "1", "--text", "Echo " + HOSTILE).returncode == 0
    WebDriverWait(chromium, 5).until(lambda d: any("Echo" in b for b in bubbles(d)))
    shown = bubbles(chromium)
    assert any(("Look: " + HOSTILE) in b for b in shown)
    assert any(("Echo " + HOSTILE) in b for b in shown)
    assert chromium.find_elements(By.CSS_SELECTOR, ".dlc-log img") == []
    assert chromium.title != "pwned"

    cli = deskline(url, "ticket", "show", "1")
    assert cli.returncode == 0, cli.stderr
    assert "Chat message: Echo " + HOSTILE in cli.stdout
    listed = deskline(url, "chat", "list")
    assert HOSTILE in listed.stdout and "unverified" not in listed.stdout  # no email given

    app = make_app(tmp_path / "desk.db")
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        text = await wait_for(pilot, lambda: "Look:" in screen_text(app) and screen_text(app))
        assert HOSTILE in text
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_a_new_chat_appears_live_in_the_apps_inbox(
    tmp_path: Path, serve: Any, chromium: Any
) -> None:
    """The conversation appears in a running app's inbox as the visitor writes; E ends the
    chat and the visitor's page says so."""
    url = sqlite_url(tmp_path)
    desk = await chat_desk(url)
    server = serve(url)
    app = make_app(tmp_path / "desk.db")
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        open_chat(chromium, server)  # the app's own session makes the desk online
        start(chromium, "Live Lena")
        say(chromium, "Hello from the web page")
        text = await wait_for(
            pilot,
            lambda: "Live Lena" in screen_text(app) and screen_text(app),
            timeout=10,
            what="the chat in the inbox",
        )
        assert "Chat on chat" in text
        await pilot.press("E")  # the rep ends the chat (inbox.end_chat, twin of `chat end`)

        async def ended() -> Any:
            return await desk.db.query(lambda s: s.scalar(select(m.Chat.ended_by)))

        assert await wait_for_async(pilot, ended, what="the chat to end") == "rita"
        WebDriverWait(chromium, 5).until(
            lambda d: "The chat has ended" in d.find_element(By.CSS_SELECTOR, ".dlc-log").text
        )
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_offline_widget_says_when_and_takes_a_message_that_becomes_a_ticket(
    tmp_path: Path, serve: Any, chromium: Any
) -> None:
    """C6: with nobody online (outside hours here) the widget says when to expect an answer by
    email and takes a message that becomes an email ticket from the address given (C2)."""
    url = sqlite_url(tmp_path)
    desk = await chat_desk(url, online=False)

    def closed_now(repo: Any, user: Any) -> None:
        chat_settings.set_chat_channel(repo, user, "chat", hours="sat 00:00-00:01, sun 00:00-00:01")

    await desk.admin(closed_now)
    server = serve(url)
    chromium.get(server.url + "/chat/chat")
    WebDriverWait(chromium, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".dlc-offline:not(.dlc-hidden)")
    )
    said = chromium.find_element(By.CSS_SELECTOR, ".dlc-offline .dlc-note").text
    assert "answer by email from" in said
    form = ".dlc-offline "
    chromium.find_element(By.CSS_SELECTOR, form + "input[name=name]").send_keys("Olga")
    chromium.find_element(By.CSS_SELECTOR, form + "input[name=email]").send_keys("olga@example.org")
    chromium.find_element(By.CSS_SELECTOR, form + "textarea").send_keys("Call me back please")
    chromium.find_element(By.CSS_SELECTOR, form + "button").click()
    WebDriverWait(chromium, 10).until(
        lambda d: "We will answer by email" in d.find_element(By.CSS_SELECTOR, ".dlc-log").text
    )
    [ticket] = await desk.tickets()
    assert (ticket["source"], ticket["contact"]) == ("email", "olga@example.org")
    outbox = await desk.outbox()  # the standard desk's "Ticket received" acknowledgement
    assert [o["to"] for o in outbox] == [["olga@example.org"]]
    await desk.db.close()


# --- the API: limits, origins, cookies (real server, real HTTP and WebSocket clients) -----------


class Visitor:
    """A chat visitor without a browser: its cookie, over plain HTTP."""

    def __init__(self, server: WebServer, origin: str | None = None) -> None:
        self.server = server
        self.cookie = ""
        self.origin = origin

    def call(self, path: str, body: dict[str, str] | None = None) -> tuple[int, dict, Any]:
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.origin:
            headers["Origin"] = self.origin
        data = json.dumps(body).encode() if body is not None else None
        answer = self.server.request(
            "POST" if body is not None else "GET", "/chat/chat/api/" + path, data, headers
        )
        set_cookie = answer.headers.get("set-cookie") or answer.headers.get("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";", 1)[0]
        return answer.status, answer.headers, json.loads(answer.text or "{}")


async def test_the_visitor_cookie_is_unguessable_httponly_lax_and_the_contact_unverified(
    db_url: str, serve: Any
) -> None:
    """C3: the cookie holds a random token (the database only its hash), HttpOnly,
    SameSite=Lax, not Secure over plain HTTP; the email typed is kept unverified, and the chat
    never joins that address's email conversation or ticket."""
    desk = await chat_desk(db_url)
    await desk.receive_queued(make_mail(sender="same@example.org", subject="By email")[0])
    server = serve(db_url)
    visitor = Visitor(server)
    status, headers, _ = visitor.call("start", {"name": "Sam", "email": "Same@Example.org"})
    assert status == 200
    cookie = headers.get("set-cookie") or headers["Set-Cookie"]
    flags = {p.strip().lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/chat/chat"} <= flags
    assert "secure" not in flags
    token = visitor.cookie.split("=", 1)[1]
    assert len(token) >= 40
    assert visitor.call("messages", {"text": "Hi from chat"})[0] == 200

    def load(session: Any) -> tuple[Any, ...]:
        from sqlalchemy import select

        v = session.scalar(select(m.ChatVisitor))
        contact = session.get(m.Contact, v.contact_id)
        return v.token_hash, v.email, contact.email, contact.unverified

    token_hash, email, contact_email, unverified = await desk.db.query(load)
    assert token not in token_hash and len(token_hash) == 64
    assert email == "same@example.org" and unverified
    assert contact_email != "same@example.org"
    both = await tickets(desk, 2)
    assert sorted((t["source"], t["contact"]) for t in both) == [
        ("chat", contact_email),
        ("email", "same@example.org"),
    ]
    await desk.db.close()


async def test_bursts_get_429_with_retry_after_and_nothing_is_stored(
    db_url: str, serve: Any
) -> None:
    """C5: 5 new chats a minute per address, 30 messages a minute per visitor, 10 kB a
    message; over a limit 429 with Retry-After (on the WebSocket an error frame), nothing
    stored."""
    desk = await chat_desk(db_url)
    server = serve(db_url)
    visitors = [Visitor(server) for _ in range(6)]
    answers = [v.call("start", {"name": f"V{n}"}) for n, v in enumerate(visitors)]
    assert [a[0] for a in answers] == [200] * 5 + [429]
    assert int(answers[-1][1]["retry-after"]) >= 1

    first = visitors[0]
    statuses = [first.call("messages", {"text": f"m{n}"})[0] for n in range(32)]
    assert statuses == [200] * 30 + [429, 429]
    assert len(await chat_messages(desk)) == 30

    second = visitors[1]
    status, _, said = second.call("messages", {"text": "x" * 10_001})
    assert status == 413 and "10 kB" in said["error"]

    ws_url = server.url.replace("http", "ws") + "/chat/chat/ws"
    async with websockets.connect(ws_url, additional_headers={"Cookie": second.cookie}) as ws:
        frames = []
        for n in range(31):
            await ws.send(json.dumps({"type": "message", "text": f"w{n}", "nonce": n}))
        while len([f for f in frames if f["type"] in ("sent", "error")]) < 31:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        errors = [f for f in frames if f["type"] == "error"]
        assert [(e["status"], e["nonce"]) for e in errors] == [(429, 30)]
        assert errors[0]["retry_after"] >= 1
    assert len(await chat_messages(desk)) == 60
    await desk.db.close()


async def test_only_allowed_origins_get_answers(db_url: str, serve: Any) -> None:
    """C5: another site's page may use the widget only when its origin is on the channel's
    allow-list (CORS with credentials); a WebSocket from elsewhere is refused."""
    desk = await chat_desk(db_url)
    server = serve(db_url)
    allowed = Visitor(server, origin="https://shop.example.com")
    status, headers, _ = allowed.call("start", {"name": "Ann"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://shop.example.com"
    assert headers["access-control-allow-credentials"] == "true"
    pre = server.request(
        "OPTIONS",
        "/chat/chat/api/messages",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status == 204 and "POST" in pre.headers["access-control-allow-methods"]

    evil = Visitor(server, origin="https://evil.example.net")
    status, headers, _ = evil.call("start", {"name": "Eve"})
    assert status == 403 and "access-control-allow-origin" not in headers
    ws_url = server.url.replace("http", "ws") + "/chat/chat/ws"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            ws_url,
            additional_headers={"Cookie": allowed.cookie},
            origin="https://evil.example.net",  # type: ignore[arg-type]
        ):
            pass
    page = server.get("/chat/chat")
    assert page.status == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'self' https://shop.example.com" in policy
    await desk.db.close()


async def test_transcript_goes_by_email_through_the_reply_channel(db_url: str, serve: Any) -> None:
    """C4: with an email given, the visitor asks for the transcript: an email from the chat
    channel's reply-through channel to that (unverified) address; the chat itself sent none."""
    desk = await chat_desk(db_url)
    server = serve(db_url)
    visitor = Visitor(server)
    visitor.call("start", {"name": "Tess", "email": "tess@example.org"})
    visitor.call("messages", {"text": "Question about my order"})
    await tickets(desk, 1)
    await desk.reply(1, "It ships today.")
    assert await desk.outbox() == []
    assert visitor.call("transcript", {})[0] == 200
    [mail] = await desk.outbox()
    assert mail["to"] == ["tess@example.org"]
    raw = (await desk.outbox_raw(mail["id"])).decode()
    assert "support@help.example" in raw and "Question about my order" in raw
    assert "It ships today." in raw
    await desk.db.close()


async def test_cloned_workflow_with_source_chat_applies_to_chat_tickets(
    db_url: str, serve: Any
) -> None:
    """R-A8, E9, C7: the built-in New workflow skips chat tickets; a clone whose condition is
    source chat applies to them; no email goes to a chat visitor."""
    desk = await chat_desk(db_url)

    def clone(repo: Any, me: Any) -> None:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        copy = admin.clone_workflow(repo, me, admin.status_workflow(repo, status).id)
        admin.set_workflow(
            repo,
            me,
            copy.id,
            enabled=True,
            sources=["chat"],
            conditions={"all": [{"field": "source", "op": "is", "value": "chat"}]},
        )
        repo.add_workflow_action(copy, SET_PROPERTY, {"property": "priority", "value": "high"})

    await desk.admin(clone)
    server = serve(db_url)
    visitor = Visitor(server)
    visitor.call("start", {"name": "Cleo"})
    assert visitor.call("messages", {"text": "Chat ticket please"})[0] == 200
    await desk.receive_queued(make_mail(subject="Email ticket")[0])
    by_source = {t["source"]: t for t in await tickets(desk, 2)}
    assert by_source["chat"]["priority"] == "high"
    assert by_source["email"]["priority"] == "normal"
    timeline = (await desk.ticket(by_source["chat"]["number"]))["timeline"]
    assert "enrolled" in [e["type"] for e in timeline]
    # the clone's copy of the "Ticket received" action sends no email to a chat (C4)
    lines = await desk.db.query(
        lambda s: chat_store.feed(s, by_source["chat"]["origin_conversation"])
    )
    assert [line.mine for line in lines] == [True]
    assert all(o["to"] != [by_source["chat"]["contact"]] for o in await desk.outbox())
    await desk.db.close()


async def test_a_rep_is_online_only_with_a_live_session_and_not_away(tmp_path: Path) -> None:
    """C6: online = a user of the channel's team has an app session (presence) and is not
    away, within the hours."""
    desk = await chat_desk(sqlite_url(tmp_path), online=False)
    cid = await desk.read(lambda repo: repo.channel_by_name("chat").id)

    async def online() -> bool:
        return (await desk.read(lambda repo: chat.availability(repo, cid))).online

    assert not await online()
    await beat(desk)
    assert await online()

    def away(repo: Any) -> None:
        repo.user_by_name("rita").away = True

    await desk.store(away)
    assert not await online()
    await desk.db.close()
