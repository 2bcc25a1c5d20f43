"""What an automation file may say (SPEC B4): unknown keys, bad values, statuses and templates
it names that it does not have, templates that fail the template check; each problem with the
line it is on (a TOML syntax error with tomllib's position)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from automation.action_kinds import registry
from automation.admin.channels import CHANNEL_KINDS
from automation.admin.limits import parse_limits
from automation.as_code.actions import FIELD_NAMES
from automation.as_code.export import CHANNEL_MAIL_FIELDS, FORMAT, TRIGGER_KEYS
from automation.as_code.toml_out import key as toml_key
from automation.snippets import NAME
from automation.snippets import problems as snippet_problems
from automation.template_check import check_template
from automation.templates import BUILTIN_TEMPLATES

TOP = {"format", "limits", "pipelines", "templates", "channels", "workflows", "snippets"}
LIMITS = {
    "old_mail_hours": int,
    "undo_seconds": int,
    "max_message_mb": (int, float),
    "per_ticket": str,
    "per_recipient": str,
    "branding": bool,
}
PIPELINE = {"position", "statuses", "triggers", "moved_to"}
CHANNEL = {
    "kind",
    "address",
    "pipeline",
    "ticket_automation",
    "bulk_opens_tickets",
    *CHANNEL_MAIL_FIELDS,
}
WORKFLOW = {
    "pipeline",
    "status",
    "name",
    "builtin",
    "enabled",
    "reenroll",
    "cloned_from",
    "conditions",
    "actions",
}
ACTION = {"kind", "comments", "yes", "no", "config", *FIELD_NAMES}


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class Checker:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def line_of(self, path: tuple[str, ...], field: str | None = None) -> int | None:
        """The line of the table `path` (or of its key `field`), found in the text."""
        start = 0
        if path:
            dotted = ".".join(toml_key(part) for part in path)
            headers = (f"[{dotted}]", f"[[{dotted}]]")
            start = next((i for i, line in enumerate(self.lines) if line.strip() in headers), -1)
            if start < 0:
                return self.line_of(path[:-1], field) if len(path) > 1 else None
            if field is None:
                return start + 1
            start += 1
        pattern = re.compile(rf"^\s*{re.escape(toml_key(field or ''))}\s*=")
        for index in range(start, len(self.lines)):
            if self.lines[index].lstrip().startswith("[") and index > start:
                break
            if pattern.match(self.lines[index]):
                return index + 1
        return start if path else None

    def say(self, path: tuple[str, ...], field: str | None, message: str) -> None:
        self.problems.append(Problem(self.line_of(path, field), message))

    def keys(self, path: tuple[str, ...], table: Any, allowed: set[str], what: str) -> bool:
        if not isinstance(table, dict):
            self.say(path, None, f"{what} must be a table")
            return False
        for name in sorted(set(table) - allowed):
            self.say(path, name, f"unknown key {name!r} in {what}")
        return True

    def typed(
        self, path: tuple[str, ...], table: dict[str, Any], field: str, kind: Any, what: str
    ) -> bool:
        value = table.get(field)
        if value is None:
            return False
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.say(path, field, f"{what}: {field} has a bad value {value!r}")
            return False
        return True


def check(text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The file read, and its problems (none: it can be applied)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        return None, [Problem(int(found.group(1)) if found else None, str(exc))]
    checker = Checker(text)
    checker.keys((), data, TOP, "the file")
    if data.get("format", FORMAT) != FORMAT:
        checker.say((), "format", f"format must be {FORMAT}")
    _limits(checker, data.get("limits"))
    statuses = _pipelines(checker, data.get("pipelines", {}))
    templates = _templates(checker, data.get("templates", {}))
    _snippets(checker, data.get("snippets", {}))
    _channels(checker, data.get("channels", {}), statuses if "pipelines" in data else None)
    _workflows(
        checker, data.get("workflows", {}), statuses if "pipelines" in data else None, templates
    )
    return data, checker.problems


def _limits(checker: Checker, limits: Any) -> None:
    if limits is None or not checker.keys(("limits",), limits, set(LIMITS), "limits"):
        return
    for field, kind in LIMITS.items():
        if checker.typed(("limits",), limits, field, kind, "limits") and kind is str:
            try:
                parse_limits(limits[field])
            except Exception as exc:  # SettingsError: its words say what is wrong
                checker.say(("limits",), field, str(exc))
    for field in ("old_mail_hours", "undo_seconds", "max_message_mb"):
        value = limits.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            checker.say(("limits",), field, f"limits: {field} cannot be negative")


def _pipelines(checker: Checker, pipelines: Any) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    if not isinstance(pipelines, dict):
        checker.say(("pipelines",), None, "pipelines must be a table")
        return found
    for name, entry in pipelines.items():
        path = ("pipelines", name)
        if not checker.keys(path, entry, PIPELINE, f"pipeline {name}"):
            continue
        checker.typed(path, entry, "position", int, f"pipeline {name}")
        states: dict[str, str] = {}
        for label, status in (entry.get("statuses") or {}).items():
            where = (*path, "statuses", label)
            if not checker.keys(where, status, {"state", "position"}, f"status {label}"):
                continue
            if status.get("state") not in ("open", "closed"):
                checker.say(where, "state", f"status {label}: state must be open or closed")
            checker.typed(where, status, "position", int, f"status {label}")
            states[label] = str(status.get("state"))
        if not states:
            checker.say(path, None, f"pipeline {name} needs at least one status")
        for trigger, config in (entry.get("triggers") or {}).items():
            where = (*path, "triggers", trigger)
            if trigger not in TRIGGER_KEYS.values():
                checker.say(
                    where,
                    None,
                    f"unknown trigger {trigger!r} (triggers: email-sent, customer-replied)",
                )
                continue
            if not checker.keys(where, config, {"enabled", "target"}, f"trigger {trigger}"):
                continue
            checker.typed(where, config, "enabled", bool, f"trigger {trigger}")
            target = config.get("target")
            if target is not None and states.get(target) != "open":
                checker.say(
                    where,
                    "target",
                    f"trigger {trigger}: the target {target!r} is not an open status of {name}",
                )
        for gone, target in (entry.get("moved_to") or {}).items():
            if target not in states:
                checker.say(
                    (*path, "moved_to"), gone, f"moved_to: {target!r} is not a status of {name}"
                )
        found[name] = states
    return found


def _templates(checker: Checker, templates: Any) -> set[str]:
    for name, entry in templates.items():
        path = ("templates", name)
        if not checker.keys(path, entry, {"subject", "body"}, f"template {name}"):
            continue
        subject, body = entry.get("subject"), entry.get("body")
        if (
            not isinstance(subject, str)
            or not isinstance(body, str)
            or not subject.strip()
            or not body.strip()
        ):
            checker.say(path, None, f"template {name}: needs a subject and a body")
            continue
        for problem in check_template(subject, body):
            checker.say(
                path,
                "body" if not problem.startswith("subject") else "subject",
                f"template {name}: {problem}",
            )
    return {*templates, *BUILTIN_TEMPLATES}


def _snippets(checker: Checker, entries: Any) -> None:
    if not isinstance(entries, dict):
        checker.say(("snippets",), None, "snippets must be a table")
        return
    for name, entry in entries.items():
        path = ("snippets", name)
        if not checker.keys(path, entry, {"body"}, f"snippet {name}"):
            continue
        body = entry.get("body")
        if not NAME.fullmatch(name):
            checker.say(path, None, f"snippet {name!r}: not a snippet name")
        if not isinstance(body, str) or not body.strip():
            checker.say(path, None, f"snippet {name}: needs a body")
            continue
        for problem in snippet_problems(body):
            checker.say(path, "body", f"snippet {name}: {problem}")


def _channels(checker: Checker, channels: Any, statuses: dict[str, Any] | None) -> None:
    for name, entry in channels.items():
        path = ("channels", name)
        if not checker.keys(path, entry, CHANNEL, f"channel {name}"):
            continue
        if entry.get("kind") not in CHANNEL_KINDS:
            checker.say(
                path, "kind", f"channel {name}: kind must be one of {', '.join(CHANNEL_KINDS)}"
            )
        if statuses is not None and entry.get("pipeline") not in statuses:
            checker.say(
                path,
                "pipeline",
                f"channel {name}: no pipeline {entry.get('pipeline')!r} in the file",
            )


def _workflows(
    checker: Checker, workflows: Any, statuses: dict[str, Any] | None, templates: set[str]
) -> None:
    for key, entry in workflows.items():
        path = ("workflows", key)
        if not checker.keys(path, entry, WORKFLOW, f"workflow {key}"):
            continue
        for field in ("builtin", "enabled", "reenroll"):
            checker.typed(path, entry, field, bool, f"workflow {key}")
        for field in ("pipeline", "status", "name"):
            if not isinstance(entry.get(field), str):
                checker.say(path, field, f"workflow {key}: {field} is missing")
        pipeline, status = entry.get("pipeline"), entry.get("status")
        if statuses is not None and status not in statuses.get(pipeline, {}):
            checker.say(
                path, "status", f"workflow {key}: no status {status!r} in pipeline {pipeline!r}"
            )
        cloned_from = entry.get("cloned_from")
        if cloned_from is not None and cloned_from not in workflows:
            checker.say(
                path, "cloned_from", f"workflow {key}: no workflow {cloned_from!r} in the file"
            )
        _actions(checker, path, entry.get("actions", []), templates, f"workflow {key}")


def _actions(
    checker: Checker, path: tuple[str, ...], actions: Any, templates: set[str], what: str
) -> None:
    if not isinstance(actions, list):
        checker.say(path, "actions", f"{what}: actions must be a list")
        return
    for number, action in enumerate(actions, 1):
        where = f"{what}, action {number}"
        if not checker.keys(path, action, ACTION, where):
            continue
        if action.get("kind") not in registry.kind_ids():
            checker.say(path, "kind", f"{where}: unknown kind {action.get('kind')!r}")
        if action.get("kind") == "send_email" and action.get("template_name") not in templates:
            checker.say(
                path, "template_name", f"{where}: no template {action.get('template_name')!r}"
            )
        for which in ("yes", "no"):
            _actions(checker, path, action.get(which, []), templates, f"{where}, {which}")
