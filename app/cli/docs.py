"""Help generated from the parser, so it cannot go stale: `help [TOPIC]`, `man` (a roff manual
page) and `completion bash|zsh|fish` (shell completion scripts).

Bash and zsh scripts come from shtab; shtab has no fish, so the fish script is written here by
walking the same parser.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from app.cli.errors import EXIT_USAGE, UserError

SHELLS = ("bash", "zsh", "fish")
# Options every command takes (shown once, in the manual's OPTIONS).
GLOBAL_DESTS = frozenset({"db", "as_user", "help", "version"})
# Arguments that name files: completed as paths in bash and zsh.
FILE_DESTS = frozenset({"paths", "body_file", "path", "file"})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "help",
        help="every command with what it does, or one command's options: help ticket show",
    )
    p.add_argument(
        "topic", nargs="*", metavar="TOPIC", help="a command, e.g. tickets or ticket show"
    )
    p.set_defaults(func=cmd_help)

    p = sub.add_parser("man", help="the manual page (roff), e.g. deskline man | man -l -")
    p.set_defaults(func=cmd_man)

    p = sub.add_parser(
        "completion",
        help="a shell completion script, e.g. source <(deskline completion bash)",
    )
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=cmd_completion)


# --- the command tree ----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # ("ticket", "show")
    parser: argparse.ArgumentParser
    summary: str

    @property
    def name(self) -> str:
        return " ".join(self.path)


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every command and sub-command under `parser`, depth first in the order --help lists."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, child in action.choices.items():
            yield Command((*path, name), child, str(summaries.get(name, "")))
            yield from commands(child, (*path, name))


def children(parser: argparse.ArgumentParser) -> list[str]:
    return [c.path[-1] for c in commands(parser) if len(c.path) == 1]


# --- help ----------------------------------------------------------------------------------


async def cmd_help(args: argparse.Namespace) -> int:
    root: argparse.ArgumentParser = args.parser
    topic = " ".join(" ".join(args.topic).split())
    if not topic:
        print(command_list(root), end="")
        return 0
    found = {c.name: c for c in commands(root)}
    if topic not in found:
        raise UserError(unknown_topic(topic, list(found)), exit_code=EXIT_USAGE)
    print(found[topic].parser.format_help(), end="")
    return 0


def command_list(root: argparse.ArgumentParser) -> str:
    """Each command on a line with what it does; sub-commands indented under their group."""
    every = list(commands(root))
    width = max(len(c.name) for c in every) + 2
    columns = shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 10_000
    lines = [
        "Deskline commands (deskline help COMMAND shows one command's options; "
        "deskline with no command opens the app):",
        "",
    ]
    for command in every:
        lines += textwrap.wrap(
            command.summary or "-",
            width=max(columns, width + 30),
            initial_indent=f"  {command.name:<{width}}",
            subsequent_indent=" " * (width + 2),
        )
    return "\n".join(lines) + "\n"


def unknown_topic(topic: str, names: list[str]) -> str:
    close = difflib.get_close_matches(topic, names, n=4, cutoff=0.5)
    close += [n for n in names if n.startswith(topic) and n not in close][: 4 - len(close)]
    if close:
        return f"no command {topic!r}; closest: {', '.join(close)}"
    return f"no command {topic!r}; `deskline help` lists every command"


# --- the manual page -----------------------------------------------------------------------


async def cmd_man(args: argparse.Namespace) -> int:
    from app.cli.main import installed_version

    print(man_page(args.parser, installed_version()), end="")
    return 0


def man_page(root: argparse.ArgumentParser, version: str) -> str:
    """The manual page, in roff (man(7) macros), generated from the parser."""
    lines = [
        f'.TH DESKLINE 1 "" "deskline {_roff(version)}" "User Commands"',
        ".SH NAME",
        r"deskline \- a help desk that lives in the terminal",
        ".SH SYNOPSIS",
        r".B deskline",
        r"[\fIOPTIONS\fR] [\fICOMMAND\fR [\fIARGUMENTS\fR]]",
        ".SH DESCRIPTION",
        _roff(root.description or ""),
        ".PP",
        _roff(root.epilog or ""),
        ".SH OPTIONS",
        *_options(root, keep_global=True),
        ".SH COMMANDS",
        "Options marked in a command's usage are those of that command; --db and --as are "
        "taken by every command.",
    ]
    for command in commands(root):
        lines += [f'.SS "{_roff(command.name)}"', _roff(command.summary)]
        lines += [".PP", ".nf", _roff(_usage(command.parser)), ".fi"]
        if command.parser.description:
            lines += [".PP", _roff(command.parser.description)]
        lines += _options(command.parser, keep_global=False)
    lines += [
        ".SH ENVIRONMENT",
        ".TP",
        r"\fBDESKLINE_DB\fR",
        "the database when --db is not given",
        ".TP",
        r"\fBDESKLINE_USER\fR",
        "the user to act as when --as is not given",
        ".TP",
        r"\fBNO_COLOR\fR",
        "no colours in the app or the command line",
        ".SH FILES",
        "deskline paths prints where the database, the configuration directory and the "
        "keymap file (keys.toml) are on this machine.",
    ]
    return "\n".join(_safe_line(line) for line in lines) + "\n"


def _usage(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_usage().split()).removeprefix("usage: ")


def _options(parser: argparse.ArgumentParser, *, keep_global: bool) -> list[str]:
    lines: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        if not keep_global and action.dest in GLOBAL_DESTS:
            continue
        lines += [".TP", _term(action), _roff(str(action.help or ""))]
    return lines


def _term(action: argparse.Action) -> str:
    value = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    )
    if not action.option_strings:
        return rf"\fI{_roff(str(value))}\fR"
    names = ", ".join(rf"\fB{_roff(o)}\fR" for o in action.option_strings)
    return names + (rf" \fI{_roff(str(value))}\fR" if action.nargs != 0 else "")


def _roff(text: str) -> str:
    """Text safe inside a roff line: backslashes and hyphens escaped, one line, other than
    ASCII as named characters (any groff or mandoc reads it)."""
    text = " ".join(text.split()).replace("\\", r"\e").replace("-", r"\-")
    return "".join(c if c.isascii() else f"\\[u{ord(c):04X}]" for c in text)


def _safe_line(line: str) -> str:
    """A text line must not start with a control character (. or ')."""
    if line.startswith(("'",)) or (line.startswith(".") and not line[1:2].isalpha()):
        return r"\&" + line
    return line


# --- shell completion ----------------------------------------------------------------------


async def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(args.parser, args.shell), end="")
    return 0


def completion_script(root: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return fish_script(root)
    import shtab

    for parser in [root, *(c.parser for c in commands(root))]:
        for action in parser._actions:
            if action.dest in FILE_DESTS:
                action.complete = shtab.FILE  # type: ignore[attr-defined]
    script: str = shtab.complete(root, shell=shell)
    return script if script.endswith("\n") else script + "\n"


def fish_script(root: argparse.ArgumentParser) -> str:
    """Completion for fish: each command offered after its parent, each option after its
    command, choices as values."""
    lines = [
        "# deskline completion for fish, generated from its commands:",
        "#   deskline completion fish > ~/.config/fish/completions/deskline.fish",
        "complete -c deskline -e",
    ]
    lines += _fish_options(root, "")
    top = children(root)
    lines += [
        f"complete -c deskline -f -n '__fish_use_subcommand' -a {_fish(name)} "
        f"-d {_fish(_summary(root, name))}"
        for name in top
    ]
    for command in commands(root):
        seen = _fish_seen(command.path)
        below = children(command.parser)
        if below:
            not_yet = f"; and not __fish_seen_subcommand_from {' '.join(below)}"
            lines += [
                f"complete -c deskline -f -n '{seen}{not_yet}' -a {_fish(name)} "
                f"-d {_fish(_summary(command.parser, name))}"
                for name in below
            ]
        lines += _fish_options(command.parser, seen)
    return "\n".join(lines) + "\n"


def _fish_seen(path: tuple[str, ...]) -> str:
    return "; and ".join(f"__fish_seen_subcommand_from {word}" for word in path)


def _fish_options(parser: argparse.ArgumentParser, condition: str) -> list[str]:
    lines = []
    when = f" -n '{condition}'" if condition else ""
    for action in parser._actions:
        longs = [o[2:] for o in action.option_strings if o.startswith("--")]
        if not longs or action.help == argparse.SUPPRESS or action.dest in {"help"}:
            continue
        value = ""
        if action.choices:
            value = " -x -a " + _fish(" ".join(map(str, action.choices)))
        elif action.nargs != 0:
            value = " -r"
        help_text = str(action.help or "")
        lines.append(f"complete -c deskline{when} -l {longs[0]}{value} -d {_fish(help_text)}")
    return lines


def _summary(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return str(choice.help or "")
    return ""


def _fish(text: str) -> str:
    return "'" + " ".join(text.split()).replace("\\", "\\\\").replace("'", "\\'") + "'"
