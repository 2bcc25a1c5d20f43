"""From settings to the workflow editor (issue 18 item 9, SPEC §5 "Open in workflows", R-T5):
`W` opens the editor on the highlighted row's workflow, not the pipeline's first one; the
read-only "view workflow" page of a trigger or a status offers a key that opens the editor on
it (a trigger's: the workflow of its target status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.screens.settings import SettingsScreen
from app.screens.workflows import WorkflowPage, WorkflowsScreen
from automation import admin
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for
from tests.helpers import Desk
from tests.test_app_settings import go_to, key_of, open_settings

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def _with_waiting_actions(desk: Desk) -> None:
    """A note on "Waiting on us" (its workflow, the triggers' usual target) and on "Waiting on
    contact", so that more statuses than New have a workflow."""
    for label in ("Waiting on contact", "Waiting on us"):
        await desk.admin(
            lambda repo, me, label=label: admin.add_action(
                repo, me, pipeline_name=None, status_label=label, kind="add_note", message="seen"
            )
        )


async def _editor(pilot: Any) -> WorkflowsScreen:
    app = pilot.app
    return await wait_for(
        pilot,
        lambda: isinstance(app.screen, WorkflowsScreen) and app.screen.detail and app.screen,
        what="the workflow editor with a workflow shown",
    )


async def test_W_opens_the_editor_on_the_highlighted_status(db_path: Path) -> None:
    """From the status row, and from the status's read-only page."""
    desk = await seeded_desk(db_path)
    await _with_waiting_actions(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Closed"}))
        await pilot.press("W")
        editor = await _editor(pilot)
        assert editor.current is not None and editor.current["name"] == "Closed status actions"
        assert editor.detail["workflow"]["name"] == "Closed status actions"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Waiting on contact"}))
        await pilot.press("w")  # its read-only page, then W from there
        await wait_for(pilot, lambda: isinstance(app.screen, WorkflowPage))
        await pilot.press("W")
        editor = await _editor(pilot)
        assert editor.current["name"] == "Waiting on contact status actions"
    await desk.db.close()


async def test_W_on_a_clone_opens_the_clone(db_path: Path) -> None:
    desk = await seeded_desk(db_path)

    def clone(repo: Any, me: Any) -> int:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "Closed")
        return int(admin.clone_workflow(repo, me, admin.status_workflow(repo, status).id).id)

    clone_id = await desk.admin(clone)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"workflow:{clone_id}")
        await pilot.press("W")
        editor = await _editor(pilot)
        assert editor.current["id"] == clone_id and not editor.current["builtin"]
    await desk.db.close()


@pytest.mark.parametrize("as_user", ["admin", "rita"])
async def test_a_trigger_page_offers_the_editor_on_its_target_status(
    db_path: Path, as_user: str
) -> None:
    """`w` on a trigger shows its read-only page; the page names the key that opens the editor,
    and that key opens it on the target status's workflow (for a rep too: the editor reads)."""
    desk = await seeded_desk(db_path)
    await _with_waiting_actions(desk)
    app = make_app(db_path, as_user=as_user)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        trigger = next(t for t in screen.triggers if t["target"] == "Waiting on us")
        await go_to(pilot, screen, key_of(screen, "trigger", {"key": trigger["key"]}))
        await pilot.press("w")
        page = await wait_for(pilot, lambda: isinstance(app.screen, WorkflowPage) and app.screen)
        text = await wait_for(
            pilot,
            lambda: "opens it in the workflow editor" in screen_text(app) and screen_text(app),
        )
        assert "W opens it in the workflow editor" in text
        await pilot.press("W")
        editor = await _editor(pilot)
        assert app.screen is editor and page not in app.screen_stack
        assert editor.current["name"] == "Waiting on us status actions"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to settings")
    await desk.db.close()
