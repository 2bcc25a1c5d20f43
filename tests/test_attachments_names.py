"""Safe names for untrusted attachment names (SPEC D14), and which files are never opened."""

from __future__ import annotations

import pytest

from mail.filenames import MAX_NAME_BYTES, is_program, safe_filename, split_extension


@pytest.mark.parametrize(
    ("hostile", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("a\x00b", "ab"),
        ("re\x07port\x1b[31m.pdf", "report[31m.pdf"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # bidi override: no "exe.pdf" look
        ("\u2066isolate\u2069.png", "isolate.png"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1", "_LPT1"),
        ("com9.log", "_com9.log"),
        ("NUL.tar.gz", "_NUL.tar.gz"),
        ("..", "_.."),
        (".", "_."),
        ("dir/..", "_.."),
        ("  spaced name.doc  ", "spaced name.doc"),
        ("résumé.pdf", "résumé.pdf"),
        ("CONSOLE.txt", "CONSOLE.txt"),  # only the device names themselves are reserved
        ("undecodable\udcff.bin", "undecodable.bin"),
    ],
)
def test_hostile_names_become_one_safe_component(hostile: str, safe: str) -> None:
    assert safe_filename(hostile, 1, "application/octet-stream") == safe


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("", "image/png", "attachment-3.png"),
        ("", "message/rfc822", "attachment-3.eml"),
        ("", "application/pdf", "attachment-3.pdf"),
        ("", "text/plain; charset=utf-8", "attachment-3.txt"),
        ("", "application/x-unknown-thing", "attachment-3"),
        ("/", "image/jpeg", "attachment-3.jpg"),
        ("\u202e\x00\x01", "image/gif", "attachment-3.gif"),
        ("../", "application/octet-stream", "attachment-3.bin"),
    ],
)
def test_an_empty_name_is_numbered_with_an_extension_from_the_type(
    name: str, content_type: str, expected: str
) -> None:
    assert safe_filename(name, 3, content_type) == expected


def test_a_thousand_character_name_is_cut_to_200_bytes_keeping_the_extension() -> None:
    name = "x" * 1000 + ".pdf"
    safe = safe_filename(name, 1, "application/pdf")
    assert len(safe.encode()) == MAX_NAME_BYTES
    assert safe.endswith(".pdf")
    assert safe.startswith("xxx")


def test_a_long_multibyte_name_is_cut_at_a_character() -> None:
    name = "é" * 1000 + ".txt"  # two bytes each: never half a character
    safe = safe_filename(name, 1, "text/plain")
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert safe == "é" * 98 + ".txt"
    safe.encode().decode("utf-8")  # valid UTF-8


def test_a_long_name_with_a_long_tail_is_cut_whole() -> None:
    name = "a." + "b" * 1000
    safe = safe_filename(name, 1, "application/octet-stream")
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert "/" not in safe


def test_split_extension() -> None:
    assert split_extension("report.pdf") == ("report", ".pdf")
    assert split_extension("archive.tar.gz") == ("archive.tar", ".gz")
    assert split_extension(".bashrc") == (".bashrc", "")
    assert split_extension("README") == ("README", "")
    assert split_extension("odd.") == ("odd.", "")


@pytest.mark.parametrize(
    ("name", "content_type", "head"),
    [
        ("setup.exe", "application/octet-stream", b""),
        ("Setup.EXE", "application/octet-stream", b""),
        ("launcher.desktop", "text/plain", b""),
        ("run.sh", "text/plain", b""),
        ("invoice.pdf.exe.", "application/pdf", b""),  # a trailing dot Windows drops
        ("photo.jpg", "application/x-msdownload", b""),
        ("photo.jpg", "image/jpeg", b"MZ\x90\x00"),  # a Windows program under a picture's name
        ("notes.txt", "text/plain", b"\x7fELF\x02\x01"),
        ("notes.txt", "text/plain", b"#!/bin/sh\nrm -rf ~\n"),
        ("notes.txt", "text/plain", b"[Desktop Entry]\nExec=evil\n"),
    ],
)
def test_programs_and_launchers_are_recognised(name: str, content_type: str, head: bytes) -> None:
    assert is_program(name, content_type, head)


@pytest.mark.parametrize(
    ("name", "content_type", "head"),
    [
        ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0"),
        ("report.pdf", "application/pdf", b"%PDF-1.7"),
        ("forwarded.eml", "message/rfc822", b"From: a@b.example\r\n"),
        ("notes.txt", "text/plain", b"Hello"),
    ],
)
def test_documents_are_not_programs(name: str, content_type: str, head: bytes) -> None:
    assert not is_program(name, content_type, head)
