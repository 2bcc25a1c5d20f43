"""The form channel on the web (SPEC C1, C2, C5): the real server on loopback, posts as a browser
without JavaScript sends them, and a real headless Chromium (tests/web_helpers.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from automation import admin, forms, web_channel_settings
from automation.web_channel_settings import LIMIT_DEFAULTS
from runtime.standard import SUPPORT
from runtime.web.context import WebConfig
from runtime.worker import Worker
from storage import models as m
from storage.database import Database
from tests.helpers import Desk
from tests.servers.smtp import SmtpServer, smtp_server
from tests.web_helpers import MovableClock, WebServer, browser, browser_without_js, web

__all__ = ["browser", "browser_without_js", "smtp_server", "web"]  # fixtures used below

XSS = "<img src=x onerror=alert(1)>"
MIN_FILL = LIMIT_DEFAULTS["form_min_fill_seconds"]  # C5: a form sent sooner is a robot's
CUSTOMER = "dana@customer.example"


@pytest_asyncio.fixture
async def desk(db: Database) -> Desk:
    """The standard desk ("Ticket received" on New) plus a form channel `web` that replies
    through the email channel `support`."""
    desk = await Desk.create(db)
    await desk.admin(
        lambda repo, user: admin.add_channel(
            repo,
            user,
            name="web",
            kind="form",
            address=None,
            pipeline_name=None,
            ticket_automation=True,
        )
    )
    await desk.admin(
        lambda repo, user: forms.set_form_channel(
            repo, user, "web", reply_through="support", origins=["https://www.shop.example"]
        )
    )
    return desk


async def form_path(desk: Desk) -> str:
    channel_id = await desk.store(lambda repo: admin.channel_named(repo, "web").id)
    return f"/form/{channel_id}"


def token_of(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def fields(server: WebServer, path: str, **given: str) -> dict[str, str]:
    """A filled form with a fresh token, its minimum fill time already past (C5)."""
    page = server.get(path)
    assert page.status == 200
    server.clock.advance(forms_fill_seconds(server))
    return {
        "token": token_of(page.text),
        "name": "Dana Scully",
        "email": CUSTOMER,
        "subject": "My order 4711",
        "message": "It arrived broken.",
        "website": "",
        **given,
    }


def forms_fill_seconds(server: WebServer) -> float:
    return MIN_FILL + 0.5


async def stored(desk: Desk) -> tuple[int, int]:
    """(conversations, tickets) on the desk."""

    def count(session: Any) -> tuple[int, int]:
        from sqlalchemy import func, select

        return (
            session.scalar(select(func.count()).select_from(m.Conversation)),
            session.scalar(select(func.count()).select_from(m.Ticket)),
        )

    return await desk.query(count)


# --- the page (C1) -----------------------------------------------------------------------------


async def test_form_page_is_our_own_with_a_strict_policy_c1(desk: Desk, web: Callable) -> None:
    """C1: no script, no inline style, nothing from another site; the policy says so; only
    'self' and the channel's listed sites may embed it."""
    server = web(desk.db.url)
    page = server.get(await form_path(desk))
    assert page.status == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'self' https://www.shop.example" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    assert re.findall(r'(?:href|src)="([^"]+)"', page.text) == ["/static/deskline.css"]
    assert 'enctype="multipart/form-data"' in page.text  # a plain form: no JavaScript needed
    css = server.get("/static/deskline.css")
    assert css.status == 200 and "frame-ancestors 'none'" in css.headers["content-security-policy"]
    assert server.get("/form/999").status == 404
    support_id = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    assert server.get(f"/form/{support_id}").status == 404  # an email channel has no form


# --- a submission (C2, R-C1) -------------------------------------------------------------------


async def test_a_submission_opens_a_form_ticket_and_its_ack_goes_through_email_c2(
    desk: Desk, web: Callable
) -> None:
    """C2 + R-C1: the post is an inbound message on the form channel, a new conversation with
    source form and a ticket in New, and "Ticket received" is queued through `support`."""
    server = web(desk.db.url)
    path = await form_path(desk)
    answer = server.post_form(path, fields(server, path))
    assert answer.status == 200, answer.text
    assert "Thank you" in answer.text
    [ticket] = await desk.tickets()
    assert (ticket["number"], ticket["source"], ticket["status"]) == (1, "form", "New")
    detail = await desk.ticket(1)
    assert detail["ticket"]["contact"] == CUSTOMER
    [ack] = await desk.outbox()
    assert ack["template"] == "Ticket received"
    raw = (await desk.outbox_raw(ack["id"])).decode()
    assert f"To: Dana Scully <{CUSTOMER}>" in raw
    assert f"From: support <{SUPPORT}>" in raw  # the form replies through support
    summaries = [e["summary"] for e in detail["timeline"]]
    assert any(s.startswith("Form: My order 4711") for s in summaries), summaries

    # C2: a subject naming that ticket never threads: a new conversation, a new ticket
    again = server.post_form(path, fields(server, path, subject="Re: [#1] My order 4711"))
    assert again.status == 200
    assert sorted(t["number"] for t in await desk.tickets()) == [1, 2]
    assert await stored(desk) == (2, 2)


async def test_without_a_reply_channel_no_email_and_the_timeline_says_why_c2(
    desk: Desk, web: Callable
) -> None:
    await desk.admin(
        lambda repo, user: forms.set_form_channel(repo, user, "web", reply_through="-")
    )
    server = web(desk.db.url)
    path = await form_path(desk)
    assert server.post_form(path, fields(server, path)).status == 200
    assert [t["number"] for t in await desk.tickets()] == [1]
    assert await desk.outbox() == []
    timeline = " | ".join(e["summary"] for e in (await desk.ticket(1))["timeline"])
    assert "names no email channel to reply through" in timeline


# --- against robots and floods (C5) ------------------------------------------------------------


async def test_without_a_valid_csrf_token_the_post_is_refused_c5(desk: Desk, web: Callable) -> None:
    server = web(desk.db.url)
    path = await form_path(desk)
    filled = fields(server, path)
    del filled["token"]
    assert server.post_form(path, filled).status == 403
    assert server.post_form(path, {**filled, "token": "forged"}).status == 403
    good = fields(server, path)
    assert server.post_form(path, good).status == 200
    assert server.post_form(path, good).status == 403  # a token is spent by one submission
    assert await stored(desk) == (1, 1)


async def test_a_form_opened_before_a_restart_is_taken_after_it_c5(
    desk: Desk, web: Callable
) -> None:
    """The CSRF token is stateless and signed with a host-local key: a restarted server (or
    another serving process of the host) takes the token of a page the first one issued."""
    first = web(desk.db.url)
    path = await form_path(desk)
    filled = fields(first, path)
    first.stop()
    second = web(desk.db.url)
    second.clock.advance(forms_fill_seconds(second))
    assert second.post_form(path, filled).status == 200
    assert await stored(desk) == (1, 1)
    # a day later the token has expired, whoever serves
    late = fields(second, path)
    second.clock.advance(second.config.form_lifetime_seconds)
    assert second.post_form(path, late).status == 403
    assert await stored(desk) == (1, 1)


async def test_the_form_key_is_host_local_0600_and_never_in_the_database_c5(
    desk: Desk, web: Callable, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from runtime.web.form_tokens import KeyFileError, load_key

    key_file = tmp_path / "keys" / "web_form_key"
    server = web(desk.db.url, WebConfig(key_file=key_file))
    path = await form_path(desk)
    assert server.post_form(path, fields(server, path)).status == 200
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent.stat().st_mode & 0o077 == 0
    key_text = key_file.read_text().strip()
    settings = await desk.db.query(lambda s: [str(v) for v in s.scalars(select(m.Setting.value))])
    assert not any(key_text in value for value in settings)
    assert load_key(key_file) == load_key(key_file)  # read again, not made anew
    key_file.chmod(0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(key_file)


async def test_a_post_from_another_sites_page_is_refused_c5(desk: Desk, web: Callable) -> None:
    server = web(desk.db.url)
    path = await form_path(desk)
    answer = server.post_form(path, fields(server, path), {"Origin": "https://evil.example"})
    assert answer.status == 403
    assert await stored(desk) == (0, 0)


async def test_a_filled_honeypot_looks_accepted_and_stores_nothing_c5(
    desk: Desk, web: Callable
) -> None:
    server = web(desk.db.url)
    path = await form_path(desk)
    answer = server.post_form(path, fields(server, path, website="http://spam.example"))
    assert answer.status == 200 and "Thank you" in answer.text
    assert await stored(desk) == (0, 0)


async def test_a_form_sent_before_the_minimum_fill_time_is_shown_again_c5(
    desk: Desk, web: Callable
) -> None:
    server = web(desk.db.url)
    path = await form_path(desk)
    page = server.get(path)
    filled = {"token": token_of(page.text), "email": CUSTOMER, "message": "hi", "name": "Dana"}
    server.clock.advance(MIN_FILL - 1)
    answer = server.post_form(path, filled)
    assert answer.status == 400 and "That was quick" in answer.text
    assert 'value="Dana"' in answer.text  # what was typed is kept
    assert await stored(desk) == (0, 0)
    server.clock.advance(forms_fill_seconds(server))  # the new page, its own fill time
    assert server.post_form(path, {**filled, "token": token_of(answer.text)}).status == 200
    assert await stored(desk) == (1, 1)


async def test_a_burst_of_posts_gets_429_and_nothing_is_stored_c5(
    desk: Desk, web: Callable
) -> None:
    """C5: 10 posts a minute per address; the 11th: 429 with Retry-After, nothing stored."""
    server = web(desk.db.url)
    path = await form_path(desk)
    ready = [fields(server, path, subject=f"Burst {n}") for n in range(12)]
    answers = [server.post_form(path, filled) for filled in ready]
    assert [a.status for a in answers] == [200] * 10 + [429] * 2
    assert 1 <= int(answers[10].headers["retry-after"]) <= 60
    # shown where the form was: the listed site's iframe may show the refusal too
    assert "https://www.shop.example" in answers[10].headers["content-security-policy"]
    assert await stored(desk) == (10, 10)
    server.clock.advance(61)
    assert server.post_form(path, fields(server, path)).status == 200
    assert await stored(desk) == (11, 11)


async def test_a_message_over_100_kb_and_a_bad_address_are_refused_c5(
    desk: Desk, web: Callable
) -> None:
    server = web(desk.db.url)
    path = await form_path(desk)
    big = server.post_form(path, fields(server, path, message="x" * 100_001))
    assert big.status == 400 and "too long" in big.text
    bad = server.post_form(path, fields(server, path, email="dana@"))
    assert bad.status == 400 and "email address" in bad.text
    assert await stored(desk) == (0, 0)


# --- in a real browser -------------------------------------------------------------------------


def _fill_and_send(browser: Any, server: WebServer, path: str, **values: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + path)
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear() if name != "file" else None
        field.send_keys(value)
    server.clock.advance(MIN_FILL + 0.5)
    _send(browser)


def _send(browser: Any, title: str = "Thank you") -> None:
    """Click Send and wait for the answer's page (a click does not wait for the navigation)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def arrived(driver: Any) -> bool:
        return any(h.text.startswith(title) for h in driver.find_elements(By.TAG_NAME, "h1"))

    browser.find_element(By.ID, "send").click()
    # the old page's headings go stale while the answer loads: look again
    WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException]).until(arrived)


@pytest.mark.sqlite_only
async def test_in_chromium_a_form_becomes_a_ticket_and_its_ack_reaches_smtp(
    desk: Desk, web: Callable, browser: Any, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The form page in Chromium (no script on it), a file attached: the ticket, the file on its
    message, and "Ticket received" delivered to the test SMTP server through `support`."""
    from selenium.webdriver.common.by import By

    await desk.admin(
        lambda repo, user: admin.set_channel_mail(
            repo,
            user,
            "support",
            smtp_host="127.0.0.1",
            smtp_port=smtp_server.port,
            smtp_tls="none",
        )
    )
    server = web(desk.db.url)
    path = await form_path(desk)
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("order 4711, paid\n")
    _fill_and_send(
        browser,
        server,
        path,
        name="Dana Scully",
        email=CUSTOMER,
        subject="Broken on arrival",
        message="The box was crushed.\nPhotos to follow.",
        file=str(receipt),
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "Thank you, Dana Scully"
    [ticket] = await desk.tickets()
    assert (ticket["source"], ticket["subject"]) == ("form", "Broken on arrival")
    attachments = await desk.query(
        lambda s: [(a.filename, a.size) for a in s.query(m.Attachment).all()]
    )
    assert attachments == [("receipt.txt", len("order 4711, paid\n"))]
    summary = await Worker(desk).run_once()
    assert summary.delivery.sent == 1
    [mail] = smtp_server.received
    assert mail.rcpt_to == [CUSTOMER]
    assert b"[#1]" in mail.data and f"From: support <{SUPPORT}>".encode() in mail.data


@pytest.mark.sqlite_only
async def test_markup_in_a_name_or_message_is_text_in_the_browser_tui_and_cli(
    desk: Desk, web: Callable, browser: Any, tmp_path: Path
) -> None:
    """An `<img onerror>` typed into the form is shown literally: on the confirmation page
    Chromium renders, in the terminal app (Pilot) and in `deskline ticket show`."""
    from selenium.webdriver.common.by import By

    server = web(desk.db.url)
    path = await form_path(desk)
    _fill_and_send(
        browser,
        server,
        path,
        name=f"Eve {XSS}",
        email="eve@customer.example",
        subject=f"Hello {XSS}",
        message=f"Look: {XSS}",
    )
    assert browser.find_element(By.ID, "thanks-name").text == f"Eve {XSS}"
    assert browser.find_element(By.ID, "thanks-message").text == f"Look: {XSS}"
    assert browser.find_elements(By.TAG_NAME, "img") == []
    [ticket] = await desk.tickets()
    assert ticket["subject"] == f"Hello {XSS}"

    listed = await _cli(desk.db.url, "conversations")
    assert f"Hello {XSS}" in listed
    shown = json.loads(await _cli(desk.db.url, "ticket", "show", "1", "--json"))
    assert shown["ticket"]["contact_name"] == f"Eve {XSS}"
    first = shown["conversations"][0]["messages"][0]
    assert (first["from_name"], first["text"]) == (f"Eve {XSS}", f"Look: {XSS}\n")

    from tests.app_helpers import make_app, ready, screen_text, wait_for

    db_path = Path(desk.db.url.split(":///", 1)[1])
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "Hello <img src=x" in screen_text(app), what="the subject")
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"Look: {XSS}" in screen_text(app), what="the message")


async def _cli(url: str, *args: str, ok: bool = True) -> str:
    """`deskline ARGS` as the admin would run it, in a real process: its stdout (or stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "--db",
        url,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DESKLINE_USER": "admin"},
    )
    out, err = await proc.communicate()
    assert (proc.returncode == 0) == ok, err.decode()
    return out.decode() if ok else err.decode()


@pytest.mark.sqlite_only
async def test_channel_list_shows_the_forms_address_and_channel_set_checks_c1(
    desk: Desk,
) -> None:
    """C1: `channel list` shows the form's page and the channel it replies through; `channel
    set` refuses a reply channel that is not an email channel and an origin with a path."""
    await _cli(desk.db.url, "channel", "add", "help chat", "--kind", "chat")
    out = await _cli(desk.db.url, "channel", "list")
    path = await form_path(desk)
    assert f"{path} (replies via support)" in out
    assert "/chat/help%20chat" in out  # the chat page's path, as runtime.web.chat serves it
    listed = await _cli(desk.db.url, "channel", "list", "--json")
    assert '"origins": [\n        "https://www.shop.example"\n      ]' in listed
    bad = await _cli(desk.db.url, "channel", "set", "web", "--reply-through", "web", ok=False)
    assert "a form replies through an email channel" in bad
    bad = await _cli(
        desk.db.url, "channel", "set", "web", "--origins", "https://a.example/x", ok=False
    )
    assert "an origin is scheme://host[:port]" in bad
    await _cli(desk.db.url, "channel", "set", "web", "--reply-through", "-", "--origins", "")
    assert f"{path} (no email replies)" in await _cli(desk.db.url, "channel", "list")


# --- deskline serve --http (C1) ----------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_serve_http_serves_the_form_pages_in_a_process_of_their_own_c1(desk: Desk) -> None:
    """C1: `serve --http ADDR` (here with --no-ssh: no host key needed) answers the form page
    on that address; SIGTERM stops it and its web process; --no-ssh alone is refused."""
    refused = await _cli(desk.db.url, "serve", "--no-ssh", ok=False)
    assert "--no-ssh leaves nothing to serve" in refused
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "--db",
        desk.db.url,
        "serve",
        "--http",
        "127.0.0.1:0",
        "--no-ssh",
        "--no-mail",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        said = ""
        while "Web pages:" not in said:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, (said, await proc.stderr.read() if proc.stderr else b"")
            said += line.decode()
        url = re.search(r"Web pages: (http://127\.0\.0\.1:\d+)", said)
        assert url, said
        page = await asyncio.to_thread(
            WebServer(url.group(1), WebConfig(), MovableClock()).get, await form_path(desk)
        )
        assert page.status == 200 and 'name="token"' in page.text
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


@pytest.mark.sqlite_only
async def test_in_chromium_the_form_embeds_only_in_listed_sites_c5(
    desk: Desk, web: Callable, browser: Any
) -> None:
    """The README's snippet (an iframe of /form/ID?embed=1) on a listed site's page works and
    its submission opens a ticket; on a page of a site not listed, the browser refuses to show
    the form (frame-ancestors)."""
    from selenium.webdriver.common.by import By

    server = web(desk.db.url)
    path = await form_path(desk)
    with _site(f'<iframe id="desk" src="{server.url}{path}?embed=1"></iframe>') as site:
        browser.get(site)
        browser.switch_to.frame(browser.find_element(By.ID, "desk"))
        assert browser.find_elements(By.NAME, "message") == []  # not listed: not shown
        browser.switch_to.default_content()
        origin = site.rsplit("/", 1)[0]
        await desk.admin(
            lambda repo, user: forms.set_form_channel(repo, user, "web", origins=[origin])
        )
        browser.get(site)
        browser.switch_to.frame(browser.find_element(By.ID, "desk"))
        browser.find_element(By.NAME, "email").send_keys(CUSTOMER)
        browser.find_element(By.NAME, "message").send_keys("From the shop's page.")
        server.clock.advance(MIN_FILL + 0.5)
        _send(browser)
        assert browser.find_element(By.TAG_NAME, "h1").text == "Thank you"
        browser.switch_to.default_content()
    [ticket] = await desk.tickets()
    assert (ticket["source"], ticket["subject"]) == ("form", forms.NO_SUBJECT)


@contextmanager
def _site(body: str) -> Iterator[str]:
    """Another site (another origin: its own port) with one page holding `body`."""
    page = f"<!doctype html><html><body>{body}</body></html>".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/shop.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.sqlite_only
async def test_settings_say_where_a_form_lives_and_that_messenger_has_no_transport(
    desk: Desk,
) -> None:
    """C1 in the app: a form channel's settings name its page; messenger says it has no
    transport (it needs Meta's servers)."""
    from tests.app_helpers import make_app
    from tests.test_app_settings import SIZE, details_text, go_to, key_of, open_settings

    await desk.admin(
        lambda repo, user: admin.add_channel(
            repo,
            user,
            name="fb",
            kind="messenger",
            address=None,
            pipeline_name=None,
            ticket_automation=None,
        )
    )
    path = await form_path(desk)
    app = make_app(Path(desk.db.url.split(":///", 1)[1]), as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "channel", {"name": "web"}))
        assert f"Its page is {path} on the address of" in details_text(screen)
        await go_to(pilot, screen, key_of(screen, "channel", {"name": "fb"}))
        assert "Messenger has no transport in Deskline" in details_text(screen)


async def test_behind_a_proxy_each_client_address_has_its_own_budget_c5(
    desk: Desk, web: Callable
) -> None:
    """serve --behind-proxy: the limit counts the address the proxy appended last to
    X-Forwarded-For, whatever a client wrote before it."""
    server = web(desk.db.url, WebConfig(trust_forwarded=True))
    path = await form_path(desk)

    def post(client: str, forged: str = "") -> int:
        chain = f"{forged}, {client}" if forged else client
        return server.post_form(path, fields(server, path), {"X-Forwarded-For": chain}).status

    assert [post("192.0.2.1", forged=f"10.0.0.{n}") for n in range(11)] == [200] * 10 + [429]
    assert post("192.0.2.2") == 200


@pytest.mark.sqlite_only
async def test_in_chromium_without_javascript_the_form_still_sends_c1(
    desk: Desk, web: Callable, browser_without_js: Any
) -> None:
    """C1: the form works without JavaScript (the page has none; here the browser runs none)."""
    from selenium.webdriver.common.by import By

    server = web(desk.db.url)
    path = await form_path(desk)
    browser = browser_without_js
    browser.get("data:text/html,<p id=x></p><script>document.getElementById('x').id='ran'</script>")
    assert browser.find_elements(By.ID, "x") and not browser.find_elements(By.ID, "ran")
    _fill_and_send(browser, server, path, email=CUSTOMER, message="No scripts here.")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Thank you"
    assert await stored(desk) == (1, 1)


async def test_a_body_over_the_mail_limit_or_without_a_length_is_refused_unread_c5(
    desk: Desk, web: Callable
) -> None:
    """D15 + C5: the body's declared length is checked before a byte of it is read (413), and
    a post without one (chunked) is refused (411); nothing is stored."""
    server = web(desk.db.url)
    path = await form_path(desk)
    host, port = server.url.removeprefix("http://").split(":")

    def raw(headers: str) -> str:
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n".encode())
            return conn.recv(200).decode("latin-1")

    assert raw("Content-Length: 30000000\r\nConnection: close\r\n").startswith("HTTP/1.1 413")
    chunked = raw("Transfer-Encoding: chunked\r\nConnection: close\r\n")
    assert chunked.startswith("HTTP/1.1 411")
    assert await stored(desk) == (0, 0)


# --- the submission as mail (automation.forms) -------------------------------------------------


def test_a_submission_cannot_add_headers_and_is_checked_within_d15() -> None:
    """What a visitor types never becomes a header of its own (CR/LF in the name or subject),
    the address is checked, and a file that would take the message over 20,000,000 encoded
    bytes is refused with a sentence for the visitor (D15)."""
    from datetime import UTC, datetime
    from email import message_from_bytes, policy

    now = datetime(2026, 12, 5, tzinfo=UTC)
    sneaky = forms.Submission(
        "Eve\r\nBcc: all@victims.example",
        CUSTOMER,
        "Hi\r\nX-Evil: 1",
        "Hello",
        forms.Upload("../../etc/passwd\r\nX-Evil: 2", "text/plain\r\nX-Evil: 3", b"data"),
    )
    mail = message_from_bytes(
        forms.submission_mail(sneaky, now=now, channel_name="web"), policy=policy.default
    )
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert str(mail["Subject"]) == "Hi X-Evil: 1"
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert "\n" not in (part.get_filename() or "")
    assert forms.check_submission(forms.Submission("", "a@b", "", "x")) == {
        "email": "Please give an email address we can answer (name@example.com)."
    }
    assert forms.check_submission(forms.Submission("", CUSTOMER, "", " ")).keys() == {"message"}
    big = forms.Upload("big.bin", "application/octet-stream", b"\0" * 15_000_000)
    with pytest.raises(ValueError, match="The file is too large"):
        forms.submission_mail(
            forms.Submission("", CUSTOMER, "", "x", big), now=now, channel_name="web"
        )
    # C5: one origin check serves the form and the chat channel (automation.web_channel_settings)
    normalize = web_channel_settings.normalize_origin
    assert normalize("HTTPS://Shop.Example:8443/") == "https://shop.example:8443"
    assert normalize("http://[::1]:8080") == "http://[::1]:8080"
    for bad in (
        "shop.example",
        "ftp://shop.example",
        "https://shop.example/x",
        "https://*.a.b",
        "https://a.b:port",
    ):
        with pytest.raises(admin.SettingsError):
            normalize(bad)
    assert web_channel_settings.origin_allowed(["https://shop.example"], "https://SHOP.example/")
    assert not web_channel_settings.origin_allowed(["https://shop.example"], "http://shop.example")
