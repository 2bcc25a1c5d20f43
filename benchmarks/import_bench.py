"""Import benchmark: 10,000 generated mails imported live into a fresh database.

    .venv/bin/python -m benchmarks.import_bench [--count 10000] [--pg postgresql://...]

Prints messages/second of the import (live: triggers fire, status actions queue acks into the
outbox), peak memory, and, measured in the same process on the same corpus, the rate of bare
parsing (stdlib `email` with `policy.default` plus body extraction), with the ratio. Then checks
that every reply landed on its thread's ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import resource
import tempfile
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from automation.importer import import_paths
from benchmarks.corpus import SUPPORT, generate, replies_to_ours
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
    baseline = bare_parse(mails + second_mails)
    total = len(mails) + len(second_mails)
    return {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--pg", metavar="URL", help="also run on this PostgreSQL server (in a new database)"
    )
    args = parser.parse_args()
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        with tempfile.TemporaryDirectory(prefix="deskline-bench-") as tmp:
            result = asyncio.run(run(url, args.count, Path(tmp)))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ratio = result["import_rate"] / result["parse_rate"]
        print(
            f"{name}: imported {result['stored']}/{result['messages']} mails "
            f"({result['failed']} failed) in {result['import_s']:.1f} s"
        )
        print(f"  import (live)        {result['import_rate']:8.0f} msg/s")
        print(
            f"  bare parse baseline  {result['parse_rate']:8.0f} msg/s  (same corpus, "
            "same process, 1 process each)"
        )
        print(f"  ratio import/parse   {ratio:8.2f}   (goal: >= 0.33)")
        print(f"  peak memory (RSS)    {peak_mb:8.0f} MiB")
        print(f"  emails queued        {result['emails_queued']:8.0f}")
        right = result["replies_checked"] - result["replies_wrong"]
        print(f"  replies on the right ticket: {right:.0f}/{result['replies_checked']:.0f}")


if __name__ == "__main__":
    main()
