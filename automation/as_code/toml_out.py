"""A TOML writer for the documents `export` builds (TOML 1.0): tables, arrays of tables, inline
tables and arrays, strings (multi-line for text with line breaks), integers, floats, booleans.

Keys of a table keep their order: scalars first, then sub-tables, then arrays of tables, so the
output reads top-down and diffs line by line. Keys named in `inline` are written on one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def dumps(document: Mapping[str, Any], *, inline: Iterable[str] = (), header: str = "") -> str:
    """The document as TOML text, ending with a newline."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, document, (), frozenset(inline), array=False)
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).rstrip("\n") + "\n"


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _basic(name)


def _table(
    lines: list[str],
    table: Mapping[str, Any],
    path: tuple[str, ...],
    inline: frozenset[str],
    *,
    array: bool,
) -> None:
    scalars = [(k, v) for k, v in table.items() if v is not None and _is_value(k, v, inline)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping) and k not in inline]
    arrays = [(k, v) for k, v in table.items() if _is_table_array(k, v, inline)]
    if path and (scalars or array or (not tables and not arrays)):
        dotted = ".".join(key(part) for part in path)
        lines += ["", f"[[{dotted}]]" if array else f"[{dotted}]"]
    for name, value in scalars:
        lines.append(f"{key(name)} = {value_text(value, inline)}")
    for name, value in tables:
        _table(lines, value, (*path, name), inline, array=False)
    for name, value in arrays:
        for item in value:
            _table(lines, item, (*path, name), inline, array=True)


def _is_table_array(name: str, value: Any, inline: frozenset[str]) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and name not in inline
        and all(isinstance(item, Mapping) for item in value)
    )


def _is_value(name: str, value: Any, inline: frozenset[str]) -> bool:
    if isinstance(value, Mapping):
        return name in inline
    return not _is_table_array(name, value, inline)


def value_text(value: Any, inline: frozenset[str] = frozenset()) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no TOML for {value!r}")
        return repr(value)
    if isinstance(value, str):
        return _multiline(value) if "\n" in value else _basic(value)
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{key(k)} = {value_text(v, inline)}" for k, v in value.items() if v is not None
        )
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(item, inline) for item in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04X}"
    return char


def _basic(text: str) -> str:
    return '"' + "".join(_escape(c) for c in text) + '"'


def _multiline(text: str) -> str:
    """A multi-line basic string: line breaks stay, every quote and backslash is escaped (so no
    run of three quotes can end it early); the break after the opening quotes is not part of
    the text (TOML trims it)."""
    body = "".join("\n" if c == "\n" else _escape(c) for c in text)
    return '"""\n' + body + '"""'
