"""Live chat under load (issue 17, SPEC C4, B8.4): N WebSocket visitors writing for a while
against one desk, with two rep sessions answering.

    .venv/bin/python -m benchmarks.chat_bench [--visitors 200] [--seconds 60] [--every 6]
                                              [--db URL]

The desk (a fresh SQLite file unless `--db` names an empty PostgreSQL database) is the standard
one with a chat channel whose ticket automation is on (every chat opens a ticket, R-C1). Its web
side runs as `deskline serve --http` runs it (uvicorn in a process of its own). The two reps are
two more processes, each an open desk with a presence heartbeat (so the channel is online, C6)
that looks for unanswered chat messages every 0.2 s and answers each chat through
`services.reply`, the path of the app's composer and `deskline reply`.

Every visitor (a `websockets` client in this process) starts a chat over HTTP (its cookie),
opens the WebSocket and writes a message every `--every` seconds (random phase); the visitors
arrive over the first `--ramp` seconds. Measured:

- visitor -> inbox: from sending the frame until the server says it is stored (the `sent` frame
  comes after the commit, when the message is in every session's inbox query);
- visitor -> rep session: from sending until a rep process saw it in the database (its 0.2 s
  look included);
- rep -> browser: from the rep's commit until the visitor's socket received the message;
- memory: PSS of the web server and of each rep process at the end, and of this process (the
  visitors).

Latencies are printed as p50 / p99 / max; the target is p99 under 1 s on this machine. The rate
limits (C5) are raised for the run: all visitors come from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
import websockets.exceptions

ROOT = Path(__file__).resolve().parents[1]


def pss_kib(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- the desk -----------------------------------------------------------------------------------


async def build_desk(url: str) -> None:
    from automation import chat_settings
    from runtime.standard import ChannelSpec, RepSpec, Setup, build_standard
    from storage.database import Database

    db = Database(url)
    await db.migrate()
    setup = Setup(
        channels=(
            ChannelSpec("support", address="support@help.example"),
            ChannelSpec("chat", kind="chat", address=None),
        ),
        reps=(
            RepSpec("rita", "Rita Rep", "rita@help.example"),
            RepSpec("ravi", "Ravi Rep", "ravi@help.example"),
        ),
        actions=(),
    )

    def build(repo: Any) -> None:
        build_standard(repo, setup)
        for key, value in (("chat_new_per_minute", 100_000), ("chat_messages_per_minute", 600)):
            repo.set_setting(key, value)
        admin_user = repo.user_by_name("admin")
        chat_settings.set_chat_channel(repo, admin_user, "chat", reply_through="support")

    await db.run(build)
    await db.close()


# --- the processes --------------------------------------------------------------------------------


def serve_web(url: str, port_queue: Any, profile: str | None = None) -> None:
    import cProfile
    import logging
    import signal

    from runtime.web.server import base_url, bind, serve

    logging.basicConfig(level=logging.ERROR)
    sock = bind("127.0.0.1", 0)
    port_queue.put(base_url(sock))
    stop = asyncio.Event()

    async def run() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve(url, sock, stop=stop)

    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    asyncio.run(run())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


def rep_session(url: str, name: str, parity: int, stop_at: float, out: Any) -> None:
    """One rep: an open desk with a heartbeat, answering the chats of its parity."""
    asyncio.run(_rep(url, name, parity, stop_at, out))


async def _rep(url: str, name: str, parity: int, stop_at: float, out: Any) -> None:
    from sqlalchemy import func, select

    from automation import services
    from runtime.desk import Desk
    from storage import models as m
    from storage.database import DatabaseError

    desk = await Desk.open(url, as_user=name)
    me = await desk.read(lambda repo: repo.user_by_name(name).id)
    session = f"bench-{name}"
    answered: dict[int, int] = {}  # conversation -> newest inbound row answered
    seen_at: list[float] = []
    replies = 0
    last_beat = 0.0

    def unanswered(s: Any) -> list[tuple[int, int, int, str]]:
        msg = m.Message
        newest = (
            select(msg.conversation_id, func.max(msg.id).label("last"))
            .join(m.Conversation, m.Conversation.id == msg.conversation_id)
            .where(m.Conversation.source == "chat", msg.direction == "inbound")
            .where(m.Conversation.id % 2 == parity)
            .group_by(msg.conversation_id)
            .subquery()
        )
        query = (
            select(newest.c.conversation_id, newest.c.last, m.Conversation.ticket_id, msg.body_text)
            .join(m.Conversation, m.Conversation.id == newest.c.conversation_id)
            .join(msg, msg.id == newest.c.last)
        )
        return [tuple(r) for r in s.execute(query)]

    while time.time() < stop_at:
        now = time.time()
        if now - last_beat > 4:
            with contextlib.suppress(DatabaseError):  # a busy writer: the next beat is soon
                await desk.store(
                    lambda repo: repo.beat(
                        session, me, ticket_id=None, conversation_id=None, replying_since=None
                    )
                )
                last_beat = now
        for conversation_id, last, ticket_id, body in await desk.query(unanswered):
            if answered.get(conversation_id, 0) >= last or ticket_id is None:
                continue
            sent_ns = _sent_ns(body)
            if sent_ns:
                seen_at.append(time.time() - sent_ns / 1e9)
            answered[conversation_id] = last

            def reply(repo: Any, user: Any, number: int = ticket_id) -> int:
                # the text names the time, taken in the transaction just before its commit
                text = f"answer t={time.time_ns()}"
                return services.reply(repo, user, number, text, send_now=True)

            try:
                await desk.act(reply)
            except DatabaseError:  # the writer was busy past the timeout: next round
                answered[conversation_id] = 0
                continue
            replies += 1
        await asyncio.sleep(0.2)
    await desk.store(lambda repo: repo.leave(session))
    out.put({"rep": name, "seen": seen_at, "replies": replies, "pss": pss_kib(os.getpid())})
    await desk.close()


def _sent_ns(body: str) -> int:
    for word in body.split():
        if word.startswith("t="):
            try:
                return int(word[2:])
            except ValueError:
                return 0
    return 0


# --- the visitors ------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.stored: list[float] = []
        self.delivered: list[float] = []
        self.errors: list[str] = []
        self.sent = 0


async def visitor(
    base: str, n: int, stop_at: float, every: float, ramp: float, stats: Stats
) -> None:
    await asyncio.sleep(ramp * n)  # visitors arrive over the first seconds, not all at once
    try:
        await _visit(base, n, stop_at, every, stats)
    except (
        OSError,
        TimeoutError,
        httpx.HTTPError,
        websockets.exceptions.WebSocketException,
    ) as exc:
        stats.errors.append(f"visitor {n}: {exc!r}")


async def _visit(base: str, n: int, stop_at: float, every: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post("/chat/chat/api/start", json={"name": f"Visitor {n}"})
        if answer.status_code != 200:
            stats.errors.append(f"start {answer.status_code}")
            return
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    ws_url = base.replace("http", "ws") + "/chat/chat/ws"
    pending: dict[str, float] = {}
    async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}) as ws:

        async def read() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                now = time.time()
                if frame["type"] == "sent":
                    started = pending.pop(str(frame.get("nonce")), None)
                    if started is not None:
                        stats.stored.append(now - started)
                elif frame["type"] == "error":
                    stats.errors.append(f"{frame['status']} {frame['error']}")
                elif frame["type"] == "messages":
                    for message in frame["messages"]:
                        stamp = _sent_ns(message["text"])
                        if not message["mine"] and stamp:
                            stats.delivered.append(now - stamp / 1e9)

        reader = asyncio.create_task(read())
        await asyncio.sleep(random.uniform(0, every))
        seq = 0
        while time.time() < stop_at:
            seq += 1
            nonce = f"{n}-{seq}"
            pending[nonce] = time.time()
            text = f"question {seq} from {n} t={time.time_ns()}"
            await ws.send(json.dumps({"type": "message", "text": text, "nonce": nonce}))
            stats.sent += 1
            await asyncio.sleep(every)
        await asyncio.sleep(3)  # the last answers
        reader.cancel()


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    url = args.db or f"sqlite+aiosqlite:///{workdir}/desk.db"
    await build_desk(url)
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    server = ctx.Process(target=serve_web, args=(url, ports, args.profile), daemon=True)
    server.start()
    base = ports.get(timeout=60)
    for _ in range(100):  # until it answers
        try:
            async with httpx.AsyncClient() as client:
                if (await client.get(base + "/static/chat.js")).status_code == 200:
                    break
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    stop_at = time.time() + 5 + args.seconds
    out = ctx.Queue()
    reps = [
        ctx.Process(target=rep_session, args=(url, name, parity, stop_at + 4, out), daemon=True)
        for parity, name in enumerate(("rita", "ravi"))
    ]
    for rep in reps:
        rep.start()
    await asyncio.sleep(5)  # the reps' first heartbeat: online
    stats = Stats()
    started = time.time()
    await asyncio.gather(
        *(
            visitor(base, n, stop_at, args.every, args.ramp / args.visitors, stats)
            for n in range(args.visitors)
        )
    )
    elapsed = time.time() - started
    server_pss = pss_kib(server.pid or 0)
    results = []
    for _ in reps:
        try:
            results.append(out.get(timeout=60))
        except Exception:
            results.append({"rep": "?", "seen": [], "replies": 0, "pss": 0})
    server.terminate()
    server.join(30)
    seen = [s for r in results for s in r["seen"]]

    def line(label: str, values: list[float]) -> str:
        return (
            f"{label:<26} n={len(values):>6}  p50 {percentile(values, 50) * 1000:7.1f} ms  "
            f"p99 {percentile(values, 99) * 1000:7.1f} ms  "
            f"max {max(values, default=0) * 1000:7.1f} ms"
        )

    print(
        f"chat bench: {args.visitors} WebSocket visitors, one message each {args.every:g} s, "
        f"{args.seconds:g} s; 2 rep sessions; {url.split(':', 1)[0]}"
    )
    print(
        f"sent {stats.sent} messages in {elapsed:.1f} s ({stats.sent / elapsed:.1f}/s); "
        f"replies {sum(r['replies'] for r in results)}; errors {len(stats.errors)}"
        + (f" (first: {stats.errors[0]})" if stats.errors else "")
    )
    print(line("visitor -> inbox (stored)", stats.stored))
    print(line("visitor -> rep session", seen))
    print(line("rep -> browser", stats.delivered))
    rep_pss = " + ".join(f"{r['pss'] / 1024:.0f}" for r in results)
    print(
        f"memory (PSS): web server {server_pss / 1024:.0f} MiB; reps {rep_pss} MiB; "
        f"{args.visitors} visitors' clients {pss_kib(os.getpid()) / 1024:.0f} MiB"
    )
    p99 = max(percentile(stats.stored, 99), percentile(stats.delivered, 99))
    print(f"target p99 < 1 s: {'met' if p99 < 1.0 else 'NOT met'} ({p99 * 1000:.0f} ms)")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--every", type=float, default=6.0, help="seconds between a visitor's messages"
    )
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which they arrive")
    parser.add_argument("--db", help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", help="write the web server's cProfile stats to this file")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
