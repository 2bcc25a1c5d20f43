"""IMAP inbound benchmark against a real Dovecot on loopback (issue 4, "How it will be checked").

    .venv/bin/python -m benchmarks.imap_bench [--count 10000] [--latency 120] [--pg URL] [--no-kill]

1. Throughput: `--count` generated support mails (benchmarks.corpus: replies, HTML, attachments,
   auto-replies) are APPENDed to a fresh Dovecot folder, then one `sync_once` stores them live
   (status actions queue acknowledgements) into a fresh database: messages/second, with the
   bare fetch rate (UID FETCH only, same batches) as the floor, and a check that every reply
   landed on its thread's ticket.
2. Latency: `watch` idles on the same folder (IMAP IDLE) while a second connection APPENDs
   `--latency` mails one at a time, at random gaps; for each, the time from the APPEND command to
   the commit of its ticket: median, 99th percentile and maximum. Split into the server's part
   (APPEND until IDLE announces it) and Deskline's (announcement until committed).

Needs the `dovecot` binary (apt-get install dovecot-imapd); started like the test fixture.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automation.inbound import InboundStats, sync_once, watch
from benchmarks.corpus import generate
from benchmarks.import_bench import check_threads, configure, fresh_postgres_database
from benchmarks.recovery import measure as recovery_measure
from mail.imap import ImapSettings, Mailbox
from runtime.desk import Desk
from storage.database import Database
from storage.inbound import InboundDatabase
from tests.helpers import make_mail
from tests.servers.dovecot import DovecotServer, dovecot_available, start_dovecot

FOLDER = "Bench"
BATCH = 200


class TimedMailbox(Mailbox):
    """Records when IDLE announced new mail (to split the latency into server and ours)."""

    announced: list[float]

    def wait(self, seconds: float) -> bool:
        news = super().wait(seconds)
        if news:
            self.announced.append(time.perf_counter())
        return news


def settings(server: DovecotServer) -> ImapSettings:
    return ImapSettings(
        server.host, server.port, "none", server.user, FOLDER, "password", server.password
    )


def seed(server: DovecotServer, mails: list[bytes]) -> float:
    """APPEND in order on one connection (arrival order is thread order); returns msg/s."""
    started = time.perf_counter()
    with server.client() as box:
        for raw in mails:
            box.append(raw, FOLDER)
    return len(mails) / (time.perf_counter() - started)


def fetch_rate(server: DovecotServer, count: int) -> float:
    box = Mailbox(settings(server))
    box.open()
    started = time.perf_counter()
    last = fetched = 0
    while batch := box.fetch_after(last, BATCH):
        fetched += len(batch)
        last = batch[-1][0]
    elapsed = time.perf_counter() - started
    box.close()
    assert fetched == count, (fetched, count)
    return count / elapsed


async def throughput(desk: Desk, channel: int, server: DovecotServer) -> InboundStats:
    return await sync_once(
        InboundDatabase(desk.runner), channel, lambda: Mailbox(settings(server)), batch=BATCH
    )


async def latency(
    desk: Desk, channel: int, server: DovecotServer, count: int
) -> tuple[list[float], list[float]]:
    """(APPEND -> ticket committed, APPEND -> IDLE announcement) per message, in seconds."""
    stored: list[float] = []
    announced: list[float] = []

    def factory() -> Mailbox:
        box = TimedMailbox(settings(server))
        box.announced = announced
        return box

    stop = asyncio.Event()
    task = asyncio.create_task(
        watch(
            InboundDatabase(desk.runner),
            channel,
            factory,
            stop,
            on_stored=lambda _s: stored.append(time.perf_counter()),
        )
    )
    client = server.client()
    totals, server_part = [], []
    try:
        await asyncio.sleep(1.0)  # connected, synced, idling
        rng = random.Random(7)
        for i in range(count):
            raw, _ = make_mail(subject=f"Latency probe {i}", sender=f"probe{i}@lat.example")
            before, seen = len(stored), len(announced)
            started = time.perf_counter()
            await asyncio.to_thread(client.append, raw, FOLDER)
            await _until(lambda n=before: len(stored) > n)
            totals.append(stored[before] - started)
            if len(announced) > seen:
                server_part.append(announced[seen] - started)
            await asyncio.sleep(rng.uniform(0.0, 0.05))
    finally:
        client.logout()
        stop.set()
        await task
    return totals, server_part


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("a latency probe never became a ticket")
        await asyncio.sleep(0.001)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def run(
    url: str | None, count: int, probes: int, workdir: Path, kill: bool = True
) -> dict[str, Any]:
    server = start_dovecot()
    try:
        server.create_folder(FOLDER)
        mails, threads = generate(count)
        append_rate = await asyncio.to_thread(seed, server, mails)
        floor = await asyncio.to_thread(fetch_rate, server, count)
        if url is not None:
            url = await fresh_postgres_database(url)
        desk = Desk(Database(url or str(workdir / "bench.db")))
        channel = await configure(desk)
        started = time.perf_counter()
        stats = await throughput(desk, channel, server)
        elapsed = time.perf_counter() - started
        checked, wrong = await check_threads(desk, threads, [])
        totals, server_part = await latency(desk, channel, server, probes)
        await desk.close()
        recovery = None
        if url is None and kill:  # real `deskline sync` processes on a SQLite desk
            recovery = await asyncio.to_thread(recovery_measure, server, "Recovery", workdir)
    finally:
        server.stop()
    return {
        "count": count,
        "stats": stats,
        "sync_s": elapsed,
        "sync_rate": stats.fetched / elapsed,
        "fetch_rate": floor,
        "append_rate": append_rate,
        "replies_checked": checked,
        "replies_wrong": wrong,
        "totals": totals,
        "server_part": server_part,
        "recovery": recovery,
    }


def report(name: str, r: dict[str, Any]) -> None:
    stats: InboundStats = r["stats"]
    totals, server_part = r["totals"], r["server_part"]
    ours = [t - s for t, s in zip(totals, server_part, strict=False)]
    ms = 1000
    print(f"{name}: {r['count']} mails in one IMAP folder (Dovecot, loopback)")
    print(
        f"  sync_once            {r['sync_rate']:8.0f} msg/s  ({stats.stored} stored, "
        f"{stats.failed} failed, {stats.duplicates} duplicates in {r['sync_s']:.1f} s)"
    )
    print(f"  bare UID FETCH       {r['fetch_rate']:8.0f} msg/s  (the floor's ceiling)")
    print(f"  seeding APPEND       {r['append_rate']:8.0f} msg/s")
    right = r["replies_checked"] - r["replies_wrong"]
    print(f"  replies on the right ticket: {right}/{r['replies_checked']}")
    print(f"  APPEND -> ticket with IDLE over {len(totals)} messages:")
    print(
        f"    median {statistics.median(totals) * ms:6.0f} ms   p99 "
        f"{percentile(totals, 99) * ms:6.0f} ms   max {max(totals) * ms:6.0f} ms"
    )
    if server_part and ours:
        print(
            f"    of which the server until IDLE announced it: median "
            f"{statistics.median(server_part) * ms:.0f} ms; Deskline after that: median "
            f"{statistics.median(ours) * ms:.0f} ms, p99 {percentile(ours, 99) * ms:.0f} ms"
        )


def report_recovery(found: dict[str, float]) -> None:
    print("  kill to first new ticket (SIGKILL of `deskline sync`, a new worker at once):")
    print(f"    dead holder on this host   {found['here']:6.1f} s  (goal: < 5 s)")
    print(f"    holder on another host     {found['elsewhere']:6.1f} s  (baseline: the 60 s lease)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=120, help="IDLE latency probes")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument(
        "--no-kill", action="store_true", help="skip kill to first new ticket (~1.5 min)"
    )
    args = parser.parse_args()
    if not dovecot_available():
        raise SystemExit("imap_bench needs Dovecot: apt-get install dovecot-imapd")
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        with tempfile.TemporaryDirectory(prefix="deskline-imap-bench-") as tmp:
            result = asyncio.run(run(url, args.count, args.latency, Path(tmp), not args.no_kill))
        report(name, result)
        if result["recovery"] is not None:
            report_recovery(result["recovery"])


if __name__ == "__main__":
    main()
