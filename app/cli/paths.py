"""`deskline paths`: where Deskline keeps things on this machine (from platformdirs)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir, user_downloads_dir

from app.cli import output

APP_NAME = "deskline"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "paths",
        help="where Deskline keeps things: database, data and config directories, keymap file",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_paths)


def config_dir() -> Path:
    """The configuration directory: $XDG_CONFIG_HOME/deskline when set (on every system, as
    before), else the platform's own (platformdirs)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) / APP_NAME if xdg else Path(user_config_dir(APP_NAME))


def keymap_file() -> Path:
    """The file the app reads its keys from (the app's own answer)."""
    # Imported here: Textual would slow every other command.
    from app.tui import keymap_path

    return keymap_path()


def where(args: argparse.Namespace) -> dict[str, Any]:
    if getattr(args, "db_given", False):
        source = "--db"
    elif os.environ.get("DESKLINE_DB"):
        source = "$DESKLINE_DB"
    else:
        source = "default"
    keymap = keymap_file()
    return {
        "database": _without_password(args.db),
        "database_from": source,
        "data_dir": user_data_dir(APP_NAME),
        "config_dir": str(config_dir()),
        "keymap_file": str(keymap),
        "keymap_file_exists": keymap.exists(),
        "downloads_dir": user_downloads_dir(),
    }


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


async def cmd_paths(args: argparse.Namespace) -> int:
    found = where(args)
    if args.json:
        output.dump({"version": 1, "paths": found})
        return 0
    exists = "" if found["keymap_file_exists"] else " (not created yet)"
    lines = [
        ("Database", f"{found['database']} (from {found['database_from']})"),
        ("Data directory", found["data_dir"]),
        ("Config directory", found["config_dir"]),
        ("Keymap file", found["keymap_file"] + exists),
        ("Downloads", found["downloads_dir"]),
    ]
    for label, value in lines:
        print(f"{label + ':':<18}{output.clean(value)}")
    return 0
