"""Regenerate the README's screenshots (docs/img/*.svg) from the app itself.

    .venv/bin/python docs/make_screenshots.py [--size 100x30] [--out docs/img]

Builds a fresh demo desk (the same as `deskline demo`) in a temp directory, runs the real app
headless under Textual's Pilot at the given size, as the demo's admin and without mail or the
simulated feed, and saves what the terminal shows in the inbox, the board and the settings as
SVG files. The demo's mail is dated relative to now, so ages and some rows differ between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from app.tui import DesklineApp  # noqa: E402
from demo.build import build_demo  # noqa: E402

# (file name, keys pressed from the inbox to get there, the title inside the SVG)
SHOTS = (
    ("inbox.svg", ["j"], "Deskline: the inbox"),
    ("board.svg", ["2"], "Deskline: the board"),
    ("settings.svg", ["3", "j", "j", "j", "j"], "Deskline: the settings"),
)


async def wait_until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {check}")
        await pilot.pause(0.05)


def rows_loaded(app: DesklineApp) -> bool:
    return app.ready and all(getattr(w, "loaded", True) for w in app.screen.query("RowList"))


async def take(db: Path, out: Path, size: tuple[int, int]) -> list[Path]:
    app = DesklineApp(str(db), as_user="admin", keymap_file=db.parent / "no-keys.toml")
    saved = []
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: rows_loaded(app))
        for name, keys, title in SHOTS:
            await pilot.press("1")
            await wait_until(pilot, lambda: rows_loaded(app))
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.1)
            await wait_until(pilot, lambda: rows_loaded(app))
            await pilot.pause(0.8)  # the reading pane and the footer settle
            app.save_screenshot(filename=name, path=str(out))
            _retitle(out / name, title)
            saved.append(out / name)
    return saved


def _retitle(svg: Path, title: str) -> None:
    """The SVG's window title reads `title` instead of the app class name."""
    text = svg.read_text("utf-8")
    svg.write_text(text.replace("DesklineApp", title, 1), "utf-8")


async def main(size: tuple[int, int], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deskline-shots-") as tmp:
        db = Path(tmp) / "demo.db"
        print("building the demo desk…", file=sys.stderr)
        await build_demo(str(db))
        for path in await take(db, out, size):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=(100, 30), help="WIDTHxHEIGHT")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="directory")
    args = parser.parse_args()
    asyncio.run(main(args.size, args.out))
