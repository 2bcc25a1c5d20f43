"""Saved views (issue 13, SPEC D20): a search saved under a name for the inbox or the board;
owner:me is whoever uses the view; a user's own view shadows a shared one; admins save the
shared ones; `deskline view ...` and `deskline search --view NAME`."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation import saved_views, services
from automation.admin import SettingsError
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_cli import desk_cli


@pytest.fixture
async def desk(db: Database) -> Desk:
    return await Desk.create(db, received=False, closed=False)


async def test_d20_own_views_shadow_shared_ones(desk: Desk) -> None:
    def save(user: str, name: str, query: str, **kw):  # type: ignore[no-untyped-def]
        return desk.as_user(user, lambda repo, u: saved_views.save_view(repo, u, name, query, **kw))

    with pytest.raises(SettingsError, match="not an admin"):
        await save("rita", "Team", "is:open", shared=True)
    await save("admin", "Refunds", "refund is:open", shared=True)
    await save("admin", "Board", "tag:vip", shared=True, list_name="board")
    view, replaced = await save("rita", "refunds", "refund owner:me")
    assert (view.shared, replaced) == (False, False)
    _, replaced = await save("rita", "refunds", "refund owner:me is:open")
    assert replaced

    def seen(user: str) -> list[tuple[str, str, bool]]:
        async def read() -> list[tuple[str, str, bool]]:
            def fn(repo, u):  # type: ignore[no-untyped-def]
                return [(v.name, v.query, v.shared) for v in saved_views.views_of(repo, u)]

            return await desk.as_user(user, fn)

        return read()  # type: ignore[return-value]

    assert await seen("rita") == [
        ("Board", "tag:vip", True),
        ("refunds", "refund owner:me is:open", False),
    ]
    assert await seen("admin") == [("Board", "tag:vip", True), ("Refunds", "refund is:open", True)]
    found = await desk.as_user("rita", lambda repo, u: saved_views.find_view(repo, u, "REFUNDS"))
    assert found.query == "refund owner:me is:open"
    await desk.as_user("rita", lambda repo, u: saved_views.delete_view(repo, u, "refunds"))
    found = await desk.as_user("rita", lambda repo, u: saved_views.find_view(repo, u, "refunds"))
    assert (found.query, found.shared) == ("refund is:open", True)
    for name, query, said in (
        ("", "x", "needs a name"),
        ("x", "   ", "needs a search"),
        ("x", '"open', "quote"),
    ):
        with pytest.raises(services.DomainError, match=said):
            await save("rita", name, query)
    with pytest.raises(services.DomainError, match=r"no view 'nope' \(views: Board, Refunds"):
        await desk.as_user("rita", lambda repo, u: saved_views.find_view(repo, u, "nope"))


@pytest.mark.sqlite_only
def test_view_commands_and_search_view(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    cli.run("user", "add", "sam", "--email", "sam@acme.example")
    cli.deliver(make_mail(to="help@acme.example", subject="Refund please")[0])
    cli.deliver(make_mail(to="help@acme.example", subject="Printer", sender="b@x.example")[0])
    cli.run("assign", "1", "rita")
    out = cli.run("view", "save", "Mine", "owner:me", "--shared").stdout
    assert "View Mine saved: owner:me" in out
    # D20: me is whoever runs the view
    found = cli.json("search", "--view", "mine", "--as", "rita")["conversations"]
    assert [c["subject"] for c in found] == ["Refund please"]
    assert cli.json("search", "--view", "mine", "--as", "sam")["conversations"] == []
    cli.run("view", "save", "Mine", "subject:printer", "--as", "sam")
    found = cli.json("search", "--view", "Mine", "--as", "sam")["conversations"]
    assert [c["subject"] for c in found] == ["Printer"]
    assert cli.json("view", "list", "--as", "sam")["views"] == [
        {"name": "Mine", "query": "subject:printer", "list": "inbox", "shared": False}
    ]
    assert cli.json("view", "show", "mine", "--as", "rita")["view"]["shared"] is True
    refused = cli.run("view", "save", "Team", "is:open", "--shared", "--as", "rita", ok=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    bad = cli.run("search", "--view", "nope", ok=False)
    assert bad.returncode == 1 and "no view 'nope'" in bad.stderr
    assert "View Mine deleted" in cli.run("view", "delete", "Mine", "--as", "sam").stdout
    assert "Mine" in cli.run("view", "list", "--as", "sam").stdout  # the shared one again


async def test_is_snoozed_and_prop_filters_in_search(desk: Desk) -> None:
    """D23: is:snoozed finds what is snoozed now; prop:NAME=VALUE reads the value by its type."""
    from datetime import UTC, datetime, timedelta

    from automation import properties, snooze
    from automation.search.query import QueryError, parse
    from storage.search import search_page

    await desk.receive(make_mail(subject="Printer on fire")[0])
    await desk.receive(make_mail(subject="Invoice", sender="bob@shop.example")[0])
    later = datetime.now(UTC) + timedelta(hours=2)
    await desk.as_user("rita", lambda repo, u: snooze.snooze_by(repo, u, later, number=1))
    await desk.admin(lambda repo, me: properties.define_property(repo, me, "seats", "number"))
    await desk.as_user("rita", lambda repo, u: properties.set_property(repo, u, 2, "seats", "3"))

    async def subjects(text: str) -> list[str]:
        query = parse(text)
        page = await desk.db.query(lambda s: search_page(s, query, now=datetime.now(UTC)))
        return [row["subject"] for row in page.rows]

    assert await subjects("is:snoozed") == ["Printer on fire"]
    assert await subjects("-is:snoozed") == ["Invoice"]
    assert await subjects("prop:seats=3.0") == ["Invoice"]
    assert await subjects("-prop:seats=3") == ["Printer on fire"]
    with pytest.raises(QueryError, match="prop:seats is not a property test"):
        parse("prop:seats")
    for text, said in (("prop:nope=1", "not a property"), ("prop:seats=many", "not a number")):
        with pytest.raises(QueryError, match=said):
            await subjects(text)


@pytest.mark.sqlite_only
def test_conversations_leave_snoozed_ones_out(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    cli.deliver(make_mail(to="help@acme.example", subject="Later")[0])
    cli.deliver(make_mail(to="help@acme.example", subject="Now", sender="b@x.example")[0])
    cli.run("snooze", "1", "2h", "--as", "rita")
    shown = cli.json("conversations")["conversations"]
    assert [c["subject"] for c in shown] == ["Now"]
    snoozed = cli.json("conversations", "--snoozed")["conversations"]
    assert [c["subject"] for c in snoozed] == ["Later"]
