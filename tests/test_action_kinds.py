"""Workflow action kinds come from one registry (SPEC R-A5, B8.3).

Each kind is one module of `automation.action_kinds`; the engine, the descriptions, the settings
functions, the app's action dialog and the CLI flags all come from the registry. A kind
registered here, in the test, with no other module touched, is listed, described, checked,
stored, run, offered by the app and parsed from the command line. Ids, flags and stored JSON
are unchanged (B8.3), and a stored kind this version does not know is skipped with a reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import build_parser
from app.screens.dialogs import PromptScreen
from automation import admin
from automation.action_kinds import registry
from automation.action_kinds.base import (
    ActionFields,
    ActionKind,
    ActionSkipped,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import Choice, Text
from automation.actions import ADD_NOTE, describe_action
from storage.database import Database
from tests.app_helpers import make_app, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk, make_mail
from tests.test_app_settings import SIZE, actions_of, add_action_of_kind, open_settings, view

TEN_KINDS = (
    "send_email",
    "notify",
    "set_property",
    "add_note",
    "add_tag",
    "remove_tag",
    "rotate_owner",
    "delay",
    "create_task",
    "move_ticket",
    "clone_ticket",
    "branch",
)
PICKER_VALUES = [
    "email",
    "owner",
    "user",
    "team",
    "set:priority",
    "set:owner",
    "set:subject",
    "note",
    "tag:add",
    "tag:remove",
    "rotate",
    "delay",
    "task",
    "move",
    "clone",
    "branch",
]
FLAGS = [
    "--send-email",
    "--notify",
    "--set",
    "--note",
    "--add-tag",
    "--remove-tag",
    "--rotate-owner",
    "--delay",
    "--task",
    "--move-to",
    "--if",
    "--clone-ticket",
    "--message",
    "--due",
    "--for",
    "--target-pipeline",
]


# --- a throwaway kind, declared here and nowhere else -------------------------------------------


def _stamp_config(repo: Any, fields: ActionFields) -> dict[str, Any]:
    word = " ".join((fields.get("message") or "").split())
    if not word:
        raise SettingsError("a stamp needs its word (--stamp WORD)")
    return {"word": word}


def _stamp(step: Step) -> str:
    word = step.config["word"]
    if step.ticket.subject.startswith(f"[{word}]"):
        raise ActionSkipped("stamped already")
    step.ticket.subject = f"[{word}] {step.ticket.subject}"
    return f"subject is now {step.ticket.subject}"


STAMP = ActionKind(
    id="stamp",
    order=45,  # after "add a note" in the picker
    choices=(
        Choice(
            "stamp",
            "Stamp the subject with a word",
            said=lambda fields: f"stamp {fields['message']}",
            questions=(Text("message", "Stamp word"),),
        ),
    ),
    config=_stamp_config,
    describe=lambda repo, config: f"Stamp the subject with {config.get('word')}",
    run=_stamp,
    cli=CliFlags(
        CliOption(("--stamp",), {"metavar": "WORD", "help": "prefix the subject with [WORD]"}),
        fields=lambda value, args: {"message": value},
    ),
)


@pytest.fixture
def stamp() -> Iterator[ActionKind]:
    registry.register(STAMP)
    yield STAMP
    registry.unregister(STAMP.id)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskline automation action add")
    registry.add_cli_arguments(parser)
    return parser


async def _new_ticket(desk: Desk, n: int) -> int:
    raw, _ = make_mail(sender=f"person{n}@customer.example", subject=f"Problem {n}")
    await desk.receive(raw)
    return max(t["number"] for t in await desk.tickets())


def _add_to_new(repo: Any, me: Any, kind: str, **fields: Any) -> Any:
    return admin.add_action(repo, me, pipeline_name=None, status_label="New", kind=kind, **fields)


# --- the ten kinds: ids, picker rows and flags unchanged (B8.3) ----------------------------------


def test_the_ten_kinds_keep_their_ids_picker_rows_and_flags() -> None:
    assert registry.kind_ids() == TEN_KINDS
    assert [choice.value for _, choice in registry.picker()] == PICKER_VALUES
    flags = [a.option_strings[0] for a in _parser()._actions if a.option_strings[0] != "-h"]
    assert flags == FLAGS


@pytest.mark.parametrize(
    ("argv", "fields"),
    [
        (
            ["--send-email", "Ticket closed"],
            {"kind": "send_email", "template_name": "Ticket closed"},
        ),
        (
            ["--notify", "user:rita", "--message", "hi"],
            {"kind": "notify", "to": "user", "target_name": "rita", "message": "hi"},
        ),
        (
            ["--notify", "owner"],
            {"kind": "notify", "to": "owner", "target_name": None, "message": None},
        ),
        (
            ["--set", " owner = "],
            {"kind": "set_property", "property_name": "owner", "value": ""},
        ),
        (["--note", "hello"], {"kind": "add_note", "message": "hello"}),
        (["--rotate-owner", "Billing"], {"kind": "rotate_owner", "target_name": "Billing"}),
        (["--delay", "1h"], {"kind": "delay", "value": "1h"}),
        (
            ["--task", "Call", "--due", "2d", "--for", "rita"],
            {"kind": "create_task", "message": "Call", "value": "2d", "target_name": "rita"},
        ),
        (
            ["--move-to", "Closed", "--target-pipeline", "Sales"],
            {"kind": "move_ticket", "value": "Closed", "target_name": "Sales"},
        ),
        (
            ["--if", '{"field": "priority", "value": "high"}'],
            {"kind": "branch", "condition": {"field": "priority", "value": "high"}},
        ),
        (["--clone-ticket"], {"kind": "clone_ticket", "value": None, "target_name": None}),
    ],
)
def test_cli_flags_give_the_fields_they_always_gave(argv: list[str], fields: Any) -> None:
    assert registry.fields_from_args(_parser().parse_args(argv)) == fields


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--set", "priority"], "--set is PROPERTY=VALUE, e.g. priority=high"),
        (["--if", "nope"], "--if: the condition is not JSON"),
        (["--if", "[1]"], "--if: the condition is a JSON object"),
    ],
)
def test_cli_flag_errors_are_unchanged(argv: list[str], error: str) -> None:
    with pytest.raises(SettingsError, match=error.replace("|", r"\|")):
        registry.fields_from_args(_parser().parse_args(argv))


def test_exactly_one_kind_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--note", "a", "--delay", "1h"])
    assert "not allowed with argument" in capsys.readouterr().err


# --- a new kind: its module only --------------------------------------------------------------


def test_a_registered_kind_is_listed_offered_and_parsed(stamp: ActionKind) -> None:
    assert registry.kind_ids() == (*TEN_KINDS[:4], "stamp", *TEN_KINDS[4:])
    assert "stamp" in [choice.value for _, choice in registry.picker()]
    assert registry.current_choice("stamp", {"word": "VIP"}) == "stamp"
    parser = _parser()
    assert "--stamp WORD" in parser.format_help()
    assert registry.fields_from_args(parser.parse_args(["--stamp", "VIP"])) == {
        "kind": "stamp",
        "message": "VIP",
    }
    with pytest.raises(ValueError, match="registered already"):
        registry.register(stamp)


def test_the_cli_takes_a_registered_kind(stamp: ActionKind) -> None:
    for argv in (
        ["automation", "action", "add", "--status", "New", "--stamp", "VIP"],
        ["workflow", "action", "edit", "7", "--stamp", "VIP"],
    ):
        args = build_parser().parse_args(argv)
        assert registry.fields_from_args(args) == {"kind": "stamp", "message": "VIP"}


async def test_a_registered_kind_is_checked_stored_described_and_run(
    db: Database, stamp: ActionKind
) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    with pytest.raises(SettingsError, match="a stamp needs its word"):
        await desk.admin(lambda repo, me: _add_to_new(repo, me, "stamp", message=" "))

    def add(repo: Any, me: Any) -> tuple[dict[str, Any], str]:
        action = _add_to_new(repo, me, "stamp", message="VIP")
        return dict(action.config), describe_action(repo, action)

    config, description = await desk.admin(add)
    assert (config, description) == ({"word": "VIP"}, "Stamp the subject with VIP")
    number = await _new_ticket(desk, 1)
    detail = await desk.ticket(number)
    assert detail["ticket"]["subject"] == "[VIP] Problem 1"
    [ran] = [e for e in detail["timeline"] if e["type"] == "action_ran"]
    assert (
        ran["summary"] == "Action “Stamp the subject with VIP” ran: subject is now [VIP] Problem 1"
    )
    assert ran["actor"]["kind"] == "workflow"
    with pytest.raises(SettingsError, match=r"action kind must be one of .*add_note, stamp, "):
        await desk.admin(lambda repo, me: _add_to_new(repo, me, "stomp", message="x"))


async def test_an_unknown_stored_kind_is_skipped_with_a_reason(db: Database) -> None:
    """B8.3: a row of a kind this version does not know (a newer Deskline wrote it, or its
    module is gone) does not crash the run: it is skipped, said so, and the next action runs."""
    desk = await Desk.create(db, received=False, closed=False)

    def add(repo: Any, me: Any) -> None:
        new = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        workflow = admin.status_workflow(repo, new)
        repo.add_workflow_action(workflow, "frobnicate", {"level": 11})
        repo.add_workflow_action(workflow, ADD_NOTE, {"body": "Still here"})

    await desk.admin(add)
    number = await _new_ticket(desk, 1)
    detail = await desk.ticket(number)
    [skipped] = [e for e in detail["timeline"] if e["type"] == "action_skipped"]
    assert skipped["summary"] == (
        "Action “frobnicate” skipped: unknown action kind 'frobnicate': "
        "this version of Deskline cannot run it"
    )
    assert [e["data"]["body"] for e in detail["timeline"] if e["type"] == "note"] == ["Still here"]


# --- the app offers a registered kind and asks its questions ------------------------------------


async def test_the_app_offers_a_registered_kind(tmp_path: Path, stamp: ActionKind) -> None:
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await add_action_of_kind(pilot, screen, "New", "stamp")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        assert prompt.title_text == "Stamp word"
        await pilot.press(*"VIP", "enter")

        async def stored() -> bool:
            return "Stamp the subject with VIP" in actions_of(await view(desk), "New")

        await wait_for_async(pilot, stored, what="the stamp action")
    await desk.db.close()
