"""`deskline attachment list|get` on real mail with attachments (SPEC D13, D14, S3, S9): numbered
in depth-first MIME order, an attached email is one `.eml`, inline images count, the bytes are
the ones that arrived (by sha256), names are safe, files are 0600 and never overwritten unasked."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from mail.parse import parse_message
from storage.database import Database
from tests.helpers import CUSTOMER, SUPPORT, Desk

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
INNER_PDF = b"%PDF-1.4 inner\n"
HOSTILE = "../../etc/passwd"


def inner_email() -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = "dave@vendor.example"
    inner["To"] = CUSTOMER
    inner["Subject"] = "Your order"
    inner["Message-ID"] = make_msgid(domain="vendor.example")
    inner.set_content("The order is attached.\n")
    inner.add_attachment(INNER_PDF, maintype="application", subtype="pdf", filename="order.pdf")
    return inner


def mail_with_attachments() -> bytes:
    """text + html (with an inline image) | a PDF | an attached email | a hostile name | a
    nameless part: five attachments in this order; the email's own PDF is not one of them."""
    msg = EmailMessage()
    msg["From"] = f"Carol Customer <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Screenshot and invoice"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="customer.example")
    msg.set_content("See the screenshot and the invoice.\n")
    msg.add_alternative('<p>See <img src="cid:shot"></p>', subtype="html")
    html = msg.get_payload()[1]
    html.make_related()
    html.add_related(
        PNG,
        maintype="image",
        subtype="png",
        cid="<shot>",
        disposition="inline",
        filename="shot.png",
    )
    msg.make_mixed()
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(inner_email())
    msg.add_attachment(b"root:x:0:0", maintype="text", subtype="plain", filename=HOSTILE)
    msg.add_attachment(b"\x00\x01raw", maintype="application", subtype="octet-stream")
    return msg.as_bytes(policy=policy.SMTP)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_attachments_are_numbered_depth_first_and_an_attached_email_is_one() -> None:
    raw = mail_with_attachments()
    parsed = parse_message(raw)
    summary = [(a.filename, a.content_type, a.inline) for a in parsed.attachments]
    assert summary == [
        ("shot.png", "image/png", True),
        ("invoice.pdf", "application/pdf", False),
        ("", "message/rfc822", False),
        (HOSTILE.split("/")[-1], "text/plain", False),
        ("", "application/octet-stream", False),
    ]
    assert parsed.attachments[0].data == PNG
    assert parsed.attachments[1].data == PDF
    # The attached email whole, its own attachment inside it and not numbered on its own.
    assert parsed.attachments[2].data in raw  # byte for byte as it arrived
    embedded = parse_message(parsed.attachments[2].data)
    assert embedded.subject == "Your order"
    assert [a.data for a in embedded.attachments] == [INNER_PDF]
    assert INNER_PDF not in [a.data for a in parsed.attachments]


class Cli:
    def __init__(self, url: str, home: Path) -> None:
        self.url = url
        self.downloads = home / "Downloads"
        self.env = {
            **os.environ,
            "DESKLINE_USER": "",
            "XDG_DOWNLOAD_DIR": str(self.downloads),
            "HOME": str(home),
        }

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "--db", self.url, *args],
            capture_output=True,
            timeout=120,
            env=self.env,
        )
        if ok:
            assert proc.returncode == 0, f"{args}: {proc.stderr.decode()}"
        else:
            assert proc.returncode == 1, f"{args}: {proc.stderr.decode()}"
        return proc

    def text(self, *args: str, ok: bool = True) -> str:
        proc = self.run(*args, ok=ok)
        return (proc.stdout if ok else proc.stderr).decode()

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture
async def received(db: Database, db_url: str, tmp_path: Path) -> tuple[Cli, int]:
    desk = await Desk.create(db)
    result = await desk.receive(mail_with_attachments())
    assert result.message_row_id is not None
    return Cli(db_url, tmp_path), result.message_row_id


async def test_list_numbers_names_types_sizes_and_hashes(received: tuple[Cli, int]) -> None:
    cli, message = received
    listing = cli.json("attachment", "list", str(message))
    assert listing["version"] == 1 and listing["message"] == message
    rows = listing["attachments"]
    assert [(r["number"], r["name"], r["content_type"], r["inline"]) for r in rows] == [
        (1, "shot.png", "image/png", True),
        (2, "invoice.pdf", "application/pdf", False),
        (3, "attachment-3.eml", "message/rfc822", False),
        (4, "passwd", "text/plain", False),
        (5, "attachment-5.bin", "application/octet-stream", False),
    ]
    assert rows[0]["sha256"] == sha(PNG) and rows[0]["size"] == len(PNG)
    assert rows[1]["sha256"] == sha(PDF) and rows[1]["size"] == len(PDF)
    text = cli.text("attachment", "list", str(message))
    assert "Screenshot and invoice" in text
    assert " 2  invoice.pdf" in text and "inline" in text.splitlines()[1]


async def test_get_one_into_downloads_byte_for_byte_and_private(
    received: tuple[Cli, int],
) -> None:
    cli, message = received
    out = cli.text("attachment", "get", str(message), "2")
    saved = cli.downloads / "invoice.pdf"
    assert out.strip() == f"2 invoice.pdf → {saved}"
    assert sha(saved.read_bytes()) == sha(PDF)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    again = cli.text("attachment", "get", str(message), "2")  # a taken name gets a number
    assert again.strip().endswith("invoice (1).pdf")
    assert (cli.downloads / "invoice (1).pdf").read_bytes() == PDF


async def test_get_all_into_a_directory_stays_inside_it(
    received: tuple[Cli, int], tmp_path: Path
) -> None:
    cli, message = received
    target = tmp_path / "out"
    out = cli.text("attachment", "get", str(message), "-o", str(target))
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(
        ["shot.png", "invoice.pdf", "attachment-3.eml", "passwd", "attachment-5.bin"]
    )
    assert len(out.strip().splitlines()) == 5
    assert (target / "passwd").read_bytes() == b"root:x:0:0"
    assert not (tmp_path / "etc").exists()
    assert (target / "shot.png").read_bytes() == PNG
    assert b"Subject: Your order" in (target / "attachment-3.eml").read_bytes()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in target.iterdir())


async def test_get_to_stdout_writes_the_bytes_only(received: tuple[Cli, int]) -> None:
    cli, message = received
    proc = cli.run("attachment", "get", str(message), "1", "-o", "-")
    assert proc.stdout == PNG
    assert not cli.downloads.exists()


async def test_an_explicit_path_is_not_overwritten_without_overwrite(
    received: tuple[Cli, int], tmp_path: Path
) -> None:
    cli, message = received
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link.pdf"
    link.symlink_to(victim)
    target = tmp_path / "invoice.pdf"
    target.write_bytes(b"old")
    error = cli.text("attachment", "get", str(message), "2", "-o", str(target), ok=False)
    assert "exists" in error and "--overwrite" in error
    assert target.read_bytes() == b"old"
    cli.text("attachment", "get", str(message), "2", "-o", str(target), "--overwrite")
    assert target.read_bytes() == PDF
    cli.text("attachment", "get", str(message), "2", "-o", str(link), ok=False)
    cli.text("attachment", "get", str(message), "2", "-o", str(link), "--overwrite")
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink() and link.read_bytes() == PDF


async def test_ticket_show_gives_the_message_number(received: tuple[Cli, int]) -> None:
    cli, message = received
    tickets = cli.json("tickets")["tickets"]
    shown = cli.text("ticket", "show", str(tickets[0]["number"]))
    assert f"(message {message}, 5 attachments)" in shown


async def test_errors_name_the_fix(received: tuple[Cli, int]) -> None:
    cli, message = received
    assert "no message 9999" in cli.text("attachment", "list", "9999", ok=False)
    assert "1 to 5" in cli.text("attachment", "get", str(message), "6", ok=False)
    assert "give its number" in cli.text("attachment", "get", str(message), "-o", "-", ok=False)


@pytest.mark.sqlite_only
async def test_a_message_id_finds_the_message_too(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    desk = await Desk.create(db)
    raw = mail_with_attachments()
    await desk.receive(raw)
    message_id = parse_message(raw).message_id
    listing = Cli(db_url, tmp_path).json("attachment", "list", message_id)
    assert len(listing["attachments"]) == 5
