"""The conventions terminal tools have (issue 19 item 15): `--version`, shell completion,
`help TOPIC` and a manual page generated from the parser, tables that fit a terminal and are
never cut when piped (SPEC D12: no colour under NO_COLOR), progress on a terminal, and the
directories from platformdirs (`deskline paths`).

Every command runs as a user runs it: a real subprocess, and a real pseudo-terminal where the
output is for a terminal.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from app.cli.docs import commands
from app.cli.main import build_parser
from tests.helpers import make_mail

pytestmark = pytest.mark.sqlite_only
SUPPORT = "help@acme.example"
LONG_SUBJECT = "The printer " + "is still on fire and " * 6 + "nobody answers the phone at all"
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def deskline(
    *args: str, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DESKLINE_USER": "", **(env or {})},
    )
    if ok:
        assert proc.returncode == 0, f"{args}: {proc.stderr}"
    return proc


def on_terminal(
    *args: str, columns: int = 60, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run deskline on a real pseudo-terminal `columns` wide; its exit code and what it drew."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environment = {**os.environ, "DESKLINE_USER": "", "TERM": "xterm-256color", **(env or {})}
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=environment,
        close_fds=True,
    )
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def colour_codes(text: str) -> list[str]:
    codes = []
    for match in SGR.finditer(text):
        for code in re.split("[;:]", match.group(1)):
            if code.isdigit() and (
                30 <= int(code) <= 38 or 40 <= int(code) <= 48 or 90 <= int(code) <= 107
            ):
                codes.append(match.group(0))
    return codes


def visible(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;:?]*[A-Za-z]", "", text).replace("\r", "")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk with two tickets, one with a subject far wider than a terminal."""
    folder = tmp_path_factory.mktemp("conventions")
    db = folder / "desk.db"
    deskline("--db", str(db), "init")
    deskline("--db", str(db), "channel", "add", "support", "--address", SUPPORT)
    for n, subject in enumerate(("Short one", LONG_SUBJECT)):
        raw, _ = make_mail(to=SUPPORT, subject=subject, sender=f"customer{n}@example.com")
        (folder / f"{n}.eml").write_bytes(raw)
    deskline("--db", str(db), "import", str(folder), "--channel", "support")
    return db


# --- --version ---------------------------------------------------------------------------


def test_version_comes_from_the_package_and_ignores_a_newer_database(tmp_path: Path) -> None:
    expected = f"deskline {version('deskline')}\n"
    assert deskline("--version").stdout == expected
    db = tmp_path / "newer.db"
    deskline("--db", str(db), "init")
    with sqlite3.connect(db) as conn:  # a schema from a later Deskline
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeedcafe'")
    assert deskline("--db", str(db), "--version").stdout == expected
    refused = deskline("--db", str(db), "tickets", ok=False)
    assert refused.returncode == 1 and "newer version" in refused.stderr


# --- shell completion --------------------------------------------------------------------


def bash_complete(script: Path, *words: str) -> list[str]:
    """What bash offers for the last of `words`, by the script's own completion function."""
    line = " ".join(words)
    program = f"""
source {script}
complete -p deskline >/dev/null || exit 3
function=$(complete -p deskline | sed -E 's/.*-F ([^ ]+) .*/\\1/')
COMP_WORDS=({line})
COMP_CWORD={len(words) - 1}
COMP_LINE="{line}"
COMP_POINT=${{#COMP_LINE}}
"$function" deskline "{words[-1]}" "{words[-2]}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return sorted(w for w in proc.stdout.split() if w)


def test_bash_completion_completes_commands_sub_commands_and_options(tmp_path: Path) -> None:
    script = tmp_path / "deskline.bash"
    script.write_text(deskline("completion", "bash").stdout)
    assert bash_complete(script, "deskline", "tic") == ["ticket", "tickets"]
    assert bash_complete(script, "deskline", "ticket", "pr") == ["priority"]
    assert bash_complete(script, "deskline", "pipeline", "status", "re") == ["remove", "rename"]
    assert bash_complete(script, "deskline", "outbox", "--st") == ["--state"]
    assert "--version" in bash_complete(script, "deskline", "--v")
    assert bash_complete(script, "deskline", "completion", "") == ["bash", "fish", "zsh"]


def test_zsh_and_fish_scripts_name_every_command() -> None:
    every = list(commands(build_parser()))
    zsh = deskline("completion", "zsh").stdout
    assert zsh.startswith("#compdef deskline")
    fish = deskline("completion", "fish").stdout
    for command in every:
        name = command.path[-1]
        if len(command.path) == 1:
            assert f"-n '__fish_use_subcommand' -a '{name}'" in fish, command.name
        else:  # offered once its parents are typed
            parents = "; and ".join(f"__fish_seen_subcommand_from {w}" for w in command.path[:-1])
            assert re.search(rf"-n '{re.escape(parents)}[^']*' -a '{name}'", fish), command.name
        assert f"'{name}'" in zsh or f'"{name}"' in zsh or f" {name}" in zsh, command.name
    assert "-l priority" not in fish and "-l send-now" in fish
    if shutil.which("fish"):
        check = subprocess.run(["fish", "--no-execute"], input=fish, text=True)
        assert check.returncode == 0


# --- help and the manual -----------------------------------------------------------------


def test_help_lists_every_command_with_what_it_does() -> None:
    listing = deskline("help").stdout
    for command in commands(build_parser()):
        assert re.search(rf"^  {re.escape(command.name)}  +\S", listing, re.M), command.name
    assert re.search(r"^  ticket priority +set a ticket's priority", listing, re.M)


def test_help_topic_is_the_commands_own_help() -> None:
    assert deskline("help", "tickets").stdout == deskline("tickets", "--help").stdout
    nested = deskline("ticket", "priority", "--help").stdout
    assert deskline("help", "ticket", "priority").stdout == nested
    assert deskline("help", "ticket priority").stdout == nested
    assert "low, normal, high, urgent" in nested


def test_an_unknown_help_topic_is_one_line_naming_the_closest() -> None:
    proc = deskline("help", "tikets", ok=False)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert "tikets" in line and "closest: tickets" in line
    far = deskline("help", "zzzz qqqq", ok=False)
    assert far.returncode == 2 and "deskline help" in far.stderr


def test_the_manual_page_is_roff_naming_every_command() -> None:
    page = deskline("man").stdout
    assert page.startswith(".TH DESKLINE 1")
    sections = re.findall(r'^\.SS "(.*)"$', page, re.M)
    assert sections == [c.name for c in commands(build_parser())]
    assert all(line.isascii() for line in page.splitlines())
    assert not re.search(r"^[.'](?![A-Za-z\\])", page, re.M)  # no stray control lines
    if shutil.which("groff"):
        rendered = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww"], input=page, capture_output=True, text=True
        )
        assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
        text = re.sub(r".\x08", "", rendered.stdout)
        assert "ticket priority" in text and "DESKLINE_DB" in text


# --- tables --------------------------------------------------------------------------------


def test_piped_tables_cut_nothing_and_draw_no_boxes(desk: Path) -> None:
    out = deskline("--db", str(desk), "tickets").stdout
    header, *rows = out.splitlines()
    assert header.split() == ["#", "Status", "Owner", "Contact", "Subject"]
    assert len(rows) == 2 and any(row.endswith(LONG_SUBJECT) for row in rows)
    assert "…" not in out and not BOX_DRAWING.search(out) and "\x1b" not in out
    assert all(line == line.rstrip() for line in out.splitlines())
    # columns line up: each row's subject starts under the header's
    start = header.index("Subject")
    assert all(row[start - 2 : start] == "  " and row[start] != " " for row in rows)
    conversations = deskline("--db", str(desk), "conversations").stdout
    assert LONG_SUBJECT in conversations and "customer1@example.com" in conversations


def test_json_is_untouched_by_the_tables(desk: Path) -> None:
    data: Any = json.loads(deskline("--db", str(desk), "tickets", "--json").stdout)
    assert set(data) == {"version", "tickets", "total", "next"}
    assert data["tickets"][0]["subject"] == LONG_SUBJECT


def test_a_terminal_table_fits_its_width_with_an_ellipsis(desk: Path) -> None:
    code, drawn = on_terminal("--db", str(desk), "tickets", columns=60)
    assert code == 0
    lines = [line for line in visible(drawn).splitlines() if line.strip()]
    assert lines[0].split() == ["#", "Status", "Owner", "Contact", "Subject"]
    assert len(lines) == 3, lines  # nothing wrapped onto a second line
    assert all(len(line) <= 60 for line in lines)
    long_row = next(line for line in lines if "customer1" in line or "The printer" in line)
    assert long_row.rstrip().endswith("…")
    assert "\x1b[1m" in drawn  # the header is bold


def test_no_color_on_a_terminal_means_no_colour_codes(desk: Path, tmp_path: Path) -> None:
    code, drawn = on_terminal("--db", str(desk), "tickets", env={"NO_COLOR": "1"})
    assert code == 0 and "Subject" in drawn and colour_codes(drawn) == []
    raw, _ = make_mail(to=SUPPORT, subject="Progress", sender="progress@example.com")
    (tmp_path / "p.eml").write_bytes(raw)
    code, drawn = on_terminal(
        "--db",
        str(desk),
        "import",
        str(tmp_path / "p.eml"),
        "--channel",
        "support",
        env={"NO_COLOR": "1"},
    )
    assert code == 0 and "Importing" in drawn and "1/1" in drawn
    assert colour_codes(drawn) == []


def test_import_on_a_terminal_shows_progress(desk: Path, tmp_path: Path) -> None:
    for n in range(3):
        raw, _ = make_mail(to=SUPPORT, subject=f"Bulk {n}", sender=f"bulk{n}@example.com")
        (tmp_path / f"{n}.eml").write_bytes(raw)
    code, drawn = on_terminal("--db", str(desk), "import", str(tmp_path), "--channel", "support")
    assert code == 0 and "Importing" in drawn and "3/3" in drawn and "/s" in drawn
    assert "Imported 3 messages" in drawn
    piped = deskline("--db", str(desk), "import", str(tmp_path), "--channel", "support")
    assert "Importing" not in piped.stderr  # no progress where nobody watches


# --- paths ---------------------------------------------------------------------------------


def test_paths_come_from_platformdirs_and_the_environment(tmp_path: Path) -> None:
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "DESKLINE_DB": str(tmp_path / "env.db"),
    }
    found = json.loads(deskline("paths", "--json", env=env).stdout)["paths"]
    assert found["config_dir"] == str(tmp_path / "config" / "deskline")
    assert found["keymap_file"] == str(tmp_path / "config" / "deskline" / "keys.toml")
    assert found["keymap_file_exists"] is False
    assert found["data_dir"] == str(tmp_path / "data" / "deskline")
    assert (found["database"], found["database_from"]) == (env["DESKLINE_DB"], "$DESKLINE_DB")
    (tmp_path / "config" / "deskline").mkdir(parents=True)
    (tmp_path / "config" / "deskline" / "keys.toml").write_text("[keys]\n")
    text = deskline("--db", "postgresql://me:secret@db/desk", "paths", env=env).stdout
    assert "secret" not in text and "postgresql://me:***@db/desk (from --db)" in text
    assert re.search(r"^Keymap file: +\S+keys\.toml$", text, re.M)
    assert re.search(
        rf"^Config directory: +{re.escape(str(tmp_path))}/config/deskline$", text, re.M
    )
