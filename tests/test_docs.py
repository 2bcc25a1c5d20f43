"""The docs cannot go stale (issue 19 item 17): the CLI reference is what the parser generates,
every command and every key of the app is documented with its key, no user-facing doc names a
SPEC rule code, and the README's links lead to files that exist."""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

from textual.binding import Binding
from textual.keys import format_key

from app.cli.main import build_parser
from tests.test_keys_help import all_bindings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
GUIDES = (DOCS / "rep-guide.md", DOCS / "admin-guide.md")
REGENERATE = ".venv/bin/python docs/make_cli_reference.py"
# SPEC rule codes (R-T1, R-T2.1, R-C2, R-A7, E3, D12, S10, B7, C4) and "SPEC §5". Keys such as
# `ctrl+d` never match: a code is a capital letter and digits standing alone.
RULE_CODE = re.compile(r"\b(R-[A-Z]\d+(\.\d+)*|[EDSBC]\d{1,2}(\.\d+)*)\b|§|\bSPEC\b")
# Key names that format_key leaves as words but the docs write as the character typed.
CHARACTERS = {"bracketleft": "[", "bracketright": "]"}


def generator() -> ModuleType:
    """docs/make_cli_reference.py, loaded as a module (docs/ is not a package)."""
    path = DOCS / "make_cli_reference.py"
    spec = importlib.util.spec_from_file_location("make_cli_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_docs() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


# --- (1) and (2): the CLI reference -------------------------------------------------------------


def test_the_cli_reference_is_what_the_parser_generates_now():
    written = (DOCS / "cli.md").read_text("utf-8")
    generated = generator().reference()
    diff = difflib.unified_diff(
        written.splitlines(), generated.splitlines(), "docs/cli.md", "the parser", lineterm="", n=1
    )
    stale = written != generated
    assert not stale, (
        f"docs/cli.md is stale: the parser changed. Regenerate it with `{REGENERATE}` and "
        "commit docs/cli.md. The first differences:\n" + "\n".join(list(diff)[:30])
    )


def _commands(
    parser: argparse.ArgumentParser, name: str = "deskline"
) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command and subcommand of the parser, walked here independently of the generator."""
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                found += _commands(child, f"{name} {child_name}")
    return found


def _sections(text: str) -> dict[str, str]:
    """docs/cli.md's sections by their heading (`## deskline ticket show`)."""
    parts = re.split(r"^## (deskline(?: [^\n]*)?)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_command_and_subcommand_has_its_section_with_every_option():
    sections = _sections((DOCS / "cli.md").read_text("utf-8"))
    commands = _commands(build_parser())
    assert len(commands) > 60
    for name, parser in commands:
        assert name in sections, f"`{name}` is missing from docs/cli.md: run `{REGENERATE}`"
        for action in parser._actions:
            for option in action.option_strings:
                assert option in sections[name], f"`{name} {option}` is missing from docs/cli.md"


# --- (3): every key of the app, in a guide, with its key ----------------------------------------


def doc_key(key: str) -> str:
    """A key as the guides write it: the character it types (`?`, `/`, `[`, `G`), else its
    keys.toml name (`escape`, `ctrl+s`, `left`, `pagedown`, `space`)."""
    if key in CHARACTERS:
        return CHARACTERS[key]
    character = format_key(key)
    if len(character) == 1 and character.isascii() and character.isprintable() and key != "space":
        return character
    return key


def undocumented(bindings: list[Binding], text: str) -> list[str]:
    """The bindings no line of `text` documents: a line naming the binding id in backticks and
    each of its keys in backticks (a binding without an id: its description and keys)."""
    lines = text.splitlines()
    missing = []
    for binding in bindings:
        keys = [f"`{doc_key(k.strip())}`" for k in binding.key.split(",")]
        name = f"`{binding.id}`" if binding.id else binding.description
        if not any(name in line and all(k in line for k in keys) for line in lines):
            missing.append(f"{binding.id or binding.description} ({' '.join(keys)})")
    return missing


def test_every_key_of_the_app_is_in_a_guide_with_its_key():
    bindings = all_bindings()  # every binding of the app, its screens and widgets
    assert len(bindings) > 80
    text = "\n".join(path.read_text("utf-8") for path in GUIDES)
    missing = undocumented(bindings, text)
    assert missing == [], (
        "keys missing from docs/rep-guide.md and docs/admin-guide.md (a table row with the key "
        "in backticks and the binding id in backticks):\n  " + "\n  ".join(missing)
    )


def test_a_key_missing_from_the_guides_is_found():
    """The check above would notice: a binding whose key or id the text lacks is reported."""
    binding = Binding("ctrl+k", "nothing", "Nothing", id="inbox.nothing")
    bracket = Binding("bracketleft", "nothing", "Back", id="ticket.prev_conv")
    assert undocumented([binding], "| `ctrl+l` | Nothing | `inbox.nothing` |")
    assert undocumented([binding], "| `ctrl+k` | Nothing | `inbox.other` |")
    assert not undocumented([binding], "| `ctrl+k` | Nothing | `inbox.nothing` |")
    assert not undocumented([bracket], "| `[` | Back | `ticket.prev_conv` |")


# --- (4) and (5): words, not rule codes; links that lead somewhere -------------------------------


def test_no_user_facing_doc_names_a_spec_rule_code():
    found = []
    for path in user_docs():
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if match := RULE_CODE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r} in {line!r}")
    assert found == []
    assert RULE_CODE.search("fires R-T2.1 and E3, see SPEC §7")
    assert not RULE_CODE.search("`ctrl+d`, `--db`, 100x30, UTF-8, Alembic")


LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(path: Path) -> list[tuple[str, Path]]:
    """The relative links of a Markdown file, as paths (anchors dropped)."""
    found = []
    for target in LINK.findall(path.read_text("utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        found.append((target, (path.parent / target.split("#")[0]).resolve()))
    return found


def test_readme_links_lead_to_files_that_exist():
    links = _links(README)
    assert len(links) >= 8  # the screenshots and the docs
    for target in ("docs/img/inbox.svg", "docs/img/board.svg", "docs/img/settings.svg"):
        assert target in [t for t, _ in links]
    for target, path in links:
        assert path.is_file(), f"README.md links to {target}, which does not exist"


def test_links_between_the_docs_lead_to_files_and_headings_that_exist():
    for doc in sorted(DOCS.glob("*.md")):
        for target, path in _links(doc):
            assert path.is_file(), f"{doc.name} links to {target}, which does not exist"
            if "#" in target and path.suffix == ".md":
                anchors = {
                    re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
                    for heading in re.findall(r"^#+ (.*)$", path.read_text("utf-8"), re.M)
                }
                assert target.split("#")[1] in anchors, f"{doc.name}: no heading for {target}"
