"""Settings rows own their keys, and text that names a key reads it from the bindings (SPEC §5
Keys: users remap by binding id in keys.toml; the footer, help and the side pane all follow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Label, Static

from app.screens.keys import UNBOUND, key_for, key_text
from app.screens.settings.bindings import ACTION_OF, BINDINGS
from app.screens.settings.build import ROW_ACTIONS, ROW_TYPES
from app.screens.settings.rows import Row
from app.screens.settings_dialogs import InfoScreen
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.test_app_settings import details_text, go_to, key_of, open_settings

SIZE = (100, 30)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


# --- the row types ------------------------------------------------------------------------------


@pytest.mark.parametrize("row_type", ROW_TYPES, ids=lambda t: t.kind)
def test_each_key_a_row_type_takes_is_one_it_handles(row_type: type[Row]) -> None:
    """The screen hands a key to the highlighted row only when its type takes it: each such key
    has its own handler on the type (not the base's)."""
    assert row_type.ACTIONS, f"{row_type.kind} rows take no key"
    for action in row_type.ACTIONS:
        assert getattr(row_type, action) is not getattr(Row, action), (row_type.kind, action)


def test_row_keys_are_settings_bindings() -> None:
    ids = {b.id for b in BINDINGS if isinstance(b, Binding)}
    for row_type in ROW_TYPES:
        for hint in row_type.KEYS:
            assert set(hint.ids) <= ids, (row_type.kind, hint)
    # Every key that acts on a row is taken by some row type; the others act on the screen.
    taken = set(ROW_ACTIONS)
    screen_keys = {"workflows", "pick_pipeline", "cursor", "section", "back", "history"}
    assert set(ACTION_OF.values()) - taken == screen_keys
    assert len(taken) == 17  # with the People rows: role and members


def test_key_text_names_keys_as_the_pane_always_did() -> None:
    def named(key: str, **kw: Any) -> str:
        return key_text(Binding(key, "x", **kw))

    assert named("space", key_display="space") == "space"
    assert named("space") == "space"  # remapped bindings lose key_display
    assert named("K", key_display="K") == named("K") == "K"
    assert named("question_mark") == "?"
    assert named("escape") == "escape"
    assert named("ctrl+o") == "ctrl+o"
    assert named("x") == "x"
    assert named("plus") == "+" and named("enter") == "enter"


class _Keys(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "delete", "Delete", id="t.delete"),
        Binding("r", "rename", "Rename", id="t.rename"),
        Binding("escape,q", "close", "Close", id="t.close"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("keys")


class _App(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="t.help"),
    ]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self.push_screen(_Keys())


@pytest.mark.parametrize(
    ("keymap", "expected"),
    [
        ({}, {"t.delete": "x", "t.rename": "r", "t.close": "escape", "t.help": "?"}),
        (
            {"t.delete": "d", "t.close": "z,escape", "t.help": "h"},
            {"t.delete": "d", "t.close": "z", "t.help": "h"},
        ),
        # r now runs rename's x: delete lost its key, and the text does not name one
        ({"t.rename": "x"}, {"t.rename": "x", "t.delete": UNBOUND}),
    ],
)
async def test_key_for_reads_the_key_after_the_keymap(
    keymap: dict[str, str], expected: dict[str, str]
) -> None:
    app = _App(keymap)
    async with app.run_test() as pilot:
        await pilot.pause()
        for binding_id, key in expected.items():
            assert key_for(app.screen, binding_id) == key, binding_id
        assert key_for(app.screen, "t.unknown") == UNBOUND


# --- the app, with a keys.toml ------------------------------------------------------------------

KEYS_TOML = """\
[keys]
"settings.switch" = "s"
"settings.delete" = "d"
"settings.move_up" = "U"
"settings.add_action" = "plus"
"settings.workflows" = "o"
"settings.info_close" = "z"
"app.help" = "h"
"""


async def test_a_remapped_settings_key_is_named_in_the_pane_and_works(
    db_path: Path, tmp_path: Path
) -> None:
    """keys.toml remaps settings keys: the side pane, the mode line and the workflow page name
    the new keys (never the old ones), the footer shows them, and the new key does the work."""
    desk = await seeded_desk(db_path)
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS_TOML)
    app = make_app(db_path, as_user="admin", keymap_file=keys)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        mode = str(screen.query_one("#settings-mode", Label).render())
        assert "h all keys" in mode and "? all keys" not in mode

        await go_to(pilot, screen, "channel:1")
        assert "Keys: s switch ticket automation" in details_text(screen)
        assert "space" not in details_text(screen)
        assert "s Switch on/off" in screen_text(app).splitlines()[-1]

        action = key_of(screen, "action", {"description": "Send email “Ticket received”"})
        await go_to(pilot, screen, action)
        text = details_text(screen)
        assert "+ add" in text and "U/J move" in text and "d delete  X delete this" in text
        assert "K/J" not in text and "x delete" not in text

        status = key_of(screen, "status", {"status": "Waiting on us"})
        await go_to(pilot, screen, status)
        await pilot.press("w")
        page = await wait_for(pilot, lambda: isinstance(app.screen, InfoScreen) and app.screen)
        body = str(page.query_one("#info-text", Static).render())
        assert "+ adds one" in body and "o opens the workflow editor" in body
        assert "Read-only view · z closes" in screen_text(app)
        await pilot.press("z")
        await wait_for(pilot, lambda: app.screen is screen, what="z closes the page")

        await go_to(pilot, screen, "channel:1")
        await pilot.press("s")
        await wait_for_async(
            pilot,
            lambda: _automation_of(desk, "support", False),
            what="s switched ticket automation off",
        )
    await desk.db.close()


async def _automation_of(desk: Any, channel: str, on: bool) -> bool:
    return bool(
        await desk.db.run(lambda repo: repo.channel_by_name(channel).ticket_automation is on)
    )
