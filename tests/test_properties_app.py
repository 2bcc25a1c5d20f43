"""Properties in the ticket record (issue 13): P picks a property, then its value is typed
(checked as it is typed) or picked from its choices; the record's header shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation import properties


@pytest.mark.sqlite_only
async def test_the_ticket_record_sets_properties(tmp_path: Path) -> None:
    from textual.widgets import Input, OptionList

    from app.screens.dialogs import PickerScreen, PromptScreen
    from app.screens.ticket import TicketScreen
    from tests.app_helpers import make_app, ready, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    await desk.admin(
        lambda repo, me: properties.define_property(
            repo, me, "region", "choice", choices=["EMEA", "Americas"], required=True
        )
    )
    await desk.admin(lambda repo, me: properties.define_property(repo, me, "seats", "number"))
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen)
        await wait_for(pilot, lambda: screen.record is not None, what="the record")
        assert ("region", "", True) in screen.record["ticket"]["properties"]
        await pilot.press("P")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        await pilot.press("down", "enter")  # seats
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press(*"lots", "enter")  # refused: the dialog stays, saying why
        await pilot.pause()
        assert app.screen is prompt
        prompt.query_one(Input).value = ""
        await pilot.press(*"12", "enter")
        await wait_for(
            pilot,
            lambda: ("seats", "12", False) in screen.record["ticket"]["properties"],
            what="seats",
        )
        await pilot.press("P")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert picker.query_one(OptionList).option_count == 2
        await pilot.press("enter")  # region
        await wait_for(
            pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen is not picker
        )
        await pilot.press("down", "enter")  # Americas
        await wait_for(
            pilot,
            lambda: ("region", "Americas", True) in screen.record["ticket"]["properties"],
            what="region",
        )
    detail = await desk.ticket(1)
    assert detail["ticket"]["properties"] == {"region": "Americas", "seats": 12}
    await desk.db.close()
