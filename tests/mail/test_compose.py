"""Outgoing mail: automation headers, threading, injection safety, signed Message-IDs.

Rule references: rules.md B (#10-#12), SPEC §7 (safety), SPEC §6 (outbox, stable Message-ID).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from mail.compose import (
    HeaderInjectionError,
    OutgoingMail,
    build_message,
    make_message_id,
    reply_subject,
    trim_references,
    verify_message_id,
    with_ticket_token,
)
from mail.parse import Address, parse_message

SECRET = b"test-secret-not-for-production"
SUPPORT = Address("support@deskline.test", "Deskline Support")
CUSTOMER = Address("ola.nordmann@example.com", "Ola Nordmann")
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _ack(**changes: object) -> OutgoingMail:
    refs = tuple(f"<m{i}@example.com>" for i in range(15))  # 15 exchanges
    mail = OutgoingMail(
        from_addr=SUPPORT,
        to=(CUSTOMER,),
        subject=reply_subject("Fwd: AW: Printer on floor 3", 42),
        text="Hello Ola,\n\nwe received your message (ticket #42).\nZażółć gęślą jaźń\n",
        message_id=make_message_id("deskline.test", SECRET, "t42"),
        in_reply_to="<m14@example.com>",
        references=refs,
        auto_submitted="auto-replied",
        loop_marker="deskline-test-instance",
    )
    return replace(mail, **changes)  # type: ignore[arg-type]


def _headers(raw: bytes) -> dict[str, list[str]]:
    msg = message_from_bytes(raw, policy=policy.compat32)
    found: dict[str, list[str]] = {}
    for name, value in msg.items():
        found.setdefault(name.lower(), []).append(str(value))
    return found


def test_ack_round_trip_headers() -> None:
    # rules.md #10: automated mail says so; #11: In-Reply-To and bounded References.
    mail = _ack()
    raw = build_message(mail, now=NOW)
    parsed = parse_message(raw)
    headers = _headers(raw)
    assert headers["auto-submitted"] == ["auto-replied"]
    assert headers["x-auto-response-suppress"] == ["All"]
    assert headers["precedence"] == ["bulk"]
    assert parsed.loop_marker == "deskline-test-instance"
    assert parsed.message_id == mail.message_id  # stable: what the outbox stored is what is sent
    assert parsed.in_reply_to == ("<m14@example.com>",)
    assert len(parsed.references) == 10
    assert parsed.references[0] == "<m0@example.com>"  # root
    assert parsed.references[-1] == "<m14@example.com>"  # parent
    assert parsed.subject == "Re: Printer on floor 3 [#42]"
    assert parsed.text == mail.text
    assert parsed.sender == SUPPORT
    assert parsed.to == (Address("ola.nordmann@example.com", "Ola Nordmann"),)
    assert parsed.date == NOW
    # our own ack, fed back in, is recognised as automated (rules.md #14 needs this)
    assert parsed.automated is not None and parsed.automated.kind == "auto-reply"


def test_wire_format_is_crlf_7bit() -> None:
    raw = build_message(_ack(), now=NOW)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert raw.isascii()  # UTF-8 text and subject travel encoded, safe for any SMTP server
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_notification_is_auto_generated() -> None:
    raw = build_message(_ack(auto_submitted="auto-generated"), now=NOW)
    assert _headers(raw)["auto-submitted"] == ["auto-generated"]


def test_rep_reply_carries_only_the_loop_marker() -> None:
    # rules.md #10: human replies carry no Auto-Submitted, so other systems still answer them.
    raw = build_message(_ack(auto_submitted=None), now=NOW)
    headers = _headers(raw)
    for name in ("auto-submitted", "x-auto-response-suppress", "precedence"):
        assert name not in headers
    assert headers["x-deskline-loop"] == ["deskline-test-instance"]
    assert parse_message(raw).automated is None


def test_message_id_is_stable_across_retries() -> None:
    # SPEC §6: a retried send carries the same Message-ID.
    mail = _ack()
    first = parse_message(build_message(mail, now=NOW))
    second = parse_message(build_message(mail))
    assert first.message_id == second.message_id == mail.message_id


@pytest.mark.parametrize(
    "evil",
    ["Hi\r\nBcc: victim@example.com", "Hi\nBcc: victim@example.com", "Hi\rBcc: x@y.test"],
)
def test_crlf_in_subject_stays_in_one_header(evil: str) -> None:
    # SPEC §7: CR/LF from user data never starts a new header.
    raw = build_message(_ack(subject=evil), now=NOW)
    headers = _headers(raw)
    assert "bcc" not in headers
    assert headers["subject"] == [evil.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")]


def test_crlf_in_display_name_stays_in_one_header() -> None:
    to = (Address("ola.nordmann@example.com", "Ola\r\nBcc: victim@example.com"),)
    raw = build_message(_ack(to=to), now=NOW)
    headers = _headers(raw)
    assert "bcc" not in headers
    assert len(headers["to"]) == 1
    parsed = parse_message(raw)
    assert parsed.to == (Address("ola.nordmann@example.com", "Ola Bcc: victim@example.com"),)


@pytest.mark.parametrize(
    "addr",
    [
        "ola@example.com\r\nBcc: victim@example.com",
        "not-an-address",
        "a@b@c.test",
        "ola@exa mple.com",
        "<ola@example.com>",
        "ola@-bad-.test",
    ],
)
def test_invalid_addresses_are_rejected(addr: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build_message(_ack(to=(Address(addr, ""),)), now=NOW)


def test_loop_marker_and_extra_headers_are_checked() -> None:
    with pytest.raises(HeaderInjectionError):
        build_message(_ack(extra_headers=(("Bad Name", "x"),)), now=NOW)
    with pytest.raises(HeaderInjectionError):
        build_message(_ack(extra_headers=(("Bcc", "victim@example.com"),)), now=NOW)
    raw = build_message(_ack(extra_headers=(("X-Deskline-Ticket", "42\r\nBcc: x@y.test"),)))
    headers = _headers(raw)
    assert headers["x-deskline-ticket"] == ["42 Bcc: x@y.test"]
    assert "bcc" not in headers


@pytest.mark.parametrize(
    ("in_reply_to", "expected"),
    [
        ("<a@b.test>\r\nBcc: x@y.test", ["<a@b.test>"]),  # only the id survives
        ("garbage", None),
        ("<ü@b.test>", None),  # would need RFC 2047 in an unstructured header: dropped
        (None, None),
    ],
)
def test_in_reply_to_is_reduced_to_a_clean_id(
    in_reply_to: str | None, expected: list[str] | None
) -> None:
    headers = _headers(build_message(_ack(in_reply_to=in_reply_to), now=NOW))
    assert headers.get("in-reply-to") == expected
    assert "bcc" not in headers


def test_bad_own_message_id_is_rejected() -> None:
    with pytest.raises(HeaderInjectionError):
        build_message(_ack(message_id="<x@y.test>\r\nBcc: v@z.test"), now=NOW)
    with pytest.raises(HeaderInjectionError):
        build_message(_ack(message_id="not-an-id"), now=NOW)


def test_non_ascii_names_and_subject_are_encoded() -> None:
    to = (Address("zoe@example.se", "Zoë Ångström, Ltd"),)
    raw = build_message(_ack(to=to, subject="Fråga om fakturan"), now=NOW)
    parsed = parse_message(raw)
    assert parsed.to == (Address("zoe@example.se", "Zoë Ångström, Ltd"),)
    assert parsed.subject == "Fråga om fakturan"


def test_hmac_message_id_round_trip_and_forgery() -> None:
    # rules.md #12: decode our own Message-ID to get the tag back; a forged one is rejected.
    message_id = make_message_id("deskline.test", SECRET, "t42")
    assert re.fullmatch(r"<dl\.t42\.[0-9a-f]{16}\.[0-9a-f]{10}@deskline\.test>", message_id)
    assert verify_message_id(message_id, SECRET) == "t42"
    assert make_message_id("deskline.test", SECRET, "t42") != message_id  # random part
    forged_tag = message_id.replace("dl.t42.", "dl.t43.")
    assert verify_message_id(forged_tag, SECRET) is None
    assert verify_message_id(message_id, b"other-secret") is None
    mac = message_id.split(".")[3][:10]
    assert verify_message_id(message_id.replace(mac, "0" * 10), SECRET) is None
    assert verify_message_id("<CAF1234@mail.gmail.com>", SECRET) is None
    assert verify_message_id("garbage", SECRET) is None


def test_make_message_id_rejects_bad_tags() -> None:
    with pytest.raises(ValueError):
        make_message_id("deskline.test", SECRET, "t.42")
    with pytest.raises(ValueError):
        make_message_id("deskline.test", SECRET, "t42>\r\nBcc: x")


def test_trim_references() -> None:
    # rules.md #11: dedupe in order; over 10 keep the first 4 and the last 6.
    refs = [f"<r{i}@x.test>" for i in range(15)]
    trimmed = trim_references(refs)
    assert trimmed == tuple(refs[:4] + refs[-6:])
    assert trim_references(["<a@x>", "<b@x>", "<a@x>", "junk", "<c@x>"]) == (
        "<a@x>",
        "<b@x>",
        "<c@x>",
    )
    assert trim_references([]) == ()


@pytest.mark.parametrize(
    ("subject", "number", "expected"),
    [
        ("Printer on floor 3", 42, "Re: Printer on floor 3 [#42]"),
        ("Re: AW: Printer [#42]", 42, "Re: Printer [#42]"),
        ("Fwd: WG: Printer", 7, "Re: Printer [#7]"),
        ("", 5, "Re: (no subject) [#5]"),
        ("Line\r\nBreak", 1, "Re: Line Break [#1]"),
    ],
)
def test_reply_subject(subject: str, number: int, expected: str) -> None:
    assert reply_subject(subject, number) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer", "Printer [#42]"),
        ("Printer [#42]", "Printer [#42]"),
        ("[#42] Printer", "[#42] Printer"),
        ("Printer [#41]", "Printer [#42]"),
        ("", "[#42]"),
    ],
)
def test_with_ticket_token(subject: str, expected: str) -> None:
    assert with_ticket_token(subject, 42) == expected
