"""N app sessions over SSH on one desk, against a local session in the same run.

    .venv/bin/python -m benchmarks.ssh_bench [--sessions 1,10,30] [--tickets 1000] [--keys 40]

Serves a desk of `--tickets` tickets (benchmarks.bigdesk, cached) with `deskline serve` on a
loopback port, then for each N opens N tmux panes of 80x24 at once, each running the real
OpenSSH client (`ssh -t`) into the door, and reports:

- first paint: from opening the pane until the inbox (its footer and first row) is on the
  pane's screen. Two measures: "joining" (the realistic one) is a session opened while the
  other N-1 are open and idle, median and worst of `--joins` such openings one after another;
  "all at once" is the N sessions started in the same instant, median and worst, which on a
  small machine measures CPU contention of N simultaneous starts more than the door;
- memory: the summed PSS of the serve process and its session children (each session is a fork
  of serve: what they share is counted once), and that total less serve's own before the
  sessions, per session;
- key to screen: `--keys` presses of j/k in one pane while the other N-1 sessions sit open, from
  the key until the pane's screen (with its attributes) has changed: p50, p95 and p99.

The baseline is the same measure of `deskline` run in a pane directly (no SSH). The screen is
read by polling `tmux capture-pane`, which costs the same in both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.bigdesk import build_big_desk

ROOT = Path(__file__).resolve().parents[1]
DESKLINE = [sys.executable, "-m", "app.cli"]
PAINTED = ("r Reply", "1 Inbox")


class Pane:
    def __init__(self, server: str, command: str) -> None:
        self.server = server
        self.name = "p" + uuid.uuid4().hex[:6]
        self.opened = time.perf_counter()
        env = ["-eTERM=xterm-256color", f"-ePATH={os.environ['PATH']}"]
        self.tmux("new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", *env, command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, text=True)
        return done.stdout

    def screen(self, attributes: bool = True) -> str:
        """The pane's text; with its attributes (where the highlight is) unless told not."""
        return self.tmux("capture-pane", "-p", *(["-e"] if attributes else []), "-t", self.name)


def wait_painted(panes: list[Pane], timeout: float = 300.0) -> list[float]:
    painted: dict[str, float] = {}
    deadline = time.perf_counter() + timeout
    while len(painted) < len(panes) and time.perf_counter() < deadline:
        for pane in panes:
            if pane.name not in painted and all(
                w in pane.screen(attributes=False) for w in PAINTED
            ):
                painted[pane.name] = time.perf_counter() - pane.opened
        time.sleep(0.01)
    if len(painted) < len(panes):
        raise SystemExit(f"{len(panes) - len(painted)} sessions never painted")
    return [painted[p.name] for p in panes]


def key_latencies(pane: Pane, presses: int) -> list[float]:
    time.sleep(2.0)  # the screen settles, as a person reads it first
    times = []
    lost = 0
    for n in range(presses):
        before = pane.screen()
        started = time.perf_counter()
        pane.tmux("send-keys", "-t", pane.name, "j" if n % 2 == 0 else "k")
        while pane.screen() == before:
            if time.perf_counter() - started > 10:
                lost += 1
                break
        else:
            times.append(time.perf_counter() - started)
        time.sleep(0.05)
    if lost:
        print(f"  ({lost} of {presses} keys changed nothing on the screen in 10 s)")
    if not times:
        raise SystemExit("no key changed the screen")
    return times


def pss_kib(pid: int) -> int:
    """PSS of `pid` and every descendant, in KiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")
        )
        pending += [int(child) for child in children]
    return total


def descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(child) for child in children]
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def idle_cpu(serve_pid: int, seconds: float = 10.0) -> float:
    """CPU seconds per second used by serve and its sessions while nobody types."""
    pids = descendants(serve_pid)
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / seconds


def ms(values: list[float]) -> str:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    median = statistics.median(ordered) * 1000
    return f"p50 {median:.0f} ms, p95 {at(0.95):.0f} ms, p99 {at(0.99):.0f} ms"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: Path, work: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(work)}
    process = subprocess.Popen(
        [*DESKLINE, "--db", str(db), "serve", "--listen", f"127.0.0.1:{port}", "--no-mail",
         "--sessions-per-user", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    while "Mail worker" not in (line := process.stdout.readline()):
        if not line:
            raise SystemExit("deskline serve did not start")
    return process


def local_command(db: Path) -> str:
    return f"{' '.join(DESKLINE)} --db {db} --as admin --no-mail"


def measure_local(server: str, db: Path, keys: int) -> None:
    local = Pane(server, local_command(db))
    print(f"local session: first paint {wait_painted([local])[0] * 1000:.0f} ms")
    print(f"  key to screen: {ms(key_latencies(local, keys))}")
    local.tmux("kill-session", "-t", local.name)


def measure_ssh(
    server: str, ssh: str, db: Path, serve_pid: int, count: int, keys: int, joins: int
) -> None:
    base = pss_kib(serve_pid)
    panes = [Pane(server, ssh) for _ in range(count)]
    paints = wait_painted(panes)
    time.sleep(2.0)
    total = pss_kib(serve_pid)
    median, worst = statistics.median(paints) * 1000, max(paints) * 1000
    print(f"{count} SSH sessions: first paint, all {count} started at once: ", end="")
    print(f"median {median:.0f} ms, worst {worst:.0f} ms")
    joined = []
    for _ in range(joins):  # one session leaves, a new one joins the N-1 idle others
        leaving = panes.pop()
        leaving.tmux("kill-session", "-t", leaving.name)
        time.sleep(1.0)
        pane = Pane(server, ssh)
        joined.append(wait_painted([pane])[0])
        panes.append(pane)
        time.sleep(1.0)
    if joined:
        median, worst = statistics.median(joined) * 1000, max(joined) * 1000
        print(f"  first paint, joining {count - 1} idle sessions ({joins} joins): ", end="")
        print(f"median {median:.0f} ms, worst {worst:.0f} ms")
    per_session = (total - base) / 1024 / count
    print(f"  memory: {total / 1024:.0f} MiB in all (serve alone {base / 1024:.0f} MiB), ", end="")
    print(f"{per_session:.0f} MiB per session")
    idle = idle_cpu(serve_pid)
    print(f"  idle: serve and its {count} sessions use {idle * 100:.1f}% of a core")
    print(f"  key to screen: {ms(key_latencies(panes[0], keys))}")
    if count > 1:  # the same measure of a local session beside the N open ones
        local = Pane(server, local_command(db))
        wait_painted([local])
        print(f"  key to screen, local session beside them: {ms(key_latencies(local, keys))}")
        local.tmux("kill-session", "-t", local.name)
    for pane in panes:
        pane.tmux("kill-session", "-t", pane.name)
    time.sleep(2.0)


def add_key(db: Path, work: Path) -> Path:
    key = work / "bench"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    command = ["--db", str(db), "--as", "admin", "user", "key", "add", "admin", f"{key}.pub"]
    subprocess.run([*DESKLINE, *command], check=True, cwd=ROOT, capture_output=True)
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sessions", default="1,10,30")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--joins", type=int, default=5)
    args = parser.parse_args(argv)
    if not (shutil.which("tmux") and shutil.which("ssh")):
        raise SystemExit("tmux and the OpenSSH client are needed")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # A desk of its own: a cached one may predate columns the schema's head gained.
        db = work / "desk.db"
        build_big_desk(db, tickets=args.tickets, replace=True)
        key = add_key(db, work)
        port = free_port()
        process = serve(db, work, port)
        ssh = (
            f"ssh -F /dev/null -i {key} -p {port} -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR -t 127.0.0.1"
        )
        server = "bench-" + uuid.uuid4().hex[:6]
        try:
            measure_local(server, db, args.keys)
            for count in (int(n) for n in args.sessions.split(",")):
                measure_ssh(server, ssh, db, process.pid, count, args.keys, args.joins)
        finally:
            subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)
            process.terminate()
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
