"""Search at scale: index build rate, database size with and without the index, query latency.

    .venv/bin/python -m benchmarks.search_bench [--messages 1000000] [--dir DIR] [--queries 200]
    .venv/bin/python -m benchmarks.search_bench --dir DIR --reuse [--baseline 40]  # desk built once
    .venv/bin/python -m benchmarks.search_bench --pg postgresql://USER@HOST:PORT/EMPTY_DB ...

The desk is `benchmarks.bigdesk` (one ticket and its first message per conversation) plus
replies until it holds `--messages` messages, four per conversation: bodies drawn from a
vocabulary with a Zipf-like spread, so some words are in most messages and most words in few.
Every message is indexed as the repository indexes it (`storage.search_index`).

Figures, each beside its baseline measured in the same run:
- index build: messages per second written without the index, then the index alone;
- size: the database with the index, and without it (the index dropped, then VACUUM);
- queries end to end (`storage.search.search_page` through `Database.query`, first page of 50):
  median and p99 for each kind (common word, rare word, phrase, prefix, filtered) — at least
  a fifth of them common words — beside the substring match (`LIKE '%word%'` over subjects and
  senders) that the inbox's `/` used before the index.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from automation.search.query import parse
from benchmarks.bigdesk import build_big_desk
from storage import models as m
from storage import search_index
from storage.database import Database
from storage.search import search_page

PER_CONVERSATION = 4
VOCABULARY = 20_000
COMMON = ("order", "please", "thanks", "help", "account", "invoice", "delivery", "refund")
PAGE = 50
CHUNK = 5_000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    made = {
        "".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(VOCABULARY)
    }
    return [*COMMON, *sorted(made)]


def body(rng: random.Random, words: list[str], cumulative: list[float]) -> str:
    """The same draws as rng.choices(words, weights) without summing 20,000 weights a call."""
    count = rng.randint(20, 120)
    return " ".join(rng.choices(words, cum_weights=cumulative, k=count))


def add_replies(path: Path, messages: int, seed: int) -> tuple[float, float, int]:
    """Replies up to `messages` in all; returns (seconds without index, seconds of index, added)."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    cumulative = list(accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(words))))
    engine = create_engine(f"sqlite:///{path}")
    table = m.Message.__table__
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conversations = conn.execute(text("SELECT id, channel_id FROM conversations")).all()
        first = int(conn.execute(text("SELECT max(id) FROM messages")).scalar_one()) + 1
        wanted = max(0, messages - (first - 1))
        now = datetime.now(UTC)
        rows = _rows(rng, conversations, first, wanted, words, cumulative, now)
        write = index = 0.0
        while chunk := [next(rows) for _ in range(min(CHUNK, wanted))] if wanted else []:
            started = time.perf_counter()
            conn.execute(insert(table), chunk)
            write += time.perf_counter() - started
            started = time.perf_counter()
            search_index.index(conn, [_document(row) for row in chunk])
            index += time.perf_counter() - started
            wanted -= len(chunk)
    engine.dispose()
    return write, index, messages - (first - 1)


def _rows(
    rng: random.Random,
    conversations: list[Any],
    first: int,
    count: int,
    words: list[str],
    cumulative: list[float],
    now: datetime,
) -> Iterator[dict[str, Any]]:
    for n in range(first, first + count):
        conversation, channel = conversations[rng.randrange(len(conversations))]
        sent = now - timedelta(days=rng.uniform(0, 120))
        yield {
            "id": n,
            "conversation_id": conversation,
            "channel_id": channel,
            "direction": "inbound" if n % 2 else "outbound",
            "message_id": f"<reply.{n}@bench.example>",
            "in_reply_to": None,
            "refs": [],
            "from_addr": f"person{n % 5000}@bench.example",
            "from_name": f"Person {n % 5000}",
            "to_addrs": ["support@bench.example"],
            "cc_addrs": [],
            "subject": "Re: case",
            "sent_at": sent,
            "created_at": sent,
            "body_text": body(rng, words, cumulative),
            "forwarded": False,
            "thread_reason": "benchmark reply",
        }


def _document(row: dict[str, Any]) -> search_index.Document:
    return search_index.document(
        row["id"],
        subject=row["subject"],
        sender=[row["from_name"], row["from_addr"]],
        recipients=row["to_addrs"],
        body=row["body_text"],
    )


def queries(rng: random.Random, count: int) -> list[tuple[str, str]]:
    words = vocabulary(random.Random(7))
    rare = words[len(COMMON) + 5000 :]
    medium = words[len(COMMON) : len(COMMON) + 300]
    kinds: list[tuple[str, Callable[[], str]]] = [
        ("common word", lambda: rng.choice(COMMON)),
        ("rare word", lambda: rng.choice(rare)),
        ("phrase", lambda: f'"{rng.choice(COMMON)} {rng.choice(COMMON)}"'),
        ("prefix", lambda: rng.choice(medium)[:3] + "*"),
        ("filtered", lambda: f"{rng.choice(medium)} is:open after:30d"),
    ]
    shares = (0.25, 0.2, 0.2, 0.15, 0.2)
    out = []
    for (kind, make), share in zip(kinds, shares, strict=True):
        out += [(kind, make()) for _ in range(max(1, int(count * share)))]
    rng.shuffle(out)
    return out


async def latencies(
    url: str, mix: list[tuple[str, str]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock ms per query by kind, and the process's CPU ms for it (all threads: the
    database's too), which a loaded machine stretches less than the wall clock."""
    db = Database(url)
    found: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        await db.query(lambda s: s.execute(text("SELECT 1")))  # connect before timing
        for kind, typed in mix:
            query = parse(typed)
            started, used = time.perf_counter(), time.process_time()
            await db.query(lambda s, q=query: search_page(s, q, now=datetime.now(UTC), limit=PAGE))
            found.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            cpu.setdefault(kind, []).append((time.process_time() - used) * 1000)
    finally:
        await db.close()
    return found, cpu


def substring_baseline(path: Path, mix: list[tuple[str, str]]) -> list[float]:
    conn = sqlite3.connect(path)
    taken = []
    for _, typed in mix:
        word = typed.strip('"*').split()[0]
        started = time.perf_counter()
        conn.execute(
            "SELECT c.id FROM conversations c JOIN messages msg ON msg.conversation_id = c.id "
            "WHERE msg.subject LIKE ? OR msg.from_name LIKE ? OR msg.from_addr LIKE ? "
            "GROUP BY c.id ORDER BY max(c.updated_at) DESC LIMIT ?",
            (f"%{word}%",) * 3 + (PAGE,),
        ).fetchall()
        taken.append((time.perf_counter() - started) * 1000)
    conn.close()
    return taken


def size_without_index(path: Path) -> int:
    copy = path.with_name("without-index.db")
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    conn.execute(f"DROP TABLE {search_index.TABLE}")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline",
        type=int,
        default=None,
        help="run the substring baseline on the first N queries of the mix (default: all)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --dir: query the desk built there by an earlier run (same --messages, --seed)",
    )
    args = parser.parse_args(argv)
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="search-bench-"))
    path = workdir / "search.db"
    built_figures = workdir / f"search-{args.messages}-{args.seed}.json"
    tickets = max(1, args.messages // PER_CONVERSATION)
    if args.reuse and path.exists() and built_figures.exists():
        print(built_figures.read_text().strip() + "\n(desk reused from an earlier run)")
    else:
        built_figures.unlink(missing_ok=True)
        started = time.perf_counter()
        build_big_desk(path, tickets=tickets, seed=args.seed, replace=True)
        built = time.perf_counter() - started
        write, index, added = add_replies(path, args.messages, args.seed)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = path.stat().st_size
        bare = size_without_index(path)
        figures = "\n".join(
            (
                f"desk: {tickets:,} tickets, {args.messages:,} messages (bigdesk {built:.0f} s)",
                f"index build: {added / index:,.0f} messages/s for the index alone; "
                f"baseline {added / write:,.0f} messages/s writing the same rows without it",
                f"size: {total / 2**20:,.0f} MiB with the index; baseline {bare / 2**20:,.0f} "
                f"MiB without (+{(total - bare) / bare:.0%})",
            )
        )
        print(figures)
        built_figures.write_text(figures + "\n")
    mix = queries(random.Random(args.seed), args.queries)
    found, cpu = asyncio.run(latencies(str(path), mix))
    baseline = substring_baseline(path, mix[: args.baseline])
    every = [t for times in found.values() for t in times]
    every_cpu = [t for times in cpu.values() for t in times]
    print(f"queries ({len(mix)}, first page of {PAGE}), ms (wall clock; CPU of the process):")
    print(f"  {'kind':<12} {'n':>4} {'median':>8} {'p99':>8} {'cpu med':>8} {'cpu p99':>8}")
    for kind, times in [*sorted(found.items()), ("all", every)]:
        used = every_cpu if kind == "all" else cpu[kind]
        print(
            f"  {kind:<12} {len(times):>4} {statistics.median(times):>8.1f} "
            f"{_p(times, 0.99):>8.1f} {statistics.median(used):>8.1f} {_p(used, 0.99):>8.1f}"
        )
    print(
        f"  baseline ({len(baseline)} of them): substring match of the first word over "
        "subjects and senders: median "
        f"{statistics.median(baseline):.1f}, p99 {_p(baseline, 0.99):.1f}"
    )
    if args.dir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
