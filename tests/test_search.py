"""Full-text search (SPEC D19): the index is written with each message, one query language,
the same hits on SQLite and PostgreSQL, hostile queries get a message, never an SQL error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from automation import services
from automation.search.query import MAX_QUERY, QueryError, parse
from automation.search.tokens import words
from storage import models as m
from storage import search
from storage.database import Database
from storage.search import search_page
from tests.helpers import SUPPORT, Desk, make_mail
from tests.test_cli import desk_cli

NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def find(desk: Desk, text: str, viewer: str | None = None) -> list[str]:
    """The subjects of the conversations `text` finds, in their order."""
    query = parse(text)

    def read(session):  # type: ignore[no-untyped-def]
        viewer_id = None
        if viewer:
            viewer_id = session.scalar(select(m.User.id).where(m.User.name == viewer))
        return search_page(session, query, viewer_id=viewer_id, now=NOW)

    page = await desk.db.query(read)
    return [row["subject"] for row in page.rows]


def with_attachment(subject: str, filename: str, body: str = "See the file.") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Dora Diaz <dora@client.example>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 12, 1, 9, tzinfo=UTC))
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@client.example>"
    msg.set_content(body)
    msg.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes()


@pytest.fixture
async def desk(db: Database) -> Desk:
    desk = await Desk.create(db)
    fire = make_mail(subject="Printer on fire", body="The tray smokes. Café nearby.")
    await desk.receive(fire[0])
    await desk.receive(
        make_mail(
            subject="Invoice question",
            body="Why was my credit card charged twice?",
            sender="bob@shop.example",
            name="Bob Builder",
        )[0]
    )
    await desk.receive(
        make_mail(subject="Refund please", body="I want a refund for order 4411, spam aside.")[0]
    )
    await desk.receive(with_attachment("Contract attached", "signed-contract_v2.pdf"))
    return desk


def test_words_fold_case_and_accents_and_split_on_punctuation() -> None:
    found = words("Café-au-lait, RÉSUMÉ_v2 ｆｕｌｌ")
    assert found == ["cafe", "au", "lait", "resume", "v2", "full"]
    assert words("x" * 65 + " ok") == ["ok"]  # no base64 blobs as words


async def test_words_are_found_in_body_subject_sender_and_file_names(desk: Desk) -> None:
    assert await find(desk, "smokes") == ["Printer on fire"]
    assert await find(desk, "cafe") == ["Printer on fire"]  # accent folded on both sides
    assert await find(desk, "INVOICE") == ["Invoice question"]
    assert await find(desk, "builder") == ["Invoice question"]  # sender's name
    assert await find(desk, "shop.example") == ["Invoice question"]  # address, as a phrase
    assert await find(desk, "contract_v2") == ["Contract attached"]  # attachment name
    assert await find(desk, "nothinglikethis") == []


async def test_phrases_prefixes_or_and_exclusion(desk: Desk) -> None:
    assert await find(desk, '"credit card"') == ["Invoice question"]
    assert await find(desk, '"card credit"') == []
    assert await find(desk, "refu*") == ["Refund please"]
    assert sorted(await find(desk, "smokes OR refund")) == ["Printer on fire", "Refund please"]
    assert await find(desk, "refund -spam") == []
    assert await find(desk, "order -spam") == []
    assert sorted(await find(desk, "-spam -contract")) == ["Invoice question", "Printer on fire"]
    # words are all in one message
    assert await find(desk, "smokes refund") == []


async def test_field_filters_match_only_their_field(desk: Desk) -> None:
    assert await find(desk, "subject:invoice") == ["Invoice question"]
    assert await find(desk, "subject:charged") == []  # a body word
    assert await find(desk, "from:bob") == ["Invoice question"]
    assert await find(desk, "from:dora contract") == ["Contract attached"]
    assert await find(desk, 'subject:"refund please"') == ["Refund please"]
    assert len(await find(desk, "to:support@help.example")) == 4


async def test_a_subject_hit_ranks_above_a_body_hit(desk: Desk) -> None:
    await desk.receive(make_mail(subject="Other thing", body="a note about an invoice")[0])
    assert await find(desk, "invoice") == ["Invoice question", "Other thing"]


async def test_replies_and_notes_are_indexed_in_their_transaction(desk: Desk) -> None:
    [ticket] = [t for t in await desk.tickets() if t["subject"] == "Printer on fire"]
    await desk.reply(ticket["number"], "We will send a technician named Zebulon.")
    await desk.as_user(
        "rita", lambda repo, user: services.add_note(repo, user, ticket["number"], "Quokka alert")
    )
    assert await find(desk, "zebulon") == ["Printer on fire"]
    assert await find(desk, "quokka") == ["Printer on fire"]


async def test_state_ticket_owner_channel_and_attachment_filters(desk: Desk) -> None:
    tickets = {t["subject"]: t["number"] for t in await desk.tickets()}
    await desk.as_user(
        "rita", lambda repo, u: services.assign(repo, u, tickets["Invoice question"], "rita")
    )
    await desk.move(tickets["Refund please"], "Closed")
    assert await find(desk, "owner:me", viewer="rita") == ["Invoice question"]
    assert await find(desk, "owner:rita invoice") == ["Invoice question"]
    assert "Invoice question" not in await find(desk, "is:unassigned")
    assert await find(desk, "ticket:closed") == ["Refund please"]
    assert "Refund please" not in await find(desk, "ticket:open")
    assert await find(desk, 'status:"closed"') == ["Refund please"]
    assert await find(desk, "has:attachment") == ["Contract attached"]
    assert len(await find(desk, "-has:attachment")) == 3
    assert len(await find(desk, "channel:support")) == 4
    assert len(await find(desk, "after:2000-01-01 before:2100-01-01")) == 4
    assert await find(desk, "before:2000-01-01") == []
    assert await find(desk, "after:7d") == []  # NOW is years after the mail


async def test_unknown_names_are_errors_that_list_the_known_ones(desk: Desk) -> None:
    for text, expected in (
        ("status:Nope", "statuses: "),
        ("owner:nobody", "users: me, "),
        ("channel:nope", "channels: support"),
        ("pipeline:nope", "pipelines: "),
    ):
        with pytest.raises(QueryError, match=expected):
            await find(desk, text)
    with pytest.raises(QueryError, match="owner:me needs"):
        await find(desk, "owner:me")


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        'refund"',
        "NEAR(refund order) AND ^x OR",
        "refund AND NOT order",
        "% _ %% __",
        "a\x00b refund",
        "col:refund {subject}: refund*",
        "'; DROP TABLE messages; --",
        "***",
        "-",
        "(((refund",
        "subject:",
    ],
)
async def test_hostile_queries_get_a_message_or_hits_never_an_sql_error(
    desk: Desk, hostile: str
) -> None:
    try:
        found = await find(desk, hostile)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(found, list)
    assert len(await find(desk, "to:support@help.example")) == 4  # nothing dropped


def test_long_and_malformed_queries_say_what_is_wrong() -> None:
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY}"):
        parse("refund " * 2000)
    with pytest.raises(QueryError, match="quote"):
        parse('"credit card')
    with pytest.raises(QueryError, match="did you mean status:"):
        parse("stauts:open")
    with pytest.raises(QueryError, match="is:open, is:closed"):
        parse("is:later")
    with pytest.raises(QueryError, match="not a date"):
        parse("before:yesterday")
    with pytest.raises(QueryError, match="OR goes between"):
        parse("OR refund")


@pytest.mark.sqlite_only
def test_cli_search_text_json_and_errors(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    mbox = tmp_path / "in.mbox"
    mails = [make_mail(subject=f"Case {i}", body=f"kiwi number {i}")[0] for i in range(3)]
    mbox.write_bytes(b"".join(b"From x@y Thu Jan  1 00:00:00 2026\n" + r + b"\n" for r in mails))
    cli.run("import", "--channel", "support", "--historical", str(mbox))
    found = json.loads(cli.run("search", "kiwi", "--json", "--limit", "2").stdout)
    assert found["version"] and found["order"] == "relevance" and found["total"] == 3
    assert len(found["conversations"]) == 2 and found["next"]
    rest = json.loads(cli.run("search", "kiwi", "--json", "--after", found["next"]).stdout)
    seen = {c["id"] for c in found["conversations"] + rest["conversations"]}
    assert len(seen) == 3 and rest["next"] is None
    text = cli.run("search", "kiwi", "number", "2").stdout
    assert "Case 2" in text and "Case 1" not in text
    bad = cli.run("search", "stauts:open", ok=False)
    assert bad.returncode != 0 and "did you mean status:" in bad.stderr
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@pytest.mark.sqlite_only
async def test_the_migration_indexes_the_messages_a_desk_already_holds(
    desk: Desk, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from storage.database import alembic_config

    path = desk.db.where
    await desk.db.close()
    engine = create_engine(f"sqlite:///{path}")
    for revision in ("0007", "head"):  # no index at 0007; the upgrade builds it
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            (command.downgrade if revision == "0007" else command.upgrade)(cfg, revision)
    engine.dispose()
    progress = re.search(r"Indexing messages for search: (\d+) of (\d+)", capfd.readouterr().err)
    assert progress and progress.group(1) == progress.group(2) and int(progress.group(1)) >= 4
    assert await find(desk, "smokes") == ["Printer on fire"]
    assert await find(desk, "contract_v2") == ["Contract attached"]


async def test_many_matches_come_newest_first_with_the_same_hits(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    best_first = sorted(await find(desk, "to:support@help.example -spam"))
    monkeypatch.setattr(search, "RELEVANCE_LIMIT", 1)  # every word now matches "too many"
    query = parse("to:support@help.example -spam")
    first = await desk.db.query(lambda s: search_page(s, query, now=NOW, limit=2))
    assert first.order == "newest" and first.total is None and first.next
    rest = await desk.db.query(lambda s: search_page(s, query, now=NOW, after=first.next))
    rows = first.rows + rest.rows
    assert sorted(r["subject"] for r in rows) == best_first

    # newest first: the conversation of the newest matching message (to support) first
    def newest_to_support(session):  # type: ignore[no-untyped-def]
        newest: dict[int, int] = {}
        for msg in session.scalars(select(m.Message).order_by(m.Message.id)):
            if "support@help.example" in [*(msg.to_addrs or []), *(msg.cc_addrs or [])]:
                newest[msg.conversation_id] = msg.id
        return newest

    newest = await desk.db.query(newest_to_support)
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, key=lambda c: newest[c], reverse=True)
    # a new message in the oldest conversation brings it to the top of page one
    oldest = rows[-1]["id"]
    parent = await desk.db.query(
        lambda s: s.scalar(select(m.Message.message_id).where(m.Message.conversation_id == oldest))
    )
    reply = make_mail(subject="Re: earlier", body="Still waiting.", in_reply_to=parent)
    await desk.receive(reply[0])
    again = await desk.db.query(lambda s: search_page(s, query, now=NOW, limit=2))
    assert again.rows[0]["id"] == oldest and again.total is None
    assert await find(desk, "smokes") == ["Printer on fire"]  # one match: still found
