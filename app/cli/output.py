"""Printing for the CLI. Mail-derived text is cleaned of control sequences before it reaches a
terminal (SPEC §7); JSON output is escaped by `json` and stays byte-for-byte faithful."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from app.cli.tables import Col, print_table
from automation.flow import PATHS
from automation.importer import ImportSummary
from storage.pages import Page
from storage.queries import JSON_VERSION, flow_rows

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object) -> str:
    """One line of untrusted text, safe for a terminal."""
    text = "" if value is None else str(value)
    return _CONTROL.sub("", text.replace("\n", " ").replace("\t", " "))


def clean_block(value: object) -> str:
    text = "" if value is None else str(value)
    return "\n".join(_CONTROL.sub("", line.replace("\t", "    ")) for line in text.splitlines())


def dump(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_page(
    page: Page, key: str, *, as_json: bool, text: Callable[[Page], None], noun: str = ""
) -> None:
    """A list (D7): JSON with its `total` and `next` cursor; as text, the rows, and when the
    page is not the whole list, one line on stderr saying how to get more."""
    if as_json:
        dump({"version": JSON_VERSION, key: page.rows, "total": page.total, "next": page.next})
        return
    text(page)
    if page.next is not None:
        print(
            f"deskline: {len(page.rows)} of {page.total} {noun or key} shown; the next ones: "
            f"--after {page.next} (or --all for every one)",
            file=sys.stderr,
        )


def print_tickets(page: Page, *, as_json: bool) -> None:
    print_page(page, "tickets", as_json=as_json, text=_ticket_lines)


TICKET_COLUMNS = (
    Col("#", right=True, fixed=True),
    Col("Status", fixed=True),
    Col("Owner"),
    Col("Contact"),
    Col("Subject"),
)


def _ticket_lines(page: Page) -> None:
    if not page.rows:
        print("No tickets.")
        return
    print_table(
        TICKET_COLUMNS,
        [
            [
                str(row["number"]),
                clean(row["status"]),
                clean(row["owner"] or "-"),
                clean(row["contact"] or "-"),
                clean(row["subject"]),
            ]
            for row in page.rows
        ],
    )


def print_ticket(detail: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        dump(detail)
        return
    t = detail["ticket"]
    print(f"Ticket #{t['number']}: {clean(t['subject'])}")
    print(
        f"  {clean(t['pipeline'])} / {clean(t['status'])} ({t['state']})"
        f"{', reopened' if t['reopened'] else ''}"
    )
    print(
        f"  contact {clean(t['contact'] or '-')}  owner {clean(t['owner'] or '-')}  "
        f"priority {t['priority']}  source {t['source']}  channel {clean(t['channel'] or '-')}"
    )
    print(f"  created {t['created_at']}")
    if t.get("properties"):
        shown = ", ".join(f"{name} {value}" for name, value in t["properties"].items())
        print(f"  properties: {clean(shown)}")
    for conversation in detail["conversations"]:
        origin = " (origin)" if conversation["id"] == t["origin_conversation"] else ""
        print(f"\nConversation {conversation['id']}{origin}: {clean(conversation['subject'])}")
        for msg in conversation["messages"]:
            flags = [
                f
                for f in (
                    msg["automated"],
                    msg["forwarded"] and "forwarded",
                    msg["sent_from"] and f"from {msg['sent_from']} record",
                )
                if f
            ]
            extra = f" [{', '.join(flags)}]" if flags else ""
            files = len(msg["attachments"])
            attached = f", {files} attachment{'s' if files != 1 else ''}" if files else ""
            print(
                f"  {msg['direction']:<8} {msg['sent_at'][:16]}  {clean(msg['from'])}{extra}"
                f"  (message {msg['id']}{attached})"
            )
            print(f"           {clean(msg['thread_reason'])}")
    print("\nTimeline:")
    for event in detail["timeline"]:
        cause = f"  ← {event['cause']}" if event["cause"] else ""
        actor = f"{event['actor']['kind']}:{clean(event['actor']['name'])}"
        print(
            f"  {event['id']:>5} {event['at'][11:19]} {actor:<32} {clean(event['summary'])}{cause}"
        )
    if detail["outbox"]:
        print("\nEmail:")
        for row in detail["outbox"]:
            print(
                f"  {row['id']:>5} {row['state']:<7} {clean(row['to'][0] if row['to'] else '')}: "
                f"{clean(row['subject'])}"
            )


def print_conversations(page: Page, *, as_json: bool) -> None:
    print_page(page, "conversations", as_json=as_json, text=_conversation_lines)


CONVERSATION_COLUMNS = (
    Col("ID", right=True, fixed=True),
    Col("State", fixed=True),
    Col("Ticket", right=True, fixed=True),
    Col("Channel"),
    Col("Contact"),
    Col("Subject"),
    Col("Mail", fixed=True),
)


def _conversation_lines(page: Page) -> None:
    if not page.rows:
        print("No conversations.")
        return
    print_table(
        CONVERSATION_COLUMNS,
        [
            [
                str(row["id"]),
                row["state"],
                f"#{row['ticket']}" if row["ticket"] else "-",
                clean(row["channel"]),
                clean(row["contact"] or "-"),
                clean(row["subject"]),
                "automated" if row["automated"] else "person",
            ]
            for row in page.rows
        ],
    )


def print_outbox(page: Page, *, as_json: bool, noun: str = "emails") -> None:
    print_page(page, "outbox", as_json=as_json, text=_outbox_lines, noun=noun)


OUTBOX_COLUMNS = (
    Col("ID", right=True, fixed=True),
    Col("State", fixed=True),
    Col("Ticket", right=True, fixed=True),
    Col("Kind", fixed=True),
    Col("To"),
    Col("Subject"),
    Col("Held because"),
)


def _outbox_lines(page: Page) -> None:
    if not page.rows:
        print("The outbox is empty.")
        return
    print_table(
        OUTBOX_COLUMNS,
        [
            [
                str(row["id"]),
                row["state"],
                f"#{row['ticket']}" if row["ticket"] else "-",
                row["kind"],
                clean(", ".join(row["to"])),
                clean(row["subject"]),
                clean(row["held_reason"] or "-"),
            ]
            for row in page.rows
        ],
    )


def print_failed(page: Page, *, as_json: bool) -> None:
    print_page(page, "failed", as_json=as_json, text=_failed_lines, noun="failed messages")


def _failed_lines(page: Page) -> None:
    if not page.rows:
        print("No failed messages.")
        return
    print_table(
        (Col("ID", right=True, fixed=True), Col("Source"), Col("Reason")),
        [[str(row["id"]), clean(row["source"]), clean(row["reason"])] for row in page.rows],
    )


def print_channels(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        dump({"version": 1, "channels": rows})
        return
    if not rows:
        print("No channels yet: deskline channel add NAME --address ADDRESS")
        return
    print_table(
        (
            Col("Name"),
            Col("Kind", fixed=True),
            Col("Address"),
            Col("Pipeline"),
            Col("Ticket automation", fixed=True),
        ),
        [
            [
                clean(row["name"]),
                row["kind"],
                clean(row["address"] or _web_address(row)),
                clean(row["pipeline"]),
                "on" if row["ticket_automation"] else "off",
            ]
            for row in rows
        ],
    )


def _web_address(row: dict[str, Any]) -> str:
    """A form's or chat's page on the address `serve --http` listens on (C1), and for a form
    the email channel it replies through."""
    path = row.get("web_path")
    if not path:
        return "-"
    if row["kind"] == "form":
        through = row.get("reply_through")
        return f"{path} (replies via {through})" if through else f"{path} (no email replies)"
    return str(path)


def print_automation(view: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        dump(view)
        return
    print(f"Pipeline: {clean(view['pipeline'])}")
    print("Triggers:")
    for t in view["triggers"]:
        box = "[x]" if t["enabled"] else "[ ]"
        target = "BROKEN: target status removed" if t["broken"] else t["target"]
        print(f"  {box} {t['name']:<28} → {clean(target)}")
    print_actions(view, as_json=False)
    print(f"Branding line on automated email: {'on' if view['branding'] else 'off'}")


def print_actions(view: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        dump({"version": 1, "pipeline": view["pipeline"], "statuses": view["statuses"]})
        return
    print("Status actions (a ticket is enrolled once per workflow; clone it to change that):")
    for status in view["statuses"]:
        print(f"  {clean(status['status'])} ({status['state']})")
        if not status["workflows"]:
            print("      no actions")
        for wf in status["workflows"]:
            state = "on" if wf["enabled"] else "off"
            kind = "built-in" if wf["builtin"] else "clone"
            print(
                f"      workflow {wf['id']} ({kind}, {state}, re-enrollment "
                f"{'on' if wf['reenroll'] else 'off'}, {wf['enrolled_tickets']} enrolled)"
            )
            _print_action_ids(wf["actions"], "        ")


def _print_action_ids(actions: list[dict[str, Any]], pad: str) -> None:
    """Each action with its id; a branch's paths indented under it."""
    for row in flow_rows(actions):
        indent = pad + " " * (8 * row.depth)
        if row.action is None:
            print(f"{indent[:-2]}{row.which} →" + ("" if row.count else " (nothing)"))
        else:
            print(f"{indent}{row.action['id']:>4}. {clean(row.action['description'])}")


def print_import_summary(summary: ImportSummary, *, as_json: bool) -> None:
    if as_json:
        dump({"version": JSON_VERSION, **summary.as_dict()})
        return
    print(
        f"Imported {summary.total} messages: {summary.stored} stored, {summary.threaded} "
        f"threaded, {summary.duplicates} duplicates, {summary.automated} automated, "
        f"{summary.failed} failed"
    )
    print(_emails_line("Emails it caused", summary.emails.queued, summary.emails.held))
    for source, reason in summary.failures[:20]:
        print(f"  failed: {clean(source)}: {clean(reason)}")
    if len(summary.failures) > 20:
        print(f"  … and {len(summary.failures) - 20} more: see `deskline failed`")


def _emails_line(label: str, queued: int, held: int) -> str:
    """How many emails the stored mail caused: queued to send, and held for a person."""
    line = f"{label}: {queued} queued, {held} held"
    return line + (" (review them: deskline held)" if held else "")


def print_sync_summary(summary: Any, emails: Any = None) -> None:
    delivery = summary.delivery
    print(
        f"Received {summary.received}, automation events {summary.handled_events}, "
        f"sent {delivery.sent}, retrying {delivery.retrying}, failed {delivery.failed}"
    )
    if emails is not None:
        print(_emails_line("Emails the received mail caused", emails.queued, emails.held))
    if summary.requeued or summary.held_interrupted:
        print(
            f"Recovered interrupted deliveries: {summary.requeued} queued again, "
            f"{summary.held_interrupted} held for review (deskline held)"
        )
    for error in delivery.errors:
        print(f"  {clean(error)}")


# --- the workflow editor (`deskline workflow ...`) ----------------------------------------------


def _when(value: str | None) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM` (UTC)."""
    return (value or "")[:16].replace("T", " ")


def _runs(runs: dict[str, int]) -> str:
    text = f"{runs.get('ok', 0)} ok, {runs.get('failed', 0)} failed"
    return text + (f", {runs['skipped']} skipped" if runs.get("skipped") else "")


def _failure(row: dict[str, Any]) -> str:
    action = f"action {row['action_id']}" if row["action_id"] else "a deleted action"
    retried = " (retried)" if row["retried"] else ""
    return (
        f"{_when(row['at'])} #{row['ticket']} {action}, run {row['run_id']}{retried}: "
        f"{clean(row['detail'])}"
    )


def print_workflows(pipeline: str, rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        dump({"version": JSON_VERSION, "pipeline": pipeline, "workflows": rows})
        return
    print(f"Workflows of {clean(pipeline)} (a ticket enrolls in a workflow once unless its")
    print("re-enrollment is on; clone a built-in workflow to change that)")
    if not rows:
        print("No workflows yet: deskline workflow action add --status S --send-email TEMPLATE")
        return
    print(
        f"\n{'ID':>4}  {'Workflow':<28} {'Type':<8} {'On':<3} {'Re-enroll':<9} "
        f"{'Actions':>7} {'Enrolled':>8} {'7 days':>6}  Runs in 7 days"
    )
    status = object()
    for row in rows:
        if row["status"] != status:
            status = row["status"]
            print(f"  {clean(row['enrollment'])}")
        print(
            f"{row['id']:>4}  {_cut(clean(row['name']), 28):<28} "
            f"{'built-in' if row['builtin'] else 'clone':<8} "
            f"{'on' if row['enabled'] else 'off':<3} {'on' if row['reenroll'] else 'off':<9} "
            f"{row['action_count']:>7} {row['enrolled_tickets']:>8} {row['enrolled_7d']:>6}  "
            f"{_runs(row['runs_7d'])}"
        )
        if row["last_failure"]:
            print(f"      last failure: {_cut(_failure(row['last_failure']), 90)}")


def print_workflow(detail: dict[str, Any], *, as_json: bool) -> None:
    """`workflow show`: the workflow, its flow drawn as a tree (R-A5 branches), its figures."""
    if as_json:
        dump(detail)
        return
    wf = detail["workflow"]
    print("\n".join([*_workflow_header(wf), *_flow(wf["actions"]), "", *_workflow_footer(detail)]))


def _workflow_header(wf: dict[str, Any]) -> list[str]:
    wid = wf["id"]
    kind = "built-in status workflow" if wf["builtin"] else "clone"
    if wf["cloned_from"]:
        kind += f" of workflow {wf['cloned_from']}"
    lines = [
        f"Workflow {wid}: {clean(wf['name'])}",
        f"  {clean(wf['pipeline'])}, {kind}",
    ]
    if wf["enabled"]:
        lines.append(f"  On (`deskline workflow disable {wid}` switches it off)")
    else:
        lines.append(f"  Off: no ticket enrolls (`deskline workflow enable {wid}` switches it on)")
    if wf["reenroll"]:
        lines.append(
            "  Re-enrollment on: a ticket enrolls each time it meets the enrollment condition"
        )
    elif wf["builtin"]:
        lines.append(
            "  Re-enrollment off: a ticket enrolls once. A built-in workflow cannot change that"
        )
        lines.append(f"  or its enrollment: clone it with `deskline workflow clone {wid}`")
    else:
        lines.append(
            "  Re-enrollment off: a ticket enrolls once "
            f"(`deskline workflow reenroll {wid} on` changes it)"
        )
    first, *more = wf["enrollment_conditions"]
    lines += ["", f"  Enrollment: {clean(first)}"]
    lines += [f"          and {clean(condition)}" for condition in more]
    return lines


_PAD = "  "  # the top-level list starts here
_ARROW = "   ↓"  # after a list's pad: under the step numbers
_PATH_LABELS = {"yes": "yes → ", "no": " no → "}  # the arrows one above the other
_PATH_INDENT = 4 + len(_PATH_LABELS["yes"])  # a path's steps, right of its label


def _flow(actions: list[dict[str, Any]]) -> list[str]:
    """Enrollment ↓ steps ↓ End; a branch's paths are drawn nested under it."""
    if not actions:
        return [
            f"{_PAD}{_ARROW}",
            "  (no actions: a ticket enrolls only once the workflow has one)",
            f"{_PAD}{_ARROW}",
            "  End",
        ]
    return [*_steps(actions, _PAD, first_arrow=True), f"{_PAD}{_ARROW}", "  End"]


def _steps(actions: list[dict[str, Any]], pad: str, *, first_arrow: bool = False) -> list[str]:
    """One list of actions, numbered from 1 (the POSITION `action move` takes), with ↓ between."""
    lines: list[str] = []
    for step, action in enumerate(actions, start=1):
        if step > 1 or first_arrow:
            lines.append(f"{pad}{_ARROW}")
        lines += _step(step, action, pad)
    return lines


def _step(step: int, action: dict[str, Any], pad: str) -> list[str]:
    lines = [f"{pad}{step:>2}. {clean(action['description'])}  [action {action['id']}]"]
    lines += [f"{pad}      # {clean(comment)}" for comment in action["comments"]]
    if "paths" in action:
        for which in PATHS:
            lines += _path(which, action["paths"][which], pad)
    return lines


def _path(which: str, actions: list[dict[str, Any]], pad: str) -> list[str]:
    """A branch's path: its label under the branch's text, its first step on the same line."""
    inner = pad + " " * _PATH_INDENT
    lines = _steps(actions, inner) or [f"{inner} (nothing)"]
    label = f"{pad}    {_PATH_LABELS[which]}"
    return [label + lines[0][len(label) :], *lines[1:]]


def _workflow_footer(detail: dict[str, Any]) -> list[str]:
    wf = detail["workflow"]
    lines = [
        f"Enrolled: {wf['enrolled_tickets']} all time, {wf['enrolled_7d']} in the last 7 days. "
        f"Action runs in the last 7 days: {_runs(wf['runs_7d'])}."
    ]
    if wf.get("waiting"):
        lines.append(
            f"Waiting in a delay: {wf['waiting']} ticket{'s' if wf['waiting'] != 1 else ''}."
        )
    failures = detail["failures"]
    if not failures:
        return [*lines, "No failed actions."]
    lines.append(
        "Last failures (newest first; `deskline workflow action retry RUN_ID` runs one again):"
    )
    return lines + [f"  {_failure(row)}" for row in failures]
