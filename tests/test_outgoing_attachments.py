"""Sending files (issue 12, SPEC D15): what the SMTP server receives carries each attached file
byte for byte, names per RFC 2231, within the size limit; a retry sends the same bytes; the
server's size refusal is permanent. Real SMTP server (aiosmtpd), SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from automation import admin
from automation.delivery import deliver_due
from automation.outbound import MailRefused
from automation.recipients import Addressing
from mail.attach import AttachError, read_attachment
from mail.compose import OutgoingAttachment
from runtime.smtp import SmtpTransport
from storage.attachments import message_attachments
from tests.helpers import Desk, make_mail
from tests.servers.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]

PICTURE = bytes(range(256)) * 40 + b"\r\n\n\r\x00end"
NAME = "Zrzut ekranu — żółw 2026.png"


async def desk_with_smtp(db, server: SmtpServer) -> Desk:
    desk = await Desk.create(db)

    def configure(repo, user) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port, channel.smtp_tls = server.host, server.port, "none"

    await desk.admin(configure)
    return desk


async def send_due(desk: Desk):
    def due(repo) -> None:
        for row in repo.outbox_by_state("queued"):
            row.next_attempt_at = repo.now() - timedelta(seconds=1)

    await desk.db.run(due)
    return await deliver_due(desk.db, SmtpTransport(desk.db), holder="test")


async def on_wire(desk: Desk, server: SmtpServer, outbox_id: int):
    [row] = [r for r in await desk.outbox() if r["id"] == outbox_id]
    [got] = [r for r in server.received if r.message_id == row["message_id"]]
    return got


def files(tmp_path: Path) -> tuple[OutgoingAttachment, ...]:
    (tmp_path / NAME).write_bytes(PICTURE)
    (tmp_path / "notes.txt").write_bytes("naïve\r\nline two\n".encode())
    return read_attachment(tmp_path / NAME), read_attachment(tmp_path / "notes.txt")


async def test_attachments_arrive_byte_identical_with_rfc2231_names(
    db, smtp_server, tmp_path
) -> None:
    # D15: the wire carries each file exactly (sha256), its non-ASCII name RFC 2231 encoded
    desk = await desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail()[0])
    attached = files(tmp_path)
    outbox_id = await desk.reply(1, "Here you go.", addressing=Addressing(attachments=attached))
    await send_due(desk)
    got = await on_wire(desk, smtp_server, outbox_id)
    assert b"filename*" in got.data and b"utf-8''Zrzut" in got.data  # RFC 2231, not RFC 2047
    assert got.data.isascii()
    msg = message_from_bytes(got.data, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().strip() == "Here you go."
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == [NAME, "notes.txt"]
    assert [p.get_content_type() for p in parts] == ["image/png", "text/plain"]
    for part, original in zip(parts, (PICTURE, "naïve\r\nline two\n".encode()), strict=True):
        sent = part.get_payload(decode=True)
        assert hashlib.sha256(sent).hexdigest() == hashlib.sha256(original).hexdigest()
    # the outgoing message lists its files as received ones are listed (SPEC D13)
    listed = await desk.db.query(lambda s: message_attachments(s, got.message_id))
    assert [a["sha256"] for a in listed["attachments"]] == [
        hashlib.sha256(PICTURE).hexdigest(),
        hashlib.sha256("naïve\r\nline two\n".encode()).hexdigest(),
    ]


async def test_a_retry_sends_the_same_bytes(db, smtp_server, tmp_path) -> None:
    # D15: the outbox keeps the encoded message; a temporary failure resends it unchanged
    desk = await desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail()[0])
    await send_due(desk)  # the acknowledgement goes first
    outbox_id = await desk.reply(1, "Files.", addressing=Addressing(attachments=files(tmp_path)))
    stored = await desk.outbox_raw(outbox_id)
    smtp_server.recorder.data_replies.append("451 4.3.0 try later")
    assert (await send_due(desk)).retrying == 1
    assert (await send_due(desk)).sent == 1
    got = await on_wire(desk, smtp_server, outbox_id)
    assert got.data.replace(b"\r\n", b"\n") == stored.replace(b"\r\n", b"\n")


async def test_over_the_size_limit_nothing_is_queued(db, tmp_path) -> None:
    # D15: the limit is on the encoded message (base64 grows 4/3), checked before queueing
    desk = await Desk.create(db)
    await desk.receive(make_mail()[0])
    await desk.admin(lambda repo, user: repo.set_setting("max_send_bytes", 12_000))
    big = OutgoingAttachment("big.bin", "application/octet-stream", os.urandom(9_000))
    with pytest.raises(MailRefused, match=r"over the limit of 12,000"):
        await desk.reply(1, "Too big.", addressing=Addressing(attachments=(big,)))
    assert [r["kind"] for r in await desk.outbox()] == ["automated"]  # the acknowledgement
    small = OutgoingAttachment("small.bin", "application/octet-stream", os.urandom(5_000))
    await desk.reply(1, "Fits.", addressing=Addressing(attachments=(small,)))
    assert sorted(r["kind"] for r in await desk.outbox()) == ["automated", "reply"]


async def test_the_servers_size_refusal_is_permanent(db, smtp_server, tmp_path) -> None:
    # D15: SMTP 552 (message size exceeds fixed maximum) is a permanent failure
    desk = await desk_with_smtp(db, smtp_server)
    await desk.receive(make_mail()[0])
    await send_due(desk)  # the acknowledgement goes first
    await desk.reply(1, "Big.", addressing=Addressing(attachments=files(tmp_path)))
    smtp_server.recorder.data_replies.append("552 5.3.4 Message size exceeds fixed maximum")
    stats = await send_due(desk)
    assert (stats.sent, stats.failed) == (0, 1)
    [row] = [r for r in await desk.outbox() if r["kind"] == "reply"]
    assert row["state"] == "failed"


def test_hostile_paths_are_refused_with_one_line(tmp_path) -> None:
    # issue 12: nonexistent, a directory, a FIFO, a device, a socket: refused, named, nothing read
    with pytest.raises(AttachError, match=r"missing\.pdf: no such file"):
        read_attachment(tmp_path / "missing.pdf")
    with pytest.raises(AttachError, match=r"is a directory"):
        read_attachment(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(AttachError, match=r"pipe: not a regular file"):
        read_attachment(fifo)  # returns at once: opened non-blocking, never waits for a writer
    with pytest.raises(AttachError, match=r"not a regular file"):
        read_attachment("/dev/null")
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(AttachError, match=r"s\.sock: (not a regular file|cannot open)"):
            read_attachment(sock_path)
    with pytest.raises(AttachError, match="no file named"):
        read_attachment("")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(AttachError, match="no such file"):
        read_attachment(link)
    odd = tmp_path / "a\nb\x1b[31m.txt"
    odd.write_bytes(b"x")
    assert "\n" not in read_attachment(odd).filename
    assert "\x1b" not in read_attachment(odd).filename


async def test_cli_attach_refuses_a_directory_and_a_missing_file(db, tmp_path) -> None:
    # issue 12: `reply --attach` names the bad file, exits 1, queues nothing
    from app.cli.errors import UserError
    from app.cli.main import build_parser
    from app.cli.outgoing import addressing_of

    parser = build_parser()
    for bad, said in ((str(tmp_path), "is a directory"), (str(tmp_path / "x.pdf"), "no such")):
        args = parser.parse_args(["reply", "1", "--text", "hi", "--attach", bad])
        with pytest.raises(UserError, match=said):
            addressing_of(args)


def test_the_size_limit_is_an_admin_setting(tmp_path) -> None:
    # D15: `automation limits --max-send-bytes` sets it; a rep cannot; JSON and text show it
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    assert cli.json("automation", "limits")["max_send_bytes"] == 20_000_000
    cli.run("automation", "limits", "--max-send-bytes", "5000")
    assert cli.json("automation", "limits")["max_send_bytes"] == 5000
    refused = cli.run("automation", "limits", "--max-send-bytes", "10", ok=False)
    assert refused.returncode == 1 and "between 1,000" in refused.stderr
    rep = cli.run("automation", "limits", "--max-send-bytes", "9000", "--as", "rita", ok=False)
    assert rep.returncode == 1
    cli.deliver(make_mail()[0])
    (tmp_path / "big.bin").write_bytes(os.urandom(6000))
    big = cli.run("reply", "1", "--text", "x", "--attach", str(tmp_path / "big.bin"), ok=False)
    assert big.returncode == 1 and "over the limit of 5,000" in big.stderr
