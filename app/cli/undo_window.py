"""`deskline undo --rule R|--workflow W|--user U --since WHEN`: revert what a rule, a workflow
or a person did over a time window (automation/undo_window.py; SPEC B5.1). Without these flags
`deskline undo` takes back the user's latest change (app/cli/tickets.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened
from app.cli.tables import Col, print_table
from automation.admin import TRIGGER_KINDS
from automation.search.query import QueryError, date_bound
from automation.undo_line import undo_line, undo_span
from automation.undo_window import Report, Selector, UndoWindowError, allowed
from runtime.desk import Desk
from storage import undo_history


def add_flags(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group()
    who.add_argument(
        "--rule", metavar="R", choices=sorted(TRIGGER_KINDS), help="what this trigger did (admins)"
    )
    who.add_argument("--workflow", metavar="W", type=int, help="what this workflow did (admins)")
    who.add_argument("--user", metavar="U", help="what this person did ('me': yourself)")
    who.add_argument(
        "--line",
        metavar="ID",
        type=int,
        help="the change of this timeline line and what it caused (a merge, split or attach "
        "whole; `ticket show --json` gives the ids)",
    )
    p.add_argument("--since", metavar="WHEN", help="from this day (2026-11-30) or span ago (2h)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be reverted")
    p.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")


def asked(args: argparse.Namespace) -> bool:
    return bool(
        args.rule or args.workflow is not None or args.user or args.since or args.line is not None
    )


async def cmd_undo_window(args: argparse.Namespace) -> int:
    if args.line is not None:
        return await _cmd_undo_line(args)
    if not args.since:
        raise UserError("undo: --since WHEN goes with --rule, --workflow or --user")
    if not (args.rule or args.workflow is not None or args.user):
        raise UserError("undo: say whose changes: --rule R, --workflow W or --user U")
    try:
        since = date_bound("since", args.since, datetime.now(UTC))
    except QueryError as exc:
        raise UserError(f"--since: {exc}") from exc
    if not (args.dry_run or args.yes or sys.stdin.isatty()):
        raise UserError("undo: not confirmed (without a terminal, add --yes or --dry-run)")
    async with opened(args) as desk:
        selector = await _selector(desk, args)
        if args.dry_run or args.yes:
            report = await _run(desk, selector, since, dry_run=args.dry_run)
        else:
            report = await _run(desk, selector, since, dry_run=True)
            _print(report)
            if not report.rows or not _confirmed("Revert these? [y/N] "):
                raise UserError("undo: not confirmed, nothing changed")
            report = await _run(desk, selector, since, dry_run=False)
    if args.json:
        output.dump({"version": output.JSON_VERSION, **report.as_json()})
    else:
        _print(report)
    return 0


async def _cmd_undo_line(args: argparse.Namespace) -> int:
    if args.since:
        raise UserError(
            "undo: --line reverts one line; --since goes with --rule, --workflow, --user"
        )
    if not (args.dry_run or args.yes or sys.stdin.isatty()):
        raise UserError("undo: not confirmed (without a terminal, add --yes or --dry-run)")
    async with opened(args) as desk:
        if args.dry_run or args.yes:
            report = await run_line(desk, args.line, dry_run=args.dry_run)
        else:
            report = await run_line(desk, args.line, dry_run=True)
            _print(report)
            if not report.rows or not _confirmed("Revert these? [y/N] "):
                raise UserError("undo: not confirmed, nothing changed")
            report = await run_line(desk, args.line, dry_run=False)
    if args.json:
        output.dump({"version": output.JSON_VERSION, **report.as_json()})
    else:
        _print(report)
    return 0


async def run_line(desk: Desk, line_id: int, *, dry_run: bool) -> Report:
    """Revert timeline line `line_id` (the app's key on a timeline line uses it too)."""

    def change(repo: Any, user: Any) -> Report:
        found = undo_history.line_with_history(repo.session, line_id)
        if found is None:
            raise UndoWindowError(f"no timeline line {line_id}")
        line, lines = found
        return undo_line(repo, user, line, lines, dry_run=dry_run)

    try:
        return await desk.act(change)
    except UndoWindowError as exc:
        raise UserError(f"undo: {exc}") from exc


async def _selector(desk: Desk, args: argparse.Namespace) -> Selector:
    def find(session: Any) -> Selector:
        if args.rule:
            kind = TRIGGER_KINDS[args.rule]
            return Selector("rule", args.rule, undo_history.trigger_ids(session, kind))
        if args.workflow is not None:
            if not undo_history.workflow_exists(session, args.workflow):
                raise UserError(f"undo: no workflow {args.workflow}")
            return Selector("workflow", str(args.workflow), frozenset({args.workflow}))
        return Selector("user", args.user, frozenset())

    return await desk.query(find)


async def _run(desk: Desk, selector: Selector, since: datetime, *, dry_run: bool) -> Report:
    def change(repo: Any, user: Any) -> Report:
        nonlocal selector
        if selector.kind == "user" and not selector.actor_ids:
            target = user if selector.value == "me" else repo.user_by_name(selector.value)
            if target is None:
                raise UndoWindowError(f"no user {selector.value!r}")
            selector = Selector("user", target.name, frozenset({target.id}))
        allowed(user, selector)
        lines = undo_history.lines_since(repo.session, since)
        return undo_span(repo, user, selector, since, lines, dry_run=dry_run)

    try:
        return await desk.act(change)
    except UndoWindowError as exc:
        raise UserError(f"undo: {exc}") from exc


def _print(report: Report) -> None:
    head = "Would revert" if report.dry_run else "Reverted"
    if report.selector.startswith(("line ", "the ")):
        print(f"{head}: {report.selector} ({report.since:%Y-%m-%d %H:%M} UTC) and what it caused")
    else:
        print(f"{head}: what {report.selector} did since {report.since:%Y-%m-%d %H:%M} UTC")
    if not report.rows:
        print("Nothing to revert.")
        return
    rows = [
        [
            f"#{r.ticket}" if r.ticket is not None else f"conversation {r.conversation}",
            r.field,
            r.outcome if not report.dry_run or r.outcome != "reverted" else "would revert",
            output.clean(r.was),
            output.clean(r.back_to),
            output.clean(r.detail),
        ]
        for r in report.rows
    ]
    columns = [Col("Ticket"), Col("Field"), Col("Outcome", fixed=True), Col("Was"), Col("Now")]
    print_table([*columns, Col("Detail")], rows)
    counts = {o: report.count(o) for o in ("reverted", "changed since", "cancelled", "handed")}
    print(", ".join(f"{n} {o}" for o, n in counts.items() if n) or "nothing reverted")


def _confirmed(question: str) -> bool:
    return input(question).strip().lower() in ("y", "yes")
