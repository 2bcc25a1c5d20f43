"""Generate docs/cli.md, the command-line reference, from the `deskline` argparse parser.

    .venv/bin/python docs/make_cli_reference.py            # rewrite docs/cli.md
    .venv/bin/python docs/make_cli_reference.py --stdout   # print it instead

Every command and subcommand of `app.cli.main.build_parser()` gets a section with its one-line
summary and its `--help`, wrapped at a fixed width so the file does not depend on the terminal.
tests/test_docs.py fails when docs/cli.md differs from what this prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from app.cli.main import build_parser  # noqa: E402

TARGET = ROOT / "docs" / "cli.md"
WIDTH = 100
COMMAND = "python docs/make_cli_reference.py"

INTRO = f"""\
# Command-line reference

Generated from the parser by `{COMMAND}`; do not edit it by hand
(tests/test_docs.py checks that it is current). `deskline COMMAND --help` prints the same text.

Every command takes `--db URL` (a file path, `sqlite:///PATH` or `postgresql://user@host/db`)
and `--as USER`, before or after the command name. Without a command `deskline` opens the app.
Errors a user can cause print one line on stderr and exit 1; usage errors exit 2. The JSON that
`--json` prints is described in [json.md](json.md).
"""


def commands(
    parser: argparse.ArgumentParser, name: str = "deskline", summary: str = ""
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """Every parser of the tree, depth first, in the order `--help` lists them:
    (its command line, its one-line summary, the parser)."""
    yield name, summary, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help or "" for a in action._choices_actions}
            for child_name, child in action.choices.items():
                yield from commands(child, f"{name} {child_name}", summaries.get(child_name, ""))


def help_text(parser: argparse.ArgumentParser) -> str:
    """`--help` at a fixed width, whatever the terminal."""
    formatter_class = parser.formatter_class

    make: Any = formatter_class  # argparse types it as taking `prog` alone

    def fixed(prog: str) -> argparse.HelpFormatter:
        return cast(argparse.HelpFormatter, make(prog, width=WIDTH))

    parser.formatter_class = fixed
    try:
        return parser.format_help().rstrip()
    finally:
        parser.formatter_class = formatter_class


def anchor(name: str) -> str:
    """The heading's anchor as GitHub makes it (`deskline ticket show` -> deskline-ticket-show)."""
    return name.lower().replace(" ", "-")


def reference() -> str:
    """The whole of docs/cli.md."""
    found = list(commands(build_parser()))
    index = [
        f"- [`{name}`](#{anchor(name)})" + (f": {summary}" if summary else "")
        for name, summary, _ in found[1:]
    ]
    sections = []
    for name, summary, parser in found:
        section = [f"## {name}", ""]
        if summary:
            section += [summary[0].upper() + summary[1:] + ".", ""]
        section += ["```text", help_text(parser), "```"]
        sections.append("\n".join(section))
    parts = [INTRO, "## Commands\n\n" + "\n".join(index), *sections]
    return "\n\n".join(part.rstrip() for part in parts) + "\n"


def main(argv: list[str]) -> int:
    text = reference()
    if "--stdout" in argv:
        sys.stdout.write(text)
        return 0
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
