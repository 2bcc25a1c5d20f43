"""Old mail imported live mails nobody by surprise (SPEC D1, E1, E8, S10; issue 19 item 1).

A message is old when, as it is stored, the desk's clock is more than `old_mail_hours` past its
Date. Every email it causes, even after a workflow's delay, is held with the reason "old mail";
tickets still open and move. Summaries count the emails queued and held.
"""

from __future__ import annotations

import asyncio
import email
import json
import mailbox
from datetime import UTC, datetime, timedelta
from email import policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.cli.output import print_sync_summary
from automation import admin
from automation.actions import DELAY, SEND_EMAIL
from automation.admin import SettingsError
from automation.importer import ImportSummary, counting_stored_mail, import_paths
from automation.outbound import OLD_MAIL
from runtime.inbound import run_inbound
from runtime.worker import Worker
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.servers.dovecot import DovecotServer
from tests.test_cli import SUPPORT, Cli, desk_cli

MONTH = timedelta(days=30)


def _dated(raw: bytes, when: datetime | None) -> bytes:
    """The mail with another Date (None: without one)."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    del msg["Date"]
    if when is not None:
        msg["Date"] = format_datetime(when)
    return bytes(msg)


def _old_thread(now: datetime, to: str = "support@help.example") -> list[bytes]:
    """A month-old conversation (a question and the customer's follow-up) and another
    month-old question from someone else."""
    first, mid = make_mail(to=to, subject="Broken invoice")
    reply, _ = make_mail(to=to, subject="Re: Broken invoice", in_reply_to=mid, body="Any news?")
    other, _ = make_mail(to=to, sender="dan@customer.example", subject="Refund")
    return [
        _dated(first, now - MONTH),
        _dated(reply, now - MONTH + timedelta(hours=2)),
        _dated(other, now - MONTH + timedelta(hours=3)),
    ]


def _by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: row["id"])


def _states(cli: Cli) -> list[str]:
    return [row["state"] for row in _by_id(cli.outbox())]


def _mbox(path: Path, raws: list[bytes]) -> Path:
    box = mailbox.mbox(path, create=True)
    for raw in raws:
        box.add(raw)
    box.flush()
    return path


async def _import(desk: Desk, path: Path, *, historical: bool = False) -> ImportSummary:
    channel = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    return await import_paths(desk.runner, channel, [path], historical=historical)


async def test_month_old_mbox_imported_live_holds_every_email(db, tmp_path: Path) -> None:
    # D1 + E1: tickets open and move as live mail does; every acknowledgement is held "old mail"
    desk = await Desk.create(db)
    now = await desk.store(lambda repo: repo.now())
    summary = await _import(desk, _mbox(tmp_path / "old.mbox", _old_thread(now)))
    assert (summary.stored, summary.threaded) == (3, 1)
    assert (summary.emails.queued, summary.emails.held) == (0, 2)
    assert summary.as_dict()["emails"] == {"queued": 0, "held": 2}
    tickets = await desk.tickets()
    assert len(tickets) == 2
    assert sorted(t["status"] for t in tickets) == ["New", "Waiting on us"]  # R-T2 still fires
    outbox = _by_id(await desk.outbox())
    assert [(o["template"], o["state"], o["held_reason"]) for o in outbox] == [
        ("Ticket received", "held", OLD_MAIL),
        ("Ticket received", "held", OLD_MAIL),
    ]
    timeline = (await desk.ticket(1))["timeline"]
    received = next(e for e in timeline if e["type"] == "message_received")
    assert "old mail" in received["summary"]
    assert any(e["type"] == "mail_held" and "old mail" in e["summary"] for e in timeline)

    fresh, _ = make_mail(sender="erin@customer.example", subject="Still broken")
    summary = await _import(desk, _mbox(tmp_path / "fresh.mbox", [_dated(fresh, now)]))
    assert (summary.emails.queued, summary.emails.held) == (1, 0)
    assert _by_id(await desk.outbox())[-1]["state"] == "queued"


@pytest.mark.parametrize("when", ["future", "none"])
async def test_mail_dated_in_the_future_or_undated_counts_from_its_arrival(
    db, tmp_path: Path, when: str
) -> None:
    desk = await Desk.create(db)
    now = await desk.store(lambda repo: repo.now())
    raw, _ = make_mail()
    date = now + timedelta(days=40) if when == "future" else None
    summary = await _import(desk, _mbox(tmp_path / "box.mbox", [_dated(raw, date)]))
    assert (summary.emails.queued, summary.emails.held) == (1, 0)


async def test_a_workflow_delay_after_old_mail_still_holds(db, tmp_path: Path) -> None:
    # D1 + E8: the delayed step keeps its outside event, the old message
    desk = await Desk.create(db, received=False, closed=False)

    def delayed_ack(repo: Any, me: Any) -> None:
        new = {"pipeline_name": None, "status_label": "New"}
        admin.add_action(repo, me, **new, kind=DELAY, value="1h")
        admin.add_action(repo, me, **new, kind=SEND_EMAIL, template_name="Ticket received")

    await desk.admin(delayed_ack)
    now = await desk.store(lambda repo: repo.now())
    old = _old_thread(now)[2]
    fresh, _ = make_mail(sender="erin@customer.example", subject="Still broken")
    summary = await _import(desk, _mbox(tmp_path / "box.mbox", [old, _dated(fresh, now)]))
    assert (summary.emails.queued, summary.emails.held) == (0, 0)  # both wait for the delay
    assert await desk.outbox() == []
    await db.run(_all_steps_due)
    await desk.drain()
    states = {o["ticket"]: (o["state"], o["held_reason"]) for o in await desk.outbox()}
    assert states == {1: ("held", OLD_MAIL), 2: ("queued", None)}


def _all_steps_due(repo: Any) -> None:
    repo.session.execute(
        text("UPDATE scheduled_steps SET due_at = :t"), {"t": repo.now() - timedelta(minutes=1)}
    )


async def test_historical_import_still_queues_nothing(db, tmp_path: Path) -> None:
    # E1: --historical stores and threads, and causes no email at all
    desk = await Desk.create(db)
    now = await desk.store(lambda repo: repo.now())
    summary = await _import(desk, _mbox(tmp_path / "old.mbox", _old_thread(now)), historical=True)
    assert summary.stored == 3
    assert (summary.emails.queued, summary.emails.held) == (0, 0)
    assert await desk.outbox() == []


async def test_old_is_measured_on_the_desks_clock(db_url: str, tmp_path: Path) -> None:
    # D1: a replay stores mail at its own time, so a month-old message is fresh to it
    sent = datetime.now(UTC) - MONTH
    replay = Database(db_url, clock=lambda: sent + timedelta(hours=5))
    try:
        desk = await Desk.create(replay)
        raw, _ = make_mail()
        summary = await _import(desk, _mbox(tmp_path / "box.mbox", [_dated(raw, sent)]))
        assert (summary.emails.queued, summary.emails.held) == (1, 0)
    finally:
        await replay.close()


async def test_sync_once_counts_the_emails_its_mail_queued_and_held(
    db, imap_server: DovecotServer, imap_folder: str, monkeypatch, capsys
) -> None:
    # D1 on the IMAP path: `deskline sync --once` says what the fetched mail queued and held
    desk = await Desk.create(db)
    monkeypatch.setenv("DESKLINE_TEST_IMAP_PASSWORD", imap_server.password)

    def configure(repo: Any) -> None:
        channel = admin.channel_named(repo, "support")
        channel.imap_host, channel.imap_port = imap_server.host, imap_server.port
        channel.imap_tls, channel.imap_user = "none", imap_server.user
        channel.imap_folder, channel.imap_secret = imap_folder, "env:DESKLINE_TEST_IMAP_PASSWORD"

    await desk.store(configure)
    now = await desk.store(lambda repo: repo.now())
    fresh, _ = make_mail(sender="erin@customer.example", subject="Still broken")
    await asyncio.to_thread(imap_server.append, imap_folder, _old_thread(now)[2], fresh)
    with counting_stored_mail() as emails:
        summary = await Worker(desk, inbound=run_inbound).run_once()
    assert summary.received == 2
    assert (emails.queued, emails.held) == (1, 1)
    print_sync_summary(summary, emails)
    out = capsys.readouterr().out
    assert "Emails the received mail caused: 1 queued, 1 held (review them: deskline held)" in out


async def test_the_threshold_is_a_setting_only_admins_change(db, tmp_path: Path) -> None:
    desk = await Desk.create(db)
    for bad in (0, -5, 24 * 365 * 11):
        with pytest.raises(SettingsError):
            await desk.admin(lambda repo, me, hours=bad: admin.set_old_mail_hours(repo, me, hours))
    with pytest.raises(SettingsError, match="not an admin"):
        await desk.as_user("rita", lambda repo, me: admin.set_old_mail_hours(repo, me, 48))
    await desk.admin(lambda repo, me: admin.set_old_mail_hours(repo, me, 24 * 60))
    now = await desk.store(lambda repo: repo.now())
    summary = await _import(desk, _mbox(tmp_path / "old.mbox", _old_thread(now)))
    assert (summary.emails.queued, summary.emails.held) == (2, 0)  # 30 days < 60 days


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return desk_cli(tmp_path)


def _write_mbox(cli: Cli, name: str, raws: list[bytes]) -> str:
    return str(_mbox(cli.mail / name, raws))


@pytest.mark.sqlite_only
def test_cli_import_summary_counts_queued_and_held_mail(cli: Cli) -> None:
    now = datetime.now(UTC)
    old = _write_mbox(cli, "old.mbox", _old_thread(now, to=SUPPORT))
    out = cli.run("import", old, "--channel", "support").stdout
    assert "3 stored" in out
    assert "Emails it caused: 0 queued, 2 held (review them: deskline held)" in out
    fresh, _ = make_mail(to=SUPPORT, sender="erin@customer.example", subject="Still broken")
    summary = cli.json("import", _write_mbox(cli, "fresh.mbox", [fresh]), "--channel", "support")
    assert summary["emails"] == {"queued": 1, "held": 0}
    assert _states(cli) == ["held", "held", "queued"]


@pytest.mark.sqlite_only
def test_cli_held_release_by_reason_is_an_admins_and_drop_anyones(cli: Cli) -> None:
    # S10: releasing safety-held mail is an admin's decision; dropping is anyone's
    now = datetime.now(UTC)
    cli.run(
        "import", _write_mbox(cli, "old.mbox", _old_thread(now, to=SUPPORT)), "--channel", "support"
    )
    refused = cli.run("held", "release", "--all", "--reason", "old mail", "--as", "rita", ok=False)
    assert refused.returncode == 1
    assert "only an admin releases" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _states(cli) == ["held", "held"]  # nothing released
    single = cli.run("held", "release", "1", "--as", "rita", ok=False)
    assert "only an admin releases" in single.stderr
    none = cli.run("held", "release", "--all", "--reason", "loop protection").stdout
    assert "No held email with the reason “loop protection”" in none
    out = cli.run("held", "release", "--all", "--reason", "Old Mail").stdout
    assert "2 emails with the reason “Old Mail” released" in out
    assert _states(cli) == ["queued", "queued"]
    released = [e for e in cli.ticket(1)["timeline"] if "released by admin" in e["summary"]]
    assert len(released) == 1 and released[0]["data"]["held_reason"] == OLD_MAIL

    later = _old_thread(now - MONTH, to=SUPPORT)[2]
    cli.run("import", _write_mbox(cli, "older.mbox", [later]), "--channel", "support")
    out = cli.run("held", "drop", "--all", "--reason", "old mail", "--as", "rita").stdout
    assert "1 email with the reason “old mail” dropped" in out
    assert _states(cli) == ["queued", "queued", "dropped"]
    dropped = [e for e in cli.ticket(3)["timeline"] if e["type"] == "mail_dropped"]
    assert "dropped by rita" in dropped[0]["summary"]
    both = cli.run("held", "drop", "1", "--all", ok=False)
    assert "not both" in both.stderr
    alone = cli.run("held", "drop", "--reason", "old mail", ok=False)
    assert "--reason goes with --all" in alone.stderr


@pytest.mark.sqlite_only
def test_cli_limits_reads_and_sets_old_mail_hours(cli: Cli) -> None:
    assert cli.json("automation", "limits")["old_mail_hours"] == 24
    assert "over 24 hours old" in cli.run("automation", "limits").stdout
    cli.run("automation", "limits", "--old-mail-hours", "72")
    assert cli.json("automation", "limits")["old_mail_hours"] == 72
    bad = cli.run("automation", "limits", "--old-mail-hours", "0", ok=False)
    assert "between 1 and" in bad.stderr
    rep = cli.run("automation", "limits", "--old-mail-hours", "5", "--as", "rita", ok=False)
    assert "not an admin" in rep.stderr
    assert json.loads(cli.run("automation", "limits", "--json").stdout)["old_mail_hours"] == 72
