"""The editor form of an action kind, as data: the rows it adds to the app's "what does it do?"
picker and the questions each row asks, in order. The app (`app.screens.action_dialogs`) asks
them one dialog at a time; the answers are `ActionFields`, which the kind's `config` checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Lists the desk holds that a Pick offers (the app loads them when the question comes).
TEMPLATES = "templates"
USERS = "users"
TEAMS = "teams"


@dataclass(frozen=True)
class Pick:
    """Choose one name: `first` (label, value) rows, then the names of `source` (if any)."""

    field: str
    title: str
    source: str = ""  # TEMPLATES, USERS, TEAMS, or "" for `first` only
    first: tuple[tuple[str, str], ...] = ()
    empty: str = ""  # a warning when `source` holds nothing (the action is not added)


@dataclass(frozen=True)
class PickStatus:
    """Choose "Pipeline / Status" among every pipeline's statuses; the answer is two fields."""

    title: str
    first: str = ""  # a leading row that names no status (its fields stay None)
    pipeline_field: str = "target_name"
    status_field: str = "value"


@dataclass(frozen=True)
class Text:
    """A line of text. `current` names the stored config key shown when editing an action of
    the same kind; `optional` turns a blank answer into None."""

    field: str
    title: str
    default: str = ""
    current: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Duration:
    """A delay or a due time as typed: "30m", "2d", "monday 9" (`automation.schedule`)."""

    field: str
    title: str
    default: str = ""


@dataclass(frozen=True)
class Condition:
    """A condition tree built test by test (`automation.conditions`); `current` names the
    stored config key it starts from when editing an action of the same kind."""

    field: str
    title: str
    current: str = ""


Question = Pick | PickStatus | Text | Duration | Condition


@dataclass(frozen=True)
class Choice:
    """One row of the picker. `value` is what the picker returns (tests and keyboard walks pick
    rows by it, so keep it stable); `preset` fields come with the row; `stored` is what a
    stored config holds when this row describes it (so an edit starts on it)."""

    value: str
    label: str
    said: Callable[[Mapping[str, Any]], str]  # the chosen action in a few words, from its fields
    questions: tuple[Question, ...] = ()
    preset: Mapping[str, Any] = field(default_factory=dict)
    stored: Mapping[str, Any] = field(default_factory=dict)

    def describes(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(key) == value for key, value in self.stored.items())
