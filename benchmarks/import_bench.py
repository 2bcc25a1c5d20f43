"""Import benchmark: 10,000 generated mails imported live into a fresh database.

    .venv/bin/python -m benchmarks.import_bench [--count 10000] [--pg postgresql://...]
    .venv/bin/python -m benchmarks.import_bench --memory 10000,100000

Prints messages/second of the import (live: triggers fire, status actions queue acks into the
outbox, the search index is written with each message), peak memory, and, measured in the same
run on the same corpus, its baselines (SPEC B8.5): bare parsing (stdlib `email` with
`policy.default` plus body extraction) in one process, and the import's own parser
(`mail.parse.parse_message`) in one process and in as many as the import parses with, each with
the ratio. The corpus is dated inside `old_mail_hours` of the run's clock (D1), so
acknowledgements are queued, not held. Then checks that every reply landed on its thread's ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import multiprocessing
import resource
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from automation.importer import import_paths, parse_workers
from benchmarks.corpus import SUPPORT, generate, replies_to_ours
from mail.parse import parse_message
from runtime.desk import Desk
from runtime.standard import CLOSED, RECEIVED, ChannelSpec, Setup, build_standard
from storage import models as m
from storage.database import Database, normalize_url

# One email channel on the corpus's address; "Ticket received" and "Ticket closed" status actions.
SETUP = Setup(channels=(ChannelSpec("support", address=SUPPORT),), actions=(RECEIVED, CLOSED))


def bare_parse(mails: list[bytes]) -> float:
    """Seconds to parse every mail the way a minimal importer would (the floor)."""
    started = time.perf_counter()
    for raw in mails:
        msg = message_from_bytes(raw, policy=policy.default)
        for name in (
            "From",
            "To",
            "Cc",
            "Subject",
            "Date",
            "Message-ID",
            "In-Reply-To",
            "References",
        ):
            msg.get(name)
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            body.get_content()
        for part in msg.iter_attachments():
            part.get_content()
    return time.perf_counter() - started


def _parse_all(mails: list[bytes]) -> int:
    for raw in mails:
        parse_message(raw)
    return len(mails)


def import_parser(mails: list[bytes], processes: int) -> float:
    """Seconds for the import's own parser over every mail, in `processes` processes."""
    if processes <= 1:
        started = time.perf_counter()
        _parse_all(mails)
        return time.perf_counter() - started
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        list(pool.map(_parse_all, [[b"x"]] * processes))  # started before the clock, as warm
        started = time.perf_counter()
        size = -(-len(mails) // (processes * 4))
        list(pool.map(_parse_all, [mails[i : i + size] for i in range(0, len(mails), size)]))
        return time.perf_counter() - started


def write_mbox(path: Path, mails: list[bytes]) -> None:
    box = mailbox.mbox(path, create=True)
    box.lock()
    for raw in mails:
        box.add(raw)
    box.flush()
    box.unlock()


async def configure(desk: Desk) -> int:
    """Migrate and set up the standard desk; returns the support channel's id."""
    await desk.db.migrate()
    built = await desk.run(lambda repo: build_standard(repo, SETUP))
    return built.channels["support"]


def acks_of(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(m.OutboxMail.rcpt_to, m.OutboxMail.subject, m.OutboxMail.message_id).where(
            m.OutboxMail.template_name == "Ticket received"
        )
    )
    return [(to[0], subject, mid) for to, subject, mid in rows]


async def check_threads(
    desk: Desk, threads: list, answered: list[tuple[str, str]]
) -> tuple[int, int]:
    """(replies checked, replies on the wrong ticket)."""

    def check(session: Session) -> tuple[int, int]:
        ticket_of = dict(
            session.execute(
                select(m.Message.message_id, m.Conversation.ticket_id).join(
                    m.Conversation, m.Message.conversation_id == m.Conversation.id
                )
            ).all()
        )
        checked = wrong = 0
        for thread in threads:
            expected = ticket_of.get(thread.message_ids[0])
            for mid in thread.message_ids[1:]:
                checked += 1
                wrong += ticket_of.get(mid) != expected or expected is None
        for our_id, reply_id in answered:
            checked += 1
            wrong += ticket_of.get(reply_id) != ticket_of.get(our_id)
        return checked, wrong

    return await desk.query(check)


def outbox_size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(m.OutboxMail)) or 0)


async def fresh_postgres_database(server_url: str) -> str:
    """A new, empty database on the server of `server_url` (the benchmark imports into it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(normalize_url(server_url))
    name = f"deskline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def run(url: str | None, count: int, workdir: Path) -> dict[str, float]:
    ours = max(1, count // 10)
    mails, threads = generate(count - ours)
    phase1 = workdir / "phase1.mbox"
    write_mbox(phase1, mails)

    if url is not None:
        url = await fresh_postgres_database(url)
    desk = Desk(Database(url or str(workdir / "bench.db")))
    channel = await configure(desk)
    started = time.perf_counter()
    first = await import_paths(desk.runner, channel, [phase1])
    elapsed = time.perf_counter() - started

    answered: list[tuple[str, str]] = []
    second_mails = []
    for raw, our_id in replies_to_ours(await desk.query(acks_of), ours):
        second_mails.append(raw)
        answered.append((our_id, message_from_bytes(raw, policy=policy.compat32)["Message-ID"]))
    phase2 = workdir / "phase2.mbox"
    write_mbox(phase2, second_mails)
    started = time.perf_counter()
    second = await import_paths(desk.runner, channel, [phase2])
    elapsed += time.perf_counter() - started

    stored = first.stored + second.stored
    failed = first.failed + second.failed
    checked, wrong = await check_threads(desk, threads, answered)
    outbox = await desk.query(outbox_size)
    await desk.close()
    everything = mails + second_mails
    baseline = bare_parse(everything)
    ours_1 = import_parser(everything, 1)
    workers = parse_workers()
    ours_n = import_parser(everything, workers)
    total = len(mails) + len(second_mails)
    return {
        "parser_1_rate": total / ours_1,
        "parser_n_rate": total / ours_n,
        "parse_workers": workers,
        "messages": total,
        "stored": stored,
        "failed": failed,
        "import_s": elapsed,
        "import_rate": total / elapsed,
        "parse_rate": total / baseline,
        "replies_checked": checked,
        "replies_wrong": wrong,
        "emails_queued": outbox,
    }


def _import_alone(box: Path, db_path: Path) -> tuple[int, float, float]:
    """In a process of its own: import `box` into a new desk; (stored, seconds, the process's
    peak RSS in MiB). The peak is the kernel's high-water mark of this process's memory
    (VmHWM): getrusage's ru_maxrss would also count its parent's size when it was started."""

    async def go() -> tuple[int, float]:
        desk = Desk(Database(str(db_path)))
        channel = await configure(desk)
        started = time.perf_counter()
        summary = await import_paths(desk.runner, channel, [box])
        seconds = time.perf_counter() - started
        await desk.close()
        return summary.stored, seconds

    stored, seconds = asyncio.run(go())
    status = Path("/proc/self/status").read_text()
    peak_kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return stored, seconds, int(peak_kib) / 1024


def memory(counts: list[int]) -> None:
    """Peak memory of the import alone (issue 16: flat, 100,000 within 1.2x of 10,000): each
    count imported from an mbox on disk in a new process, so neither the corpus nor an earlier
    import is in its peak (its parse worker, another process, holds one chunk at a time)."""
    peaks: list[float] = []
    context = multiprocessing.get_context("spawn")
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="deskline-bench-") as tmp:
            box = Path(tmp) / "corpus.mbox"
            mails, _ = generate(count)
            write_mbox(box, mails)
            del mails
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                stored, seconds, own = pool.submit(
                    _import_alone, box, Path(tmp) / "desk.db"
                ).result()
        peaks.append(own)
        print(
            f"{count:>9,} mails: {stored:,} stored in {seconds:.0f} s ({stored / seconds:.0f} "
            f"msg/s); the importer's peak RSS {own:.0f} MiB"
        )
    if len(peaks) > 1:
        print(
            f"peak at {counts[-1]:,} / peak at {counts[0]:,}: {peaks[-1] / peaks[0]:.2f}  "
            "(goal: <= 1.2)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--pg", metavar="URL", help="also run on this PostgreSQL server (in a new database)"
    )
    parser.add_argument(
        "--memory",
        metavar="N,M",
        help="instead: the import's peak memory alone at each count (e.g. 10000,100000)",
    )
    args = parser.parse_args()
    if args.memory:
        memory([int(n) for n in args.memory.split(",")])
        return
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    rates: dict[str, float] = {}
    for name, url in targets:
        with tempfile.TemporaryDirectory(prefix="deskline-bench-") as tmp:
            result = asyncio.run(run(url, args.count, Path(tmp)))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ratio = result["import_rate"] / result["parse_rate"]
        rates[name] = result["import_rate"]
        print(
            f"{name}: imported {result['stored']}/{result['messages']} mails "
            f"({result['failed']} failed) in {result['import_s']:.1f} s"
        )
        print(f"  import (live)        {result['import_rate']:8.0f} msg/s")
        print(
            f"  bare parse baseline  {result['parse_rate']:8.0f} msg/s  (policy.default, same "
            f"corpus, 1 process)  import/bare {ratio:5.2f}  (goal: >= 1.3)"
        )
        for label, key, procs in (
            ("import's parser", "parser_1_rate", 1),
            ("import's parser", "parser_n_rate", int(result["parse_workers"])),
        ):
            print(
                f"  {label:<20} {result[key]:8.0f} msg/s  ({procs} process"
                f"{'es' if procs > 1 else ''})  import/parser "
                f"{result['import_rate'] / result[key]:5.2f}"
            )
        print(f"  peak memory (RSS)    {peak_mb:8.0f} MiB")
        print(f"  emails queued        {result['emails_queued']:8.0f}")
        right = result["replies_checked"] - result["replies_wrong"]
        print(f"  replies on the right ticket: {right:.0f}/{result['replies_checked']:.0f}")

    if len(rates) == 2:
        print(
            f"PostgreSQL/SQLite import rate: {rates['PostgreSQL'] / rates['SQLite']:.2f}  "
            "(goal: >= 0.7)"
        )


if __name__ == "__main__":
    main()
