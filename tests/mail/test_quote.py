"""Quoted-history folding (rules.md H #37-#38, F #33) and text sanitising (SPEC §7)."""

from __future__ import annotations

import time

import pytest

from mail.quote import REPLY_ABOVE_MARKER, sanitize_text, split_quoted
from tests.mail.helpers import parse_sample


def test_gmail_reply_keeps_indentation_and_folds_quote() -> None:
    # rules.md #38: "On <date>, <name> wrote:" starts the quote; visible text is unchanged.
    visible, quoted = split_quoted(parse_sample("reply_gmail_quoted.eml").text)
    assert visible == "Thanks, it works now.\n    Indented line stays indented."
    assert quoted.startswith("On Mon, 26 Feb 2024 at 17:00, Deskline Support")
    assert "> Hello, we received your message" in quoted


def test_outlook_original_message_is_folded() -> None:
    visible, quoted = split_quoted(parse_sample("reply_outlook_original.eml").text)
    assert visible == "It is still jamming after the visit, can someone come back?\n\nMark"
    assert quoted.startswith("-----Original Message-----")


def test_localized_outlook_header_block_is_folded() -> None:
    visible, quoted = split_quoted(parse_sample("fwd_wg_subject.eml").text)
    assert visible == "Bitte klären, die Rechnung ist doppelt."
    assert quoted.startswith("Von: Buchhaltung")


def test_german_wrote_line() -> None:
    text = "Neu oben\n\nAm 26.02.2024 um 10:00 schrieb Support <s@x.de>:\n> alt\n"
    assert split_quoted(text) == (
        "Neu oben",
        "Am 26.02.2024 um 10:00 schrieb Support <s@x.de>:\n> alt",
    )


def test_our_reply_above_marker_wins() -> None:
    # rules.md #37: our own separator is cut first.
    text = f"Thanks, that fixed it.\n\n{REPLY_ABOVE_MARKER}\nTicket #5 received\nOn x wrote:\n"
    visible, quoted = split_quoted(text)
    assert visible == "Thanks, that fixed it."
    assert quoted.startswith(REPLY_ABOVE_MARKER)


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> more\n",
        "Am 26.02.2024 um 10:00 schrieb Support <s@x.de>:\n> alt\n",
        f"{REPLY_ABOVE_MARKER}\nonly the old text\n",
    ],
)
def test_all_quote_message_stays_visible(text: str) -> None:
    # rules.md #37: never strip when the remainder would be empty.
    visible, quoted = split_quoted(text)
    assert visible == text.strip("\n")
    assert quoted == ""


def test_trailing_angle_quote_block_without_header() -> None:
    visible, quoted = split_quoted("Yes, please do.\n\n> Shall we restart the server?\n>\n> Bob\n")
    assert visible == "Yes, please do."
    assert quoted == "> Shall we restart the server?\n>\n> Bob"


def test_inline_answers_are_not_folded() -> None:
    text = "Answers inline:\n> q1\nanswer 1\n> q2\nanswer 2"
    assert split_quoted(text) == (text, "")


def test_forwarded_content_is_not_folded() -> None:
    # rules.md #33: keep the forwarded content; it is the message, not a quote.
    text = parse_sample("fwd_gmail_inline.eml").text
    visible, quoted = split_quoted(text)
    assert "Amount due: 1,250.00 EUR" in visible
    assert quoted == ""


def test_plain_message_has_no_quote() -> None:
    assert split_quoted("Hello\n\nJust one paragraph.\n") == ("Hello\n\nJust one paragraph.", "")


def test_long_quote_is_fast() -> None:
    # rules.md #38 (email_long_quote.txt is 767 KB): the split stays quick.
    text = "Short answer\n\nOn Mon, 1 Jan 2024, Bob <b@x.test> wrote:\n" + "> quoted line\n" * 50000
    started = time.perf_counter()
    visible, quoted = split_quoted(text)
    assert time.perf_counter() - started < 3.0
    assert visible == "Short answer"
    assert quoted.count("\n") >= 50000


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\r\nb\rc", "a\nb\nc"),
        ("tab\tstays\n", "tab\tstays\n"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("title\x1b]0;pwned\x07 done", "title done"),
        ("bell\x07 nul\x00 del\x7f c1\x85\x9b", "bell nul del c1"),
        ("\u202egnp.exe", "gnp.exe"),
        ("a\u2066b\u2069c\u202ad", "abcd"),
        ("Zażółć — 日本語 🙂", "Zażółć — 日本語 🙂"),
    ],
)
def test_sanitize_text(raw: str, clean: str) -> None:
    # SPEC §7: no terminal control sequences, no bidi overrides; CRLF becomes LF.
    assert sanitize_text(raw) == clean


def test_split_quoted_sanitises() -> None:
    visible, _ = split_quoted("hi\x1b[2J there\r\n")
    assert visible == "hi there"
