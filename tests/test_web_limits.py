"""The C5 limits of the web's chat and forms are the desk's settings, changed by an admin (SPEC
C5): `deskline automation limits --form-posts-per-minute N ...` and rows of the settings screen;
a serving process applies a change without a restart. The real server on loopback, the CLI in a
real process, Pilot at 80x24."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.screens.dialogs import PromptScreen
from automation.web_channel_settings import web_limits
from runtime.web.context import WebConfig
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_app_settings import details_text, go_to, open_settings
from tests.test_web_forms import desk, fields, form_path, stored
from tests.web_helpers import web

__all__ = ["desk", "web"]  # fixtures used below


async def deskline(url: str, *args: str, user: str = "admin", ok: bool = True) -> str:
    """`deskline ARGS` run by `user` in a real process: its stdout (or stderr when it fails)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "--db",
        url,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DESKLINE_USER": user},
    )
    out, err = await proc.communicate()
    assert (proc.returncode == 0) == ok, (out.decode(), err.decode())
    return out.decode() if ok else err.decode()


async def test_an_admin_lowers_the_form_posts_a_minute_and_the_running_server_answers_429_c5(
    desk: Desk, web: Callable
) -> None:
    """C5: the server started with the SPEC's 10 posts a minute; `automation limits
    --form-posts-per-minute 2` makes the third post of a minute a 429, nothing stored."""
    server = web(desk.db.url, WebConfig(limits_refresh_seconds=1.0))
    path = await form_path(desk)
    assert server.post_form(path, fields(server, path)).status == 200  # limits read: 10
    out = await deskline(desk.db.url, "automation", "limits", "--form-posts-per-minute", "2")
    assert "web: 2 form posts a minute per address" in out
    server.clock.advance(61)  # past the minute and the limits' refresh
    ready = [fields(server, path, subject=f"Post {n}") for n in range(3)]
    answers = [server.post_form(path, filled) for filled in ready]
    assert [a.status for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60
    assert await stored(desk) == (3, 3)


async def test_an_admin_sets_the_forms_minimum_fill_time_c5(desk: Desk, web: Callable) -> None:
    """C5's minimum fill time (3 s) is a setting: at 10 s a form sent after 3.5 s is shown
    again, nothing stored; after 10 s it is taken."""
    await deskline(desk.db.url, "automation", "limits", "--form-min-fill-seconds", "10")
    server = web(desk.db.url)
    path = await form_path(desk)
    quick = server.post_form(path, fields(server, path))  # 3.5 s after its page
    assert quick.status == 400 and "That was quick" in quick.text
    assert await stored(desk) == (0, 0)
    filled = fields(server, path)
    server.clock.advance(7)
    assert server.post_form(path, filled).status == 200
    assert await stored(desk) == (1, 1)


async def test_a_rep_and_a_bad_value_are_refused_with_one_line_c5(desk: Desk) -> None:
    url = desk.db.url
    err = await deskline(
        url, "automation", "limits", "--chat-messages-per-minute", "5", user="rita", ok=False
    )
    assert len(err.strip().splitlines()) == 1 and "admin" in err, err
    for option, value, says in (
        ("--chat-message-bytes", "5", "bytes of a chat message is between 100 and 1,000,000"),
        ("--form-posts-per-minute", "0", "form posts a minute per address is between 1"),
    ):
        err = await deskline(url, "automation", "limits", option, value, ok=False)
        assert len(err.strip().splitlines()) == 1 and says in err, err
    assert await desk.db.run(web_limits) == {
        "form_posts_per_minute": 10,
        "form_message_bytes": 100_000,
        "form_min_fill_seconds": 3,
        "chat_new_per_minute": 5,
        "chat_messages_per_minute": 30,
        "chat_message_bytes": 10_000,
    }
    await deskline(url, "automation", "limits", "--chat-new-per-minute", "3")
    listed = await deskline(url, "automation", "limits", "--json")
    assert '"chat_new_per_minute": 3' in listed
    audited = await desk.db.run(
        lambda repo: [
            c.actor_name for c in repo.settings_changes() if c.object_key == "chat_new_per_minute"
        ]
    )
    assert len(audited) == 1 and audited[0]  # the settings audit names who changed it (S11)


async def test_the_web_limits_are_rows_of_the_settings_screen_at_80x24_c5(tmp_path: Path) -> None:
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        keys = [r.key for r in screen.items if r.kind == "web_limit"]
        assert keys == [
            "limit:form_posts_per_minute",
            "limit:form_message_bytes",
            "limit:form_min_fill_seconds",
            "limit:chat_new_per_minute",
            "limit:chat_messages_per_minute",
            "limit:chat_message_bytes",
        ]
        await go_to(pilot, screen, "limit:chat_messages_per_minute")
        assert "Chat messages 30 a minute per visitor" in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"12", "enter")
        await wait_for_async(pilot, lambda: _is(desk, "chat_messages_per_minute", 12))
        await wait_for(pilot, lambda: "Chat messages 12 a minute" in screen_text(app))
        await go_to(pilot, screen, "limit:form_posts_per_minute")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"0", "enter")
        await wait_for(
            pilot, lambda: any("between 1 and" in str(n.message) for n in app._notifications)
        )
        assert all(len(line) <= 80 for line in screen_text(app).splitlines())
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, "limit:chat_messages_per_minute")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PromptScreen)
        assert "12 a minute per visitor" in details_text(screen)
    await desk.db.close()


async def _is(desk: Any, key: str, value: int) -> bool:
    return bool(await desk.db.run(lambda repo: web_limits(repo)[key] == value))


# --- counted in the database: every serving process of the desk shares them -------------------


async def test_two_serving_processes_on_one_desk_share_the_form_posts_limit_c5(
    desk: Desk, web: Callable
) -> None:
    """C5 with two `serve --http` on one database (here two servers, each its own desk and
    event loop): 10 posts a minute per address in all, not 10 each; nothing stored over it."""
    first, second = web(desk.db.url), web(desk.db.url)
    path = await form_path(desk)
    ready = [
        (server, fields(server, path, subject=f"Post {n}"))
        for n, server in enumerate([first, second] * 6)
    ]
    answers = [server.post_form(path, filled).status for server, filled in ready]
    assert answers == [200] * 10 + [429] * 2
    assert await stored(desk) == (10, 10)


async def test_the_counts_are_one_row_per_key_and_windows_past_are_pruned_c5(desk: Desk) -> None:
    from storage import rate_counts

    def hits(session: Any, key: str, now: float) -> tuple[int, float]:
        return rate_counts.hit(session, key, now, 60.0)

    async def hit(key: str, now: float) -> tuple[int, float]:
        return await desk.db.run(lambda repo: hits(repo.session, key, now))

    assert await hit("form posts:10.0.0.1", 1000.0) == (1, 1000.0)
    assert await hit("form posts:10.0.0.1", 1030.0) == (2, 1000.0)
    assert await hit("form posts:10.0.0.2", 1030.0) == (1, 1030.0)
    assert await hit("form posts:10.0.0.1", 1060.0) == (1, 1060.0)  # a new window
    await hit("form token:ab", 1000.0)  # another prefix: kept by the form posts' pruning
    pruned = await desk.db.run(
        lambda repo: rate_counts.prune(repo.session, 1095.0, 60.0, "form posts:")
    )
    assert pruned == 1  # 10.0.0.2's window (1030) is over; 10.0.0.1's (1060) is not
    assert await hit("form posts:10.0.0.1", 1070.0) == (2, 1060.0)


async def test_a_form_token_is_spent_at_every_serving_process_of_the_desk_c5(
    desk: Desk, web: Callable
) -> None:
    """C5: the same filled form (one CSRF token) posted to two serving processes, twice to
    each: one ticket; the repeats are refused as an expired form and store nothing."""
    first, second = web(desk.db.url), web(desk.db.url)
    path = await form_path(desk)
    filled = fields(first, path)
    second.clock.advance(first.clock.offset.total_seconds())  # its fill time is past too
    answers = [server.post_form(path, filled).status for server in (first, second, second, first)]
    assert answers == [200, 403, 403, 403]
    assert await stored(desk) == (1, 1)
    other = fields(second, path, subject="Another")  # a new page: its own token
    assert second.post_form(path, other).status == 200
    assert await stored(desk) == (2, 2)
