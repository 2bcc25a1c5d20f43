"""The actions menu of a workflow (R-A6), the same under `automation action` (by status) and
`workflow action` (by workflow id): add, edit, comment, clone, move, delete, retry."""

from __future__ import annotations

import argparse
import re
from typing import Any

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import act
from automation import admin, services
from automation.action_kinds.registry import add_cli_arguments, fields_from_args
from automation.actions import BRANCH, retry_action
from automation.flow import PATHS
from storage.repository import SqlRepository


def register_menu(xsub: argparse._SubParsersAction, *, by_workflow: bool) -> None:
    """The actions menu (R-A6), shared by `automation action` and `workflow action`.

    `add` takes a workflow id or a status (its built-in workflow); the other commands take an
    action id, and with `--workflow ID` refuse an action of another workflow."""
    p = xsub.add_parser(
        "add",
        help="add an action at the end of a workflow (or of a branch's path)"
        if by_workflow
        else "add an action to a status (or to a workflow with --workflow)",
        epilog=_branch_examples(by_workflow),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--workflow", type=int, metavar="ID", help="the workflow (see `deskline workflow list`)"
    )
    where.add_argument("--status", help="the built-in workflow of this status")
    p.add_argument("--pipeline", help="the pipeline of --status (default: the first)")
    p.add_argument(
        "--in",
        dest="into",
        metavar="BRANCH_ID:yes|no",
        help="add at the end of this path of a branch (default: the end of the workflow)",
    )
    add_cli_arguments(p)
    p.set_defaults(func=cmd_action_add)

    def action_id(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action_id", type=int, metavar="ACTION_ID")
        parser.add_argument(
            "--workflow",
            type=int,
            metavar="ID",
            help="check that the action belongs to this workflow",
        )

    p = xsub.add_parser("edit", help="change what an action does")
    action_id(p)
    add_cli_arguments(p)
    p.set_defaults(func=cmd_action_edit)
    p = xsub.add_parser("comment", help="add an admin comment beside an action")
    action_id(p)
    p.add_argument("text")
    p.set_defaults(func=cmd_action_comment)
    p = xsub.add_parser("clone", help="copy an action right after itself")
    action_id(p)
    p.set_defaults(func=cmd_action_clone)
    p = xsub.add_parser(
        "move",
        help="move an action to another place in its list, into a branch's path or out of it",
        description="Without --into or --top the action moves within its list (the workflow's "
        "own list or its branch path) to POSITION. With --into it goes into a branch's path, "
        "with --top into the workflow's own list: at POSITION, or at the end without one. "
        "A branch moves with its paths. POSITION goes right after ACTION_ID, e.g. "
        "`deskline workflow action move 15 2 --into 12:yes`.",
    )
    action_id(p)
    p.add_argument(
        "position",
        type=int,
        nargs="?",
        metavar="POSITION",
        help="1 is the first (the numbers of `deskline workflow show`)",
    )
    to = p.add_mutually_exclusive_group()
    to.add_argument(
        "--into", metavar="BRANCH_ID:yes|no", help="into this path of a branch, e.g. 12:no"
    )
    to.add_argument(
        "--top", action="store_true", help="out of its branch, into the workflow's own list"
    )
    p.set_defaults(func=cmd_action_move)
    p = xsub.add_parser("delete", help="delete an action, or it and all following")
    action_id(p)
    p.add_argument("--and-following", action="store_true", help="this action and all following")
    p.set_defaults(func=cmd_action_delete)
    p = xsub.add_parser(
        "retry", help="run a failed action again (run ids: `workflow show`, the timeline)"
    )
    p.add_argument("run_id", type=int)
    p.set_defaults(func=cmd_action_retry)


def _branch_examples(by_workflow: bool) -> str:
    """The epilog of `action add`: what a branch is and how to fill its paths (80 columns)."""
    where = "--workflow 7" if by_workflow else "--status New"
    menu = "workflow action" if by_workflow else "automation action"
    chat = '{"field": "source", "value": "chat"}'
    return (
        "Branches: --if JSON adds a branch. A ticket that matches the condition\n"
        "takes the branch's yes path, any other ticket its no path; then both go on\n"
        "after the branch. --in BRANCH_ID:yes|no adds an action at the end of a path\n"
        "(the ids are in `deskline workflow show ID`). A branch for chats, say it gets\n"
        "action id 12, then a note in its yes path:\n"
        f"  deskline {menu} add {where} \\\n      --if '{chat}'\n"
        f'  deskline {menu} add {where} --note "Chat!" --in 12:yes'
    )


async def cmd_action_add(args: argparse.Namespace) -> int:
    """Add an action to a status's built-in workflow (--status) or to any workflow (--workflow):
    at the end of its list, or with `--in BRANCH_ID:yes|no` at the end of a branch's path."""
    target = fields_from_args(args)
    into = _branch_path(args.into, "--in")
    workflow_id = getattr(args, "workflow", None)

    def add(repo: SqlRepository, user: Any) -> tuple[int, str]:
        if workflow_id is not None:
            action = admin.add_action_to_workflow(repo, user, workflow_id, into=into, **target)
            return action.id, f"workflow {workflow_id} “{action.workflow.name}”"
        action = admin.add_action(
            repo, user, pipeline_name=args.pipeline, status_label=args.status, into=into, **target
        )
        return action.id, f"“{args.status}”"

    action_id, where = await act(args, add)
    place = f", at the end of the {_path_name(into)}" if into else ""
    print(f"Action {action_id} added to {output.clean(where)}{place}")
    if target["kind"] == BRANCH:
        paths = " and ".join(f"--in {action_id}:{which}" for which in PATHS)
        print(f"Branch {action_id}: add actions to its paths with {paths}")
    return 0


_BRANCH_PATH = re.compile(r"\s*(\d+)\s*:\s*(yes|no)\s*", re.ASCII | re.IGNORECASE)


def _branch_path(text: str | None, flag: str) -> tuple[int, str] | None:
    """`--in` / `--into BRANCH_ID:yes|no` as admin's `into` (None: not given)."""
    if text is None:
        return None
    found = _BRANCH_PATH.fullmatch(text)
    if found is None:
        raise UserError(
            f"{flag} is BRANCH_ID:yes or BRANCH_ID:no, e.g. {flag} 12:yes "
            f"(not {output.clean(text)!r}; the ids are in `deskline workflow show ID`)"
        )
    return int(found.group(1)), found.group(2).lower()


def _path_name(into: tuple[int, str] | None) -> str:
    if into is None:
        return "workflow's own list"
    return f"{into[1]} path of branch {into[0]}"


def _in_workflow(repo: SqlRepository, user: Any, args: argparse.Namespace) -> None:
    """With `--workflow ID`, the action must be one of that workflow's."""
    if getattr(args, "workflow", None) is not None:
        admin.require_action_in_workflow(repo, user, args.action_id, args.workflow)


async def cmd_action_delete(args: argparse.Namespace) -> int:
    """R-A6 delete; a branch takes its paths along, and the output counts them."""

    def delete(repo: SqlRepository, user: Any) -> tuple[int, int]:
        _in_workflow(repo, user, args)
        listed = _listed(repo, args.action_id, and_following=args.and_following)
        gone = admin.delete_action(repo, user, args.action_id, and_following=args.and_following)
        return gone, gone - listed

    count, in_paths = await act(args, delete)
    from_paths = f" ({in_paths} of them in branch paths)" if in_paths > 0 else ""
    print(f"Deleted {count} action{'s' if count != 1 else ''}{from_paths}")
    return 0


def _listed(repo: SqlRepository, action_id: int, *, and_following: bool) -> int:
    """How many actions of its own list a delete takes (their paths' actions not counted)."""
    action = repo.workflow_action(action_id)
    if action is None:
        return 1
    return len(admin.actions_to_delete(action, and_following=and_following))


async def cmd_action_edit(args: argparse.Namespace) -> int:
    target = fields_from_args(args)

    def edit(repo: SqlRepository, user: Any) -> None:
        _in_workflow(repo, user, args)
        admin.edit_action(repo, user, args.action_id, **target)

    await act(args, edit)
    print(f"Action {args.action_id} changed")
    return 0


async def cmd_action_comment(args: argparse.Namespace) -> int:
    def comment(repo: SqlRepository, user: Any) -> None:
        _in_workflow(repo, user, args)
        admin.comment_action(repo, user, args.action_id, args.text)

    await act(args, comment)
    print(f"Comment added to action {args.action_id}")
    return 0


async def cmd_action_clone(args: argparse.Namespace) -> int:
    def clone(repo: SqlRepository, user: Any) -> int:
        _in_workflow(repo, user, args)
        return int(admin.clone_action(repo, user, args.action_id).id)

    copy = await act(args, clone)
    print(f"Action {copy} added right after action {args.action_id}")
    return 0


async def cmd_action_move(args: argparse.Namespace) -> int:
    """Within its list to POSITION, or with --into / --top into a branch's path / the workflow's
    own list (at POSITION, else at the end)."""
    into = _branch_path(args.into, "--into")
    relocate = into is not None or args.top
    if args.position is None and not relocate:
        raise UserError("say where: a POSITION in its list, --into BRANCH_ID:yes|no or --top")

    def move(repo: SqlRepository, user: Any) -> int:
        _in_workflow(repo, user, args)
        if relocate:
            action = admin.move_action_into(repo, user, args.action_id, into, args.position)
        else:
            action = admin.move_action(repo, user, args.action_id, args.position)
        return int(action.position) + 1

    position = await act(args, move)
    place = f" of the {_path_name(into)}" if relocate else ""
    print(f"Action {args.action_id} moved to position {position}{place}")
    return 0


async def cmd_action_retry(args: argparse.Namespace) -> int:
    state = await act(
        args, lambda repo, user: retry_action(repo, services.actor_of(user), args.run_id)
    )
    print(f"Action run {args.run_id} retried: {state}")
    return 0 if state == "ok" else 1
