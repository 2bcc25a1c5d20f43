"""A million-ticket desk (issue 16 item 4): build time and shape, board counts, first paint and
keys.

    .venv/bin/python -m benchmarks.million_bench [--tickets 1000000] [--keys 50]

Builds (or reuses, `benchmarks.tui_bench.desk_file`; `--rebuild` builds it again, timed) a
`benchmarks.bigdesk` SQLite desk of `--tickets` tickets and prints, each beside its baseline
from the same run:

- the build (with `--rebuild`): wall and CPU seconds, the load average meanwhile, seconds per
  phase; beside it the bulk writer and the reference writer (SQLAlchemy Core, indexes kept
  during the load) on `--baseline-tickets` tickets; and the desk's shape (tickets,
  conversations, messages, tickets per status; one board column holds ~94% of them);
- board counts: the per-status counts the board reads on every refresh, from the maintained
  `board_counts` rows (SPEC B8.6), beside COUNT(*) over the tickets (what it read before);
- the app (`benchmarks.tui_bench.measure`, the real app headless at 80x24): inbox and board
  first paint, `j` and `G` key to screen, beside the same on a 1,000-ticket desk.

Search latency at scale is `benchmarks.search_bench`'s (its corpus has the word spread a search
needs); this desk's bodies come from a small vocabulary.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from benchmarks.bigdesk import build_big_desk
from benchmarks.tui_bench import desk_file, measure, report
from storage import models as m
from storage import views


def shape(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        found = {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("tickets", "conversations", "messages", "contacts", "timeline_events")
        }
        for label, count in conn.execute(
            "SELECT s.label, count(t.id) FROM statuses s LEFT JOIN tickets t "
            "ON t.status_id = s.id GROUP BY s.id ORDER BY s.position"
        ):
            found[f"status {label}"] = int(count)
    found["file MiB"] = path.stat().st_size >> 20
    return found


def _count_star(session: Session, pipeline_id: int) -> dict[int, int]:
    t = m.Ticket
    rows = session.execute(
        select(t.status_id, func.count()).where(t.pipeline_id == pipeline_id).group_by(t.status_id)
    )
    return {status_id: count for status_id, count in rows}


def _timed(read: Callable[[], Any], times: int) -> tuple[list[float], Any]:
    taken, value = [], None
    for _ in range(times):
        started = time.perf_counter()
        value = read()
        taken.append((time.perf_counter() - started) * 1000)
    return taken, value


def timed_build(path: Path, tickets: int, *, bulk: bool = True) -> dict[str, Any]:
    """Build `path` again; wall and CPU seconds, the 1-minute load average after, phases."""
    phases: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    build_big_desk(path, tickets=tickets, replace=True, bulk=bulk, phases=phases)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "load": os.getloadavg()[0],
        "phases": phases,
    }


def build_report(big: Path, tickets: int, baseline_tickets: int) -> None:
    with tempfile.TemporaryDirectory(prefix="million-bench.") as scratch:
        small = Path(scratch) / "small.db"
        reference = timed_build(small, baseline_tickets, bulk=False)
        bulk = timed_build(small, baseline_tickets)
    built = timed_build(big, tickets)
    print(f"build, {tickets:,} tickets (bulk writer)")
    print(
        f"  wall {built['wall']:7.1f} s   CPU {built['cpu']:7.1f} s   "
        f"(load average {built['load']:.1f} on {os.cpu_count()} cores)"
    )
    for phase, seconds in built["phases"].items():
        print(f"    {phase:<42} {seconds:7.1f} s")
    print(f"baseline, {baseline_tickets:,} tickets, same run")
    for name, run in (("reference writer", reference), ("bulk writer", bulk)):
        print(f"  {name:<18} wall {run['wall']:7.1f} s   CPU {run['cpu']:7.1f} s")
    print(f"  bulk / reference CPU {bulk['cpu'] / reference['cpu']:.2f}")
    print("  goal: 1,000,000 tickets in under 2 minutes")


def board_counts(path: Path, times: int = 20) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            pipeline = session.scalar(select(m.Pipeline.id).order_by(m.Pipeline.id).limit(1))
            assert pipeline is not None
            kept, kept_counts = _timed(lambda: views.status_counts(session, pipeline), times)
            star, star_counts = _timed(lambda: _count_star(session, pipeline), times)
    finally:
        engine.dispose()
    return {"kept": kept, "star": star, "exact": kept_counts == star_counts}


def _ms(taken: list[float]) -> str:
    ordered = sorted(taken)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):8.2f} ms  p95 {p95:8.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--no-app", action="store_true", help="skip the app's first paint and keys")
    parser.add_argument("--rebuild", action="store_true", help="build the desk again, timed")
    parser.add_argument("--baseline-tickets", type=int, default=20_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.rebuild:
        big = desk_file(args.tickets, build=False)
        build_report(big, args.tickets, args.baseline_tickets)
    big = desk_file(args.tickets)
    print(f"desk ready in {time.perf_counter() - started:.1f} s: {big}")
    for key, value in shape(big).items():
        print(f"  {key:<28} {value:>11,}")
    counts = board_counts(big)
    print("board counts per refresh (SPEC B8.6)")
    print(f"  maintained rows            {_ms(counts['kept'])}")
    print(f"  COUNT(*) baseline          {_ms(counts['star'])}")
    print(f"  equal: {counts['exact']}")
    if not args.no_app:
        small = desk_file(1_000)
        baseline = asyncio.run(measure(small, (80, 24), args.keys))
        result = asyncio.run(measure(big, (80, 24), args.keys))
        report("baseline: 1,000 tickets, 80x24", baseline)
        report(f"{args.tickets:,} tickets, 80x24", result)
        print("  goals: first paint < 500 ms, key p95 < 20 ms, G < 50 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
