"""The settings screen's snippets (issue 12; SPEC D10, D18), Pilot at 80x24 over a real SQLite
file: an admin edits a shared snippet in the template editor with its live preview (the snippets'
variables, `me` among them), an undefined name is refused at save, a good one is saved; a rep
reads it (settings are admins')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static, TextArea

from app.screens.settings.snippet_rows import SnippetEditor
from automation import snippets
from tests.app_helpers import make_app, seeded_desk, wait_for, wait_for_async
from tests.test_app_settings import customer_ticket, go_to, key_of, open_settings

SIZE = (80, 24)
pytestmark = pytest.mark.sqlite_only


async def test_an_admin_edits_a_shared_snippet_with_live_preview_a_rep_reads_it(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    await desk.admin(lambda repo, user: snippets.save(repo, user, "hi", "Hi!", shared=True))

    async def own_body() -> str | None:
        def read(repo: Any) -> str | None:
            row = repo.snippet_row(None, "hi")
            return row.body if row is not None else None

        return await desk.db.run(read)

    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "snippet", {"name": "hi"}))
        await pilot.press("e")
        editor: SnippetEditor = await wait_for(
            pilot,
            lambda: isinstance(app.screen, SnippetEditor) and app.screen.rendered and app.screen,
            what="the editor",
        )
        area = editor.query_one("#template-body", TextArea)
        _type(area, "Hello {{ contact.name }}, {{ me.name }} here.")
        await wait_for(
            pilot,
            lambda: (
                "Hello Carol Customer, Administrator here."
                in str(editor.query_one("#template-preview-text", Static).render())
            ),
            what="the live preview",
        )
        _type(area, "Hello {{ contct.name }}")
        await wait_for(pilot, lambda: editor.error is not None, what="the error")
        assert "unknown variable 'contct'" in editor.error
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert await own_body() == "Hi!"  # not saved
        _type(area, "Bye {{ me.name }}")
        await wait_for(pilot, lambda: editor.error is None, what="no error")
        await pilot.press("ctrl+s")
        await wait_for_async(pilot, lambda: _is(own_body, "Bye {{ me.name }}"), what="saved")
        await wait_for(pilot, lambda: not isinstance(app.screen, SnippetEditor), what="closed")
    rep = make_app(db_path, as_user="rita")
    async with rep.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "snippet", {"name": "hi"}))
        await pilot.press("enter")
        shown = await wait_for(
            pilot, lambda: isinstance(rep.screen, SnippetEditor) and rep.screen, what="reader"
        )
        assert shown.read_only and shown.query_one("#template-body", TextArea).read_only
    await desk.db.close()


async def _is(read: Any, expected: str) -> bool:
    return bool(await read() == expected)


def _type(area: TextArea, text: str) -> None:
    """Replace the text as typing does (an edit: the editor hears of it)."""
    area.clear()
    area.insert(text)
