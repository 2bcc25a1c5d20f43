"""Email templates: `template list|show|set|lint|rename|delete`.

Renders (the preview, the lint) run with no transaction open, each in a worker process within the
render budget (SPEC D10): the variables are read first, the renders run, then a change commits."""

from __future__ import annotations

import argparse
import asyncio

from app.cli import output
from app.cli.shared import act, opened, read_body
from app.cli.tables import Col, print_table
from automation import admin
from automation.render_worker import render_within
from automation.templates import TemplateRenderError
from runtime.desk import Desk
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
    p = tsub.add_parser(
        "lint",
        help="check a template's names and render it against the 20 newest tickets and one "
        "with empty optional fields",
    )
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_template_lint)
    p = tsub.add_parser("rename", help="rename a custom template (its actions keep sending it)")
    p.add_argument("name")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.set_defaults(func=cmd_template_rename)
    p = tsub.add_parser("delete", help="delete a custom template (one in use needs --replace-with)")
    p.add_argument("name")
    p.add_argument(
        "--replace-with",
        metavar="NAME",
        help="the template the actions that send it send from now on",
    )
    p.set_defaults(func=cmd_template_delete)


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
        print_table(
            (Col("Name"), Col("Kind", fixed=True), Col("Subject")),
            [
                [
                    output.clean(row["name"]),
                    "built-in" if row["builtin"] else "custom",
                    output.clean(row["subject"]),
                ]
                for row in rows
            ],
        )
    return 0


async def cmd_template_show(args: argparse.Namespace) -> int:
    def show(repo: SqlRepository) -> tuple[str, str, str, dict | None]:
        template = repo.template_by_name(args.name)
        if template is None:
            raise admin.SettingsError(f"no template {args.name!r}")
        variables = None
        if args.preview is not None:
            variables = admin.preview_variables(repo, args.preview or None)
        return template.name, template.subject, template.body, variables

    async with opened(args) as desk:
        _, subject, body, variables = await desk.read(show)
    text = f"Subject: {subject}\n\n{body}"
    if variables is not None:
        try:
            done = await asyncio.to_thread(render_within, subject, body, variables)
        except TemplateRenderError as exc:
            text = f"{text}\n--- preview failed: {exc}"
        else:
            text = f"{text}\n--- preview ---\nSubject: {done.subject}\n\n{done.body}"
    print(output.clean_block(text))
    return 0


async def _linted(desk: Desk, subject: str, body: str) -> list[str]:
    """The static check's problems, else the renders' failures (renders outside transactions)."""
    samples = await desk.read(admin.lint_samples)
    return await asyncio.to_thread(admin.lint, subject, body, samples)


async def cmd_template_set(args: argparse.Namespace) -> int:
    body = read_body(args) if args.body_file else None
    async with opened(args) as desk:
        current = await desk.read(
            lambda repo: (t.subject, t.body) if (t := repo.template_by_name(args.name)) else None
        )
        subject = args.subject if args.subject is not None else (current or ("", ""))[0]
        text = body if body is not None else (current or ("", ""))[1]
        if subject and text:
            problems = await _linted(desk, subject, text)
            if problems:
                raise admin.SettingsError("template not saved: " + "; ".join(problems))
    await act(
        args,
        lambda repo, user: admin.set_template(
            repo, user, args.name, subject=args.subject, body=body
        ),
    )
    print(f"Template {args.name} saved")
    return 0


async def cmd_template_lint(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        name, subject, body, count = await desk.read(
            lambda repo: (
                (t := admin.template_named(repo, args.name)).name,
                t.subject,
                t.body,
                len(repo.newest_tickets(admin.LINT_TICKETS)),
            )
        )
        problems = await _linted(desk, subject, body)
    if args.json:
        output.dump({"version": 1, "template": name, "tickets": count, "problems": problems})
    elif problems:
        print(f"Template {output.clean(name)}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {output.clean(problem)}")
    else:
        print(
            f"Template {output.clean(name)}: no problems (rendered against {count} ticket(s) "
            "and one with empty optional fields)"
        )
    return 1 if problems else 0


async def cmd_template_rename(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.rename_template(repo, user, args.name, args.new_name))
    print(f"Template {output.clean(args.name)} renamed to {output.clean(args.new_name)}")
    return 0


async def cmd_template_delete(args: argparse.Namespace) -> int:
    moved = await act(
        args,
        lambda repo, user: admin.delete_template(
            repo, user, args.name, replace_with=args.replace_with
        ),
    )
    said = f"Template {output.clean(args.name)} deleted"
    if moved:
        said += f"; {moved} action(s) now send {output.clean(args.replace_with)}"
    print(said)
    return 0
