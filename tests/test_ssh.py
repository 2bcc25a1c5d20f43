"""The SSH door (SPEC §11) with the real OpenSSH client: `deskline serve` in a subprocess on a
loopback port, keys made by ssh-keygen, the app in tmux panes over `ssh -t`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from storage import models as m
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_no_color import colour_codes
from tests.test_tmux import Pane

ROOT = Path(__file__).resolve().parents[1]
DESKLINE = [sys.executable, "-m", "app.cli"]

pytestmark = pytest.mark.skipif(
    shutil.which("ssh") is None or shutil.which("ssh-keygen") is None,
    reason="the OpenSSH client is not installed",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deskline(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DESKLINE, "--db", url, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def make_key(directory: Path, name: str) -> Path:
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@laptop", "-f", str(key)],
        check=True,
    )
    return key


@dataclass
class Door:
    url: str
    port: int
    process: subprocess.Popen[str]
    keys: dict[str, Path]
    banner: str
    tmp_path: Path

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def restart(self, *extra: str) -> None:
        """The same desk served again, with these options."""
        self.stop()
        self.process, self.port, self.banner = start_serve(self.url, self.tmp_path, *extra)

    def ssh_args(self, key: Path, *extra: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(key),
            "-p",
            str(self.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            *extra,
            "127.0.0.1",
        ]

    def ssh(
        self, key: Path, *command: str, options: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.ssh_args(key, "-o", "BatchMode=yes", *options), *command],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def session_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return sorted(int(pid) for pid in path.read_text().split())


def start_serve(url: str, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int, str]:
    port = free_port()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    process = subprocess.Popen(
        [*DESKLINE, "--db", url, "serve", "--listen", f"127.0.0.1:{port}", "--no-mail", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert process.stdout is not None
    banner = ""
    deadline = time.monotonic() + 60
    while "Mail worker" not in banner and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve stopped: {banner}")
        banner += line
    return process, port, banner


@pytest_asyncio.fixture
async def door(db_url: str, tmp_path: Path) -> AsyncIterator[Door]:
    desk = await Desk.create(Database(db_url), received=False)
    for n, subject in enumerate(["Printer on fire", "Invoice wrong"]):
        raw, _ = make_mail(subject=subject, sender=f"customer{n}@example.org", name=f"Customer {n}")
        await desk.receive(raw)
    await desk.close()
    keys = {name: make_key(tmp_path, name) for name in ("rita", "admin", "stranger")}
    for name in ("rita", "admin"):
        added = deskline(
            db_url, "--as", "admin", "user", "key", "add", name, str(keys[name]) + ".pub"
        )
        assert added.returncode == 0, added.stderr
    process, port, banner = start_serve(db_url, tmp_path)
    door = Door(db_url, port, process, keys, banner, tmp_path)
    try:
        yield door
    finally:
        door.stop()


# --- keys -------------------------------------------------------------------------------------


async def test_keys_are_added_listed_and_removed_by_admins_only(db_url, tmp_path):
    desk = await Desk.create(Database(db_url))
    await desk.close()
    key = make_key(tmp_path, "rita")
    line = (tmp_path / "rita.pub").read_text()
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key) + ".pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]

    refused = deskline(db_url, "--as", "rita", "user", "key", "add", "rita", "-", stdin=line)
    assert refused.returncode == 1 and "only admins" in refused.stderr
    added = deskline(db_url, "--as", "admin", "user", "key", "add", "rita", "-", stdin=line)
    assert added.returncode == 0, added.stderr
    assert fingerprint in added.stdout  # the same fingerprint as ssh-keygen's (SHA256)

    # A key belongs to one user (S1): the duplicate is refused, naming its owner.
    twice = deskline(db_url, "--as", "admin", "user", "key", "add", "admin", "-", stdin=line)
    assert twice.returncode == 1 and "rita" in twice.stderr
    bad = deskline(db_url, "--as", "admin", "user", "key", "add", "rita", "-", stdin="ssh-rsa nope")
    assert bad.returncode == 1 and "not an OpenSSH public key" in bad.stderr

    listed = json.loads(deskline(db_url, "--as", "admin", "user", "key", "list", "--json").stdout)[
        "keys"
    ]
    assert [(k["user"], k["fingerprint"], k["comment"]) for k in listed] == [
        ("rita", fingerprint, "rita@laptop")
    ]
    own = json.loads(deskline(db_url, "--as", "rita", "user", "key", "list", "--json").stdout)[
        "keys"
    ]
    assert [k["fingerprint"] for k in own] == [fingerprint]
    others = deskline(db_url, "--as", "rita", "user", "key", "list", "admin")
    assert others.returncode == 1

    removed = deskline(db_url, "--as", "admin", "user", "key", "remove", "rita", fingerprint)
    assert removed.returncode == 0, removed.stderr
    listed = json.loads(deskline(db_url, "--as", "admin", "user", "key", "list", "--json").stdout)[
        "keys"
    ]
    assert listed == []


# --- the door ---------------------------------------------------------------------------------


async def test_a_key_runs_read_only_commands_as_its_user(door: Door, tmp_path: Path):
    key_file = tmp_path / "data" / "deskline" / "ssh_host_ed25519_key"
    assert key_file.stat().st_mode & 0o777 == 0o600  # S6: made once, 0600, in the data dir
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key_file)], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert fingerprint in door.banner  # printed at start

    listed = door.ssh(door.keys["rita"], "tickets", "--json")
    assert listed.returncode == 0, listed.stderr
    subjects = {t["subject"] for t in json.loads(listed.stdout)["tickets"]}
    assert subjects == {"Printer on fire", "Invoice wrong"}

    # S4: the exit status comes back; a writing command, --as, --db and paths are refused.
    assert door.ssh(door.keys["rita"], "ticket", "show", "99").returncode == 1
    for command in (
        ("ticket", "close", "1"),
        ("tickets", "--as", "admin"),
        ("tickets", "--db=/tmp/other.db"),
        ("attachment", "get", "1", "-o", "/tmp/file"),
        ("held", "release", "1"),
        ("sh", "-c", "id"),
    ):
        refused = door.ssh(door.keys["rita"], *command)
        assert refused.returncode == 2, command
        assert refused.stderr.startswith("deskline: "), command
    # With a pty (ssh -t) as without: the output, and the exit status.
    on_pty = door.ssh(door.keys["rita"], "tickets", options=("-tt",))
    assert on_pty.returncode == 0 and "Printer on fire" in on_pty.stdout
    assert "\x1b[1m" in on_pty.stdout  # the table's bold header: it ran on a terminal
    assert door.ssh(door.keys["rita"], "ticket", "show", "99", options=("-tt",)).returncode == 1
    # The SSH user name is ignored: the key says who connects (S1).
    named = door.ssh(door.keys["rita"], "tickets", options=("-l", "admin"))
    assert named.returncode == 0

    # S3: a file comes from the client's side on stdin and waits for rita's next draft.
    put = subprocess.run(
        [*door.ssh_args(door.keys["rita"], "-o", "BatchMode=yes"), "attachment", "put", "a.txt"],
        input="from my laptop\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert put.returncode == 0 and "Kept a.txt (15 bytes)" in put.stdout, put.stderr
    staged = json.loads(door.ssh(door.keys["rita"], "attachment", "staged", "--json").stdout)
    assert [row["filename"] for row in staged["staged"]] == ["a.txt"]
    assert door.ssh(door.keys["rita"], "user", "keymap", "set", "/etc/passwd").returncode == 2

    logins = json.loads(deskline(door.url, "--as", "admin", "audit", "logins", "--json").stdout)[
        "logins"
    ]
    assert {(row["user"], row["address"], row["kind"]) for row in logins} == {
        ("rita", "127.0.0.1", "command")
    }
    assert all(row["ended_at"] for row in logins)
    assert deskline(door.url, "--as", "rita", "audit", "logins").returncode == 1


async def test_unknown_keys_passwords_and_forwarding_are_refused(door: Door):
    unknown = door.ssh(door.keys["stranger"], "tickets")
    assert unknown.returncode == 255 and "Permission denied" in unknown.stderr
    password = door.ssh(
        door.keys["rita"],
        "tickets",
        options=("-o", "PreferredAuthentications=password,keyboard-interactive"),
    )
    assert password.returncode == 255 and "Permission denied (publickey)" in password.stderr

    # -L: the client listens, the server refuses every channel it asks for.
    local = free_port()
    forward = subprocess.Popen(
        [
            *door.ssh_args(
                door.keys["rita"], "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"
            ),
            "-N",
            "-L",
            f"{local}:127.0.0.1:{door.port}",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        # Forwarded, the port would greet with the server's "SSH-2.0-..." banner: it closes.
        assert _through_forward(local) == b""
    finally:
        forward.kill()
        forward.wait(timeout=10)


def _through_forward(port: int) -> bytes:
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                return conn.recv(100)
        except (ConnectionRefusedError, ConnectionResetError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- the app over ssh -t, in tmux -------------------------------------------------------------


@pytest.fixture
def panes() -> Iterator[list[Pane]]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    opened: list[Pane] = []
    yield opened
    for pane in opened:
        pane.tmux("kill-server")


def open_pane(door: Door, panes: list[Pane], key: Path, *options: str) -> Pane:
    pane = Pane("dl-ssh-" + uuid.uuid4().hex[:8])
    command = " ".join(door.ssh_args(key, "-t", "-o", "SendEnv=COLORTERM", *options))
    env = ["-eTERM=xterm-256color", f"-ePATH={os.environ['PATH']}", "-eCOLORTERM=truecolor"]
    pane.tmux("new-session", "-d", "-s", pane.session, "-x", "80", "-y", "24", *env, command)
    panes.append(pane)
    return pane


@pytest.mark.sqlite_only
async def test_a_rep_replies_over_ssh_in_tmux(door: Door, panes: list[Pane]):
    pane = open_pane(door, panes, door.keys["rita"])
    screen = pane.wait_for("Printer on fire", timeout=30)
    assert "Rita Rep (rep)" in screen  # the app runs as the key's user
    assert "1 Inbox" in screen and "r Reply" in screen  # at the client's 80x24
    pane.keys("j")
    pane.wait_for("Ticket #1")
    pane.keys("r")
    pane.wait_for("Reply from the ticket record")
    pane.type("A technician is on the way.")
    pane.keys("C-e")  # no editor of the server runs over SSH (S3): the text stays in the app
    pane.wait_for("written in the app itself")
    pane.wait_for("A technician is on the way.")
    watcher = open_pane(door, panes, door.keys["admin"])  # another session, on the board
    watcher.wait_for("Printer on fire", timeout=30)
    watcher.keys("2")
    watcher.wait_for("2 New")
    pane.keys("C-s")
    pane.wait_for("Waiting on contact")
    watcher.wait_for("1 Waiting on")  # each session sees the other's changes live

    db = Database(door.url)
    try:
        authors = await db.query(
            lambda s: [
                (message.author.name if message.author else None, message.body_text)
                for message in s.scalars(
                    select(m.Message).where(m.Message.author_user_id.is_not(None))
                )
            ]
        )
    finally:
        await db.close()
    assert [(name, "A technician is on the way." in body) for name, body in authors] == [
        ("rita", True)
    ]

    pane.tmux("resize-window", "-t", pane.session, "-x", "100", "-y", "30")
    pane.wait_for("Ticket #1")
    pane.keys("q")
    deadline = time.monotonic() + 10
    while pane.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pane.alive(), "q ends the SSH session"


@pytest.mark.sqlite_only
async def test_sessions_are_separate_processes_five_per_user(door: Door, panes: list[Pane]):
    first = open_pane(door, panes, door.keys["rita"])
    first.wait_for("Printer on fire", timeout=30)
    [first_pid] = door.session_pids()
    others = [open_pane(door, panes, door.keys["rita"]) for _ in range(4)]
    for pane in others:
        pane.wait_for("Printer on fire", timeout=60)
    assert len(door.session_pids()) == 5

    sixth = door.ssh(door.keys["rita"], options=("-tt",))
    assert sixth.returncode == 1
    assert "5 sessions open already" in sixth.stdout + sixth.stderr

    os.kill(first_pid, signal.SIGKILL)  # one session crashes...
    deadline = time.monotonic() + 10
    while first.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not first.alive()
    others[0].keys("2")  # ...and another goes on working
    others[0].wait_for("Board")
    others[0].wait_for("New")

    logins = json.loads(deskline(door.url, "--as", "admin", "audit", "logins", "--json").stdout)[
        "logins"
    ]
    outcomes = sorted(row["outcome"] for row in logins)
    assert "refused: too many sessions" in outcomes
    assert "exit 137" in outcomes
    assert outcomes.count("open") == 4


@pytest.mark.sqlite_only
async def test_a_removed_key_ends_its_live_session(door: Door, panes: list[Pane]):
    pane = open_pane(door, panes, door.keys["admin"])
    pane.wait_for("Printer on fire", timeout=30)
    listed = json.loads(
        deskline(door.url, "--as", "admin", "user", "key", "list", "admin", "--json").stdout
    )["keys"]
    removed = deskline(
        door.url, "--as", "admin", "user", "key", "remove", "admin", listed[0]["fingerprint"]
    )
    assert removed.returncode == 0, removed.stderr
    started = time.monotonic()
    while pane.alive() and time.monotonic() - started < 10:
        time.sleep(0.1)
    assert not pane.alive()
    assert time.monotonic() - started < 5  # S1: within 5 s
    logins = json.loads(
        deskline(door.url, "--as", "rita", "audit", "logins", "--json").stdout or "[]"
    )
    assert logins == []  # a rep reads no audit


def test_a_session_process_writes_and_opens_no_file(tmp_path: Path):
    """S3: what an SSH session's process runs first; saving and opening are then refused."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from runtime import files\n"
        "files.refuse_server_files('over SSH files stay on your side')\n"
        "for save in (lambda: files.save_in(Path(sys.argv[1]), 'a.txt', b'x'),\n"
        "             lambda: files.save_at(Path(sys.argv[1]) / 'b.txt', b'x'),\n"
        "             lambda: files.launch_opener(['true'])):\n"
        "    try:\n"
        "        save()\n"
        "    except files.FileRefused as exc:\n"
        "        print(exc)\n"
        "print(files.opener_command(Path(sys.argv[1])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DISPLAY": ":0", "OPENER": "true"},
        check=True,
    )
    assert result.stdout.splitlines() == ["over SSH files stay on your side"] * 3 + ["None"]
    assert list(tmp_path.iterdir()) == []


async def test_failed_logins_block_their_address_for_a_while(door: Door):
    assert door.ssh(door.keys["rita"], "tickets").returncode == 0
    for _ in range(10):  # S5: 10 failed logins in a minute...
        assert door.ssh(door.keys["stranger"], "tickets").returncode == 255
    blocked = door.ssh(door.keys["rita"], "tickets")  # ...block the address, known keys too
    assert blocked.returncode == 255
    assert door.process.poll() is None


@pytest.mark.sqlite_only
async def test_an_idle_session_ends(door: Door, panes: list[Pane]):
    door.restart("--idle-minutes", "0.05")  # 3 s without a key
    pane = open_pane(door, panes, door.keys["rita"])
    pane.wait_for("Printer on fire", timeout=30)
    started = time.monotonic()
    while pane.alive() and time.monotonic() - started < 20:
        time.sleep(0.2)
    assert not pane.alive()
    logins = json.loads(deskline(door.url, "--as", "admin", "audit", "logins", "--json").stdout)[
        "logins"
    ]
    assert [row["outcome"] for row in logins if row["kind"] == "session"] == ["idle"]


@pytest.mark.sqlite_only
async def test_a_session_takes_the_colours_and_not_the_identity_from_the_client(
    door: Door, panes: list[Pane]
):
    """S2: NO_COLOR (like LANG, LC_*, COLORTERM) comes from the client; DESKLINE_USER does not."""
    plain = open_pane(
        door, panes, door.keys["rita"], "-o", "'SetEnv=NO_COLOR=1 DESKLINE_USER=admin'"
    )
    coloured = open_pane(door, panes, door.keys["rita"])
    for pane in (plain, coloured):
        assert "Rita Rep (rep)" in pane.wait_for("Printer on fire", timeout=30)
    time.sleep(1.0)
    assert colour_codes(plain.tmux("capture-pane", "-p", "-e", "-t", plain.session)) == []
    assert colour_codes(coloured.tmux("capture-pane", "-p", "-e", "-t", coloured.session)) != []


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["tickets", "--json"], True),
        (["ticket", "show", "3", "--json"], True),
        (["search", "printer", "--limit", "5"], True),
        (["held"], True),
        (["held", "list", "--json"], True),
        (["notifications", "--unread"], True),
        (["attachment", "get", "4", "1", "-o", "-"], True),
        (["attachment", "get", "4", "--output=-"], True),
        (["attachment", "get", "4", "1"], False),  # would save on the server
        (["attachment", "get", "4", "-o", "x.pdf"], False),
        (["attachment", "get", "4", "-o", "-", "--overwrite"], False),
        (["tickets", "--d", "other.db"], False),  # argparse would take --d for --db
        (["tickets", "--a", "admin"], False),
        (["tickets", "--as=admin"], False),
        (["held", "release", "2"], False),
        (["notifications", "read", "--all"], False),
        (["ticket", "close", "3"], False),
        (["init"], False),
        ([], False),
        (["attachment", "put", "invoice.pdf"], True),  # S3: the file comes on stdin
        (["attachment", "staged", "--json"], True),
        (["user", "keymap", "set", "-"], True),
        (["user", "keymap", "set", "keys.toml"], False),  # a path on the server
        (["user", "keymap", "show"], True),
        (["user", "add", "mallory"], False),
    ],
)
def test_remote_commands_are_an_allow_list(argv: list[str], allowed: bool):
    from app.cli.ssh import remote_refusal

    assert (remote_refusal(argv) is None) is allowed
