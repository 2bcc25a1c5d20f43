"""`deskline search QUERY`: the conversations a full-text query finds (the app's `/` language)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened, page_flags
from automation import saved_views
from automation.search.query import QueryError, parse
from runtime.identity import current_user
from storage.pages import DEFAULT_LIMIT, Page
from storage.repository import SqlRepository
from storage.search import RELEVANCE_LIMIT, SearchPage, search_page

QUERY_HELP = (
    'words (all of them), "a phrase", prefix*, a OR b, -word; filters: from: to: subject: '
    "status: owner:(me) channel: pipeline: tag: is:open|closed|unassigned ticket:open|closed "
    "has:attachment before: after: (2026-11-30, or 12h, 7d, 2w, 3m ago)"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="find conversations by their words and filters",
        description="Conversations whose messages (subject, text, quoted text, sender, "
        "recipients, attachment names) match the query, best first. " + QUERY_HELP,
    )
    p.add_argument(
        "query", nargs="*", metavar="QUERY", help="the search, as typed after / in the app"
    )
    p.add_argument(
        "--view",
        metavar="NAME",
        help="run a saved view (yours, else the shared one); QUERY words narrow it",
    )
    page_flags(p, "conversations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)


async def cmd_search(args: argparse.Namespace) -> int:
    text = " ".join(args.query)
    limit = None if args.all else (args.limit or DEFAULT_LIMIT)
    async with opened(args) as desk:
        if args.view is not None:  # D20: the viewer's own view shadows a shared one
            view = await desk.db.read(
                lambda repo: saved_views.find_view(
                    repo, current_user(repo, args.as_user), args.view
                )
            )
            text = f"{view.query} {text}".strip()
        try:
            query = parse(text)
        except QueryError as exc:
            raise UserError(f"search: {exc}") from exc
        if query.empty:
            raise UserError("search: nothing to search for: give words or filters")
        now = desk.db.now()

        def read(session: Session) -> SearchPage:
            viewer = None
            if any(f.name == "owner" and f.value.lower() == "me" for f in query.filters):
                viewer = current_user(SqlRepository(session), args.as_user).id
            return search_page(
                session,
                query,
                viewer_id=viewer,
                now=now,
                after=args.after,
                limit=limit,
            )

        try:
            found = await desk.query(read)
        except QueryError as exc:
            raise UserError(f"search: {exc}") from exc
    if args.json:
        output.dump(
            {
                "version": output.JSON_VERSION,
                "query": text,
                "order": found.order,
                "conversations": found.rows,
                "total": found.total,
                "next": found.next,
            }
        )
        return 0
    output.print_conversations(Page(found.rows, found.total or 0, None), as_json=False)
    if found.total is None:
        print(
            f"deskline: the words are in over {RELEVANCE_LIMIT:,} messages: newest first "
            "rather than best first",
            file=sys.stderr,
        )
    if found.next is not None:
        of = f" of {found.total}" if found.total is not None else ""
        print(
            f"deskline: {len(found.rows)}{of} conversations shown; the next ones: "
            f"--after {found.next} (or --all for every one)",
            file=sys.stderr,
        )
    return 0
