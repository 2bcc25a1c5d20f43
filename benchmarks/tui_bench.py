"""How fast the app opens and answers keys on a big help desk.

    .venv/bin/python -m benchmarks.tui_bench [--tickets 100000] [--keys 200] [--size 80x24]

Builds (or reuses) a database of N tickets with `benchmarks.bigdesk` (one board column holds
~94% of them), then runs the real app headless (Textual's test driver, the real backend thread
and database) and reports:

- first paint: from starting the app until the first rows are on screen (the list's first row
  is in the rendered frame), for the inbox and for the board;
- key to screen: for each of `--keys` presses of `j` (and a few `G` jumps), from the key until
  the row under the new cursor is loaded and drawn (median, p95, worst). The keys start once
  the screen has settled (`app.tui.settle_memory`, 1.5 s after its first visit), as they do
  for a person who reads the screen first.

The same run on a 1,000-ticket desk in the same process is the baseline: the ratio shows what
the size of the help desk costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from textual import events

from app.tui import SETTLE_AFTER, DesklineApp
from benchmarks.bigdesk import build_big_desk
from storage.database import HEAD_REVISION
from widgets.row_list import RowList

CACHE = Path(tempfile.gettempdir()) / "deskline-bench"


def desk_file(tickets: int, *, build: bool = True) -> Path:
    """The cached desk of this size, built again when missing or older than the schema
    (`build=False`: only its path)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"big-{tickets}.db"
    if build and (not path.exists() or _revision(path) != HEAD_REVISION):
        started = time.perf_counter()
        build_big_desk(path, tickets=tickets, replace=True)
        print(f"  built {path} ({tickets:,} tickets) in {time.perf_counter() - started:.1f} s")
    return path


def _revision(path: Path) -> str | None:
    with closing(sqlite3.connect(path)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None
    return str(row[0]) if row else None


def frame_text(app: DesklineApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def row_drawn(app: DesklineApp, rows: RowList) -> bool:
    """The row under the cursor is loaded and its text is in the rendered frame."""
    row = rows.current
    if row is None:
        return False
    width = rows.scrollable_content_region.width
    drawn = "".join(text for text, _ in rows.row_cells(row, 0, width)).strip()[:16]
    return drawn in frame_text(app)


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen never showed it")
        await asyncio.sleep(0.001)


async def measure(path: Path, size: tuple[int, int], keys: int) -> dict[str, Any]:
    app = DesklineApp(str(path), as_user="admin", keymap_file=CACHE / "none.toml")
    result: dict[str, Any] = {}
    started = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.ready and bool(app.screen.query(RowList)))
        inbox = app.screen.query_one(RowList)
        await until(pilot, lambda: row_drawn(app, inbox))
        result["inbox_first_paint"] = time.perf_counter() - started
        result["inbox_rows"] = inbox.total
        await asyncio.sleep(SETTLE_AFTER + 0.3)  # a person reads the first screen meanwhile
        result["inbox_j"] = await presses(pilot, app, inbox, "j", keys)
        result["inbox_G"] = await presses(pilot, app, inbox, "G", 1) + await presses(
            pilot, app, inbox, "g", 1
        )
        switched = time.perf_counter()
        await pilot.press("2")
        await until(pilot, lambda: app.screen.__class__.__name__ == "BoardScreen")
        await until(pilot, lambda: bool(app.screen.query("TicketCards")))
        column = app.screen.query_one("TicketCards", RowList)
        await until(pilot, lambda: row_drawn(app, column))
        result["board_first_paint"] = time.perf_counter() - switched
        result["board_column_rows"] = column.total
        await asyncio.sleep(SETTLE_AFTER + 0.3)
        result["board_j"] = await presses(pilot, app, column, "j", keys)
        result["board_G"] = await presses(pilot, app, column, "G", 1)
    return result


async def presses(pilot: Any, app: DesklineApp, rows: RowList, key: str, count: int) -> list[float]:
    """The key is posted like a terminal's (Pilot.press would also wait for every worker, the
    reading pane's included, and adds ~40 ms of its own); the clock stops when the row under the
    new cursor is in the rendered frame. A short pause between keys lets the app settle."""
    times = []
    for _ in range(count):
        target = {"j": rows.cursor + 1, "G": rows.total - 1, "g": 0}[key]
        started = time.perf_counter()
        app.post_message(events.Key(key, key))
        await until(pilot, lambda target=target: rows.cursor == target)
        await until(pilot, lambda: row_drawn(app, rows))
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.03)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  "
        f"worst {ordered[-1] * 1000:6.1f} ms  (n={len(ordered)})"
    )


def report(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}")
    print(f"  inbox: {result['inbox_rows']:,} open conversations")
    print(f"  inbox first paint     {result['inbox_first_paint'] * 1000:7.0f} ms")
    print(f"  inbox j               {summary(result['inbox_j'])}")
    print(f"  inbox G / g           {summary(result['inbox_G'])}")
    print(f"  board: the first column holds {result['board_column_rows']:,} tickets")
    print(f"  board first paint     {result['board_first_paint'] * 1000:7.0f} ms")
    print(f"  board j               {summary(result['board_j'])}")
    print(f"  board G               {summary(result['board_G'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.split("x"))
    big, small = desk_file(args.tickets), desk_file(1_000)
    baseline = asyncio.run(measure(small, (width, height), args.keys))
    result = asyncio.run(measure(big, (width, height), args.keys))
    report(f"baseline: 1,000 tickets, {args.size}", baseline)
    report(f"{args.tickets:,} tickets, {args.size}", result)
    print("\nratios (big / baseline)")
    for key in ("inbox_first_paint", "board_first_paint"):
        print(f"  {key:<20} {result[key] / baseline[key]:5.2f}")
    for key in ("inbox_j", "board_j"):
        ratio = statistics.median(result[key]) / statistics.median(baseline[key])
        print(f"  {key + ' median':<20} {ratio:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
