"""Tags on tickets (issue 13): added and removed by reps with a timeline line, in every
ticket JSON, found with tag: in search; bad tags are refused in one line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from automation import tags
from automation.search.query import parse
from automation.services import DomainError
from storage.database import Database
from storage.search import search_page
from tests.helpers import Desk, make_mail
from tests.test_cli import desk_cli


@pytest.fixture
async def desk(db: Database) -> Desk:
    desk = await Desk.create(db)
    await desk.receive(make_mail(subject="Printer on fire")[0])
    await desk.receive(make_mail(subject="Invoice", sender="bob@shop.example")[0])
    return desk


def test_a_tag_is_folded_and_checked() -> None:
    assert tags.normalize("  VIP   Customer ") == "vip customer"
    assert tags.split("billing, VIP,,") == ["billing", "vip"]
    for bad in ("", "   ", "x" * 65, "a\x07b"):
        with pytest.raises(DomainError):
            tags.normalize(bad)


async def test_tags_are_added_and_removed_on_the_timeline(desk: Desk) -> None:
    def tag(*names: str):  # type: ignore[no-untyped-def]
        return desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 1, names))

    assert await tag("VIP", "billing") == ["vip", "billing"]
    assert await tag("vip") == []  # already there: no second line
    gone = await desk.as_user("rita", lambda repo, u: tags.untag_ticket(repo, u, 1, ["billing"]))
    assert gone == ["billing"]
    detail = await desk.ticket(1)
    assert detail["ticket"]["tags"] == ["vip"]
    lines = [e for e in detail["timeline"] if e["type"] == "tags_changed"]
    assert [e["summary"] for e in lines] == ["Tagged vip, billing", "Untagged billing"]
    assert [(e["actor"]["kind"], e["actor"]["name"]) for e in lines] == [("user", "rita")] * 2
    with pytest.raises(DomainError, match="no ticket"):
        await desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 99, ["x"]))


async def test_search_finds_tickets_by_tag(desk: Desk) -> None:
    await desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 2, ["Key Account"]))

    async def subjects(text: str) -> list[str]:
        query = parse(text)
        page = await desk.db.query(lambda s: search_page(s, query, now=datetime.now(UTC)))
        return [row["subject"] for row in page.rows]

    assert await subjects('tag:"key account"') == ["Invoice"]
    assert await subjects('-tag:"key account"') == ["Printer on fire"]
    assert await subjects("tag:nobody-uses-this") == []


@pytest.mark.sqlite_only
def test_tag_commands(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    cli.deliver(make_mail(to="help@acme.example")[0])
    assert "tagged vip, billing" in cli.run("tag", "1", "VIP,", "billing").stdout
    assert "already had" in cli.run("tag", "1", "vip").stdout
    assert cli.json("tickets")["tickets"][0]["tags"] == ["billing", "vip"]
    assert cli.json("tags")["tags"] == [
        {"tag": "billing", "tickets": 1},
        {"tag": "vip", "tickets": 1},
    ]
    assert "untagged billing" in cli.run("untag", "1", "billing").stdout
    bad = cli.run("tag", "1", "x" * 70, ok=False)
    assert bad.returncode != 0 and "longer than 64" in bad.stderr
    assert bad.stderr.count("\n") == 1


@pytest.mark.sqlite_only
async def test_the_ticket_record_edits_tags_with_completion(tmp_path: Path) -> None:
    from textual.widgets import Input

    from app.screens.dialogs import PromptScreen
    from app.screens.ticket import TicketScreen
    from tests.app_helpers import make_app, ready, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Invoice"])
    await desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 2, ["billing"]))
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("j", "t")  # the older conversation: ticket #1
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen)
        await wait_for(pilot, lambda: screen.record is not None, what="the record")
        number = screen.number
        await pilot.press("number_sign")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        box = prompt.query_one(Input)
        await pilot.press(*"vip, bi")
        await wait_for(pilot, lambda: box._suggestion == "vip, billing", what="the completion")
        await pilot.press("right", "enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, TicketScreen)
                and screen.record["ticket"]["tags"] == ["billing", "vip"]
            ),
            what="the tags",
        )
        await pilot.press("number_sign")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        assert prompt.query_one(Input).value == "billing, vip"
        await pilot.press("ctrl+u", *"vip", "enter")
        await wait_for(pilot, lambda: screen.record["ticket"]["tags"] == ["vip"], what="untag")
    detail = await desk.ticket(number)
    assert [e["summary"] for e in detail["timeline"] if e["type"] == "tags_changed"] == [
        "Tagged vip, billing",
        "Untagged billing",
    ]
    await desk.db.close()
