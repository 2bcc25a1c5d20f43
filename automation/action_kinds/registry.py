"""The action kinds Deskline knows: each module of this package that declares `KIND`, found when
this module is imported, and any kind `register`ed later (a test's, say).

Everything that deals with kinds asks here: the engine runs them (`perform`), lists describe
them (`describe`), the settings functions check their fields (`config_of`), the app's editor
lists their picker rows (`picker`), the CLI adds their flags (`add_cli_arguments`) and reads
them back (`fields_from_args`). A kind module must not import this module (it is loaded from
here).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

from automation.action_kinds.base import (
    ActionFields,
    ActionKind,
    ActionSkipped,
    Outcome,
    SettingsError,
    Step,
)
from automation.action_kinds.form import Choice
from automation.ports import AdminRepository, Repository

_KINDS: dict[str, ActionKind] = {}


def register(kind: ActionKind) -> ActionKind:
    if kind.id in _KINDS:
        raise ValueError(f"an action kind {kind.id!r} is registered already")
    _KINDS[kind.id] = kind
    return kind


def unregister(kind_id: str) -> None:
    _KINDS.pop(kind_id, None)


def kinds() -> list[ActionKind]:
    return sorted(_KINDS.values(), key=lambda kind: (kind.order, kind.id))


def kind_ids() -> tuple[str, ...]:
    return tuple(kind.id for kind in kinds())


def find(kind_id: str) -> ActionKind | None:
    return _KINDS.get(kind_id)


def config_of(repo: AdminRepository, kind_id: str, fields: ActionFields) -> dict[str, Any]:
    """The stored config of an action of this kind, checked (SettingsError says what is wrong)."""
    kind = find(kind_id)
    if kind is None:
        raise SettingsError(f"action kind must be one of {', '.join(kind_ids())}")
    return kind.config(repo, fields)


def describe(repo: Repository, kind_id: str, config: dict[str, Any]) -> str:
    """The action in words; a kind this version does not know is shown by its id."""
    kind = find(kind_id)
    return kind.describe(repo, config) if kind is not None else kind_id


def perform(step: Step) -> Outcome:
    """Run the step's action. B8.3: a stored kind this version does not know is skipped, and
    the timeline says why."""
    kind = find(step.action.kind)
    if kind is None:
        raise ActionSkipped(
            f"unknown action kind {step.action.kind!r}: this version of Deskline cannot run it"
        )
    return kind.run(step)


# --- the app's "what does it do?" picker ------------------------------------------------------


def picker() -> list[tuple[ActionKind, Choice]]:
    """Every kind's picker rows, in order."""
    return [(kind, choice) for kind in kinds() for choice in kind.choices]


def current_choice(kind_id: str, config: dict[str, Any]) -> str | None:
    """The picker row that describes a stored action, to start an edit on it."""
    kind = find(kind_id)
    if kind is None:
        return None
    return next((c.value for c in kind.choices if c.describes(config)), None)


# --- the CLI: `action add` / `action edit` -----------------------------------------------------


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """What an action does: exactly one kind's flag (R-A2, R-A4, R-A5), then the options that
    go with some of them."""
    what = parser.add_argument_group("what the action does (exactly one)")
    flags = what.add_mutually_exclusive_group(required=True)
    ordered = _by_cli_position()
    for kind in ordered:
        flags.add_argument(*kind.cli.flag.flags, **kind.cli.flag.options)
    added: set[str] = set()
    for kind in ordered:
        for extra in kind.cli.extras:
            if extra.dest not in added:
                added.add(extra.dest)
                what.add_argument(*extra.flags, **extra.options)


def fields_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The kind whose flag was given and its fields: the keywords of `admin.add_action`,
    `admin.add_action_to_workflow` and `admin.edit_action` ("kind" and `ActionFields`)."""
    for kind in _by_cli_position():
        value = getattr(args, kind.cli.flag.dest, None)
        if value is not None:
            return {"kind": kind.id, **kind.cli.fields(value, args)}
    flags = ", ".join(kind.cli.flag.flags[0] for kind in _by_cli_position())
    raise SettingsError(f"say what the action does: one of {flags}")


def _by_cli_position() -> list[ActionKind]:
    return sorted(kinds(), key=lambda kind: (kind.cli_position, kind.id))


def _discover() -> None:
    package = importlib.import_module(__package__ or "automation.action_kinds")
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, ActionKind) and kind.id not in _KINDS:
            register(kind)


_discover()
