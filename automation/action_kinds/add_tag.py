"""Add a tag to the ticket (issue 13): a workflow's tag, on the timeline like a person's."""

from __future__ import annotations

from automation.action_kinds.base import ActionKind, CliFlags, CliOption
from automation.action_kinds.form import Choice, Text
from automation.action_kinds.tag_change import config, describe, from_args, run_change

ADD_TAG = "add_tag"

KIND = ActionKind(
    id=ADD_TAG,
    order=47,
    choices=(
        Choice(
            "tag:add",
            "Add a tag",
            said=lambda fields: f"add the tag {fields.get('value') or ''}",
            questions=(Text("value", "Tag", current="tag"),),
        ),
    ),
    config=config,
    describe=lambda repo, cfg: describe("Add", cfg),
    run=lambda step: run_change(step, add=True),
    cli=CliFlags(
        CliOption(("--add-tag",), {"metavar": "TAG", "help": "add a tag to the ticket"}),
        fields=from_args,
    ),
)
