"""Keys a newcomer reads (issue 19, items 6, 7 and 10; SPEC §5): a footer that fits 80 columns
with the most used keys and `? more`, words instead of rule codes on every screen and in every
--help, keys.toml warnings for unknown ids, a help screen with one key per command and the
keymap's place, and a palette that reaches every command of every screen by its words."""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from app.cli.main import build_parser
from app.screens.commands import PLACES, place_bindings, words_match
from app.screens.compose import ComposeScreen
from app.screens.dialogs import PickerScreen
from app.screens.inbox import InboxScreen
from app.screens.settings import SettingsScreen
from app.screens.tasks import TasksScreen
from app.screens.ticket import TicketScreen
from app.screens.workflows import WorkflowsScreen
from app.tui import DesklineApp, binding_ids
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

# SPEC rule codes: R-T1, R-T2.1, R-C2, R-A7, E3, D12, B7, "SPEC §5".
RULE_CODE = re.compile(r"\b(R-[TCA]\d+(\.\d+)?|E\d{1,2}|[DB]\d{1,2}(\.\d+)?)\b|§|\bSPEC\b")
SUBJECTS = ["Printer on fire", "Invoice is wrong", "Cannot log in"]
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


def footer_line(app: DesklineApp) -> str:
    return screen_text(app).splitlines()[-1]


def footer_keys(app: DesklineApp) -> list[FooterKey]:
    return list(app.screen.query_one(Footer).query(FooterKey))


def assert_footer_fits(app: DesklineApp, width: int) -> None:
    """Every key of the footer is whole on screen: none reaches past the right edge, none is
    drawn narrower than its text, and nothing is drawn right of the last key."""
    keys = footer_keys(app)
    assert keys
    for key in keys:
        text = f"{key.key_display} {key.description}".strip()
        assert key.region.right <= width, f"{text!r} runs off the screen"
        assert key.region.width >= len(text), f"{text!r} is cut"
    line = footer_line(app)
    assert len(line) <= width


# --- item 6: the footer ------------------------------------------------------------------


async def test_the_inbox_footer_at_80_columns_shows_the_most_used_keys_and_more(db_path):
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        line = footer_line(app)
        for shown in ("r Reply", "e Close", "a Assign", "t Ticket", "? more"):
            assert shown in line, line
        assert_footer_fits(app, 80)
        assert "Clo " not in line.replace("Close", "")  # no key cut mid-word
    async with make_app(db_path).run_test(size=(260, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        line = footer_line(pilot.app)
        # wide enough for every key: all of them, and `? Help` instead of `? more`
        for shown in ("c Create ticket", "f Filter", "F Channel", "/ Search", "? Help", "q Quit"):
            assert shown in line, line
        assert "more" not in line
    await desk.db.close()


@pytest.mark.parametrize(("keys", "screen"), [(["2"], "board"), (["3"], "settings")])
async def test_every_footer_fits_80_columns(db_path, keys, screen):
    """Board and settings (whose compact footer left a stray character in column 80)."""
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key in keys:
            await pilot.press(key)
        await ready(pilot)
        await pilot.pause(0.3)
        assert app.current_mode == screen
        assert_footer_fits(app, 80)
        assert "? more" in footer_line(app)
    await desk.db.close()


async def test_the_footer_follows_a_resize(db_path):
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(260, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        assert "? Help" in footer_line(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "? more" in footer_line(app), what="the footer to refit")
        assert_footer_fits(app, 80)
    await desk.db.close()


# --- item 7: words, not rule codes -------------------------------------------------------


def all_bindings() -> list[Binding]:
    binding_ids()  # imports every screen module
    found = []
    from textual.dom import DOMNode

    pending: list[type] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(("app.", "widgets.")):
            found += [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
    return found


def test_no_binding_description_names_a_rule_code():
    bindings = all_bindings()
    assert len(bindings) > 50
    for binding in bindings:
        for text in (binding.description, binding.tooltip or ""):
            assert not RULE_CODE.search(text), f"{binding.id}: {text!r}"


def _parsers(parser: argparse.ArgumentParser, name: str = "deskline"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from _parsers(child, f"{name} {child_name}")


def test_no_help_of_the_command_line_names_a_rule_code(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 60
    for name, parser in parsers:
        text = parser.format_help()
        found = RULE_CODE.search(text)
        assert found is None, f"`{name} --help` says {found.group(0)!r}:\n{text}"


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """The string literals of a module that are not docstrings (comments and docstrings may
    name rules; the rest may reach a user: a screen, a notice, the timeline, --help, output)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_no_product_string_names_a_rule_code():
    root = Path(__file__).parent.parent
    found = []
    for package in ("app", "widgets", "automation", "storage", "runtime", "mail", "demo"):
        for path in sorted((root / package).rglob("*.py")):
            for node in _strings(ast.parse(path.read_text("utf-8"))):
                if RULE_CODE.search(node.value):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert found == []


async def _settings_text(app: DesklineApp, pilot) -> list[str]:
    """Every row of the settings list with its details pane, as the screen shows them."""
    seen = []
    for _ in range(40):
        seen.append(screen_text(app))
        await pilot.press("j")
        await pilot.pause(0.05)
    return seen


async def test_screens_and_help_read_words_not_rule_codes(db_path):
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        texts = []
        for keys, screen in (
            ([], InboxScreen),
            (["t"], TicketScreen),
            (["escape", "2"], type(None)),
            (["3"], SettingsScreen),
            (["W"], WorkflowsScreen),
            (["escape", "T"], TasksScreen),
        ):
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.2)
            await ready(pilot)
            if screen is not type(None):
                await wait_for(pilot, lambda s=screen: isinstance(app.screen, s), what=screen)
            await pilot.pause(0.2)
            texts.append(screen_text(app))
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: "Keys:" in screen_text(app), what="the help screen")
            texts.append(screen_text(app))
            await pilot.press("escape")
            await pilot.pause(0.1)
            if isinstance(app.screen, SettingsScreen):
                texts += await _settings_text(app, pilot)
        for text in texts:
            found = RULE_CODE.search(text)
            assert found is None, f"the screen says {found.group(0)!r}:\n{text}"
    await desk.db.close()


# --- item 10: keys.toml, help and the palette --------------------------------------------


@contextlib.asynccontextmanager
async def app_with_keys(db_path: Path, keys: Path, toml: str) -> AsyncIterator[tuple]:
    """The app on a one-conversation desk with `toml` as its keys.toml, ready."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    keys.write_text(toml)
    try:
        async with make_app(db_path, keymap_file=keys).run_test(size=(100, 30)) as pilot:
            await ready(pilot)
            yield pilot.app, pilot
    finally:
        await desk.db.close()


def warnings(app: DesklineApp) -> list[str]:
    return [str(n.message) for n in app._notifications if n.severity == "warning"]


async def test_an_unknown_id_in_keys_toml_is_a_warning_naming_the_closest_ids(db_path, tmp_path):
    keys = tmp_path / "keys.toml"
    toml = '[keys]\n"inbox.replly" = "x"\n"nonsense" = "y"\n"inbox.note" = "N"\n'
    async with app_with_keys(db_path, keys, toml) as (app, pilot):
        assert len(warnings(app)) == 1, warnings(app)
        text = warnings(app)[0]
        assert str(keys) in text
        assert "'inbox.replly'" in text and "did you mean inbox.reply" in text
        assert "'nonsense'" in text and "inbox" in text and "board" in text
        assert "inbox.note" not in text  # a known id is no warning, and it works
        await pilot.press("N")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="N writes a note")


async def test_a_keymap_of_known_ids_warns_of_nothing(db_path, tmp_path):
    toml = '[keys]\n"inbox.reply" = "x"\n"board.move_next" = "m"\n"app.help" = "f1"\n'
    async with app_with_keys(db_path, tmp_path / "keys.toml", toml) as (app, _pilot):
        assert warnings(app) == []


async def test_help_shows_one_key_per_command_and_where_the_keymap_lives(db_path, tmp_path):
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    keys = tmp_path / "keys.toml"
    app = make_app(db_path, keymap_file=keys, as_user="admin")
    async with app.run_test(size=(100, 50)) as pilot:
        await ready(pilot)
        for mode in ("1", "3"):
            await pilot.press(mode)
            await ready(pilot)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: "Keys:" in screen_text(app), what="the help screen")
            text = re.sub(r"[\s│]+", "", screen_text(app))
            assert re.sub(r"\s+", "", str(keys)) in text  # the keymap file, wrapped or not
            rows = [line for line in screen_text(app).splitlines() if re.search(r"\S  Up  ", line)]
            assert len(rows) <= 1, rows  # never `k Up` beside `↑ Up`
            await pilot.press("escape")
            await pilot.pause(0.1)
    await desk.db.close()


def test_every_screen_offers_its_commands_to_the_palette():
    for place in PLACES:
        bindings = place_bindings(place, {})
        assert bindings, place.name
        assert all(b.id and b.description for b in bindings)
    ticket = next(p for p in PLACES if p.screen is TicketScreen)
    remapped = place_bindings(ticket, {"ticket.priority": "P"})
    assert next(b for b in remapped if b.id == "ticket.priority").key == "P"
    assert words_match("move next", "Board: Move to next status (L)")
    assert words_match("ticket prio", "Ticket record: Priority (p)")
    assert not words_match("move back", "Board: Move to next status (L)")


async def test_the_palette_reaches_commands_of_other_screens_by_their_words(db_path):
    """From the board, `ticket priority` in the palette opens the ticket record of the inbox's
    highlighted conversation and its priority picker."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Inbox: Reply (r)", "Settings: Edit (e)", "Ticket record: Priority (p)"):
            assert expected in titles, titles
        assert "Move to next status (L)" in titles  # the board's own, unprefixed
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"ticket priority")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        assert app.current_mode == "inbox"
        assert isinstance(app.screen_stack[-2], TicketScreen)
    await desk.db.close()


async def test_a_command_that_changes_at_once_is_not_run_on_an_unseen_row(db_path):
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await ready(pilot)
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Inbox: Close (e)"
        )
        command.callback()
        await wait_for(
            pilot,
            lambda: any("press e" in str(n.message) for n in app._notifications),
            what="the notice naming the key",
        )
        assert isinstance(app.screen, InboxScreen)
        assert await desk.status(1) == "New"
    await desk.db.close()
