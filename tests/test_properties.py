"""Custom ticket properties (issue 13, SPEC D21): admins define them (text, number, date, choice,
checkbox), reps set them with a timeline line, every ticket JSON has them; a required one
blocks only a person's close, automations pass with a timeline note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from automation import admin, properties
from automation.admin import SettingsError
from automation.services import DomainError, close_ticket
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_cli import desk_cli


@pytest.fixture
async def desk(db: Database) -> Desk:
    desk = await Desk.create(db, received=False, closed=False)
    await desk.receive(make_mail(subject="Printer on fire")[0])
    return desk


async def _define(desk: Desk, name: str, kind: str, **kw: Any) -> None:
    await desk.admin(lambda repo, me: properties.define_property(repo, me, name, kind, **kw))


async def _set(desk: Desk, name: str, value: str | None, number: int = 1) -> str | None:
    return await desk.as_user(
        "rita", lambda repo, u: properties.set_property(repo, u, number, name, value)
    )


async def test_each_type_reads_its_values_and_refuses_others(desk: Desk) -> None:
    await _define(desk, "Region", "choice", choices=["EMEA", "Americas"])
    await _define(desk, "seats", "number")
    await _define(desk, "renewal", "date")
    await _define(desk, "vip", "checkbox")
    await _define(desk, "account", "text")
    assert await _set(desk, "region", "emea") == "EMEA"  # spelled as the admin did
    assert await _set(desk, "seats", " 12.50 ") == "12.5"
    assert await _set(desk, "renewal", "2027-01-31") == "2027-01-31"
    assert await _set(desk, "vip", "Yes") == "yes"
    assert await _set(desk, "account", "  ACME   Corp ") == "ACME Corp"
    for name, bad, said in (
        ("region", "Asia", "not one of EMEA, Americas"),
        ("seats", "lots", "not a number"),
        ("seats", "NaN", "not a number"),
        ("renewal", "31/01/2027", "not a date"),
        ("vip", "maybe", "not yes or no"),
        ("account", "a\x1b[31mb", "control characters"),
        ("nope", "1", "no property 'nope'"),
    ):
        with pytest.raises(DomainError, match=said):
            await _set(desk, name, bad)
    detail = await desk.ticket(1)
    assert detail["ticket"]["properties"] == {
        "account": "ACME Corp",
        "region": "EMEA",
        "renewal": "2027-01-31",
        "seats": 12.5,
        "vip": True,
    }
    assert (await desk.tickets())[0]["properties"]["seats"] == 12.5


async def test_changes_are_timeline_lines_and_clearing_removes_the_value(desk: Desk) -> None:
    await _define(desk, "seats", "number")
    await _set(desk, "seats", "3")
    await _set(desk, "seats", "3.0")  # the same value: no second line
    assert await _set(desk, "seats", None) is None
    detail = await desk.ticket(1)
    lines = [e for e in detail["timeline"] if e["type"] == "property_changed"]
    assert [e["summary"] for e in lines] == ["Seats: (none) → 3", "Seats: 3 → (none)"]
    assert {e["actor"]["name"] for e in lines} == {"rita"}
    assert detail["ticket"]["properties"] == {}


async def test_only_admins_define_and_names_are_checked(desk: Desk) -> None:
    with pytest.raises(SettingsError, match="not an admin"):
        await desk.as_user("rita", lambda repo, u: properties.define_property(repo, u, "x", "text"))
    for name, kind, kw, said in (
        ("priority", "text", {}, "ticket field already"),
        ("2fast", "text", {}, "letter then"),
        ("size", "colour", {}, "one of text, number"),
        ("size", "choice", {}, "needs its choices"),
        ("size", "text", {"choices": ["a"]}, "only a choice"),
    ):
        with pytest.raises(SettingsError, match=said):
            await _define(desk, name, kind, **kw)
    await _define(desk, "Size", "text")
    with pytest.raises(SettingsError, match="exists already"):
        await _define(desk, "size", "number")
    await _set(desk, "size", "XL")
    had = await desk.admin(lambda repo, me: properties.remove_property(repo, me, "size"))
    assert had == 1
    assert (await desk.ticket(1))["ticket"]["properties"] == {}


async def test_d21_a_required_property_blocks_only_a_persons_close(desk: Desk) -> None:
    await _define(desk, "region", "choice", choices=["EMEA"], required=True)
    with pytest.raises(DomainError, match=r"#1 needs the property region before it can close"):
        await desk.as_user("rita", lambda repo, u: close_ticket(repo, u, 1))
    with pytest.raises(DomainError, match="needs the property region"):
        await desk.move(1, "Closed")
    assert (await desk.ticket(1))["ticket"]["state"] == "OPEN"
    await _set(desk, "region", "emea")
    await desk.as_user("rita", lambda repo, u: close_ticket(repo, u, 1))
    assert (await desk.ticket(1))["ticket"]["state"] == "CLOSED"


async def test_d21_an_automation_closes_with_a_timeline_note(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await _define(desk, "region", "text", required=True)

    def close_new_tickets(repo: Any, me: Any) -> None:
        pipeline = admin.pipeline_or_default(repo, None)
        closed = admin.status_in(repo, pipeline, "Closed")
        workflow = admin.status_workflow(repo, admin.status_in(repo, pipeline, "New"))
        repo.add_workflow_action(workflow, "move_ticket", {"status_id": closed.id})

    await desk.admin(close_new_tickets)
    await desk.receive(make_mail(subject="Closed by a workflow")[0])
    detail = await desk.ticket(1)
    assert detail["ticket"]["state"] == "CLOSED"
    [note] = [e for e in detail["timeline"] if e["type"] == "closed_without_required"]
    assert note["summary"] == "Closed without the required region"
    assert note["actor"]["kind"] == "workflow"
    assert note["data"] == {"missing": ["region"]}


@pytest.mark.sqlite_only
def test_property_commands(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    cli.deliver(make_mail(to="help@acme.example")[0])
    out = cli.run(
        "property",
        "define",
        "tier",
        "choice",
        "--choice",
        "Gold",
        "--choice",
        "Silver",
        "--required",
    ).stdout
    assert "tier defined: choice (Gold, Silver), required to close" in out
    assert cli.json("property", "list")["properties"] == [
        {"name": "tier", "type": "choice", "choices": ["Gold", "Silver"], "required": True}
    ]
    refused = cli.run("close", "1", ok=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        "ticket #1 needs the property tier before it can close (set it with set-property)"
    )
    assert "tier = Gold" in cli.run("property", "set", "1", "tier", "gold", "--as", "rita").stdout
    assert cli.json("ticket", "show", "1")["ticket"]["properties"] == {"tier": "Gold"}
    assert "properties: tier Gold" in cli.run("ticket", "show", "1").stdout
    bad = cli.run("property", "set", "1", "tier", "Bronze", ok=False)
    assert bad.stderr.count("\n") == 1 and "not one of Gold, Silver" in bad.stderr
    assert cli.run("property", "set", "1", "tier", ok=False).returncode == 2
    assert "tier cleared" in cli.run("property", "set", "1", "tier", "--clear").stdout
    assert "removed (0 tickets had it)" in cli.run("property", "remove", "tier").stdout
    assert "No properties defined." in cli.run("property", "list").stdout
