"""Remove a tag from the ticket (issue 13); a ticket without it is a skip."""

from __future__ import annotations

from automation.action_kinds.base import ActionKind, CliFlags, CliOption
from automation.action_kinds.form import Choice, Text
from automation.action_kinds.tag_change import config, describe, from_args, run_change

REMOVE_TAG = "remove_tag"

KIND = ActionKind(
    id=REMOVE_TAG,
    order=48,
    choices=(
        Choice(
            "tag:remove",
            "Remove a tag",
            said=lambda fields: f"remove the tag {fields.get('value') or ''}",
            questions=(Text("value", "Tag", current="tag"),),
        ),
    ),
    config=config,
    describe=lambda repo, cfg: describe("Remove", cfg),
    run=lambda step: run_change(step, add=False),
    cli=CliFlags(
        CliOption(("--remove-tag",), {"metavar": "TAG", "help": "remove a tag from the ticket"}),
        fields=from_args,
    ),
)
