"""The workflow editor: `workflow list|show|clone|enable|disable|reenroll|sources|condition|delete`
and `workflow action` (the actions menu, see app.cli.actions)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import output
from app.cli.actions import register_menu
from app.cli.errors import UserError
from app.cli.shared import ON_OFF, act, condition_json, opened
from automation import admin, flow
from automation.admin import CHANNEL_KINDS
from automation.admin.workflows import also_running, same_status_workflows
from storage import queries
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    wf = sub.add_parser(
        "workflow",
        help="workflows: list, show, clone, enable, disable, reenroll, delete, actions",
        description="The workflow editor. Status actions are a workflow per status, "
        "enrollment “ticket status is X”, and a ticket enrolls in it once. To change "
        "re-enrollment or the source condition, clone the workflow, change the clone, switch it "
        "on and delete the original. Only admins change workflows; everyone can list and show.",
    )
    wsub = wf.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)

    p = wsub.add_parser(
        "list",
        help="every workflow of a pipeline: switches, actions, enrollments, 7-day runs",
    )
    p.add_argument("--pipeline", help="default: the first pipeline")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=cmd_workflow_list)

    p = wsub.add_parser(
        "show",
        help="one workflow: enrollment, re-enrollment, its actions as a flow (branches nested, "
        "each action with its id), failures",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=cmd_workflow_show)

    p = wsub.add_parser("clone", help="copy a workflow with its actions (the clone starts off)")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=cmd_workflow_clone)

    p = wsub.add_parser("enable", help="switch a workflow on: tickets enroll in it")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=cmd_workflow_switch, enabled=True)

    p = wsub.add_parser("disable", help="switch a workflow off: no ticket enrolls in it")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=cmd_workflow_switch, enabled=False)

    p = wsub.add_parser(
        "reenroll",
        help="let a ticket enroll each time it enters the status (clones only)",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("state", choices=ON_OFF)
    p.set_defaults(func=cmd_workflow_reenroll)

    p = wsub.add_parser(
        "sources",
        help="enroll only tickets of these sources, e.g. chat (clones only)",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("sources", nargs="+", choices=CHANNEL_KINDS, metavar="SOURCE")
    p.set_defaults(func=cmd_workflow_sources)

    p = wsub.add_parser(
        "condition",
        help="enroll only tickets that match a condition (clones only)",
        description="The enrollment condition of a clone, as JSON: a test "
        '{"field": F, "op": OP, "value": V} or a group {"all": [...]} / {"any": [...]}. '
        "Fields: pipeline, status, source, channel, priority, owner, team, contact, "
        "contact_domain. Ops: is, is_not, in, not_in, is_empty, is_not_empty. "
        "A pipeline, status, source, channel, priority, owner or team must be one the desk "
        "has (any case; an unknown one is refused, naming the valid ones). "
        "'{\"all\": []}' matches every ticket. The source condition (`sources`) stays as it is.",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("condition", metavar="JSON")
    p.set_defaults(func=cmd_workflow_condition)

    p = wsub.add_parser("delete", help="delete a workflow and its actions")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=cmd_workflow_delete)

    action = wsub.add_parser(
        "action",
        help="a workflow's actions: add, edit, comment, clone, move, delete, retry",
        description="The actions menu of a workflow. `add --workflow ID` adds at the end, "
        "or with --in BRANCH_ID:yes|no at the end of a branch's path (`add --if JSON` "
        "adds a branch, see `add --help`); the other commands take an action id (see "
        "`deskline workflow show ID`).",
    )
    xsub = action.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    register_menu(xsub, by_workflow=True)


async def cmd_workflow_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        pipeline, rows = await desk.read(
            lambda repo: _pipeline_workflows(repo, admin.pipeline_or_default(repo, args.pipeline))
        )
    output.print_workflows(pipeline, rows, as_json=args.json)
    return 0


def _pipeline_workflows(repo: SqlRepository, pipeline: Any) -> tuple[str, list[dict[str, Any]]]:
    return str(pipeline.name), queries.workflow_summaries(repo.session, pipeline)


async def cmd_workflow_show(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        detail = await desk.query(lambda s: queries.workflow_detail(s, args.workflow_id))
    if detail is None:
        raise UserError(f"no workflow {args.workflow_id} (see `deskline workflow list`)")
    output.print_workflow(detail, as_json=args.json)
    return 0


async def cmd_workflow_clone(args: argparse.Namespace) -> int:
    def clone(repo: SqlRepository, user: Any) -> tuple[int, str, int]:
        copy = admin.clone_workflow(repo, user, args.workflow_id)
        return copy.id, copy.name, flow.count(copy.actions)

    clone_id, name, count = await act(args, clone)
    print(
        f"Workflow {clone_id} “{output.clean(name)}” created from workflow {args.workflow_id} "
        f"with {count} action{'s' if count != 1 else ''}; it is off "
        f"(`deskline workflow enable {clone_id}` switches it on)."
    )
    print(
        f"Next: `deskline workflow reenroll {clone_id} on` to let tickets enroll again, "
        f"`deskline workflow enable {clone_id}`, then `deskline workflow delete "
        f"{args.workflow_id}` so no ticket is enrolled twice."
    )
    return 0


async def cmd_workflow_switch(args: argparse.Namespace) -> int:
    """`workflow enable ID` / `workflow disable ID` (args.enabled is set by the parser)."""

    def switch(repo: SqlRepository, user: Any) -> tuple[str, list[tuple[int, str]]]:
        workflow = admin.set_workflow(repo, user, args.workflow_id, enabled=args.enabled)
        others = [(w.id, w.name) for w in also_running(repo, workflow)]
        return workflow.name, others if args.enabled else []

    name, others = await act(args, switch)
    state = "on" if args.enabled else "off"
    print(f"Workflow {args.workflow_id} “{output.clean(name)}” is {state}")
    for other_id, other_name in others:
        print(
            f"Note: workflow {other_id} “{output.clean(other_name)}” is on for the same status: "
            f"a ticket entering it runs both (delete it: `deskline workflow delete {other_id}`)"
        )
    return 0


async def cmd_workflow_reenroll(args: argparse.Namespace) -> int:
    await act(
        args,
        lambda repo, user: admin.set_workflow(
            repo, user, args.workflow_id, reenroll=args.state == "on"
        ),
    )
    if args.state == "on":
        print(
            f"Workflow {args.workflow_id}: re-enrollment on (a ticket enrolls every time it "
            "enters the status)"
        )
    else:
        print(f"Workflow {args.workflow_id}: re-enrollment off (a ticket enrolls once)")
    return 0


async def cmd_workflow_sources(args: argparse.Namespace) -> int:
    sources = sorted(set(args.sources))
    await act(
        args,
        lambda repo, user: admin.set_workflow(repo, user, args.workflow_id, sources=sources),
    )
    print(f"Workflow {args.workflow_id} enrolls tickets whose source is {' or '.join(sources)}")
    return 0


async def cmd_workflow_condition(args: argparse.Namespace) -> int:
    condition = condition_json(args.condition)
    await act(
        args,
        lambda repo, user: admin.set_workflow(repo, user, args.workflow_id, conditions=condition),
    )
    print(
        f"Workflow {args.workflow_id}: enrollment condition changed (see `deskline workflow show`)"
    )
    return 0


async def cmd_workflow_delete(args: argparse.Namespace) -> int:
    def delete(repo: SqlRepository, user: Any) -> tuple[str, int, list[tuple[int, str]]]:
        admin.require_admin(user)
        workflow = admin.workflow_by_id(repo, args.workflow_id)
        name, count = workflow.name, flow.count(workflow.actions)
        waiting = [(w.id, w.name) for w in same_status_workflows(repo, workflow) if not w.enabled]
        admin.delete_workflow(repo, user, args.workflow_id)
        return name, count, waiting

    name, count, waiting = await act(args, delete)
    print(
        f"Workflow {args.workflow_id} “{output.clean(name)}” deleted "
        f"({count} action{'s' if count != 1 else ''})"
    )
    for other_id, other_name in waiting:
        print(
            f"Note: workflow {other_id} “{output.clean(other_name)}” for the same status is off: "
            f"`deskline workflow enable {other_id}` switches it on"
        )
    return 0
