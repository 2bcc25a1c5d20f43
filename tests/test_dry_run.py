"""Dry runs keep nothing: `explain --eml` (SPEC §12 B1.1) and `import --dry-run` (B2.2) run mail
through the real pipeline and its automation in transactions that are rolled back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from automation import admin
from runtime.dry_run import explain_eml, import_dry_run
from storage.database import Database
from storage.models import Base
from tests.helpers import Desk, make_mail
from tests.test_explain import _cli, cli_desk  # noqa: F401 - the fixture


def _row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


async def _snapshot(db: Database) -> tuple[dict[str, int], str | None]:
    """Every table's row count, and (SQLite) the file's hash with the log checkpointed."""
    counts = await db.query(_row_counts)
    if db.path is None:
        return counts, None
    await db.close()  # the last connection's close checkpoints the log into the file
    return counts, hashlib.sha256(Path(db.path).read_bytes()).hexdigest()


async def _channel(desk: Desk) -> int:
    return await desk.store(lambda repo: admin.channel_named(repo, "support").id)


async def test_explain_eml_says_what_would_happen_and_keeps_nothing(db, tmp_path: Path) -> None:
    desk = await Desk.create(db)
    first, mid = make_mail()
    await desk.receive(first)
    await desk.drain()
    channel = await _channel(desk)
    reply, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    new, _ = make_mail(sender="dave@customer.example", subject="Another printer")
    (tmp_path / "reply.eml").write_bytes(reply)
    (tmp_path / "new.eml").write_bytes(new)
    before = await _snapshot(db)

    threaded = await explain_eml(db, channel, tmp_path / "reply.eml")
    assert threaded["outcome"] == "stored"
    trace = threaded["trace"]
    assert "In-Reply-To" in trace["threading"]["reason"] and trace["threading"]["ticket"] == 1
    assert "trigger_fired" in [e["type"] for e in trace["events"]]

    created = await explain_eml(db, channel, tmp_path / "new.eml")
    assert created["trace"]["threading"]["ticket"] == 2  # a new ticket, would be #2
    assert created["emails"] == {"queued": 1, "held": 0}  # its acknowledgement
    [ack] = created["trace"]["emails"]
    assert ack["to"] == "dave@customer.example" and ack["verdict"] == "queued"

    after = await _snapshot(db)
    assert after == before
    assert after[0]["outbox"] == 1 and after[0]["tickets"] == 1  # the first message's only


async def test_explain_eml_of_a_stored_message_says_duplicate(db, tmp_path: Path) -> None:
    desk = await Desk.create(db)
    raw, _ = make_mail()
    await desk.receive(raw)
    (tmp_path / "1.eml").write_bytes(raw)
    outcome = await explain_eml(db, await _channel(desk), tmp_path / "1.eml")
    assert outcome["outcome"] == "duplicate" and outcome["trace"] is None


async def test_import_dry_run_summarises_and_stores_nothing(db, tmp_path: Path) -> None:
    desk = await Desk.create(db)
    channel = await _channel(desk)
    first, mid = make_mail()
    reply, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    auto, _ = make_mail(sender="robot@customer.example", headers={"Auto-Submitted": "auto-replied"})
    mail = tmp_path / "mail"
    mail.mkdir()
    for n, raw in enumerate((first, reply, auto, b"")):
        (mail / f"{n}.eml").write_bytes(raw)
    before = await _snapshot(db)
    summary = await import_dry_run(db, channel, [mail])
    assert (summary.total, summary.stored, summary.threaded) == (4, 3, 1)
    assert (summary.automated, summary.failed) == (1, 1)
    assert summary.emails.queued == 1  # the first message's acknowledgement
    assert await _snapshot(db) == before


def _sqlite_counts(db: str) -> dict[str, Any]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def test_cli_dry_runs_print_and_keep_nothing(
    cli_desk: tuple[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    db, mid = cli_desk
    reply, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid)
    (tmp_path / "reply.eml").write_bytes(reply)
    before = _sqlite_counts(db)
    out = _cli(db, "explain", "--eml", str(tmp_path / "reply.eml")).stdout.splitlines()
    assert out[0].endswith("(nothing is kept, sent or notified)")
    assert any("trigger fired" in line for line in out)
    data = json.loads(_cli(db, "explain", "--eml", str(tmp_path / "reply.eml"), "--json").stdout)
    assert data["dry_run"] is True and data["outcome"] == "stored"
    out = _cli(db, "import", "--dry-run", str(tmp_path / "reply.eml"), "--channel", "support")
    assert out.stdout.splitlines()[:2] == [
        "Dry run (nothing was kept, sent or notified):",
        "Imported 1 messages: 1 stored, 1 threaded, 0 duplicates, 0 automated, 0 failed",
    ]
    assert _sqlite_counts(db) == before
    refused = _cli(
        db, "import", "--dry-run", "--historical", str(tmp_path), "--channel", "support", ok=False
    )
    assert "leave out --historical" in refused.stderr
