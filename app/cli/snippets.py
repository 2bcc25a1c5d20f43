"""Snippets and signatures: `snippet list|show|set|delete`, `signature show|set|delete`.

A snippet or signature is checked before it is saved (SPEC D10): the static check, then renders
against the newest tickets, one with empty optional fields and a conversation without a ticket,
each in a worker within the render budget, with no transaction open; the save commits after."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import act, opened, read_body
from app.cli.tables import Col, print_table
from automation import admin, signatures, snippets
from automation.admin.people import user_named
from automation.templates import TemplateRenderError
from runtime import reply_text
from storage.repository import SqlRepository


def _body_flags(p: argparse.ArgumentParser) -> None:
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")


def register(sub: argparse._SubParsersAction) -> None:
    snippet = sub.add_parser("snippet", help="canned responses for replies (Jinja2, sandboxed)")
    ssub = snippet.add_subparsers(dest="snippet_command", metavar="ACTION", required=True)
    p = ssub.add_parser("list", help="your snippets and the shared ones (yours shadow shared)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_snippet_list)
    p = ssub.add_parser("show", help="a snippet's text (yours, else the shared one)")
    p.add_argument("name")
    p.add_argument("--shared", action="store_true", help="the shared one, even if you have one")
    p.set_defaults(func=cmd_snippet_show)
    p = ssub.add_parser("set", help="create or change a snippet (checked before it is saved)")
    p.add_argument("name")
    _body_flags(p)
    p.add_argument("--shared", action="store_true", help="a shared snippet (admins)")
    p.set_defaults(func=cmd_snippet_set)
    p = ssub.add_parser("delete", help="delete a snippet of yours (--shared: a shared one)")
    p.add_argument("name")
    p.add_argument("--shared", action="store_true", help="the shared one (admins)")
    p.set_defaults(func=cmd_snippet_delete)

    signature = sub.add_parser(
        "signature", help="your signature on replies (per channel, or everywhere)"
    )
    gsub = signature.add_subparsers(dest="signature_command", metavar="ACTION", required=True)
    for action, helped, func in (
        ("show", "a signature, and which one your replies get", cmd_signature_show),
        ("set", "set a signature (checked before it is saved)", cmd_signature_set),
        ("delete", "delete a signature", cmd_signature_delete),
    ):
        p = gsub.add_parser(action, help=helped)
        p.add_argument("--channel", metavar="C", help="on this channel only")
        p.add_argument("--user", metavar="U", help="another rep's (admins)")
        p.add_argument(
            "--everyone",
            action="store_true",
            help="the channel's signature for every rep without their own (admins)",
        )
        if action == "set":
            _body_flags(p)
        p.set_defaults(func=func)


# --- snippets ----------------------------------------------------------------------------------


async def cmd_snippet_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        found = await desk.read(lambda repo: snippets.visible(repo, desk.user_of(repo)))
    if args.json:
        rows = [
            {"name": s.name, "shared": s.shared, "shadows_shared": s.shadows, "body": s.body}
            for s in found
        ]
        output.dump({"version": 1, "snippets": rows})
        return 0
    print_table(
        (Col("Name"), Col("Kind", fixed=True), Col("Text")),
        [
            [
                output.clean(s.name),
                "shared" if s.shared else ("yours (over shared)" if s.shadows else "yours"),
                output.clean(" ".join(s.body.split())),
            ]
            for s in found
        ],
    )
    return 0


async def cmd_snippet_show(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        found = await desk.read(
            lambda repo: snippets.named(repo, desk.user_of(repo), args.name, shared=args.shared)
        )
    print(output.clean_block(found.body))
    return 0


async def _linted(desk: Any, body: str) -> list[str]:
    """The static check, then the renders (no transaction open, D10)."""
    found = snippets.problems(body)
    if found:
        return found
    samples, budget = await desk.read(lambda repo: snippets.lint_samples(repo, desk.user_of(repo)))
    return await asyncio.to_thread(snippets.lint, body, samples, budget)


async def cmd_snippet_set(args: argparse.Namespace) -> int:
    body = read_body(args)
    async with opened(args) as desk:
        failed = await _linted(desk, body)
        if failed:
            raise UserError("snippet not saved: " + "; ".join(failed))
        await desk.act(
            lambda repo, user: snippets.save(repo, user, args.name, body, shared=args.shared)
        )
    kind = "Shared snippet" if args.shared else "Snippet"
    print(f"{kind} {output.clean(args.name)} saved")
    return 0


async def cmd_snippet_delete(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: snippets.delete(repo, user, args.name, shared=args.shared))
    kind = "Shared snippet" if args.shared else "Snippet"
    print(f"{kind} {output.clean(args.name)} deleted")
    return 0


# --- signatures --------------------------------------------------------------------------------


def _scope(repo: SqlRepository, args: argparse.Namespace) -> dict[str, Any]:
    if args.everyone and args.user:
        raise UserError("--everyone and --user: choose one")
    if args.everyone and not args.channel:
        raise UserError("a signature for every rep is a channel's: add --channel")
    return {
        "for_user": user_named(repo, args.user) if args.user else None,
        "channel": admin.channel_named(repo, args.channel) if args.channel else None,
        "channel_wide": args.everyone,
    }


def _where(args: argparse.Namespace) -> str:
    who = "every rep" if args.everyone else (args.user or "you")
    return f"{output.clean(who)}" + (f" on {output.clean(args.channel)}" if args.channel else "")


async def cmd_signature_show(args: argparse.Namespace) -> int:
    def show(repo: SqlRepository) -> tuple[str | None, str | None]:
        scope, user = _scope(repo, args), desk.user_of(repo)
        exact = signatures.shown(repo, user, **scope)
        rep = scope["for_user"] or user
        channel = scope["channel"]
        used = signatures.for_reply(repo, rep.id, channel.id if channel else None)
        return exact, used

    async with opened(args) as desk:
        exact, used = await desk.read(show)
    if exact is not None:
        print(output.clean_block(exact))
    else:
        print(f"No signature set for {_where(args)}.")
        if used is not None and not args.everyone:
            print("Replies get this one:\n" + output.clean_block(used))
    return 0


async def cmd_signature_set(args: argparse.Namespace) -> int:
    body = read_body(args)
    async with opened(args) as desk:
        failed = await _linted(desk, body)
        if failed:
            raise UserError("signature not saved: " + "; ".join(failed))
        await desk.act(lambda repo, user: signatures.save(repo, user, body, **_scope(repo, args)))
    print(f"Signature for {_where(args)} saved")
    return 0


async def cmd_signature_delete(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: signatures.delete(repo, user, **_scope(repo, args)))
    print(f"Signature for {_where(args)} deleted")
    return 0


# --- a reply's text ----------------------------------------------------------------------------


def reply_text_flags(p: argparse.ArgumentParser) -> None:
    """`reply`'s snippet and signature flags (SPEC D18)."""
    p.add_argument(
        "--snippet",
        action="append",
        default=[],
        metavar="NAME",
        help="add this snippet after the text, rendered for the ticket (repeatable, in order)",
    )
    p.add_argument("--no-signature", action="store_true", help="send this one without signature")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="the text is Markdown: also sent as formatted HTML (raw HTML in it stays text)",
    )


async def reply_body(args: argparse.Namespace, *, what: str = "a reply") -> str:
    """The text (--text or --body-file, if given), the snippets in order, then the signature
    (SPEC D18), rendered outside any transaction within the render budget (D10)."""
    text = read_body(args) if args.body_file or args.text else ""
    if not text.strip() and not args.snippet:
        raise UserError(f"{what} needs --text, --body-file or --snippet")
    async with opened(args) as desk:
        try:
            return await reply_text.compose_text(
                desk,
                text,
                ticket=args.ticket,
                conversation=getattr(args, "conversation", None),  # compose: a new thread
                names=args.snippet,
                signature=not args.no_signature,
            )
        except TemplateRenderError as exc:
            raise UserError(f"cannot render the reply's snippets or signature: {exc}") from exc


async def forward_signature(args: argparse.Namespace, message_row_id: int) -> str | None:
    """The signature a forward of this message gets, rendered (SPEC D18), or none."""
    async with opened(args) as desk:
        try:
            return await reply_text.forward_signature(desk, message_row_id)
        except TemplateRenderError as exc:
            raise UserError(f"cannot render the signature: {exc}") from exc
