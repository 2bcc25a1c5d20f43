"""parse_message: fields, charsets, MIME structure and malformed input.

Rule references: SPEC §6 (mail), §7 (safety), rules.md G (#34, #35), I (#36, #40), D (#23).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from mail import parse
from mail.parse import (
    MailParseError,
    extract_message_ids,
    normalize_message_id,
    parse_message,
)
from tests.mail.helpers import all_samples, parse_sample, sample_bytes


def _mail(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode()


# rules.md #36: every sample yields a str subject and a str body without an exception.
@pytest.mark.parametrize("name", all_samples())
def test_every_sample_parses(name: str) -> None:
    parsed = parse_sample(name)
    assert isinstance(parsed.subject, str)
    assert isinstance(parsed.text, str) and parsed.text
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert parsed.size == len(sample_bytes(name))
    for text in (parsed.subject, parsed.text):
        text.encode("utf-8")  # no lone surrogates left for the database to choke on


def test_basic_fields_are_decoded_and_normalised() -> None:
    parsed = parse_sample("encoded_words.eml")
    assert parsed.message_id == "<fr-1@example.fr>"
    assert not parsed.message_id_synthesized
    # RFC 2047: a character split across two adjacent encoded words is joined before decoding
    assert parsed.subject == "Problème de facturation à régler [#9]"
    assert parsed.sender is not None
    assert parsed.sender.addr == "elodie.dupont@example.fr"  # lowercased
    assert parsed.sender.name == "Élodíe Dupont"
    assert [a.addr for a in parsed.to] == ["support@deskline.test", "zoe@example.fr"]
    assert parsed.to[0].name == "Support, Deskline"
    assert parsed.to[1].name == "Zoë"
    assert parsed.cc[0].name == "André"
    assert parsed.date == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def test_threading_headers_in_order() -> None:
    # rules.md #23: every <...@...> token of In-Reply-To and References, in header order.
    parsed = parse_sample("reply_outlook_original.eml")
    assert parsed.in_reply_to == ("<dl.t33.3333333333333333.3c3c3c3c3c@deskline.test>",)
    assert parsed.references == (
        "<mark-original-1@example.co.uk>",
        "<dl.t33.3333333333333333.3c3c3c3c3c@deskline.test>",
    )


@pytest.mark.parametrize(
    ("name", "subject_part", "text_part", "sender_name"),
    [
        ("charset_iso8859_2.eml", "Zażółć gęślą jaźń", "kwota 1 234,56 zł", "Łukasz Wójcik"),
        ("charset_koi8r.eml", "Не работает принтер", "Принтер в комнате 214", "Иван Петров"),
        ("charset_shift_jis.eml", "プリンターの故障について", "三階のプリンター", "山田太郎"),
        ("charset_iso2022jp.eml", "ログインできません", "会議室の予約システム", ""),
        (
            "charset_utf16.eml",
            "UTF-16 report",
            "Disk C: is 95% full on host büro-7.",
            "Windows Tool",
        ),
        ("charset_uft8_typo.eml", "Contraseña olvidada", "¿me ayudan", "Marta"),
        ("charset_x_unknown.eml", "Legacy system export", "François at 09:00 – café", ""),
        (
            "broken_8bit_headers.eml",
            "Fråga om fakturan – snälla svara",
            "fakturan är fel",
            "Zoë Ångström",
        ),
    ],
)
def test_charsets_decode(name: str, subject_part: str, text_part: str, sender_name: str) -> None:
    # rules.md #36: declared charset with aliases (uft-8, x-unknown, Shift_JIS -> cp932, ...).
    parsed = parse_sample(name)
    assert subject_part in parsed.subject
    assert text_part in parsed.text
    assert parsed.sender is not None and parsed.sender.name == sender_name
    assert "\ufffd" not in parsed.text


def test_shift_jis_half_width_katakana() -> None:
    # rules.md #36: Shift_JIS is read as cp932, which has the half-width katakana.
    assert "ｶﾀｶﾅ" in parse_sample("charset_shift_jis.eml").text


def test_gb2312_with_invalid_bytes_never_raises() -> None:
    # rules.md #36: make_header raises on this subject; we decode each chunk with replace,
    # and gb2312 is read as gb18030, so a GBK-only character (镕) in the body survives.
    parsed = parse_sample("charset_gb2312_invalid.eml")
    assert parsed.subject.startswith("打印机")
    assert "\ufffd" in parsed.subject
    assert "朱镕基" in parsed.text
    assert parsed.sender is not None and parsed.sender.name == "王伟"


def test_rfc2231_filename_continuation_and_path_stripped() -> None:
    # rules.md #36 (RFC 2231) and SPEC §7: a filename never carries a path.
    parsed = parse_sample("rfc2231_filename.eml")
    names = [a.filename for a in parsed.attachments]
    assert names == ["Offerte für Zürich – März 2024.pdf", "passwd"]
    assert parsed.attachments[0].content_type == "application/pdf"
    assert parsed.attachments[0].data.startswith(b"%PDF-1.4")
    assert parsed.text == "Anbei die Offerte.\n"


def test_html_only_mail_is_converted_to_text() -> None:
    # rules.md #34: no text/plain, so the HTML is converted (inscriptis); HTML is kept.
    parsed = parse_sample("html_only.eml")
    assert "I was charged twice for plan Pro & Team:" in parsed.text
    assert "€ 49" in parsed.text
    assert "<p>" not in parsed.text and "alert(1)" not in parsed.text
    assert parsed.html is not None and "<table>" in parsed.html


def test_multipart_alternative_prefers_plain_and_keeps_html() -> None:
    # rules.md #34: text/plain wins when present and non-empty.
    parsed = parse_sample("multipart_alternative.eml")
    assert parsed.text == "The VPN disconnects every 10 minutes since Monday.\n"
    assert parsed.html is not None and "<i>every 10 minutes</i>" in parsed.html
    assert parsed.attachments == ()


def test_attachments_and_inline_images() -> None:
    parsed = parse_sample("attachments_inline_images.eml")
    assert parsed.text == "The error is in the screenshot below, log attached.\n"
    summary = [(a.filename, a.content_type, a.inline) for a in parsed.attachments]
    assert summary == [
        ("screenshot.png", "image/png", True),
        ("error-log.pdf", "application/pdf", False),
        ("notes.txt", "text/plain", False),  # a text/plain attachment is not body text
    ]
    assert parsed.attachments[0].data.startswith(b"\x89PNG")


def test_apple_split_plain_parts_are_joined() -> None:
    # rules.md #34: Apple Mail splits the text around an inline image; the parts are joined.
    parsed = parse_sample("apple_split_plain.eml")
    assert parsed.text == "The box arrived like this:\n\nand the lamp inside is broken."
    assert [a.filename for a in parsed.attachments] == ["box.png"]


def test_forwarded_message_attachment_keeps_embedded_bytes() -> None:
    parsed = parse_sample("fwd_as_attachment.eml")
    (att,) = parsed.attachments
    assert att.content_type == "message/rfc822"
    assert att.filename == "Contract start date.eml"
    assert b"Message-ID: <vendor-20240223-160000@vendor.example.com>" in att.data
    assert "contract starts in March" in parsed.text
    assert "1 March 2024" not in parsed.text  # the embedded mail is not body text


def test_missing_boundary_end_keeps_parts() -> None:
    parsed = parse_sample("broken_missing_boundary_end.eml")
    assert parsed.text == "The upload failed halfway.\n"
    assert [a.filename for a in parsed.attachments] == ["data.bin"]
    assert "close-boundary-not-found" in parsed.defects


def test_undeclared_boundary_is_recovered() -> None:
    parsed = parse_sample("broken_boundary_undeclared.eml")
    assert parsed.text == "The printer prints blank pages.\n"
    assert [a.filename for a in parsed.attachments] == ["counts.csv"]
    assert "no-boundary-in-multipart" in parsed.defects


def test_header_line_without_colon_does_not_swallow_later_headers() -> None:
    # The stdlib parser would end the header block there; Subject and Message-ID come after it.
    parsed = parse_sample("broken_header_no_colon.eml")
    assert parsed.subject == "Header line without a colon"
    assert parsed.message_id == "<nocolon-1@example.com>"
    assert parsed.text == "The body survives.\n"
    assert "header-line-without-colon" in parsed.defects


def test_duplicate_message_id_takes_the_first() -> None:
    parsed = parse_sample("broken_duplicate_message_id.eml")
    assert parsed.message_id == "<first-id@example.com>"
    assert "duplicate-message-id" in parsed.defects


def test_empty_message_id_is_synthesised_deterministically() -> None:
    raw = sample_bytes("broken_empty_message_id.eml")
    first, second = parse_message(raw), parse_message(raw)
    assert first.message_id_synthesized
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@deskline.invalid>")
    assert len(first.message_id) == len("<@deskline.invalid>") + 64
    assert first.in_reply_to == ()
    # rules.md #23: robust to garbage between ids; a token with a space inside is not an id
    assert first.references == ("<good-ref@example.com>", "<second-ref@example.com>")


def test_missing_from_and_garbage_date() -> None:
    assert parse_sample("broken_missing_from.eml").sender is None
    parsed = parse_sample("broken_garbage_date.eml")
    assert parsed.date is None
    assert "unparseable-date" in parsed.defects


def test_empty_body_gets_placeholder() -> None:
    # rules.md #34: no text at all gives the "(no visible content)" placeholder.
    assert parse_sample("broken_empty_body.eml").text == "(no visible content)"


def test_date_is_utc_aware() -> None:
    parsed = parse_sample("fwd_gmail_inline.eml")  # Date: ... +0100
    assert parsed.date == datetime(2024, 2, 21, 9, 15, 32, tzinfo=UTC)
    naive = parse_message(_mail("From: a@b.test\nDate: Mon, 1 Jan 2024 10:00:00 -0000"))
    assert naive.date is not None and naive.date.tzinfo is not None


def test_loop_marker_and_list_id() -> None:
    parsed = parse_message(_mail("From: a@b.test\nX-Deskline-Loop: inst-7\nSubject: x"))
    assert parsed.loop_marker == "inst-7"
    assert parse_sample("list_message.eml").list_id == "Printer users <users.lists.example.org>"


def test_untrusted_text_is_sanitised() -> None:
    # SPEC §7: no terminal control sequences or bidi overrides in subjects, names or bodies.
    raw = (
        b"From: =?utf-8?q?Eve=1B]0;pwned=07?= <eve@x.test>\r\n"
        b"Subject: =?utf-8?b?G1szMW1yZWQbWzBtIOKArmdub3Jw?=\r\n"
        b"\r\nline one\x1b[2J\r\nline\x07 two\xe2\x80\xae\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "red gnorp"
    assert parsed.sender is not None and parsed.sender.name == "Eve"
    assert parsed.text == "line one\nline two\n"


def test_too_many_links_gives_a_notice() -> None:
    # rules.md #35: 6,000 links are not converted; a notice is shown instead, quickly.
    links = "".join(f'<a href="https://x.test/{i}">{i}</a> ' for i in range(6000))
    raw = _mail(
        "From: a@b.test\nSubject: links\nContent-Type: text/html; charset=utf-8",
        f"<html><body>{links}</body></html>\n",
    )
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert parsed.text == "(HTML body too large to convert: 6000 links)"
    assert time.perf_counter() - started < 2.0


def test_huge_references_keep_root_and_last_fifty() -> None:
    # rules.md #40: a References header with 5,000 ids is capped and parsed fast.
    ids = " ".join(f"<r{i}@x.test>" for i in range(5000))
    started = time.perf_counter()
    parsed = parse_message(_mail(f"From: a@b.test\nReferences: {ids}"))
    assert time.perf_counter() - started < 1.0
    assert len(parsed.references) == 51
    assert parsed.references[0] == "<r0@x.test>"
    assert parsed.references[-1] == "<r4999@x.test>"


def test_crlf_and_lf_inputs_parse_alike() -> None:
    lf = sample_bytes("multipart_alternative.eml")
    crlf = lf.replace(b"\n", b"\r\n")
    assert parse_message(lf).text == parse_message(crlf).text
    assert parse_message(lf).subject == parse_message(crlf).subject


@pytest.mark.parametrize(
    "raw", [b"", b"   \r\n\r\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01"]
)
def test_not_mail_raises_one_line_error(raw: bytes) -> None:
    with pytest.raises(MailParseError) as info:
        parse_message(raw)
    assert "\n" not in str(info.value)


def test_headerless_text_is_still_accepted() -> None:
    parsed = parse_message(b"just some words\nand more\n")
    assert parsed.sender is None
    assert parsed.message_id_synthesized
    assert "no-headers" in parsed.defects


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@b>", "<a@b>"),
        ("  <abc.def@example.com>  (comment)", "<abc.def@example.com>"),
        ("bare-id@example.com", "<bare-id@example.com>"),
        ("< spaced@example.com >", "<spaced@example.com>"),
        ("garbage", None),
        ("", None),
        ("<no-at-sign>", None),
    ],
)
def test_normalize_message_id(value: str, expected: str | None) -> None:
    assert normalize_message_id(value) == expected


def test_extract_message_ids_is_robust() -> None:
    value = "<a@x>,<b@y> junk <c@z>\r\n\t<d@w> (from Bob's mail of Monday) <bad id@x>"
    assert extract_message_ids(value) == ["<a@x>", "<b@y>", "<c@z>", "<d@w>"]
    assert extract_message_ids("two bare@ids.test here@there.test") == []


def test_hostile_mime_nesting_keeps_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    # rules.md #40: the stdlib parser recurses per nesting level; 2,000 levels must not crash.
    monkeypatch.setattr(parse, "MAX_MIME_HEADERS", 10_000)  # reach the RecursionError path
    raw = b"From: a@b.test\r\nSubject: deep\r\nMessage-ID: <deep@b.test>\r\n"
    raw += b"".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode()
        for i in range(2000)
    )
    raw += b"Content-Type: text/plain\r\n\r\nhello\r\n"
    parsed = parse_message(raw)
    assert parsed.subject == "deep"
    assert parsed.message_id == "<deep@b.test>"
    assert parsed.text == "(message structure too deeply nested to display)"
    assert "mime-nesting-too-deep" in parsed.defects


def test_too_many_mime_parts_keep_headers_and_parse_fast() -> None:
    # rules.md #40: a forward holding 3,000 parts (flanker enclosed-endless.eml) took 1.4 s.
    head = "From: a@b.test\nSubject: many\nMessage-ID: <many@b.test>\n"
    head += "Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
    head += "Content-Type: message/rfc822\n\nSubject: inner\n"
    head += "Content-Type: multipart/alternative; boundary=inner\n\n"
    part = "--inner\nContent-Type: text/html; charset=utf-8\n\n<p>copy</p>\n"
    raw = (head + part * 3000 + "--inner--\n--outer--\n").encode()
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 0.5
    assert parsed.subject == "many"
    assert parsed.message_id == "<many@b.test>"
    assert parsed.text == "(message has too many MIME parts to display)"
    assert "mime-too-many-parts" in parsed.defects


def test_bare_cr_line_endings_parse_like_lf() -> None:
    # Classic Mac line ends (sisimai maildir/mac): quoted-printable text and DSN fields survive.
    lf = sample_bytes("bounce_qp_dsn.eml")
    cr = parse_message(lf.replace(b"\n", b"\r"))
    assert cr.text == parse_message(lf).text
    assert "recipients. This is a permanent error" in cr.text
    assert cr.bounce is not None and cr.bounce.permanent
    assert cr.bounce.original_message_id == "<dl.t58.abcdefabcdefabcd.5e6f7a8b9c@deskline.test>"
    assert "bare-cr-line-endings" in cr.defects


def test_utf8_text_under_a_legacy_charset_label_is_read_as_utf8() -> None:
    # rules.md #36: an 8-bit UTF-8 body labelled ISO-2022-JP is not turned into U+FFFD.
    parsed = parse_sample("charset_utf8_labelled_iso2022jp.eml")
    assert parsed.text == "請求書の金額が注文と違います。\n確認をお願いします。\n"
    assert parsed.subject == "請求書について"


def test_html_with_only_styles_has_no_visible_content() -> None:
    raw = _mail(
        "From: a@b.test\nContent-Type: text/html",
        "<html><head><style>p { color: red }</style></head><body><img src=x></body></html>",
    )
    assert parse_message(raw).text == "(no visible content)"


def test_mutated_samples_never_raise() -> None:
    # rules.md #36, #41: malformed mail is parsed, never lost to an exception.
    rnd = random.Random(2024)
    names = all_samples()
    tokens = [b"\n", b":", b"=?", b"?=", b"--", b"\x00", b"\xff", b"<", b"@", b";", b'"', b"\t"]
    for _ in range(300):
        data = bytearray(sample_bytes(rnd.choice(names)))
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(len(data) + 1)
            if rnd.random() < 0.5:
                data[pos:pos] = rnd.choice(tokens)
            else:
                del data[pos : pos + rnd.randint(1, 40)]
        try:
            parsed = parse_message(bytes(data))
        except MailParseError:
            continue
        assert isinstance(parsed.subject, str) and isinstance(parsed.text, str)
        parsed.text.encode("utf-8")


def test_mbox_from_line_and_utf8_bom_are_tolerated() -> None:
    mbox = parse_message(
        b"From MAILER-DAEMON Mon Jan  1 10:00:00 2024\nFrom: a@b.test\nSubject: mbox\n\nhi\n"
    )
    assert mbox.subject == "mbox" and mbox.sender is not None
    bom = parse_message(b"\xef\xbb\xbfFrom: a@b.test\r\nSubject: bom\r\n\r\nhi\r\n")
    assert bom.subject == "bom"
    assert bom.sender is not None and bom.sender.addr == "a@b.test"


def test_huge_headers_are_capped() -> None:
    # rules.md #40: a 300 KB subject and 5,000 recipients are bounded, and parsed fast.
    recipients = ", ".join(f"u{i}@x.test" for i in range(5000))
    started = time.perf_counter()
    parsed = parse_message(_mail(f"From: a@b.test\nSubject: {'long ' * 60000}\nTo: {recipients}"))
    assert time.perf_counter() - started < 2.0
    assert len(parsed.subject) == 1000
    assert len(parsed.to) == 1000
