"""The runtime seam: one composition root for every entry point (issue 11; SPEC B8.1, B8.4).

The mail worker's sender runs here against a real SMTP server (aiosmtpd on loopback) and a real
database, as it does inside the app and `deskline sync`.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from automation import admin
from runtime import worker as worker_module
from runtime.desk import Desk as RuntimeDesk
from runtime.worker import Worker
from storage.database import Database
from tests.helpers import CUSTOMER, Desk, make_mail
from tests.servers.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]  # fixture used below
ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app", "widgets", "runtime", "storage", "automation", "mail", "demo", "benchmarks")


async def _desk_with_smtp(db: Database, server: SmtpServer) -> Desk:
    desk = await Desk.create(db)

    def configure(repo, user) -> None:  # type: ignore[no-untyped-def]
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port, channel.smtp_tls = server.host, server.port, "none"

    await desk.admin(configure)
    return desk


@asynccontextmanager
async def _worker(desk: RuntimeDesk) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(desk).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_mail_queued_in_this_process_wakes_the_sender_at_once(
    db: Database, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # B8.4: with the poll pushed out to a minute, only the wake-up can explain a quick delivery.
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 60.0)
    desk = await _desk_with_smtp(db, smtp_server)
    async with _worker(desk):
        await asyncio.sleep(0.2)  # the sender is asleep in its wait
        await desk.receive(make_mail()[0])  # "Ticket received" is queued
        await _until(lambda: len(smtp_server.received) == 1)
        await desk.reply(1, "We are on it.", send_now=True)  # no undo window (D2)
        await _until(lambda: len(smtp_server.received) == 2)
    acknowledgement, reply = smtp_server.received
    assert acknowledgement.rcpt_to == reply.rcpt_to == [CUSTOMER]
    assert b"We are on it." in reply.data
    assert [row["state"] for row in await desk.outbox()] == ["sent", "sent"]


async def test_mail_queued_by_another_process_goes_out_on_the_next_poll(
    db: Database, smtp_server: SmtpServer
) -> None:
    desk = await _desk_with_smtp(db, smtp_server)
    other = Desk(Database(db.url))  # another process: its queued mail wakes nobody here
    try:
        async with _worker(desk):
            await asyncio.sleep(0.2)
            await other.receive(make_mail()[0])
            started = time.monotonic()
            await _until(lambda: len(smtp_server.received) == 1)
            # The poll is 0.5 s; allow for a loaded machine, far below the old 2 s cycle + send.
            assert time.monotonic() - started < 5
    finally:
        await other.close()


async def test_a_failed_drain_warns_and_the_change_stands(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # B8.1: the exit reflects the commit; the events stay pending for the next drain.
    desk = await Desk.create(db)
    await desk.receive(make_mail()[0])

    async def broken(*, bulk: bool = False) -> int:
        raise RuntimeError("the engine is down")

    monkeypatch.setattr(desk.engine, "drain", broken)
    with caplog.at_level(logging.WARNING, logger="deskline.runtime"):
        await desk.move(1, "Closed")
    assert "automation did not finish" in caplog.text and "the engine is down" in caplog.text
    monkeypatch.undo()
    assert await desk.status(1) == "Closed"
    assert len(await desk.outbox()) == 1  # "Ticket closed" not queued yet: its event waits
    assert await RuntimeDesk(desk.db).drain() >= 1
    assert len(await desk.outbox()) == 2


async def test_acting_user_comes_from_the_desk(db: Database) -> None:
    desk = await Desk.create(db)
    await desk.close()
    rep = await RuntimeDesk.open(db.url, as_user="rita", identify=True)
    try:
        assert rep.me is not None and rep.me.name == "rita" and not rep.me.is_admin
        name = await rep.act(lambda repo, user: user.name)
        assert name == "rita"
    finally:
        await rep.close()


def _engine_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text("utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Engine")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Engine")
        )
    ]


def test_only_the_runtime_makes_an_engine() -> None:
    # Issue 11: "nothing else constructs an engine and drains it".
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).exists() else []:
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("runtime/") or relative == "automation/engine.py":
                continue
            found += [f"{relative}:{line}" for line in _engine_calls(path)]
    assert found == []
