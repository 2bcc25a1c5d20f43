"""Backtest benchmark (issue 15 B2, SPEC B2.1, B8.5): 10,000 messages backtested on SQLite.

    .venv/bin/python -m benchmarks.backtest_bench [--count 10000] [--profile N]

Builds a fresh standard SQLite desk and imports the corpus into it live (triggers fire, status
actions queue acknowledgements): that import is the baseline, measured in the same run on the
same messages. Then backtests the window of the import under the desk's own rules, exported
and checked as an automation file (an unchanged file: no difference expected), and prints its
time beside the baseline. The target is under 60 s for 10,000 messages. When the target is
missed, or with `--profile N`, one replay of the last N messages of the window runs in this
process with its transactions under cProfile, and the functions where the time goes are
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from automation.as_code.export import export_text
from automation.as_code.schema.check import check
from automation.importer import import_paths
from benchmarks.corpus import generate
from benchmarks.import_bench import configure, write_mbox
from runtime.backtest import backtest, recorded, replay_copy
from runtime.desk import Desk
from storage import models as m
from storage.database import Database

TARGET_SECONDS = 60.0
TARGET_COUNT = 10_000


def _created(session: Session) -> list[datetime]:
    return list(session.scalars(select(m.Message.created_at).order_by(m.Message.id)))


async def build(workdir: Path, count: int) -> tuple[str, float, int, dict, list[datetime]]:
    """The desk, the import's seconds (the baseline), messages stored, the rules, arrivals."""
    mails, _ = generate(count)
    box = workdir / "corpus.mbox"
    write_mbox(box, mails)
    url = f"sqlite:///{workdir / 'desk.db'}"
    desk = Desk(Database(url))
    channel = await configure(desk)
    started = time.perf_counter()
    result = await import_paths(desk.runner, channel, [box])
    seconds = time.perf_counter() - started
    text = await desk.read(lambda repo: export_text(repo))
    arrivals = await desk.query(_created)
    await desk.close()
    rules, problems = check(text)
    assert not problems and rules is not None, problems
    return url, seconds, result.stored, rules, arrivals


def profiled(url: str, rules: dict, since: datetime, until: datetime, top: int = 25) -> str:
    """One replay of the window under `rules`, in this process, with its bulk transactions
    (where a replay's time goes: storing the messages and their automation) under cProfile.
    A backtest runs two such replays side by side, each in a process of its own."""
    profile = cProfile.Profile()
    real = Database._run_blocking

    def traced(self: Database, fn: Any) -> Any:
        profile.enable()
        try:
            return real(self, fn)
        finally:
            profile.disable()

    steps, _, admin = asyncio.run(recorded(url, since, until))
    source = Path(url.removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory(prefix="deskline-bench-") as tmp:
        Database._run_blocking = traced  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            replay_copy(source, Path(tmp) / "copy.db", steps, since, until, admin, rules)
            seconds = time.perf_counter() - started
        finally:
            Database._run_blocking = real  # type: ignore[method-assign]
    out = io.StringIO()
    out.write(f"one replay in {seconds:.1f} s; of it, in its bulk transactions:\n")
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    out.write("\n-- by own time --\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=TARGET_COUNT)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deskline-bench-") as tmp:
        workdir = Path(tmp)
        url, baseline, stored, rules, arrivals = asyncio.run(build(workdir, args.count))
        since = arrivals[0] - timedelta(seconds=1)
        until = datetime.now(UTC) + timedelta(minutes=1)
        started = time.perf_counter()
        report = asyncio.run(backtest(url, rules, since, until))
        seconds = time.perf_counter() - started
        target = TARGET_SECONDS * args.count / TARGET_COUNT
        print(f"messages generated      {args.count:>10,}")
        print(f"stored by the import    {stored:>10,}")
        print(f"baseline: plain import  {baseline:>10.1f} s  ({stored / baseline:,.0f} msg/s)")
        print(
            f"backtest (2 replays)    {seconds:>10.1f} s  ({report.messages / seconds:,.0f} "
            f"msg/s; {seconds / baseline:.2f}x the import)"
        )
        print(f"replayed messages       {report.messages:>10,}")
        print(f"tickets compared        {report.tickets:>10,}")
        print(f"differences             {len(report.differences):>10,}  (expected 0)")
        met = seconds < target
        print(f"target < {target:.0f} s            {'met' if met else 'NOT met'}")
        n = args.profile or (0 if met else min(500, len(arrivals)))
        if n:
            start = arrivals[-n] - timedelta(microseconds=1)
            print(f"\nprofile of a backtest of the last {n} messages:")
            print(profiled(url, rules, start, until))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
