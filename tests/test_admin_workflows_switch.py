"""Switching a clone on while its original is on (issue 18 item 3, SPEC R-A7): the app warns,
as `deskline workflow enable` does (both use automation.admin.workflows.also_running), and
offers to switch the original off, delete it, or keep both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.screens.dialogs import ConfirmScreen, PickerScreen
from app.screens.workflows import WorkflowsScreen
from automation import admin
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_app_settings import go_to, open_settings, open_workflows
from tests.test_app_workflows import choose

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def _clone_closed(desk: Desk) -> tuple[int, int]:
    """The built-in "Closed" workflow (it sends "Ticket closed", on) and a clone of it (off)."""

    def clone(repo: Any, me: Any) -> tuple[int, int]:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "Closed")
        original = admin.status_workflow(repo, status)
        return original.id, admin.clone_workflow(repo, me, original.id).id

    return await desk.admin(clone)


async def _switches(desk: Desk) -> dict[int, bool]:
    return await desk.db.run(
        lambda repo: {w.id: w.enabled for p in repo.pipelines() for w in repo.workflows(p.id)}
    )


async def _switch_on_the_clone(pilot: Any, clone: int) -> PickerScreen:
    """In the workflow editor, highlight the clone and press space; the warning it asks."""
    app = pilot.app
    screen: WorkflowsScreen = await open_workflows(pilot)
    rows = screen.query_one("#workflow-list")
    rows.highlighted = [r["id"] for r in screen.rows].index(clone)  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: screen.current and screen.current["id"] == clone)
    await pilot.press("space")
    return await wait_for(
        pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen, what="the warning"
    )


@pytest.mark.parametrize("answer", ["off", "delete", "keep"])
async def test_switching_a_clone_on_beside_its_original_warns_and_offers_what_to_do(
    db_path: Path, answer: str
) -> None:
    """The warning names the original; "off" switches it off, "delete" deletes it after a
    yes, "keep" keeps both on and says so."""
    desk = await seeded_desk(db_path)
    original, clone = await _clone_closed(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        warning = await _switch_on_the_clone(pilot, clone)
        assert "Closed status actions" in warning.title_text and "runs both" in warning.title_text
        assert [v for _, v in warning.choices] == ["off", "delete", "keep"]
        assert "runs both" in screen_text(app)
        await choose(pilot, answer)
        if answer == "delete":
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
        if answer == "keep":
            await wait_for(
                pilot, lambda: any("Both are on" in str(n.message) for n in app._notifications)
            )
        wanted = {"off": {original: False}, "delete": {original: None}, "keep": {original: True}}
        await wait_for_async(
            pilot,
            lambda: _has(desk, {**wanted[answer], clone: True}),
            what=f"the original {answer} and the clone on",
        )
    await desk.db.close()


async def test_no_warning_when_the_original_is_off_or_the_clone_goes_off(db_path: Path) -> None:
    desk = await seeded_desk(db_path)
    original, clone = await _clone_closed(desk)
    await desk.admin(lambda repo, me: admin.set_workflow(repo, me, original, enabled=False))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen: WorkflowsScreen = await open_workflows(pilot)
        rows = screen.query_one("#workflow-list")
        rows.highlighted = [r["id"] for r in screen.rows].index(clone)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: screen.current and screen.current["id"] == clone)
        await pilot.press("space")
        await wait_for_async(pilot, lambda: _has(desk, {original: False, clone: True}))
        await pilot.pause(0.3)
        assert app.screen is screen
    await desk.db.close()


async def _has(desk: Desk, wanted: dict[int, bool | None]) -> bool:
    """Each workflow's switch is as wanted (None: the workflow is gone)."""
    switches = await _switches(desk)
    return all(switches.get(k) == v for k, v in wanted.items())


async def test_the_settings_screen_warns_too(db_path: Path) -> None:
    """The clone's row under its status in settings: space switches it on and the same
    question comes (a change in app/screens/settings/status_rows.py)."""
    desk = await seeded_desk(db_path)
    original, clone = await _clone_closed(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"workflow:{clone}")
        await pilot.press("space")
        warning = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert "Closed status actions" in warning.title_text and "runs both" in warning.title_text
        await choose(pilot, "off")
        await wait_for_async(pilot, lambda: _has(desk, {original: False, clone: True}))
    await desk.db.close()
