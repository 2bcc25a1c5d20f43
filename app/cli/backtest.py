"""`deskline backtest [--automation] RULES_FILE (--since WHEN | --last N) [--until WHEN] [--json]`:
what a changed automation file would have done to the desk's recorded mail and rep actions
(runtime/backtest.py; B2.1)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from app.cli import output
from app.cli.as_code import _read
from app.cli.errors import UserError
from app.cli.shared import opened
from app.cli.tables import Col, print_table
from automation.backtest import BacktestReport
from automation.search.query import QueryError, date_bound
from runtime.backtest import BacktestError, backtest, window_of_last


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay a window of the desk under an automation file and show what would differ",
        description="Replays the inbound mail and the rep actions (moves, closes, reopens, "
        "replies) recorded in the window twice, on two private copies of the desk, on a "
        "simulated clock: once under the desk's automation, once under RULES_FILE (the "
        "format of `automation export`). Prints, per ticket, where the status path, the "
        "emails that would be sent, the tasks, tags, properties, owner, priority or notes "
        "differ, and how many changes each rule made; every action the automation takes "
        "runs, workflow delays included, on the simulated clock. An unchanged file shows "
        "none. The "
        "desk itself is only read; nothing is sent, no secret is read. SQLite desks only.",
    )
    p.add_argument("file", metavar="RULES_FILE", nargs="?", help="the automation file")
    p.add_argument(
        "--automation", metavar="RULES_FILE", help="the automation file (instead of RULES_FILE)"
    )
    window = p.add_mutually_exclusive_group(required=True)
    window.add_argument("--since", metavar="WHEN", help="a day (2026-11-30) or 7d")
    window.add_argument(
        "--last",
        type=int,
        metavar="N",
        help="the window that holds the last N received messages (before --until)",
    )
    p.add_argument("--until", metavar="WHEN", help="a day or a span ago (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backtest)


async def cmd_backtest(args: argparse.Namespace) -> int:
    rules = _read(_rules_file(args))
    now = datetime.now(UTC)
    try:
        since = date_bound("since", args.since, now) if args.since else None
        until = date_bound("until", args.until, now) if args.until else now
    except QueryError as exc:
        raise UserError(f"backtest: {exc}") from exc
    if args.last is not None and args.last < 1:
        raise UserError(f"backtest: --last takes a number of messages, 1 or more, not {args.last}")
    async with opened(args):
        pass  # a Deskline database of a schema this version reads
    if since is None:
        since = await window_of_last(args.db, args.last, until)
        if since is None:
            raise UserError("backtest: the desk has no received message before --until to replay")
    try:
        report = await backtest(args.db, rules, since, until)
    except BacktestError as exc:
        raise UserError(f"backtest: {exc}") from exc
    if args.json:
        output.dump({"version": output.JSON_VERSION, **report.as_json()})
    else:
        _print(report)
    return 0


def _rules_file(args: argparse.Namespace) -> str:
    if args.file and args.automation and args.file != args.automation:
        raise UserError(
            f"backtest: two automation files ({args.file}, {args.automation}): give one"
        )
    if not (args.file or args.automation):
        raise UserError("backtest: which automation file? (deskline backtest --automation FILE)")
    return str(args.file or args.automation)


def _print(report: BacktestReport) -> None:
    print(
        f"Replayed {report.messages} messages and {report.actions} rep actions from "
        f"{report.since[:16]} to {report.until[:16]} UTC: {report.tickets} tickets"
    )
    for reason in report.skipped:
        print(f"  not replayed: {output.clean(reason)}")
    if not report.differences:
        print("No differences: the file would have done what the desk's rules did.")
        return
    rows = [
        [
            output.clean(d.subject),
            d.aspect,
            output.clean(" → ".join(d.current) if d.aspect == "statuses" else "; ".join(d.current)),
            output.clean(" → ".join(d.changed) if d.aspect == "statuses" else "; ".join(d.changed)),
        ]
        for d in report.differences
    ]
    print_table([Col("Ticket"), Col("What", fixed=True), Col("Now"), Col("With the file")], rows)
    print(f"{len(report.differences)} difference(s)")
    if report.rules:
        print("Changes per rule (now / with the file):")
        for name, (now, with_file) in sorted(report.rules.items()):
            print(f"  {output.clean(name)}: {now} / {with_file}")
