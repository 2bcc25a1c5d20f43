"""The key a binding runs on now, for text that names keys ("space switches it on").

Text that tells the user which key to press reads the key from the binding (by its id) after the
user's keymap (keys.toml, App.set_keymap), so a remapped key is named everywhere: the footer and
the help screen show it, and so does every sentence built with `key_for`.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key

UNBOUND = "(no key)"  # the keymap gave the binding's keys to another binding
KeyName = Callable[[str], str]  # binding id -> the key to name in text


def key_for(node: DOMNode, binding_id: str) -> str:
    """The key of `node`'s binding `binding_id` (or the app's) after the user's keymap.

    The first key when it has several. Textual applies the keymap to a copy of each node's
    bindings whenever it looks keys up (Screen._binding_chain); this does the same.
    """
    keymap = node.app._keymap
    for namespace in (node, node.app):
        bindings = namespace._bindings.copy()
        if keymap:
            bindings.apply_keymap(keymap)
        for found in bindings.key_to_bindings.values():
            for binding in found:
                if binding.id == binding_id:
                    return key_text(binding)
    return UNBOUND


def key_text(binding: Binding) -> str:
    """How text names a binding's key: its key_display, the character it types ("?" for
    question_mark, "+" for plus), or its name ("escape", "enter", "ctrl+o", "space")."""
    if binding.key_display:
        return binding.key_display
    character = format_key(binding.key)
    if len(character) == 1 and character.isascii() and character.isprintable():
        return character
    return binding.key
