"""`deskline automation export|check|diff|apply`: the desk's automation as a TOML file (B4)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from app.cli.errors import UserError
from app.cli.shared import act, opened
from automation import admin
from automation.as_code.apply import apply, diff
from automation.as_code.export import export_text
from automation.as_code.schema.check import check
from storage.repository import SqlRepository


def register_as_code(asub: argparse._SubParsersAction) -> None:
    """The four subcommands, under `deskline automation`."""
    p = asub.add_parser(
        "export",
        help="write the automation as TOML: pipelines, statuses, triggers, workflows, "
        "templates, limits, channels (no secrets)",
    )
    p.add_argument("--pipeline", help="one pipeline (and the desk-wide sections)")
    p.set_defaults(func=cmd_export)
    p = asub.add_parser("check", help="check an automation file; problems with their lines")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_check)
    p = asub.add_parser("diff", help="what applying an automation file would change (no writes)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_diff)
    p = asub.add_parser(
        "apply",
        help="apply an automation file in one transaction (admins); a section in the file "
        "rules that section only",
    )
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_apply)


async def cmd_export(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        if args.pipeline is not None:
            await desk.read(lambda repo: _known_pipeline(repo, args.pipeline))
        text = await desk.read(lambda repo: export_text(repo, args.pipeline))
    sys.stdout.write(text)
    return 0


def _known_pipeline(repo: SqlRepository, name: str) -> None:
    if repo.pipeline_by_name(name) is None:
        known = ", ".join(p.name for p in repo.pipelines())
        raise UserError(f"no pipeline {name!r} (pipelines: {known})")


def _read(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc})") from exc
    data, problems = check(text)
    if problems or data is None:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        raise UserError(f"{path}: {len(problems)} problem(s), nothing applied")
    return data


async def cmd_check(args: argparse.Namespace) -> int:
    _read(args.file)
    print(f"{args.file}: no problems")
    return 0


async def cmd_diff(args: argparse.Namespace) -> int:
    data = _read(args.file)
    async with opened(args) as desk:
        changes = await desk.read(lambda repo: diff(repo, data))
    for change in changes:
        print(change)
    if not changes:
        print("Nothing changes")
    return 0


async def _lint_templates(args: argparse.Namespace, data: dict[str, Any]) -> None:
    """Templates the file adds or changes must lint: rendered against the desk's newest tickets
    and an empty one, outside any transaction, before the apply's."""
    templates = data.get("templates", {})
    async with opened(args) as desk:
        changed = await desk.read(
            lambda repo: [
                c.key for c in diff(repo, {"templates": templates}) if c.what != "removed"
            ]
        )
        samples = await desk.read(admin.lint_samples) if changed else []
    for name in changed:
        entry = templates[name]
        problems = await asyncio.to_thread(admin.lint, entry["subject"], entry["body"], samples)
        if problems:
            raise UserError(f"{args.file}: template {name}: " + "; ".join(problems))


async def cmd_apply(args: argparse.Namespace) -> int:
    data = _read(args.file)
    await _lint_templates(args, data)

    def one_apply(repo: SqlRepository, user: Any) -> Any:
        repo.begin_apply()  # SPEC S11: the audit shows this apply's changes under one id
        return apply(repo, user, data)

    changes = await act(args, one_apply)
    for change in changes:
        print(change)
    print(f"Applied {args.file}: {len(changes)} change(s)" if changes else "Nothing changed")
    return 0
