"""Scale-out load test (issue 16 item 5, SPEC B8): one PostgreSQL desk, several mail workers on
several mailboxes, ten reps' app sessions, mail arriving over IMAP meanwhile.

    .venv/bin/python -m benchmarks.scale_bench --pg postgresql://USER@HOST:PORT/postgres \
        [--mails 20000] [--mailboxes 4] [--workers 3] [--sessions 10] [--think 2.0]

What runs, all on this machine:

- a new PostgreSQL database on the `--pg` server, migrated and set up by the standard desk
  builder with one email channel per mailbox (`box1@…`, `box2@…`, …), reps, the status actions
  (an acknowledgement for each new ticket, a notice to the team);
- a loopback Dovecot (tests/servers/dovecot.py) with one user per mailbox, and the test SMTP
  server as the sink the workers send the outbox to;
- `--workers` real `deskline sync` processes on the desk; each mailbox is held by one of them at
  a time (the mailbox lease), so they share the mailboxes between them;
- `--sessions` headless app sessions: the app's own `app.backend.Backend` (its thread, its
  database connection, its live-update check `changed()` every `app.tui.LIVE_INTERVAL`), each
  signed in as a rep, doing a rep action every `--think` seconds (on average) on a random ticket:
  reply, move, or assign; and, as a live screen does, reading what changed when `changed()` says
  so;
- `--mails` mails (benchmarks.corpus: new threads and customer replies, HTML, attachments,
  auto-replies; each thread in one mailbox) APPENDed over IMAP, one sender per mailbox.

It prints:

- throughput: mails stored per second from the first APPEND to the last mail stored, beside the
  rate the mails were APPENDed (the servers' own floor, measured in the same run);
- event lag: for the domain events of the run, from the change's commit (`created_at`) to their
  handling (`processed_at`): p50, p99;
- live-update latency between sessions: from a rep action (its timeline event's time) until each
  other session has read it after its `changed()` check: p50, p99 (the check runs every 0.5 s,
  so about 0.25 s of it is the poll interval);
- where the database's time goes: every 2 s, what the desk's busy connections do (state, what
  they wait on, the statement), per sample;
- checks: 0 duplicates (a Message-ID stored twice, a ticket with two origins, a Message-ID twice
  at the SMTP sink), 0 lost (every APPENDed Message-ID stored), every customer reply on its
  thread's ticket and every rep's reply on the ticket it was written on.

The machine is shared, so the figures are those of a loaded 2-core host; the baseline is the
APPEND rate of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.backend import Backend
from app.tui import LIVE_INTERVAL
from automation import admin, services
from automation.services import DomainError
from benchmarks.corpus import generate
from benchmarks.import_bench import check_threads, fresh_postgres_database
from runtime.desk import Desk
from runtime.standard import CLOSED, RECEIVED, ChannelSpec, RepSpec, Setup, build_standard
from storage import models as m
from storage.database import Database
from tests.servers.dovecot import DovecotServer, dovecot_available, free_port, start_dovecot
from tests.servers.smtp import Recorder

DOMAIN = "scale.deskline.test"
PASSWORD = "secret"
TEAM = "Tier 1"
MOVES = ("Waiting on us", "Waiting on contact", "New")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


def setup(mailboxes: int, reps: int) -> Setup:
    return Setup(
        channels=tuple(
            ChannelSpec(f"box{i}", address=f"box{i}@{DOMAIN}") for i in range(1, mailboxes + 1)
        ),
        reps=tuple(RepSpec(f"rep{i}", f"Rep {i}", f"rep{i}@{DOMAIN}") for i in range(1, reps + 1)),
        team=TEAM,
        actions=(RECEIVED, CLOSED),
    )


def message_id(raw: bytes) -> str:
    found = _MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    assert found is not None, "a corpus mail without a Message-ID"
    return found.group(1).decode()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def spread(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    return f"p50 {p50:8.0f} ms   p99 {p99:8.0f} ms   (n={len(values):,})"


# --- the desk, the servers, the workers ----------------------------------------------------------


async def make_desk(url: str, mailboxes: int, reps: int) -> Desk:
    """The desk; the admin's login is this account's, so that the sessions, all run by it, may
    sign in as the reps (`--as`, for admins)."""
    desk = Desk(Database(url))
    await desk.db.migrate()

    def build(repo: Any) -> None:
        build_standard(repo, setup(mailboxes, reps))
        repo.user_by_name("admin").login = getpass.getuser()

    await desk.run(build)
    return desk


def add_mail_users(server: DovecotServer, mailboxes: int) -> None:
    """One Dovecot user per mailbox (its passwd-file is read again when it changes)."""
    lines = [f"box{i}:{{PLAIN}}{PASSWORD}::::::" for i in range(1, mailboxes + 1)]
    users = server.root / "users"
    users.write_text(users.read_text() + "\n".join(lines) + "\n")


async def point_channels(desk: Desk, imap: DovecotServer, smtp_port: int, mailboxes: int) -> None:
    def change(repo: Any) -> None:
        me = repo.user_by_name("admin")
        for i in range(1, mailboxes + 1):
            admin.set_channel_mail(
                repo,
                me,
                f"box{i}",
                imap_host=imap.host,
                imap_port=imap.port,
                imap_tls="none",
                imap_user=f"box{i}",
                imap_folder="INBOX",
                imap_secret=f"env:SCALE_BOX{i}_PASSWORD",
                smtp_host="127.0.0.1",
                smtp_port=smtp_port,
                smtp_tls="none",
            )

    await desk.run(change)


def start_workers(
    url: str, count: int, mailboxes: int, logs: Path
) -> list[subprocess.Popen[bytes]]:
    # The host's allow-list of secret references (SPEC S8): a private one for this run's.
    allow = logs / "secrets.allow"
    allow.write_text(
        "".join(f"127.0.0.1 env:SCALE_BOX{i}_PASSWORD\n" for i in range(1, mailboxes + 1))
    )
    allow.chmod(0o600)
    env = {**os.environ, "DESKLINE_USER": "", "DESKLINE_SECRETS_ALLOW": str(allow)}
    env.update({f"SCALE_BOX{i}_PASSWORD": PASSWORD for i in range(1, mailboxes + 1)})
    workers = []
    for n in range(count):
        log = (logs / f"worker{n + 1}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "--db", url, "sync"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# --- mail arriving ---------------------------------------------------------------------------


@dataclass
class Feed:
    appended: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    errors: list[str] = field(default_factory=list)


def feed(server: DovecotServer, boxes: list[list[bytes]], into: Feed) -> None:
    """One sender per mailbox, APPENDing its mails in order (a thread's mails stay in order)."""
    lock = threading.Lock()

    def send(i: int, raws: list[bytes]) -> None:
        try:
            with MailBoxUnencrypted(server.host, server.port, timeout=60).login(
                f"box{i}", PASSWORD, initial_folder="INBOX"
            ) as box:
                for raw in raws:
                    box.append(raw, "INBOX")
                    with lock:
                        into.appended.append(message_id(raw))
        except Exception as exc:  # reported, and the mails count as lost
            into.errors.append(f"box{i}: {exc}")

    into.started = time.perf_counter()
    senders = [
        threading.Thread(target=send, args=(i, raws), daemon=True)
        for i, raws in enumerate(boxes, start=1)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    into.finished = time.perf_counter()


def split_by_thread(mails: list[bytes], threads: list[Any], mailboxes: int) -> list[list[bytes]]:
    """Each thread's mails into one mailbox (round robin over the threads), in corpus order."""
    box_of: dict[str, int] = {}
    for n, thread in enumerate(threads):
        for mid in thread.message_ids:
            box_of[mid] = n % mailboxes
    boxes: list[list[bytes]] = [[] for _ in range(mailboxes)]
    for n, raw in enumerate(mails):
        boxes[box_of.get(message_id(raw), n % mailboxes)].append(raw)
    return boxes


# --- the reps' sessions ------------------------------------------------------------------------


@dataclass
class SessionLog:
    actions: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    replies: list[tuple[int, int]] = field(default_factory=list)  # (ticket, outbox id)
    seen_after: list[float] = field(default_factory=list)  # live-update latencies, seconds
    action_seconds: list[float] = field(default_factory=list)
    causes: dict[str, str] = field(default_factory=dict)  # an unexpected refusal: its first cause


async def session(
    url: str, rep: str, rng: random.Random, think: float, stop: asyncio.Event, log: SessionLog
) -> None:
    backend = Backend(url, as_user=rep)
    backend.start()
    try:
        me = await backend.open()
        seen = await backend.query(_last_event)
        await backend.changed()  # the first check only takes the marker
        watcher = asyncio.create_task(_watch(backend, me.id, seen, stop, log))
        reps = await backend.query(_rep_names)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rng.expovariate(1 / think))
            if stop.is_set():
                break
            number = await backend.query(functools.partial(_some_ticket, rng=rng))
            if number is None:
                continue
            kind = rng.choice(("reply", "move", "assign"))
            started = time.perf_counter()
            try:
                await _act(backend, kind, number, rep, rng, reps, log)
            except DomainError as exc:  # already in that status: what a rep would be told
                log.refused[f"{kind}: {type(exc).__name__}"] += 1
                continue
            except Exception as exc:
                key = f"{kind}: {type(exc).__name__}: {str(exc)[:60]}"
                log.refused[key] += 1
                cause = getattr(exc, "orig", None) or exc.__cause__ or exc
                log.causes.setdefault(key, f"{type(cause).__name__}: {cause}"[:300])
                continue
            log.action_seconds.append(time.perf_counter() - started)
            log.actions[kind] += 1
        await watcher
    finally:
        await backend.close()


async def _act(
    backend: Backend,
    kind: str,
    number: int,
    rep: str,
    rng: random.Random,
    reps: list[str],
    log: SessionLog,
) -> None:
    """One rep action through the app's backend, as its screens call it."""
    if kind == "reply":
        body = f"Hello, this is {rep} on #{number}: we are on it."

        def reply(repo: Any, user: Any) -> int:
            return int(services.reply(repo, user, number, body))

        log.replies.append((number, await backend.act(reply)))
    elif kind == "move":
        label = rng.choice(MOVES)

        def move(repo: Any, user: Any) -> None:
            services.move_ticket(repo, user, number, label)

        await backend.act(move)
    else:
        owner = rng.choice(reps)

        def assign(repo: Any, user: Any) -> None:
            services.assign(repo, user, number, owner)

        await backend.act(assign)


async def _watch(
    backend: Backend, me: int, seen: int, stop: asyncio.Event, log: SessionLog
) -> None:
    """A live screen: every LIVE_INTERVAL, `changed()`; on a change, read the rep actions since
    the last read (other sessions'), each one's latency = now - its time."""
    while not stop.is_set():
        await asyncio.sleep(LIVE_INTERVAL)
        if not await backend.changed():
            continue
        rows, seen = await backend.query(functools.partial(_rep_events, after=seen, me=me))
        now = datetime.now(UTC)
        log.seen_after.extend((now - at).total_seconds() for at in rows)


def _last_event(s: Session) -> int:
    return int(s.scalar(select(func.max(m.TimelineEvent.id))) or 0)


def _rep_names(s: Session) -> list[str]:
    return list(s.scalars(select(m.User.name).where(m.User.name.like("rep%"))))


def _some_ticket(s: Session, rng: random.Random) -> int | None:
    top = s.scalar(select(func.max(m.Ticket.id)))
    if not top:
        return None
    return int(
        s.scalar(select(m.Ticket.id).where(m.Ticket.id >= rng.randint(1, top)).limit(1)) or top
    )


def _rep_events(s: Session, after: int, me: int) -> tuple[list[datetime], int]:
    e = m.TimelineEvent
    last = int(s.scalar(select(func.max(e.id))) or after)
    rows = s.scalars(
        select(e.at).where(e.id > after, e.id <= last, e.actor_kind == "user", e.actor_id != me)
    ).all()
    return [at if at.tzinfo else at.replace(tzinfo=UTC) for at in rows], last


# --- the checks --------------------------------------------------------------------------------


def stored_inbound(s: Session) -> int:
    x = m.Message
    return int(s.scalar(select(func.count()).where(x.direction == "inbound")) or 0)


def failed_imports(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(m.ImportFailure)) or 0)


def checks(s: Session, appended: list[str], replies: list[tuple[int, int]]) -> dict[str, Any]:
    x, c, o = m.Message, m.Conversation, m.OutboxMail
    stored = Counter(s.scalars(select(x.message_id).where(x.direction == "inbound")))
    origins = s.execute(
        select(c.ticket_id, func.count()).where(c.association == "origin").group_by(c.ticket_id)
    ).all()
    wrong = 0
    for number, outbox_id in replies:
        ticket = s.scalar(
            select(c.ticket_id)
            .join(x, x.conversation_id == c.id)
            .join(o, o.message_row_id == x.id)
            .where(o.id == outbox_id)
        )
        wrong += ticket != number
    return {
        "duplicate Message-IDs": sum(1 for n in stored.values() if n > 1),
        "tickets with two origins": sum(1 for _t, n in origins if n > 1),
        "lost (APPENDed, not stored)": len(set(appended) - set(stored)),
        "failed to store": failed_imports(s),
        "rep replies not on their ticket": wrong,
    }


def busy_connections(s: Session) -> list[str]:
    """What the desk's busy connections are doing now: state, what they wait on, the statement's
    first words (a sampling profile of the database side)."""
    rows = s.execute(
        text(
            "SELECT state, coalesce(wait_event_type, 'running'), query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
    ).all()
    return [
        f"{state}, {wait}: {' '.join(str(query).split()[:3])[:40]}" for state, wait, query in rows
    ]


async def sample(desk: Desk, stop: asyncio.Event, into: Counter[str]) -> None:
    while not stop.is_set():
        into.update(await desk.query(busy_connections))
        into["(samples)"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=2.0)


def event_lag(s: Session, since: datetime) -> tuple[list[float], int]:
    d = m.DomainEvent
    rows = s.execute(select(d.created_at, d.processed_at).where(d.created_at >= since)).all()
    done = [(p - c).total_seconds() for c, p in rows if p is not None]
    return done, sum(1 for _c, p in rows if p is None)


# --- the run -----------------------------------------------------------------------------------


class Tally(logging.Handler):
    """Counts the errors the sessions' backends log (a failed automation event is retried by
    the workers), by their first line, instead of printing each traceback."""

    def __init__(self, into: Counter[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        cause = record.exc_info[1] if record.exc_info else None
        reason = type(cause).__name__ if cause is not None else ""
        self.into[f"{record.getMessage().split(chr(10))[0][:40]} {reason}".strip()] += 1


async def run(args: argparse.Namespace) -> int:
    errors: Counter[str] = Counter()
    logging.basicConfig(handlers=[Tally(errors)], level=logging.ERROR, force=True)
    if not dovecot_available():
        print("scale_bench: needs Dovecot (apt-get install dovecot-imapd)", file=sys.stderr)
        return 1
    url = await fresh_postgres_database(args.pg)
    print(f"desk: {url.rsplit('/', 1)[-1]} on {args.pg.rsplit('@', 1)[-1]}")
    desk = await make_desk(url, args.mailboxes, args.sessions)
    imap = start_dovecot()
    sink = Recorder()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    logs = Path(tempfile.mkdtemp(prefix="scale-bench."))  # the workers' output, kept
    workers: list[subprocess.Popen[bytes]] = []
    stop, sampled = asyncio.Event(), asyncio.Event()
    busy: Counter[str] = Counter()
    session_logs = [SessionLog() for _ in range(args.sessions)]
    try:
        add_mail_users(imap, args.mailboxes)
        await point_channels(desk, imap, smtp.port, args.mailboxes)
        mails, threads = generate(args.mails, seed=args.seed)
        boxes = split_by_thread(mails, threads, args.mailboxes)
        since = datetime.now(UTC)
        workers = start_workers(url, args.workers, args.mailboxes, logs)
        rng = random.Random(args.seed)
        sessions = [
            asyncio.create_task(
                session(url, f"rep{i + 1}", random.Random(rng.random()), args.think, stop, log)
            )
            for i, log in enumerate(session_logs)
        ]
        await asyncio.sleep(3)  # the sessions open; the workers take their mailboxes
        fed = Feed()
        feeding = asyncio.create_task(asyncio.to_thread(feed, imap, boxes, fed))
        sampler = asyncio.create_task(sample(desk, sampled, busy))
        last, last_change, progress = -1, time.perf_counter(), time.perf_counter()
        while True:
            await asyncio.sleep(1)
            stored = await desk.query(stored_inbound)
            now = time.perf_counter()
            if stored != last:
                last, last_change = stored, now
            if now - progress > 15:
                progress = now
                print(
                    f"  {now - fed.started:6.0f} s: {len(fed.appended):,} appended, "
                    f"{stored:,} stored",
                    flush=True,
                )
            if feeding.done() and stored >= len(fed.appended):
                break
            if feeding.done() and stored + await desk.query(failed_imports) >= len(fed.appended):
                break  # the rest failed to store: counted by the checks below
            if now - last_change > args.stall:
                print(f"  no mail stored for {args.stall} s: stopping", flush=True)
                break
        stored_at = last_change
        await feeding
        sampled.set()
        await sampler
        await asyncio.sleep(2 * LIVE_INTERVAL + 1)  # the last actions reach every session
        stop.set()
        for failed in await asyncio.gather(*sessions, return_exceptions=True):
            if isinstance(failed, BaseException):
                print(f"  a session failed: {type(failed).__name__}: {failed}")
        await asyncio.sleep(2)  # the workers handle the last events
    finally:
        stop.set()
        sampled.set()
        stop_workers(workers)
        smtp.stop()
        imap.stop()
    replies = [r for log in session_logs for r in log.replies]
    found = await desk.query(lambda s: checks(s, fed.appended, replies))
    lags, pending = await desk.query(lambda s: event_lag(s, since))
    answered: list[tuple[str, str]] = []
    thread_checked, thread_wrong = await check_threads(desk, threads, answered)
    await desk.close()
    sent = Counter(r.message_id for r in sink.received)
    found["duplicate Message-IDs at the SMTP sink"] = sum(1 for n in sent.values() if n > 1)
    found["customer replies not on their thread's ticket"] = thread_wrong

    took = stored_at - fed.started
    append_took = fed.finished - fed.started
    actions = Counter[str]()
    refused = Counter[str]()
    causes: dict[str, str] = {}
    for log in session_logs:
        actions.update(log.actions)
        refused.update(log.refused)
        causes = {**log.causes, **causes}
    print(
        f"\n{args.mails:,} mails over IMAP into {args.mailboxes} mailboxes, "
        f"{args.workers} `deskline sync` workers, {args.sessions} rep sessions, PostgreSQL"
    )
    print(f"  throughput            {last / took:8.1f} mails/s stored  ({last:,} in {took:.1f} s)")
    print(
        f"  baseline: APPEND rate {len(fed.appended) / append_took:8.1f} mails/s  "
        f"({len(fed.appended):,} in {append_took:.1f} s, the same run)"
    )
    print(f"  event lag             {spread(lags)}   ({pending} not handled at the end)")
    seen = [x for log in session_logs for x in log.seen_after]
    print(f"  live update latency   {spread(seen)}   (poll every {LIVE_INTERVAL:.1f} s)")
    took_act = [x for log in session_logs for x in log.action_seconds]
    print(f"  rep action (commit)   {spread(took_act)}")
    print(f"  rep actions           {dict(actions)}; refused {dict(refused) or 0}")
    for key, cause in causes.items():
        print(f"    {key[:40]}...: {cause}")
    samples = busy.pop("(samples)", 0)
    print(f"  database connections busy, sampled every 2 s ({samples} samples), per sample:")
    for what, n in busy.most_common(8):
        print(f"    {n / max(samples, 1):5.1f}  {what}")
    print(f"  emails at the SMTP sink {len(sink.received):,}")
    print(f"  customer replies checked {thread_checked:,}")
    for name, value in found.items():
        print(f"  {name:<46} {value}")
    if fed.errors:
        print("  feed errors: " + "; ".join(fed.errors))
    print(f"  errors logged by the sessions: {sum(errors.values())} {dict(errors.most_common(3))}")
    print(f"  worker logs: {logs}")
    bad = sum(
        found[k]
        for k in (
            "duplicate Message-IDs",
            "tickets with two origins",
            "lost (APPENDed, not stored)",
            "rep replies not on their ticket",
            "duplicate Message-IDs at the SMTP sink",
            "customer replies not on their thread's ticket",
        )
    )
    print("  checks: " + ("all passed" if bad == 0 else f"{bad} FAILED"))
    return 0 if bad == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--pg", required=True, help="a PostgreSQL server URL (a new database is made)"
    )
    parser.add_argument("--mails", type=int, default=20_000)
    parser.add_argument("--mailboxes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--think", type=float, default=2.0, help="seconds between a rep's actions")
    parser.add_argument("--stall", type=float, default=600.0, help="give up after this long idle")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
