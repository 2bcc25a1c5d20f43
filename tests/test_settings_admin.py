"""Admin functions behind the settings screen: pipelines, statuses, branding (SPEC §1, §5, R-A3).

Each change is refused for a rep with a SettingsError and changes nothing (SPEC §7).
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from automation import admin
from automation.admin import SettingsError
from automation.templates import BRANDING_LINE
from storage import queries
from tests.helpers import Desk, make_mail


async def _pipelines(desk: Desk) -> list[str]:
    return await desk.db.run(lambda repo: [p.name for p in repo.pipelines()])


async def _statuses(desk: Desk, pipeline: str | None = None) -> list[str]:
    return await desk.db.run(
        lambda repo: [s.label for s in repo.statuses(admin.pipeline_or_default(repo, pipeline).id)]
    )


async def _body(desk: Desk, outbox_id: int) -> str:
    message = message_from_bytes(await desk.outbox_raw(outbox_id), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return str(message.get_content())


async def _view(desk: Desk, pipeline: str | None = None) -> dict:
    return await desk.db.run(
        lambda repo: queries.automation_view(
            repo.session, admin.pipeline_or_default(repo, pipeline)
        )
    )


async def test_set_branding_is_admin_only_and_removes_the_line(db) -> None:
    """R-A3: automated email carries the branding line until an admin switches it off."""
    desk = await Desk.create(db)
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.set_branding(repo, u, False))
    assert (await _view(desk))["branding"] is True
    raw, _ = make_mail(sender="first@customer.example")
    await desk.receive(raw)
    await desk.admin(lambda repo, u: admin.set_branding(repo, u, False))
    assert (await _view(desk))["branding"] is False
    raw, _ = make_mail(sender="second@customer.example")
    await desk.receive(raw)
    first, second = [await _body(desk, row["id"]) for row in await desk.outbox()]
    assert BRANDING_LINE.splitlines()[-1] in first
    assert BRANDING_LINE.splitlines()[-1] not in second


async def test_add_pipeline_starts_with_default_statuses_and_triggers(db) -> None:
    """SPEC §1: admins add pipelines; E15: the two triggers are on with their default targets."""
    desk = await Desk.create(db)
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.add_pipeline(repo, u, "Billing"))
    await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "  Billing   desk "))
    assert await _pipelines(desk) == ["Support Pipeline", "Billing desk"]
    assert await _statuses(desk, "Billing desk") == [
        "New",
        "Waiting on contact",
        "Waiting on us",
        "Closed",
    ]
    triggers = (await _view(desk, "Billing desk"))["triggers"]
    assert [(t["enabled"], t["target"]) for t in triggers] == [
        (True, "Waiting on contact"),
        (True, "Waiting on us"),
    ]
    with pytest.raises(SettingsError, match="exists already"):
        await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "billing DESK"))
    with pytest.raises(SettingsError, match="needs a name"):
        await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "   "))


async def test_rename_pipeline_keeps_its_channels_and_tickets(db) -> None:
    """SPEC §1: rename a pipeline; what is connected to it follows by id."""
    desk = await Desk.create(db)
    raw, _ = make_mail()
    await desk.receive(raw)
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user(
            "rita", lambda repo, u: admin.rename_pipeline(repo, u, "Support Pipeline", "X")
        )
    await desk.admin(
        lambda repo, u: admin.rename_pipeline(repo, u, "Support Pipeline", "Customer care")
    )
    assert await _pipelines(desk) == ["Customer care"]
    assert (await desk.tickets())[0]["pipeline"] == "Customer care"
    await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "Billing"))
    with pytest.raises(SettingsError, match="exists already"):
        await desk.admin(lambda repo, u: admin.rename_pipeline(repo, u, "Billing", "customer CARE"))


async def test_move_pipeline_reorders_and_checks_the_position(db) -> None:
    """SPEC §1: reorder pipelines; the first one is the default of the CLI."""
    desk = await Desk.create(db)
    for name in ("Billing", "Sales"):
        await desk.admin(lambda repo, u, name=name: admin.add_pipeline(repo, u, name))
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", lambda repo, u: admin.move_pipeline(repo, u, "Sales", 1))
    await desk.admin(lambda repo, u: admin.move_pipeline(repo, u, "Sales", 1))
    assert await _pipelines(desk) == ["Sales", "Support Pipeline", "Billing"]
    await desk.admin(lambda repo, u: admin.move_pipeline(repo, u, "Sales", 3))
    assert await _pipelines(desk) == ["Support Pipeline", "Billing", "Sales"]
    with pytest.raises(SettingsError, match="between 1 and 3"):
        await desk.admin(lambda repo, u: admin.move_pipeline(repo, u, "Sales", 4))


async def test_rename_status_keeps_trigger_targets_working(db) -> None:
    """SPEC §1 rename; R-T4: a trigger targets a status by id, so a renamed target is not broken,
    and the built-in workflow's name follows the label (R-A7)."""
    desk = await Desk.create(db)
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user(
            "rita", lambda repo, u: admin.rename_status(repo, u, None, "Waiting on us", "Ours")
        )
    await desk.admin(
        lambda repo, u: admin.rename_status(repo, u, None, "waiting on us", "Needs our answer")
    )
    view = await _view(desk)
    assert view["triggers"][1]["target"] == "Needs our answer"
    assert view["triggers"][1]["broken"] is False
    await desk.admin(lambda repo, u: admin.rename_status(repo, u, None, "New", "Fresh"))
    view = await _view(desk)
    assert view["statuses"][0]["workflows"][0]["name"] == "Fresh status actions"
    with pytest.raises(SettingsError, match="already"):
        await desk.admin(lambda repo, u: admin.rename_status(repo, u, None, "Fresh", "closed"))
    with pytest.raises(SettingsError, match="needs a label"):
        await desk.admin(lambda repo, u: admin.rename_status(repo, u, None, "Fresh", " "))


async def test_move_status_changes_where_new_tickets_start(db) -> None:
    """SPEC §1 reorder; R-C1: new tickets enter the pipeline's first status."""
    desk = await Desk.create(db, received=False)
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user(
            "rita", lambda repo, u: admin.move_status(repo, u, None, "Waiting on us", 1)
        )
    await desk.admin(lambda repo, u: admin.move_status(repo, u, None, "Waiting on us", 1))
    assert await _statuses(desk) == ["Waiting on us", "New", "Waiting on contact", "Closed"]
    raw, _ = make_mail()
    await desk.receive(raw)
    assert await desk.status(1) == "Waiting on us"
    with pytest.raises(SettingsError, match="between 1 and 4"):
        await desk.admin(lambda repo, u: admin.move_status(repo, u, None, "New", 0))


async def test_remove_pipeline_moves_its_tickets_and_channels_first(db) -> None:
    """SPEC §1: a pipeline is removed only by moving its tickets (to a status of another
    pipeline, whose status actions run, R-A1) and its channels; a rep cannot remove one."""
    desk = await Desk.create(db, received=False, closed=False)
    await desk.receive(make_mail(subject="Old pipeline ticket")[0])
    await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "Billing"))
    remove = lambda repo, u: admin.remove_pipeline(  # noqa: E731
        repo, u, "Support Pipeline", move_to_pipeline="Billing", move_to_status="Waiting on us"
    )
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user("rita", remove)
    with pytest.raises(SettingsError, match="different pipeline"):
        await desk.admin(
            lambda repo, u: admin.remove_pipeline(
                repo, u, "Billing", move_to_pipeline="Billing", move_to_status="New"
            )
        )
    assert await desk.admin(remove) == 1
    assert await _pipelines(desk) == ["Billing"]
    ticket = (await desk.ticket(1))["ticket"]
    assert (ticket["pipeline"], ticket["status"]) == ("Billing", "Waiting on us")
    assert "pipeline Support Pipeline removed" in (await desk.ticket(1))["timeline"][-1]["summary"]
    channels = await desk.db.query(queries.channel_rows)
    assert {c["pipeline"] for c in channels} == {"Billing"}
    # New mail on the moved channel opens tickets in Billing (R-C1).
    await desk.receive(make_mail(subject="After the move", sender="new@customer.example")[0])
    assert (await desk.ticket(2))["ticket"]["pipeline"] == "Billing"
