"""Snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot; SPEC §5).

Relative ages are frozen and times shown in UTC, and the mail has fixed dates, so a snapshot
changes only when what the screen draws changes. Update with `bash tests/run --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from textual.widgets import TextArea

import widgets.text
from automation import admin
from storage.database import Database
from tests.app_helpers import make_app, ready
from tests.helpers import Desk

SIZES = [(80, 24), (120, 40)]
MAIL = [
    (
        "Ana Kowalska",
        "ana@kowalska.example",
        "Cannot log in after password reset",
        "Hi,\n\nsince this morning the login page says my password is wrong.\n\nAna\n\n"
        "On Mon, 2 Nov 2026 at 09:00, Support wrote:\n> Your password was reset.\n> Regards",
    ),
    (
        "Ben Okafor",
        "ben@okafor.example",
        "Invoice 2026-114 shows the wrong VAT",
        "The invoice applies 23% VAT but we are registered in Germany.",
    ),
    (
        "Chloé Martin",
        "chloe@martin.example",
        "[bold red]Export[/] to CSV is empty",
        "The export only has the header row.",
    ),
]


def _raw(n: int, name: str, address: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{address}>"
    msg["To"] = "support@help.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 2, 9, n * 7, tzinfo=UTC))
    msg["Message-ID"] = f"<snap{n}@{address.split('@')[1]}>"
    msg.set_content(body)
    return bytes(msg)


async def _build(path: Path) -> None:
    desk = await Desk.create(Database(f"sqlite+aiosqlite:///{path}"), received=False)
    # The mail is dated 2026-11-02: not old mail, whenever the snapshots are taken.
    await desk.admin(lambda repo, me: admin.set_old_mail_hours(repo, me, 24 * 365 * 10))
    for n, mail in enumerate(MAIL):
        await desk.receive(_raw(n, *mail))
    await desk.reply(1, "Hi Ana, I reset your session. Please try again.")
    await desk.db.run(_closed_branch)
    await desk.db.run(_freeze_times)
    await desk.db.close()


def _closed_branch(repo) -> None:
    """A branch in Closed's workflow, so the settings and the editor show a nested flow."""
    me = repo.user_by_name("admin")
    closed = {"pipeline_name": None, "status_label": "Closed"}
    urgent = {"field": "priority", "op": "is", "value": "urgent"}
    branch = admin.add_action(repo, me, **closed, kind="branch", condition=urgent).id
    note = admin.add_action(
        repo, me, **closed, kind="add_note", into=(branch, "yes"), message="Call the customer"
    )
    admin.comment_action(repo, me, note.id, "Ben asked for this after the outage")


def _freeze_times(repo) -> None:
    """Every time the screens show, set to a fixed moment (row ids keep the order)."""
    fixed = "2026-11-02 12:00:00.000000"
    statements = [
        "UPDATE timeline_events SET at = :t",
        "UPDATE tickets SET created_at = :t, updated_at = :t",
        "UPDATE conversations SET updated_at = :t",
        "UPDATE messages SET sent_at = :t WHERE direction != 'inbound'",
        "UPDATE outbox SET created_at = :t",
    ]
    for statement in statements:
        repo.session.execute(text(statement), {"t": fixed})


@pytest.fixture
def desk_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(widgets.text, "clock", lambda: datetime(2026, 11, 1, tzinfo=UTC))
    path = tmp_path / "desk.db"
    asyncio.run(_build(path))
    return path


def _app(path: Path, user: str = "rita"):
    # The help screen names the keymap file: one path in every run (none is there).
    keys = Path("/nonexistent/deskline/keys.toml")
    return make_app(path, as_user=user, live_interval=3600, keymap_file=keys)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "keys",
    [
        pytest.param([], id="inbox"),
        pytest.param(["j", "j"], id="inbox-reading"),
        pytest.param(["2"], id="board"),
        pytest.param(["j", "j", "t"], id="ticket"),
        pytest.param(["j", "j", "t", "v"], id="timeline"),
        pytest.param(["r"], id="composer"),
        pytest.param(["question_mark"], id="help"),
        pytest.param(["3"], id="settings-rep"),
        pytest.param(["3"], id="settings-admin"),
        pytest.param(["3", "W", "j", "enter"], id="workflows-admin"),
        pytest.param(["T"], id="tasks"),
    ],
)
def test_screen(snap_compare, desk_file, size, keys, request):
    async def run_before(pilot) -> None:
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
            await ready(pilot)
        for area in pilot.app.screen.query(TextArea):
            area.cursor_blink = False  # a blinking cursor would make the snapshot flaky
            # ...and so would a line drawn in a blink's off phase: TextArea's line cache does not
            # tell a hidden cursor from no blinking. Redraw with the cursor shown.
            area.notify_style_update()
            area.refresh()
        await pilot.app.workers.wait_for_complete()  # every screen's reads are on screen
        await pilot.pause(0.3)

    user = "admin" if "admin" in request.node.callspec.id else "rita"
    assert snap_compare(_app(desk_file, user), terminal_size=size, run_before=run_before)
