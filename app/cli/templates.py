"""Email templates: `template list|show|set`."""

from __future__ import annotations

import argparse

from app.cli import output
from app.cli.shared import act, opened, read_body
from automation import admin
from automation.templates import TemplateRenderError, render
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    template = sub.add_parser("template", help="email templates (Jinja2, sandboxed)")
    tsub = template.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    p = tsub.add_parser("list", help="list templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_template_list)
    p = tsub.add_parser("show", help="a template, and its preview against a real ticket")
    p.add_argument("name")
    p.add_argument(
        "--preview",
        type=int,
        metavar="TICKET",
        nargs="?",
        const=0,
        help="render it (against this ticket, default: the newest)",
    )
    p.set_defaults(func=cmd_template_show)
    p = tsub.add_parser("set", help="create or change a template (checked before it is saved)")
    p.add_argument("name")
    p.add_argument("--subject")
    p.add_argument("--body-file", metavar="F", help="file with the body ('-' for stdin)")
    p.set_defaults(func=cmd_template_set)


async def cmd_template_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.read(
            lambda repo: [
                {"name": t.name, "subject": t.subject, "builtin": t.builtin}
                for t in repo.templates()
            ]
        )
    if args.json:
        output.dump({"version": 1, "templates": rows})
    else:
        for row in rows:
            kind = "built-in" if row["builtin"] else "custom"
            print(f"{output.clean(row['name']):<24} {kind:<8} {output.clean(row['subject'])}")
    return 0


async def cmd_template_show(args: argparse.Namespace) -> int:
    def show(repo: SqlRepository) -> str:
        template = repo.template_by_name(args.name)
        if template is None:
            raise admin.SettingsError(f"no template {args.name!r}")
        text = f"Subject: {template.subject}\n\n{template.body}"
        if args.preview is None:
            return text
        variables = admin.preview_variables(repo, args.preview or None)
        try:
            done = render(template.subject, template.body, variables)
        except TemplateRenderError as exc:
            return f"{text}\n--- preview failed: {exc}"
        return f"{text}\n--- preview ---\nSubject: {done.subject}\n\n{done.body}"

    async with opened(args) as desk:
        print(output.clean_block(await desk.store(show)))
    return 0


async def cmd_template_set(args: argparse.Namespace) -> int:
    body = read_body(args) if args.body_file else None
    await act(
        args,
        lambda repo, user: admin.set_template(
            repo, user, args.name, subject=args.subject, body=body
        ),
    )
    print(f"Template {args.name} saved")
    return 0
