"""Undo over a time window (SPEC B5.1, D3): `deskline undo --rule|--workflow|--user --since`.

What a trigger, a workflow or a person changed since a time comes back field by field where the
field still holds the value set ("changed since" otherwise); their waiting mail is cancelled,
their enrollments stop counting, creations are listed; no status action or trigger runs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from automation import services
from automation.undo_window import Report, Selector, UndoWindowError, allowed, undo_window
from storage import undo_history
from storage.database import Database
from tests.helpers import Desk, make_mail

HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest_asyncio.fixture
async def desk(db_url: str) -> AsyncIterator[Desk]:
    made = await Desk.create(Database(db_url))
    yield made
    await made.close()


async def _undo(desk: Desk, who: str, selector: Selector, *, dry_run: bool = False) -> Report:
    def change(repo: Any, user: Any) -> Report:
        allowed(user, selector)
        lines = undo_history.lines_since(repo.session, HOUR_AGO)
        return undo_window(repo, user, selector, HOUR_AGO, lines, dry_run=dry_run)

    return await desk.as_user(who, change)


async def _rule(desk: Desk, kind: str) -> Selector:
    ids = await desk.db.query(lambda s: undo_history.trigger_ids(s, kind))
    return Selector("rule", kind, ids)


async def _ticket_replied(desk: Desk, subject: str) -> int:
    """A ticket the rep answered (R-T1: Waiting on contact) and the customer answered back
    (R-T2: Waiting on us)."""
    raw, mid = make_mail(subject=subject)
    await desk.receive(raw)
    number = max(t["number"] for t in await desk.tickets())
    await desk.reply(number, send_now=True)
    again, _ = make_mail(subject=f"Re: {subject}", in_reply_to=mid)
    await desk.receive(again)
    assert await desk.status(number) == "Waiting on us"
    return number


async def test_undo_of_a_trigger_reverts_its_moves_unless_changed_since_b5_1(desk: Desk) -> None:
    first = await _ticket_replied(desk, "Printer on fire")
    second = await _ticket_replied(desk, "Toner leaks")
    await desk.move(second, "Waiting on contact", user="admin")  # changed since by a person
    selector = await _rule(desk, "customer_replied")

    preview = await _undo(desk, "admin", selector, dry_run=True)
    assert await desk.status(first) == "Waiting on us"  # a dry run writes nothing
    assert {(r.ticket, r.field, r.outcome) for r in preview.rows} == {
        (first, "status", "reverted"),
        (second, "status", "changed since"),
    }

    before = await desk.timeline_types(first)
    report = await _undo(desk, "admin", selector)
    assert await desk.status(first) == "Waiting on contact"
    assert await desk.status(second) == "Waiting on contact"
    [changed] = [r for r in report.rows if r.outcome == "changed since"]
    assert changed.ticket == second and "now Waiting on contact" in changed.detail
    after = await desk.timeline_types(first)
    assert after[: len(before)] == before  # history is kept; the revert is new lines
    assert after[len(before) :] == ["undone", "status_changed"]
    assert await desk.drain() == 0  # no status action and no trigger waits to run


async def test_undo_of_a_persons_close_cancels_its_mail_and_reports_it_b5_1(desk: Desk) -> None:
    raw, _ = make_mail(subject="Close me")
    await desk.receive(raw)
    await desk.as_user("rita", lambda repo, u: services.close_ticket(repo, u, 1))
    closing = [o for o in await desk.outbox() if o["template"] == "Ticket closed"]
    assert [o["state"] for o in closing] == ["queued"]
    selector = Selector("user", "rita", frozenset({await _user_id(desk, "rita")}))

    report = await _undo(desk, "rita", selector)
    assert await desk.status(1) == "New"
    outcomes = {(r.field, r.outcome) for r in report.rows}
    assert ("status", "reverted") in outcomes and ("email", "cancelled") in outcomes
    [cancelled] = [o for o in await desk.outbox() if o["template"] == "Ticket closed"]
    assert cancelled["state"] == "cancelled"
    assert report.enrollments  # the Closed status action's enrollment no longer counts
    detail = await desk.ticket(1)
    assert detail["ticket"]["closed_at"] is None
    # again: nothing left to revert, the status is said to be changed since (by the undo)
    again = await _undo(desk, "rita", selector)
    assert [r.outcome for r in again.rows if r.field == "status"] == ["changed since"]


async def test_a_rep_undoes_only_their_own_changes_b5_1(desk: Desk) -> None:
    admin_id = await _user_id(desk, "admin")
    with pytest.raises(UndoWindowError, match="only an admin"):
        await _undo(desk, "rita", Selector("user", "admin", frozenset({admin_id})))
    with pytest.raises(UndoWindowError, match="only an admin"):
        await _undo(desk, "rita", await _rule(desk, "customer_replied"))


async def test_creations_are_listed_not_removed_b5_1(desk: Desk) -> None:
    raw, _ = make_mail(subject="Inbox only")
    await desk.receive(raw)
    await desk.as_user("rita", lambda repo, u: services.add_note(repo, u, 1, "a note"))
    selector = Selector("user", "rita", frozenset({await _user_id(desk, "rita")}))
    report = await _undo(desk, "rita", selector)
    assert [(r.field, r.outcome) for r in report.rows] == [("note added", "listed")]
    assert "note" in await desk.timeline_types(1)


async def _user_id(desk: Desk, name: str) -> int:
    def find(repo: Any) -> int:
        user = repo.user_by_name(name)
        assert user is not None
        return int(user.id)

    return await desk.read(find)


def test_undo_command_needs_yes_without_a_terminal_and_prints_json_b5_1(tmp_path: Path) -> None:
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    raw, _ = make_mail(to="help@acme.example", subject="Close me")
    assert cli.deliver(raw)["stored"] == 1
    cli.run("close", "1", "--as", "rita")
    refused = cli.run("undo", "--user", "rita", "--since", "1h", ok=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    refused = cli.run(
        "undo", "--user", "admin", "--since", "1h", "--dry-run", "--as", "rita", ok=False
    )
    assert refused.returncode == 1 and "only an admin" in refused.stderr
    dry = cli.run("undo", "--user", "rita", "--since", "1h", "--dry-run")
    assert "would revert" in dry.stdout and cli.status(1) == "Closed"
    done = json.loads(
        cli.run("undo", "--user", "me", "--since", "1h", "--yes", "--json", "--as", "rita").stdout
    )
    assert cli.status(1) == "New"
    fields = {(c["field"], c["outcome"]) for c in done["changes"]}
    assert ("status", "reverted") in fields and ("email", "cancelled") in fields


async def test_undo_of_a_workflow_cancels_its_waiting_mail_b5_1(desk: Desk) -> None:
    from sqlalchemy import select

    from storage import models as m

    raw, _ = make_mail(subject="Ack me")
    await desk.receive(raw)
    [ack] = [o for o in await desk.outbox() if o["template"] == "Ticket received"]
    assert ack["state"] == "queued"
    workflow_id = await desk.db.query(
        lambda s: s.scalar(select(m.Enrollment.workflow_id).where(m.Enrollment.ticket_id == 1))
    )
    report = await _undo(desk, "admin", Selector("workflow", "w", frozenset({workflow_id})))
    assert [(r.field, r.outcome) for r in report.rows] == [("email", "cancelled")]
    [ack] = [o for o in await desk.outbox() if o["template"] == "Ticket received"]
    assert ack["state"] == "cancelled"
    assert "mail_cancelled" in await desk.timeline_types(1)
