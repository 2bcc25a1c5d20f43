"""The `deskline` command line as a user runs it: a real subprocess on a real SQLite file.

The scenario follows the issue's acceptance script; each step cites the SPEC rule it shows.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_mail
from tests.servers.smtp import smtp_server

pytestmark = pytest.mark.sqlite_only
__all__ = ["smtp_server"]  # a fixture used below
SUPPORT = "help@acme.example"


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "desk.db"
        self.mail = tmp_path / "mail"
        self.mail.mkdir()
        self.count = 0

    def run(
        self,
        *args: str,
        ok: bool = True,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "--db", str(self.db), *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=120,
            env={**os.environ, "DESKLINE_USER": "", **(env or {})},
        )
        if ok:
            assert proc.returncode == 0, f"{args}: {proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def deliver(self, raw: bytes) -> dict[str, Any]:
        self.count += 1
        path = self.mail / f"{self.count:03d}.eml"
        path.write_bytes(raw)
        return self.json("import", str(path), "--channel", "support")

    def ticket(self, number: int) -> dict[str, Any]:
        return self.json("ticket", "show", str(number))

    def status(self, number: int) -> str:
        return str(self.ticket(number)["ticket"]["status"])

    def outbox(self) -> list[dict[str, Any]]:
        return list(self.json("outbox")["outbox"])


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return desk_cli(tmp_path)


def desk_cli(tmp_path: Path) -> Cli:
    """A desk made with the CLI: one channel, the two acknowledgement actions, a rep."""
    c = Cli(tmp_path)
    c.run("init")
    c.run("channel", "add", "support", "--address", SUPPORT)
    c.run("automation", "action", "add", "--status", "New", "--send-email", "Ticket received")
    c.run("automation", "action", "add", "--status", "Closed", "--send-email", "Ticket closed")
    c.run("user", "add", "rita", "--email", "rita@acme.example")
    return c


def test_scenario_through_the_cli(cli: Cli) -> None:
    # R-C1 + R-A2: new mail opens a ticket in New, and exactly one threaded "Ticket received"
    first, first_id = make_mail(to=SUPPORT, subject="Order 1138 arrived broken")
    assert cli.deliver(first)["stored"] == 1
    [ticket] = cli.json("tickets")["tickets"]
    assert (ticket["number"], ticket["status"]) == (1, "New")
    [ack] = cli.outbox()
    assert ack["template"] == "Ticket received"
    raw_ack = cli.run("outbox", "--raw", str(ack["id"])).stdout
    assert f"In-Reply-To: {first_id}" in raw_ack

    # R-T1: a reply from the ticket record moves it; from the contact record it does not
    cli.run("reply", "1", "--text", "Sorry! A new one is on its way.", "--as", "rita")
    assert cli.status(1) == "Waiting on contact"
    cli.run("move", "1", "New")
    cli.run("reply", "1", "--text", "Just checking.", "--from-contact-record")
    assert cli.status(1) == "New"

    # R-T2: the customer's reply in the origin thread
    reply, _ = make_mail(to=SUPPORT, subject="Re: Order 1138", in_reply_to=first_id)
    assert cli.deliver(reply)["threaded"] == 1
    assert cli.status(1) == "Waiting on us"

    # R-T2.1: a forward and a new thread from the same customer do not fire it
    cli.run("move", "1", "Waiting on contact")
    fwd, _ = make_mail(to=SUPPORT, subject="Fwd: Order 1138", in_reply_to=first_id)
    cli.deliver(fwd)
    other, _ = make_mail(to=SUPPORT, subject="Unrelated question")
    cli.deliver(other)
    assert cli.status(1) == "Waiting on contact"
    assert len(cli.json("tickets")["tickets"]) == 2

    # R-A1/R-A2: Closed queues "Ticket closed"
    cli.run("move", "1", "Closed")
    assert [o["template"] for o in cli.outbox()].count("Ticket closed") == 1

    # R-T2.3: a reply after closing reopens; R-A7: closing again sends nothing more
    again, _ = make_mail(to=SUPPORT, subject="Re: Order 1138", in_reply_to=first_id)
    cli.deliver(again)
    detail = cli.ticket(1)
    assert (detail["ticket"]["status"], detail["ticket"]["reopened"]) == ("Waiting on us", True)
    assert any(e["summary"] == "Reopened by customer reply" for e in detail["timeline"])
    cli.run("close", "1")
    assert [o["template"] for o in cli.outbox()].count("Ticket closed") == 1

    # R-C4/R-T7: an auto-reply or a bounce opens no ticket and is answered by nothing
    before = len(cli.outbox())
    ooo, _ = make_mail(
        to=SUPPORT, subject="Out of Office: back Monday", headers={"Auto-Submitted": "auto-replied"}
    )
    assert cli.deliver(ooo)["automated"] == 1
    bounce, _ = make_mail(
        sender="MAILER-DAEMON@mx.acme.example",
        name="Mail Delivery System",
        to=SUPPORT,
        subject="Undelivered Mail Returned to Sender",
    )
    assert cli.deliver(bounce)["automated"] == 1
    assert len(cli.json("tickets")["tickets"]) == 2
    assert len(cli.outbox()) == before

    # SPEC §6: a stranger quoting [#1] gets a ticket of their own
    stranger, _ = make_mail(sender="eve@else.example", to=SUPPORT, subject="Re: [#1] refund me")
    cli.deliver(stranger)
    tickets = cli.json("tickets")["tickets"]
    assert tickets[0]["contact"] == "eve@else.example"  # the newest ticket first (D7)

    # R-T3: switching a trigger off stops it
    cli.run("automation", "set", "customer-replied", "off")
    cli.run("move", "1", "Waiting on contact")
    late, _ = make_mail(to=SUPPORT, subject="Re: Order 1138", in_reply_to=first_id)
    cli.deliver(late)
    assert cli.status(1) == "Waiting on contact"

    # E12: the JSON shows every step on the timeline with its cause
    timeline = cli.ticket(1)["timeline"]
    kinds = {e["type"] for e in timeline}
    assert {
        "message_received",
        "ticket_created",
        "trigger_fired",
        "trigger_skipped",
        "status_changed",
        "reopened",
        "enrolled",
        "action_ran",
        "mail_queued",
        "inbox_note",
    } <= kinds
    ids = {e["id"] for e in timeline}
    assert all(e["cause"] in ids for e in timeline if e["cause"])
    assert all(
        e["actor"]["kind"] in {"user", "contact", "trigger", "workflow", "system"} for e in timeline
    )


def test_automation_show_and_action_list(cli: Cli) -> None:
    view = cli.json("automation", "show")
    assert [t["enabled"] for t in view["triggers"]] == [True, True]
    assert view["triggers"][0]["target"] == "Waiting on contact"
    actions = cli.json("automation", "action", "list")
    new = next(s for s in actions["statuses"] if s["status"] == "New")
    action_id = new["workflows"][0]["actions"][0]["id"]
    cli.run("automation", "action", "delete", str(action_id))
    after = cli.json("automation", "action", "list")
    assert (
        next(s for s in after["statuses"] if s["status"] == "New")["workflows"][0]["actions"] == []
    )
    text = cli.run("automation", "show").stdout
    assert "enrolled once" in text  # R-A7 said where the admin sees the actions


def test_init_twice_is_safe(cli: Cli) -> None:
    out = cli.run("init").stdout
    assert "already initialised" in out
    assert len(cli.json("automation", "show")["triggers"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ticket", "show", "42"), "no ticket #42"),
        (("move", "42", "Closed"), "no ticket #42"),
        (("import", "/nonexistent/x.eml", "--channel", "support"), "no such file"),
        (("import", "/dev/null", "--channel", "nope"), "no channel 'nope'"),
        (("automation", "set", "email-sent", "--target", "Closed"), "closed status"),
        (("channel", "add", "x", "--address", "bad\r\naddress"), "valid --address"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    proc = cli.run(*args, ok=False)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_unknown_status_names_the_choices(cli: Cli) -> None:
    raw, _ = make_mail(to=SUPPORT)
    cli.deliver(raw)
    proc = cli.run("move", "1", "Limbo", ok=False)
    assert proc.returncode == 1
    assert "no status 'Limbo'" in proc.stderr and "Waiting on us" in proc.stderr


def test_rep_cannot_change_settings(cli: Cli) -> None:
    proc = cli.run("automation", "set", "email-sent", "off", "--as", "rita", ok=False)
    assert "not an admin" in proc.stderr


def test_bad_database_url_and_uninitialised_database(tmp_path: Path) -> None:
    for url, message in [
        ("mysql://x/y", "unsupported database"),
        ("postgresql+asyncpg://u@127.0.0.1:1/x", "refused"),
        (str(tmp_path / "fresh.db"), "not initialised"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "--db", url, "tickets"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr.lower() or message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_locked_database_is_reported_and_nothing_is_lost(cli: Cli) -> None:
    raw, _ = make_mail(to=SUPPORT)
    cli.deliver(raw)
    holder = sqlite3.connect(cli.db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        proc = cli.run("move", "1", "Closed", ok=False, env={"DESKLINE_BUSY_TIMEOUT_MS": "200"})
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 1
    assert "locked" in proc.stderr
    assert cli.status(1) == "New"
    cli.run("move", "1", "Closed")  # and it works once the lock is gone
    assert cli.status(1) == "Closed"


def test_import_summary_reports_broken_mail_and_goes_on(cli: Cli) -> None:
    folder = cli.mail / "batch"
    folder.mkdir()
    (folder / "a.eml").write_bytes(b"\x00\x01garbage")
    (folder / "b.eml").write_bytes(make_mail(to=SUPPORT)[0])
    proc = cli.run("import", str(folder), "--channel", "support")
    assert "1 stored" in proc.stdout and "1 failed" in proc.stdout
    failed = cli.json("failed")["failed"]
    assert failed[0]["source"].endswith("a.eml")


def test_terminal_output_strips_control_sequences(cli: Cli) -> None:
    # SPEC §7: untrusted text never reaches the terminal as control sequences
    raw, _ = make_mail(to=SUPPORT, subject="Hi \x1b]0;pwned\x07 there \x1b[31mred")
    cli.deliver(raw)
    out = cli.run("tickets").stdout
    assert "\x1b" not in out and "\x07" not in out


def test_templates_and_the_actions_menu(cli: Cli) -> None:
    # R-A6, R-A9, B7 through the CLI
    bad = cli.run("template", "set", "Ticket closed", "--subject", "{{ nope }}", ok=False)
    assert "template not saved" in bad.stderr and "nope" in bad.stderr
    body = cli.mail / "body.txt"
    body.write_text("Dear {{ contact.name }}, it is done.\n")
    cli.run(
        "template",
        "set",
        "Done",
        "--subject",
        "Done: {{ ticket.subject }}",
        "--body-file",
        str(body),
    )
    raw, _ = make_mail(to=SUPPORT, subject="Need a refund")
    cli.deliver(raw)
    preview = cli.run("template", "show", "Done", "--preview", "1").stdout
    assert "Done: Need a refund" in preview
    closed = next(
        s for s in cli.json("automation", "action", "list")["statuses"] if s["status"] == "Closed"
    )
    action_id = closed["workflows"][0]["actions"][0]["id"]
    cli.run("automation", "action", "comment", str(action_id), "keep it short")
    cli.run("automation", "action", "clone", str(action_id))
    cli.run("automation", "action", "edit", str(action_id), "--send-email", "Done")
    cli.run("automation", "action", "move", str(action_id), "2")
    closed = next(
        s for s in cli.json("automation", "action", "list")["statuses"] if s["status"] == "Closed"
    )
    descriptions = [a["description"] for a in closed["workflows"][0]["actions"]]
    assert descriptions == ["Send email “Ticket closed”", "Send email “Done”"]
    cli.run("close", "1")
    assert sorted(o["template"] for o in cli.outbox() if o["kind"] == "automated") == [
        "Done",
        "Ticket closed",
        "Ticket received",
    ]
    retry = cli.run("automation", "action", "retry", "999", ok=False)
    assert "no action run 999" in retry.stderr


def test_concurrent_commands_wait_for_each_other(cli: Cli) -> None:
    # SQLite write transactions begin IMMEDIATE: a second writer waits instead of failing, and
    # each event is handled once (one acknowledgement per ticket).
    folders = []
    for name in ("a", "b"):
        folder = cli.mail / name
        folder.mkdir()
        for i in range(40):
            raw, _ = make_mail(sender=f"{name}{i}@c.example", to=SUPPORT, subject=f"{name} {i}")
            (folder / f"{i}.eml").write_bytes(raw)
        folders.append(folder)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "--db",
                str(cli.db),
                "import",
                str(folder),
                "--channel",
                "support",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in folders
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    tickets = cli.json("tickets")["tickets"]
    assert len(tickets) == 80
    acks = [o for o in cli.outbox() if o["template"] == "Ticket received"]
    assert len(acks) == 80
    assert len({o["ticket"] for o in acks}) == 80


def test_sync_once_delivers_and_held_mail_is_reviewable(cli: Cli, smtp_server) -> None:
    # issue 4: `deskline sync --once` sends what waits; held mail is listed, released, dropped
    bare = cli.run("channel", "set", "support", "--smtp-secret", "hunter2", ok=False)
    assert "by reference" in bare.stderr  # a password never goes into the database
    _smtp(cli, smtp_server)
    remote = cli.run("channel", "set", "support", "--smtp-host", "mail.example.com", ok=False)
    assert "loopback" in remote.stderr
    cli.deliver(make_mail(to=SUPPORT)[0])
    cli.deliver(
        make_mail(sender="noreply@shop.example", to=SUPPORT, subject="Your order")[0]
    )  # automated: no ticket, no mail
    cli.run("channel", "set", "support", "--bulk-opens-tickets", "on")
    cli.deliver(
        make_mail(sender="news@list.example", to=SUPPORT, headers={"List-Id": "<l.list.example>"})[
            0
        ]
    )
    out = cli.run("sync", "--once").stdout
    assert "sent 1" in out
    assert [r.rcpt_to for r in smtp_server.received] == [["carol@customer.example"]]
    [held] = cli.json("held")["outbox"]
    assert "automated" in held["held_reason"]
    cli.run("held", "release", str(held["id"]))
    cli.run("sync", "--once")
    assert len(smtp_server.received) == 2
    again = cli.run("held", "drop", str(held["id"]), ok=False)
    assert "is not held" in again.stderr
    test = cli.run("channel", "test", "support")
    assert "SMTP 127.0.0.1: ok" in test.stdout


@pytest.mark.parametrize("point", ["RCPT", "DATA"])
def test_worker_killed_mid_send_loses_and_doubles_nothing(
    cli: Cli, smtp_server, point: str
) -> None:
    # issue 4: `kill -9` of the worker in the middle of a send, then a restart. Killed at RCPT
    # (before DATA) the email is sent again on restart; killed after the server accepted DATA
    # it is never sent twice: it waits in the held list for a person (see automation/delivery).
    _smtp(cli, smtp_server)
    cli.deliver(make_mail(to=SUPPORT)[0])
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", str(cli.db), "sync", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    smtp_server.recorder.kill_client = (point, worker.pid)
    worker.communicate(timeout=60)
    assert worker.returncode == -9
    out = cli.run("sync", "--once").stdout  # the restart
    [row] = cli.outbox()
    if point == "RCPT":
        assert "1 queued again" in out
        assert row["state"] == "sent"
    else:
        assert "1 held for review" in out
        assert row["state"] == "held" and "may have been delivered" in row["held_reason"]
    assert len(smtp_server.received) == 1
    cli.run("sync", "--once")
    assert len(smtp_server.received) == 1


def test_two_workers_never_send_one_email_twice(cli: Cli, smtp_server) -> None:
    # issue 4: several processes on one database never take the same mail twice
    _smtp(cli, smtp_server)
    folder = cli.mail / "many"
    folder.mkdir()
    for i in range(30):
        raw, _ = make_mail(sender=f"p{i}@c.example", to=SUPPORT, subject=f"Question {i}")
        (folder / f"{i}.eml").write_bytes(raw)
    cli.run("import", str(folder), "--channel", "support")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--db", str(cli.db), "sync", "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.communicate(timeout=120)
        assert worker.returncode == 0
    ids = [got.message_id for got in smtp_server.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert {row["state"] for row in cli.outbox()} == {"sent"}


def _smtp(cli: Cli, smtp_server) -> None:
    """Point the support channel at the test's SMTP server (plain: it is on loopback)."""
    cli.run(
        "channel",
        "set",
        "support",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(smtp_server.port),
        "--smtp-tls",
        "none",
    )


def _mail_servers(cli: Cli, smtp_server, imap_server, imap_folder: str) -> dict[str, str]:
    """Point the support channel at the test's Dovecot folder and SMTP server; returns the
    environment that holds the IMAP password (the database only has `env:...`)."""
    cli.run(
        "channel",
        "set",
        "support",
        "--imap-host",
        imap_server.host,
        "--imap-port",
        str(imap_server.port),
        "--imap-tls",
        "none",
        "--imap-user",
        imap_server.user,
        "--imap-folder",
        imap_folder,
        "--imap-secret",
        "env:SUPPORT_IMAP_PASSWORD",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(smtp_server.port),
        "--smtp-tls",
        "none",
    )
    return {"SUPPORT_IMAP_PASSWORD": imap_server.password}


def test_sync_end_to_end_with_real_imap_and_smtp(
    cli: Cli, smtp_server, imap_server, imap_folder: str
) -> None:
    # issue 4: a support address works end to end through the documented CLI
    env = _mail_servers(cli, smtp_server, imap_server, imap_folder)
    test = cli.run("channel", "test", "support", env=env)
    assert "IMAP 127.0.0.1: ok" in test.stdout and "SMTP 127.0.0.1: ok" in test.stdout
    raw, _ = make_mail(to=SUPPORT, subject="Printer on fire")
    imap_server.append(imap_folder, raw)
    out = cli.run("sync", "--once", env=env).stdout
    assert "Received 1" in out and "sent 1" in out
    [ticket] = cli.json("tickets")["tickets"]
    [ack] = smtp_server.received
    reply, _ = make_mail(to=SUPPORT, subject="Re: fire", in_reply_to=ack.message_id)
    imap_server.append(imap_folder, reply)
    cli.run("sync", "--once", env=env)
    assert cli.status(ticket["number"]) == "Waiting on us"
    cli.run("sync", "--once", env=env)  # nothing new: nothing stored or sent twice
    assert len(cli.json("tickets")["tickets"]) == 1 and len(smtp_server.received) == 1
    wrong = cli.run("channel", "test", "support", env={"SUPPORT_IMAP_PASSWORD": "nope"}, ok=False)
    assert "IMAP 127.0.0.1: auth" in wrong.stdout


def test_retry_a_failed_message(cli: Cli) -> None:
    # issue 4: a failed item is kept with its raw bytes and retried with `deskline retry`.
    # A message that once failed because of a bug is planted directly: no real part fails a
    # good message on demand.
    folder = cli.mail / "bad"
    folder.mkdir()
    (folder / "junk.eml").write_bytes(b"\x00\x01junk")
    assert cli.run("import", str(folder), "--channel", "support", ok=False).returncode == 1
    with sqlite3.connect(cli.db) as conn:
        conn.execute(
            "INSERT INTO import_failures (channel_id, source, reason, raw, created_at) "
            "VALUES (1, 'imap:INBOX#7', 'old bug', ?, '2026-11-01 10:00:00')",
            (make_mail(to=SUPPORT, subject="Lost and found")[0],),
        )
    failed = cli.json("failed")["failed"]
    junk, good = failed[0]["id"], failed[1]["id"]
    again = cli.run("retry", str(junk), ok=False)
    assert "Failed again" in again.stdout
    assert cli.run("retry", str(good)).stdout.startswith("Stored")
    assert cli.json("tickets")["tickets"][0]["subject"] == "Lost and found"
    left = cli.json("failed")["failed"]
    assert [f["source"] for f in left] == [failed[0]["source"]]
    assert "no failed message 999" in cli.run("retry", "999", ok=False).stderr


def test_sync_runs_until_sigterm_and_stops_cleanly(
    cli: Cli, smtp_server, imap_server, imap_folder: str
) -> None:
    # issue 4: `deskline sync` runs inbound and outbound until stopped; SIGTERM is a clean stop
    env = _mail_servers(cli, smtp_server, imap_server, imap_folder)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--db", str(cli.db), "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        imap_server.append(imap_folder, make_mail(to=SUPPORT, subject="Live one")[0])
        deadline = time.monotonic() + 30
        while not smtp_server.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp_server.received) == 1  # fetched, ticket opened, ack delivered
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert cli.json("tickets")["tickets"][0]["subject"] == "Live one"
    assert [row["state"] for row in cli.outbox()] == ["sent"]


def test_loop_limits_are_settings(cli: Cli) -> None:
    # issue 4: the windows of SPEC §7, as settings
    assert cli.json("automation", "limits")["per_ticket"][0] == [10, 10]
    cli.run("automation", "limits", "--per-recipient", "2/10")
    assert cli.json("automation", "limits")["per_recipient"] == [[2, 10]]
    bad = cli.run("automation", "limits", "--per-ticket", "ten/10", ok=False)
    assert "COUNT/MINUTES" in bad.stderr
    for i in range(3):
        cli.deliver(make_mail(to=SUPPORT, subject=f"Thread {i}")[0])
    states = [row["state"] for row in cli.outbox()]
    assert states == ["held", "queued", "queued"]  # the newest email first (D7)
