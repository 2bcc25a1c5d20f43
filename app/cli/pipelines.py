"""Pipelines and their statuses (the settings screen's pipeline and status rows):
`pipeline list|add|rename|move|remove` and `pipeline status add|rename|move|remove`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import output
from app.cli.output import clean
from app.cli.shared import act, opened
from automation import admin
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    pipeline = sub.add_parser(
        "pipeline", help="pipelines and their statuses: list, add, rename, move, remove"
    )
    psub = pipeline.add_subparsers(dest="pipeline_command", metavar="ACTION", required=True)
    p = psub.add_parser("list", help="every pipeline with its statuses, in order")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pipeline_list)
    p = psub.add_parser("add", help="a new pipeline with the default statuses and triggers")
    p.add_argument("name")
    p.set_defaults(func=cmd_pipeline_add)
    p = psub.add_parser("rename", help="rename a pipeline (its tickets and channels follow)")
    p.add_argument("name")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.set_defaults(func=cmd_pipeline_rename)
    p = psub.add_parser("move", help="put a pipeline at a position (1: the default pipeline)")
    p.add_argument("name")
    p.add_argument("position", type=int)
    p.set_defaults(func=cmd_pipeline_move)
    p = psub.add_parser(
        "remove", help="remove a pipeline, moving its tickets and channels to another"
    )
    p.add_argument("name")
    p.add_argument("--move-to-pipeline", required=True, metavar="PIPELINE")
    p.add_argument("--move-to-status", required=True, metavar="STATUS")
    p.set_defaults(func=cmd_pipeline_remove)
    _register_statuses(psub)


def _register_statuses(psub: argparse._SubParsersAction) -> None:
    status = psub.add_parser("status", help="a pipeline's statuses: add, rename, move, remove")
    ssub = status.add_subparsers(dest="status_command", metavar="ACTION", required=True)
    p = ssub.add_parser("add", help="add a status at the end of a pipeline")
    p.add_argument("label")
    p.add_argument("--closed", action="store_true", help="a closed status (default: open)")
    _pipeline_flag(p)
    p.set_defaults(func=cmd_status_add)
    p = ssub.add_parser("rename", help="rename a status (triggers that target it keep working)")
    p.add_argument("label")
    p.add_argument("new_label", metavar="NEW_LABEL")
    _pipeline_flag(p)
    p.set_defaults(func=cmd_status_rename)
    p = ssub.add_parser("move", help="put a status at a position (1: where new tickets start)")
    p.add_argument("label")
    p.add_argument("position", type=int)
    _pipeline_flag(p)
    p.set_defaults(func=cmd_status_move)
    p = ssub.add_parser("remove", help="remove a status (its tickets move first)")
    p.add_argument("label")
    p.add_argument("--move-to", metavar="STATUS", help="where its tickets go (needed if any)")
    _pipeline_flag(p)
    p.set_defaults(func=cmd_status_remove)


def _pipeline_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pipeline", help="default: the first pipeline")


async def cmd_pipeline_list(args: argparse.Namespace) -> int:
    def read(repo: SqlRepository) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "statuses": [{"label": s.label, "state": s.state} for s in repo.statuses(p.id)],
            }
            for p in repo.pipelines()
        ]

    async with opened(args) as desk:
        rows = await desk.read(read)
    if args.json:
        output.dump({"version": 1, "pipelines": rows})
        return 0
    for position, row in enumerate(rows, start=1):
        print(f"{position}. {clean(row['name'])}")
        for status in row["statuses"]:
            print(f"     {clean(status['label'])} ({status['state'].lower()})")
    return 0


async def cmd_pipeline_add(args: argparse.Namespace) -> int:
    name = await act(args, lambda repo, user: admin.add_pipeline(repo, user, args.name).name)
    print(f"Pipeline {clean(name)} added, with the default statuses and triggers")
    return 0


async def cmd_pipeline_rename(args: argparse.Namespace) -> int:
    name = await act(
        args, lambda repo, user: admin.rename_pipeline(repo, user, args.name, args.new_name).name
    )
    print(f"Pipeline {clean(args.name)} renamed to {clean(name)}")
    return 0


async def cmd_pipeline_move(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.move_pipeline(repo, user, args.name, args.position))
    print(f"Pipeline {clean(args.name)} is now number {args.position}")
    return 0


async def cmd_pipeline_remove(args: argparse.Namespace) -> int:
    moved = await act(
        args,
        lambda repo, user: admin.remove_pipeline(
            repo,
            user,
            args.name,
            move_to_pipeline=args.move_to_pipeline,
            move_to_status=args.move_to_status,
        ),
    )
    print(f"Pipeline {clean(args.name)} removed; {moved} ticket(s) moved")
    return 0


async def cmd_status_add(args: argparse.Namespace) -> int:
    state = "CLOSED" if args.closed else "OPEN"
    label = await act(
        args,
        lambda repo, user: admin.add_status(repo, user, args.pipeline, args.label, state).label,
    )
    print(f"Status {clean(label)} ({state.lower()}) added")
    return 0


async def cmd_status_rename(args: argparse.Namespace) -> int:
    label = await act(
        args,
        lambda repo, user: (
            admin.rename_status(repo, user, args.pipeline, args.label, args.new_label).label
        ),
    )
    print(f"Status {clean(args.label)} renamed to {clean(label)}")
    return 0


async def cmd_status_move(args: argparse.Namespace) -> int:
    await act(
        args,
        lambda repo, user: admin.move_status(repo, user, args.pipeline, args.label, args.position),
    )
    print(f"Status {clean(args.label)} is now number {args.position}")
    return 0


async def cmd_status_remove(args: argparse.Namespace) -> int:
    moved = await act(
        args,
        lambda repo, user: admin.remove_status(
            repo, user, args.pipeline, args.label, move_to=args.move_to
        ),
    )
    print(f"Status {clean(args.label)} removed; {moved} ticket(s) moved")
    return 0
