"""The real `deskline` program in an 80x24 tmux pane, driven by keys only (SPEC §5).

No Pilot here: a real terminal (tmux) runs the installed console script, `send-keys` types,
`capture-pane` reads the screen, and the database says what happened.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_helpers import seeded_desk

DESKLINE = Path(sys.executable).with_name("deskline")


def _tmux_missing() -> None:
    if os.environ.get("CI") == "true":
        pytest.fail("tmux is required under CI (tests/run installs it)")
    pytest.skip("tmux is not installed")


class Pane:
    def __init__(self, session: str) -> None:
        self.session = session

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.session, *args], capture_output=True, text=True, check=False
        )
        return result.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} never appeared; the screen:\n{self.text()}")

    def start(self, path: Path, user: str, **env: str) -> None:
        """`deskline` on the database `path` as `user`, at 80x24 in a 256-colour terminal."""
        env = {
            "TERM": "xterm-256color",
            "XDG_CONFIG_HOME": str(path.parent),
            "PATH": os.environ["PATH"],
            **env,
        }
        command = f"{DESKLINE} --db {path} --as {user} --no-mail"
        size = ["-x", "80", "-y", "24"]
        variables = [f"-e{key}={value}" for key, value in env.items()]
        self.tmux("new-session", "-d", "-s", self.session, *size, *variables, command)

    def alive(self) -> bool:
        return self.session in self.tmux("list-sessions", "-F", "#{session_name}")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[tuple[Pane, Path]]:
    if shutil.which("tmux") is None:
        _tmux_missing()
    yield_pane = Pane("dl-" + uuid.uuid4().hex[:8])
    yield yield_pane, tmp_path / "desk.db"
    yield_pane.tmux("kill-server")


@pytest.mark.sqlite_only
async def test_a_rep_works_the_inbox_and_board_in_tmux(pane):
    pane, path = pane
    desk = await seeded_desk(path, ["Printer on fire", "[bold]Invoice[/] wrong"], received=False)
    editor = path.parent / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "\\n--Rita\\n" >> "$1"\n')
    editor.chmod(0o755)
    pane.start(path, "rita", EDITOR=str(editor))
    pane.wait_for("Printer on fire")
    screen = pane.wait_for("[bold]Invoice[/] wrong")  # markup shown literally, in the pane
    assert "1 Inbox" in screen
    assert "r Reply" in screen  # the footer shows the keys

    pane.keys("j")  # the older conversation: "Printer on fire" (#1)
    pane.wait_for("Ticket #1")
    pane.keys("r")
    pane.wait_for("Reply from the ticket record")
    pane.type("A technician is on the way.")
    pane.keys("C-e")  # $EDITOR: a script that appends a signature, as a person would type one
    pane.wait_for("--Rita")
    pane.keys("C-s")
    pane.wait_for("Waiting on contact")
    assert await desk.status(1) == "Waiting on contact"  # R-T1
    sent = (await desk.outbox_raw((await desk.outbox())[0]["id"])).decode()
    assert "A technician is on the way." in sent and "--Rita" in sent

    pane.keys("2")
    screen = pane.wait_for("1 Waiting on")  # counts first: they survive narrow columns
    assert "1 New" in screen
    pane.keys("L")  # #2, the selected card in New, moves on
    pane.wait_for("0 New")
    assert await desk.status(2) == "Waiting on contact"

    pane.keys("?")
    pane.wait_for("Move to next status")
    pane.keys("Escape")
    time.sleep(0.3)  # ESC then q within a moment is read as alt+q, as in any terminal
    pane.keys("q")
    deadline = time.monotonic() + 5
    while pane.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pane.alive(), "q quits"
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_an_admin_builds_a_branch_in_the_workflow_editor_in_tmux(pane):
    """SPEC §5 workflow editor and R-A5 in a real terminal: settings → W → the flow → End →
    a → "Branch" → a condition picked key by key → the branch and its two paths are drawn."""
    pane, path = pane
    desk = await seeded_desk(path, ["Printer on fire"])
    pane.start(path, "admin")
    pane.wait_for("Printer on fire")
    pane.keys("3")
    pane.wait_for("Statuses and their actions")
    pane.keys("W")
    pane.wait_for("New status actions")  # the list is filled: enter has a row to open
    pane.keys("Enter")  # into the flow of the first workflow
    pane.wait_for("Enrollment:")
    time.sleep(0.3)  # a person's pause: the focus moves to the flow after the key
    pane.keys("End")
    time.sleep(0.3)
    pane.keys("a")
    pane.wait_for("what does it do?")
    pane.keys("End", "Enter")  # the last choice: Branch
    pane.wait_for("Take the yes path when")
    pane.keys("Enter")  # all of the tests
    pane.wait_for("Add a test on")
    for _ in range(4):  # pipeline, status, source, channel, priority
        pane.keys("j")
    pane.keys("Enter")
    pane.wait_for("priority …")
    pane.keys("Enter")  # is
    pane.wait_for("urgent")  # the priorities to pick from: low, normal, high, urgent
    pane.keys("End", "Enter")
    pane.wait_for("Save (priority is urgent)")
    pane.keys("Enter")  # once a test is added, the highlight is on ✓ Save
    screen = pane.wait_for("If priority is urgent")
    assert "yes →" in screen and "no →" in screen
    rows = await desk.db.run(lambda repo: [(a.kind, a.config) for a in repo.workflow(1).actions])
    assert (
        "branch",
        {"if": {"all": [{"field": "priority", "op": "is", "value": "urgent"}]}},
    ) in rows
    await desk.db.close()


# --- the cursor row in a real terminal (issue 19 item 4, SPEC D12) ----------------------------

SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def screen_looks(capture: str) -> list[list[tuple[str | None, bool]]]:
    """(background, reverse) of each character of each line of a `capture-pane -e` screen.
    tmux writes only what changes from the cell before, across line ends too: the attributes
    carry on from one line to the next."""
    screen: list[list[tuple[str | None, bool]]] = []
    background: str | None = None
    reverse = False
    for line in capture.split("\n"):
        looks: list[tuple[str | None, bool]] = []
        for n, part in enumerate(SGR.split(line)):
            if n % 2 == 0:
                looks.extend([(background, reverse)] * len(part))
                continue
            background, reverse = _apply_sgr(part, background, reverse)
        screen.append(looks)
    return screen


def _apply_sgr(part: str, background: str | None, reverse: bool) -> tuple[str | None, bool]:
    codes = [int(c) if c else 0 for c in part.replace(":", ";").split(";")]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in (38, 48):  # 5;N or 2;R;G;B
            width = 2 if codes[i + 1] == 5 else 4
            if code == 48:
                background = ";".join(map(str, codes[i + 1 : i + 1 + width]))
            i += width
        elif code == 0:
            background, reverse = None, False
        elif code == 7:
            reverse = True
        elif code == 27:
            reverse = False
        elif code == 49:
            background = None
        elif 40 <= code <= 47 or 100 <= code <= 107:
            background = str(code)
        i += 1
    return background, reverse


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "colours",
    [
        pytest.param({"COLORTERM": "truecolor"}, id="truecolor"),
        pytest.param({}, id="256"),
        pytest.param({"NO_COLOR": "1"}, id="no-color"),
    ],
)
async def test_the_cursor_row_stands_out_in_a_real_terminal(pane, colours):
    """Item 4, D12: in tmux at 80x24, the inbox's cursor row has another background than the
    row under it in truecolor and in 256 colours (before: the same bytes, only bold); under
    NO_COLOR it is reverse video and the row under it is not."""
    pane, path = pane
    desk = await seeded_desk(path, ["Printer on fire", "Invoice is wrong"], received=False)
    pane.start(path, "rita", **colours)
    pane.wait_for("Ticket #2")  # the reading pane shows the cursor's conversation
    time.sleep(0.3)
    capture = pane.tmux("capture-pane", "-e", "-p", "-t", pane.session)
    looks = screen_looks(capture)
    texts = [SGR.sub("", x) for x in capture.split("\n")]
    cursor = looks[next(n for n, x in enumerate(texts) if "Invoice is wrong" in x)]
    below = looks[next(n for n, x in enumerate(texts) if "Printer on fire" in x)]
    inside_the_list = range(1, 28)
    for column in inside_the_list:
        if "NO_COLOR" in colours:
            assert cursor[column][1] and not below[column][1], column
        else:
            assert cursor[column][0] != below[column][0], (column, cursor[column], below[column])
    await desk.db.close()
