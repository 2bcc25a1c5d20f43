"""Import of .eml files, Maildir and mbox through the live ingestion path. SPEC §6, E1, B6."""

from __future__ import annotations

import mailbox
from pathlib import Path

from automation import admin
from automation.importer import import_paths
from storage import queries
from tests.helpers import Desk, make_mail


async def _channel_id(desk: Desk) -> int:
    return await desk.db.run(lambda repo: admin.channel_named(repo, "support").id)


def _thread() -> list[bytes]:
    first, mid = make_mail(subject="Broken invoice")
    reply, _ = make_mail(subject="Re: Broken invoice", in_reply_to=mid, body="Any news?")
    return [first, reply]


async def test_eml_directory_maildir_and_mbox_import_alike(db, tmp_path: Path) -> None:
    # SPEC §6: .eml, Maildir and mbox all go through the same path
    desk = await Desk.create(db)
    emls = tmp_path / "emls"
    emls.mkdir()
    for i, raw in enumerate(_thread()):
        (emls / f"{i}.eml").write_bytes(raw)
    maildir = mailbox.Maildir(tmp_path / "maildir", create=True)
    for raw in _thread():
        maildir.add(raw)
    box = mailbox.mbox(tmp_path / "box.mbox", create=True)
    for raw in _thread():
        box.add(raw)
    box.flush()
    channel = await _channel_id(desk)
    for path in (emls, tmp_path / "maildir", tmp_path / "box.mbox"):
        summary = await import_paths(desk.runner, channel, [path])
        assert (summary.stored, summary.threaded, summary.failed) == (2, 1, 0)
    tickets = await desk.tickets()
    assert len(tickets) == 3
    assert {t["status"] for t in tickets} == {"Waiting on us"}


async def test_reply_found_before_its_parent_still_threads(db, tmp_path: Path) -> None:
    # E1: one import processes messages in Date order (ties: file order)
    desk = await Desk.create(db)
    first, reply = _thread()
    box = mailbox.mbox(tmp_path / "reversed.mbox", create=True)
    box.add(reply)
    box.add(first)
    box.flush()
    summary = await import_paths(desk.runner, await _channel_id(desk), [tmp_path / "reversed.mbox"])
    assert summary.threaded == 1
    [ticket] = await desk.tickets()
    assert ticket["status"] == "Waiting on us"


async def test_broken_message_is_reported_kept_and_skipped(db, tmp_path: Path) -> None:
    # Issue: a broken message in an import is reported and skipped, never stops the rest
    desk = await Desk.create(db)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "0.eml").write_bytes(b"")
    (folder / "1.eml").write_bytes(b"\x00\x01\x02 binary junk \xff\xfe")
    (folder / "2.eml").write_bytes(make_mail()[0])
    summary = await import_paths(desk.runner, await _channel_id(desk), [folder])
    assert summary.stored == 1
    assert summary.failed == 2
    assert all("0.eml" in s or "1.eml" in s for s, _ in summary.failures)
    failures = await desk.db.query(queries.import_failures)
    assert [f["size"] for f in failures] == [0, 18]  # raw bytes kept for a retry
    assert len(await desk.tickets()) == 1


async def test_historical_import_threads_but_fires_nothing(db, tmp_path: Path) -> None:
    # E1: --historical stores and threads, fires no trigger, runs no action, queues no email
    desk = await Desk.create(db)
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    for i, raw in enumerate(_thread()):
        (tmp_path / f"{i}.eml").write_bytes(raw)
    summary = await import_paths(desk.runner, await _channel_id(desk), [tmp_path], historical=True)
    assert summary.threaded == 1
    [ticket] = await desk.tickets()
    assert ticket["status"] == "New"
    assert await desk.outbox() == []


async def test_importing_twice_stores_nothing_new(db, tmp_path: Path) -> None:
    # SPEC §6: the same Message-ID on the same channel is stored once
    desk = await Desk.create(db)
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    for i, raw in enumerate(_thread()):
        (tmp_path / f"{i}.eml").write_bytes(raw)
    channel = await _channel_id(desk)
    await import_paths(desk.runner, channel, [tmp_path])
    again = await import_paths(desk.runner, channel, [tmp_path])
    assert (again.stored, again.duplicates) == (0, 2)
    assert len(await desk.outbox()) == 1


async def test_parsing_in_worker_processes_stores_the_same(db, tmp_path: Path) -> None:
    # Issue 16: an import of several batches parses in worker processes, a batch ahead of the
    # store; what it stores, threads and reports is what the in-process path gives (E1, D11)
    desk = await Desk.create(db)
    folder = tmp_path / "in"
    folder.mkdir()
    first, mid = make_mail(subject="Broken invoice")
    mails = [first, b"", make_mail(subject="Printer")[0]]
    mails += [
        make_mail(subject="Re: Broken invoice", in_reply_to=mid, body=f"{i}")[0] for i in range(3)
    ]
    for i, raw in enumerate(mails):
        (folder / f"{i}.eml").write_bytes(raw)
    summary = await import_paths(desk.runner, await _channel_id(desk), [folder], batch_size=2)
    assert (summary.total, summary.stored, summary.threaded, summary.failed) == (6, 5, 3, 1)
    assert "1.eml" in summary.failures[0][0] and "unparseable" in summary.failures[0][1]
    assert sorted(t["subject"] for t in await desk.tickets()) == ["Broken invoice", "Printer"]


def test_an_inventory_reads_every_source_as_scan_does_in_date_order(tmp_path: Path) -> None:
    # Issue 16: an import keeps a few dozen bytes a message until its batch (Inventory), not a
    # RawItem each; it must find the same messages, bytes and labels as `scan`, in SPEC E1's
    # order (Date, ties in file order), over .eml files, a Maildir and an mbox with a quoted
    # '>From ' line, a message without a blank line before the next and one without a Date.
    from mail.sources import Inventory, scan

    def dated(subject: str, date: str) -> bytes:
        return f"From: c@example.org\nSubject: {subject}\nDate: {date}\n\nHello\n".encode()

    late = dated("Late", "Tue, 02 Jan 2024 10:00:00 +0000")
    early = dated("Early", "Mon, 01 Jan 2024 10:00:00 +0200")
    tie = dated("Tie", "Mon, 01 Jan 2024 08:00:00 +0000")
    (tmp_path / "a.eml").write_bytes(late)
    maildir = mailbox.Maildir(tmp_path / "maildir", create=True)
    maildir.add(tie)
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(
        b"From a@b Thu Jan  1 00:00:00 2026\n" + early + b"\n>From the quote\n\n"
        b"From c@d Thu Jan  1 00:00:00 2026\nSubject: no blank before the next\n\nhi\n"
        b"From e@f Thu Jan  1 00:00:00 2026\nSubject: undated, last\n\nend"
    )
    paths = [tmp_path / "a.eml", tmp_path / "maildir", mbox]
    scanned = sorted(scan(paths), key=lambda item: (item.date, item.order))
    inventory = Inventory(paths)
    listed = inventory.items(inventory.in_date_order())
    assert [i.label for i in listed] == [i.label for i in scanned]
    assert [i.load() for i in listed] == [i.load() for i in scanned]
    assert [i.date for i in listed] == [i.date for i in scanned]
    assert [i.size for i in listed] == [i.size for i in scanned]
    subjects = [i.load().split(b"Subject: ")[1].split(b"\n")[0] for i in listed]
    assert subjects[:2] == [b"no blank before the next", b"undated, last"]  # no Date: first
    assert subjects[2:] == [b"Tie", b"Early", b"Late"]  # both 08:00 UTC: the Maildir first
    assert b"\nFrom the quote" in listed[3].load()  # mboxrd: the quoting is taken off
