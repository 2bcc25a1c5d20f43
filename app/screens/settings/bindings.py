"""The settings screen's keys: one table feeds the footer, `?`, the palette, keys.toml and the
key names in the side pane (row types name their keys by binding id, see rows.Hint)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

BINDINGS: list[BindingType] = [
    Binding("space", "switch", "Switch on/off", key_display="space", id="settings.switch"),
    Binding("t", "target", "Target status", id="settings.target"),
    Binding("w", "view_workflow", "View workflow", id="settings.view_workflow"),
    Binding("a", "add_action", "Add action", id="settings.add_action"),
    Binding("e", "edit", "Edit", id="settings.edit"),
    Binding("c", "comment", "Comment", id="settings.comment_action"),
    Binding("y", "clone", "Clone action", id="settings.clone_action"),
    Binding("K", "move(-1)", "Move up", key_display="K", id="settings.move_up"),
    Binding("J", "move(1)", "Move down", key_display="J", id="settings.move_down"),
    Binding("x", "delete", "Delete", id="settings.delete"),
    Binding(
        "X",
        "delete_following",
        "Delete this and following",
        key_display="X",
        id="settings.delete_following",
    ),
    Binding("r", "rename", "Rename", id="settings.rename"),
    Binding("n", "new", "New", id="settings.new"),
    Binding("Y", "clone_workflow", "Clone workflow", key_display="Y", id="settings.clone_workflow"),
    Binding("R", "reenroll", "Re-enrollment on/off", key_display="R", id="settings.reenroll"),
    Binding("C", "conditions", "Enrollment condition", key_display="C", id="settings.conditions"),
    Binding("W", "workflows", "Workflows", key_display="W", id="settings.workflows"),
    Binding("p", "pick_pipeline", "Pipeline", id="settings.pipeline"),
    Binding("o", "role", "Role admin/rep", id="settings.role"),
    Binding("m", "members", "Members, SSH keys", id="settings.members"),
    Binding("H", "history", "History", key_display="H", id="settings.history"),
    Binding(
        "right_curly_bracket",
        "section(1)",
        "Next section",
        key_display="}",
        show=False,
        id="settings.next_section",
    ),
    Binding(
        "left_curly_bracket",
        "section(-1)",
        "Previous section",
        key_display="{",
        show=False,
        id="settings.previous_section",
    ),
    Binding("j", "cursor(1)", "Down", show=False, id="settings.down"),
    Binding("k", "cursor(-1)", "Up", show=False, id="settings.up"),
    Binding("escape", "back", "Back", show=False, id="settings.back"),
]
# The action each binding id runs, without its arguments ("settings.move_up" -> "move").
ACTION_OF: dict[str, str] = {
    b.id: b.action.partition("(")[0] for b in BINDINGS if isinstance(b, Binding) and b.id
}
READING = frozenset({"view_workflow", "pick_pipeline"})  # everyone who sees settings (R-T5)
