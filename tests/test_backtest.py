"""Backtest (SPEC B2.1; issue 15 B2): the recorded mail and rep actions of a window replayed
under the desk's rules and under a file's, on scratch copies and a simulated clock; the
differences per ticket. An unchanged file reports none; no socket is opened, no secret read,
and the real desk is not written."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from automation.as_code.export import export_text
from automation.as_code.schema.check import check
from runtime import backtest as backtest_module
from runtime.backtest import (
    BacktestError,
    backtest,
    refuse_connections,
    replay_copy,
)
from storage.database import Database
from tests.helpers import Desk, make_mail


@pytest_asyncio.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[tuple[Desk, str]]:
    """A SQLite desk with a day's work: a ticket answered by the rep and by the customer, and a
    second ticket the rep moved."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    desk = await Desk.create(Database(url))
    first, mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    await desk.reply(1, send_now=True)
    again, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    await desk.receive(again)
    second, _ = make_mail(sender="dave@other.example", subject="Invoice")
    await desk.receive(second)
    await desk.as_user("rita", lambda repo, user: _move(repo, user, 2))
    yield desk, url
    await desk.close()


def _move(repo: Any, user: Any, number: int) -> Any:
    from automation import services

    return services.move_ticket(repo, user, number, "Waiting on contact")


def _rules(text: str) -> dict[str, Any]:
    data, problems = check(text)
    assert not problems and data is not None, problems
    return data


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing connection attempt is recorded and refused."""
    tried: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        tried.append(address)
        raise OSError("no network in a backtest")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return tried


async def test_an_unchanged_file_reports_no_difference_b2_1(
    recorded: tuple[Desk, str], no_network: list[Any]
) -> None:
    desk, url = recorded
    text = await desk.read(lambda repo: export_text(repo))
    before = await desk.tickets()
    since = datetime.now(UTC) - timedelta(hours=1)
    report = await backtest(url, _rules(text), since, datetime.now(UTC) + timedelta(minutes=1))
    assert report.messages == 3 and report.actions == 2
    assert report.tickets == 2
    assert report.differences == []
    assert no_network == []  # B2.1: no socket opened
    assert await desk.tickets() == before  # the real desk is only read


async def test_a_changed_trigger_target_shows_in_the_status_path_b2_1(
    recorded: tuple[Desk, str], no_network: list[Any]
) -> None:
    desk, url = recorded
    text = await desk.read(lambda repo: export_text(repo))
    changed = text.replace(
        '[pipelines."Support Pipeline".triggers.customer-replied]\nenabled = true\n'
        'target = "Waiting on us"',
        '[pipelines."Support Pipeline".triggers.customer-replied]\nenabled = true\ntarget = "New"',
    )
    assert changed != text
    since = datetime.now(UTC) - timedelta(hours=1)
    report = await backtest(url, _rules(changed), since, datetime.now(UTC) + timedelta(minutes=1))
    [difference] = report.differences
    assert difference.aspect == "statuses" and difference.subject == "Printer on fire"
    assert difference.current == ("New", "Waiting on contact", "Waiting on us")
    assert difference.changed == ("New", "Waiting on contact", "New")
    assert no_network == []
    assert await desk.status(1) == "Waiting on us"  # the real desk is unchanged


async def test_a_postgresql_desk_is_refused_with_the_way_round_b2_1() -> None:
    with pytest.raises(BacktestError, match="SQLite"):
        await backtest("postgresql://x@localhost/desk", {}, datetime.now(UTC), datetime.now(UTC))


def test_backtest_command_b2_1(tmp_path: Path) -> None:
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    raw, _ = make_mail(to="help@acme.example", subject="Broken")
    assert cli.deliver(raw)["stored"] == 1
    rules = tmp_path / "desk.toml"
    rules.write_text(cli.run("automation", "export").stdout, "utf-8")
    out = cli.run("backtest", str(rules), "--since", "1h")
    assert "No differences" in out.stdout
    data = cli.json("backtest", str(rules), "--since", "1h")
    assert data["differences"] == [] and data["messages"] == 1


def test_backtest_takes_the_file_as_an_option_and_a_window_of_the_last_n_messages(
    tmp_path: Path,
) -> None:
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    for subject in ("First", "Second", "Third"):
        raw, _ = make_mail(to="help@acme.example", subject=subject)
        assert cli.deliver(raw)["stored"] == 1
    rules = tmp_path / "desk.toml"
    rules.write_text(cli.run("automation", "export").stdout, "utf-8")
    data = cli.json("backtest", "--automation", str(rules), "--last", "2")
    assert data["messages"] == 2 and data["differences"] == []
    assert cli.json("backtest", "--automation", str(rules), "--last", "10")["messages"] == 3
    out = cli.run("backtest", "--automation", str(rules), "--last", "0", ok=False)
    assert out.returncode != 0 and "--last takes a number of messages" in out.stderr
    out = cli.run("backtest", "--last", "2", ok=False)
    assert out.returncode != 0 and "which automation file?" in out.stderr
    out = cli.run("backtest", str(rules), "--since", "1h", "--last", "2", ok=False)
    assert out.returncode != 0 and "not allowed with" in out.stderr


async def test_every_action_kind_is_replayed_and_counted_per_rule_b2_1(
    recorded: tuple[Desk, str], no_network: list[Any]
) -> None:
    """B2: a workflow action other than a move or an email (here a tag) shows in the differences,
    and a switched-off trigger in the per-rule counts."""
    desk, url = recorded
    text = await desk.read(lambda repo: export_text(repo))
    marker = 'template_name = "Ticket received"\n'
    assert marker in text
    changed = text.replace(
        marker,
        marker + '\n[[workflows."Support Pipeline/New/New status actions".actions]]\n'
        'kind = "add_tag"\nvalue = "triage"\n',
        1,
    ).replace(
        '[pipelines."Support Pipeline".triggers.customer-replied]\nenabled = true',
        '[pipelines."Support Pipeline".triggers.customer-replied]\nenabled = false',
    )
    since = datetime.now(UTC) - timedelta(hours=1)
    report = await backtest(url, _rules(changed), since, datetime.now(UTC) + timedelta(minutes=1))
    tags = {d.subject: d for d in report.differences if d.aspect == "tags"}
    assert tags["Printer on fire"].current == () and tags["Printer on fire"].changed == ("triage",)
    assert tags["Invoice"].changed == ("triage",)
    replied = report.rules["trigger: Customer replies to email"]
    assert replied[0] >= 1 and replied[1] == 0  # the switched-off trigger changed nothing
    workflow = report.rules["workflow: New status actions"]
    assert workflow[1] > workflow[0]  # and the workflow tagged as well
    assert "rules" in report.as_json() and no_network == []


def _try_to_connect(port: int) -> str:
    """In a spawned process: refuse connections as a replay's process does, then try one."""
    refuse_connections()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError as exc:
        return str(exc)
    return "connected"


def test_a_replay_process_refuses_every_connection_b2_1() -> None:
    # The replays run in processes of their own, out of reach of the no_network fixture:
    # each refuses every connection itself, whatever its rules would do.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            said = pool.submit(_try_to_connect, port).result(timeout=120)
    assert said.startswith("a backtest opens no connection"), said


async def test_a_run_that_fails_without_savepoints_is_stored_again_with_them(
    recorded: tuple[Desk, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A fault no real part produces on demand, so a stand-in: the first, savepoint-less try
    # of every run of recorded messages fails after moving the clock through it. The run is
    # stored again with savepoints, from the clock where it began, and the replay's outcome
    # is the one the desk really had.
    desk, url = recorded
    tries: list[bool] = []
    real = backtest_module.store_batch

    def failing_first(repo: Any, channel_id: int, items: Any, historical: bool, **kw: Any) -> Any:
        tries.append(kw["isolate"])
        if not kw["isolate"]:
            list(items)
            raise RuntimeError("a handler failed")
        return real(repo, channel_id, items, historical, **kw)

    monkeypatch.setattr(backtest_module, "store_batch", failing_first)
    # replay_copy is called in this process here: what it patches in socket is put back after
    monkeypatch.setattr(socket.socket, "connect", socket.socket.connect)
    monkeypatch.setattr(socket.socket, "connect_ex", socket.socket.connect_ex)
    since = datetime.now(UTC) - timedelta(hours=1)
    until = datetime.now(UTC) + timedelta(minutes=1)
    steps, _, admin = await backtest_module.recorded(url, since, until)
    source = Path(url.removeprefix("sqlite:///"))
    outcomes, _, said = await asyncio.to_thread(
        replay_copy, source, tmp_path / "copy.db", steps, since, until, admin, None
    )
    assert tries[:2] == [False, True] and tries.count(True) == tries.count(False)
    assert said == []
    printer = next(o for o in outcomes.values() if o.subject == "Printer on fire")
    assert printer.statuses == ("New", "Waiting on contact", "Waiting on us")
    assert await desk.status(1) == "Waiting on us"
