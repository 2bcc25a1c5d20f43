"""The rows of one pipeline's settings, in the order the spec lists them (§5)."""

from __future__ import annotations

from typing import Any

from app.screens.settings.action_rows import ActionRow, PathRow, flow_rows
from app.screens.settings.desk_rows import (
    BrandingRow,
    ChannelRow,
    PipelineRow,
    TemplateRow,
    TriggerRow,
)
from app.screens.settings.limit_rows import LimitRow, limit_rows
from app.screens.settings.people_rows import NewRow, TeamRow, UserRow, people_rows
from app.screens.settings.rows import HeaderRow, Row
from app.screens.settings.snippet_rows import SnippetRow
from app.screens.settings.status_rows import StatusRow, WorkflowRow
from app.screens.settings.web_limit_rows import web_limit_rows

ROW_TYPES: tuple[type[Row], ...] = (
    PipelineRow,
    ChannelRow,
    TriggerRow,
    StatusRow,
    WorkflowRow,
    ActionRow,
    PathRow,
    TemplateRow,
    SnippetRow,
    BrandingRow,
    LimitRow,
    UserRow,
    TeamRow,
    NewRow,
)
# The keys that act on the highlighted row: each row type says whether it takes them.
ROW_ACTIONS = frozenset[str]().union(*(row.ACTIONS for row in ROW_TYPES))


def build_rows(view: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [
        PipelineRow.of(view["pipeline"], view["pipelines"]),
        HeaderRow.title("channels", "Connected channels · ticket automation"),
    ]
    if not view["channels"]:
        rows.append(HeaderRow.note("channels", "No channel is connected to this pipeline."))
    rows.extend(ChannelRow.of(channel) for channel in view["channels"])
    rows.append(HeaderRow.title("triggers", "Ticket status triggers"))
    rows.extend(TriggerRow.of(trigger) for trigger in view["triggers"])
    rows.append(HeaderRow.title("statuses", "Statuses and their actions"))
    rows.append(HeaderRow.note("once", "Each ticket runs a status's actions once."))
    statuses = view["statuses"]
    for position, status in enumerate(statuses, start=1):
        rows.append(StatusRow.of(status, position, len(statuses)))
        for workflow in status["workflows"]:
            if not workflow["builtin"]:
                rows.append(WorkflowRow.of(workflow, status["status"]))
            rows.extend(flow_rows(workflow, status["status"]))
    rows.append(HeaderRow.title("templates", "Email templates"))
    rows.extend(TemplateRow.of(template) for template in view["templates"])
    if "snippets" in view:  # issue 12: the shared snippets and the user's own
        rows.append(HeaderRow.title("snippets", "Snippets (canned responses)"))
        if not view["snippets"]:
            rows.append(HeaderRow.note("snippets-none", "No snippets yet."))
        rows.extend(SnippetRow.of(snippet) for snippet in view["snippets"])
    rows.append(HeaderRow.title("other", "Automated email"))
    rows.append(BrandingRow.of(view["branding"]))
    if view.get("limits"):
        rows.append(HeaderRow.title("limits", "Old mail, undo and message size"))
        rows.extend(limit_rows(view["limits"]))
    if view.get("web_limits"):  # SPEC C5
        rows.append(HeaderRow.title("web-limits", "Web chat and forms"))
        rows.extend(web_limit_rows(view["web_limits"]))
    if "people" in view:
        rows.extend(people_rows(view["people"]))
    return rows
