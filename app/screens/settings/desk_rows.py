"""Rows of a pipeline's settings around its statuses: the pipeline itself, connected channels,
the two triggers (R-T1..R-T5), email templates (B7) and the branding switch (R-A3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.content import Content

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.keys import KeyName
from app.screens.settings.host import SettingsHost
from app.screens.settings.pages import LIVE_NOTE
from app.screens.settings.rows import Hint, PagedRow, Row, box, count, hint, on_off
from app.screens.template_editor import TemplateEditor
from automation import admin
from automation.web_paths import web_path
from storage import settings_views, views
from storage.repository import SqlRepository
from widgets.text import block, line

SWITCH = "settings.switch"


class PipelineRow(Row):
    kind = "pipeline"
    KEYS = (
        hint("rename", "settings.rename"),
        hint("move up/down", "settings.move_up", "settings.move_down"),
        hint("new pipeline", "settings.new"),
        hint("remove (moves its tickets)", "settings.delete"),
    )

    @classmethod
    def of(cls, pipeline: dict[str, Any], pipelines: list[dict[str, Any]]) -> PipelineRow:
        index = next(i for i, p in enumerate(pipelines) if p["id"] == pipeline["id"]) + 1
        of = len(pipelines)
        prompt = Content.from_markup(
            "[b]Pipeline[/b] $name [$text-muted]($index of $count)[/]",
            name=line(pipeline["name"]),
            index=str(index),
            count=str(of),
        )
        return cls(f"pipeline:{pipeline['id']}", prompt, {**pipeline, "index": index, "count": of})

    def explain(self) -> list[Content]:
        d = self.data
        return [
            Content.from_markup("[b]$name[/b]", name=line(d["name"])),
            Content(
                f"Pipeline {d['index']} of {d['count']}: an ordered list of statuses. Channels "
                "connected to it open their tickets in its first status."
            ),
        ]

    def hints(self) -> tuple[Hint, ...]:
        if self.data["count"] > 1:
            return (*self.KEYS, hint("pick another pipeline", "settings.pipeline"))
        return self.KEYS

    def open(self, screen: SettingsHost) -> None:
        if self.data["count"] > 1:
            screen.action_pick_pipeline()

    def move(self, screen: SettingsHost, step: int) -> None:
        position = self.data["index"] + step
        if not 1 <= position <= self.data["count"]:
            screen.notify("It is already at that end.", severity="warning")
            return
        name = self.data["name"]
        screen.change(
            lambda repo, me: admin.move_pipeline(repo, me, name, position),
            f"{line(name)} moved to position {position}",
        )

    def rename(self, screen: SettingsHost) -> None:
        name = self.data["name"]

        def renamed(text: str | None) -> None:
            if text and text.strip():
                screen.change(
                    lambda repo, me: admin.rename_pipeline(repo, me, name, text),
                    f"Pipeline renamed to {line(text)}",
                )

        screen.app.push_screen(PromptScreen(f"Rename the pipeline {name}", value=name), renamed)

    def new(self, screen: SettingsHost) -> None:
        def named(text: str | None) -> None:
            if text and text.strip():
                screen.change(
                    lambda repo, me: admin.add_pipeline(repo, me, text).id,
                    f"Pipeline {line(text)} added with the default statuses and triggers",
                    after=screen.go_to_pipeline,
                )

        screen.app.push_screen(PromptScreen("New pipeline name"), named)

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._remove(screen))

    async def _remove(self, screen: SettingsHost) -> None:
        """SPEC §1: a pipeline goes only after its tickets move to another pipeline's status."""
        name = self.data["name"]
        others = [(p["name"], p["name"]) for p in screen.pipelines if p["name"] != name]
        if not others:
            screen.notify("The only pipeline cannot be removed.", severity="warning")
            return
        target = await screen.app.push_screen_wait(
            PickerScreen(f"Move the tickets of {line(name)} to the pipeline", others)
        )
        if target is None:
            return
        pipelines = await screen.backend.query(views.pipelines)
        statuses = next(p["statuses"] for p in pipelines if p["name"] == target)
        status = await screen.app.push_screen_wait(
            PickerScreen("…and the status", [(s["label"], s["label"]) for s in statuses])
        )
        if status is None:
            return
        question = (
            f"Remove the pipeline {line(name)}, its statuses, triggers and actions, and move "
            f"its tickets and channels to {line(target)} · {line(status)}?"
        )
        if not await screen.app.push_screen_wait(ConfirmScreen(question)):
            return
        screen.pipeline_id = None
        screen.change(
            lambda repo, me: admin.remove_pipeline(
                repo, me, name, move_to_pipeline=target, move_to_status=status
            ),
            lambda moved: f"{line(name)} removed; {count(moved, 'ticket')} moved",
        )


class ChannelRow(Row):
    kind = "channel"
    KEYS = (hint("switch ticket automation", SWITCH),)

    @classmethod
    def of(cls, channel: dict[str, Any]) -> ChannelRow:
        prompt = Content.from_markup(
            "$box $name [$text-muted]$kind$live[/]",
            box=box(channel["ticket_automation"]),
            name=line(channel["name"]),
            kind=channel["kind"],
            live=" · skipped by triggers" if channel["live"] else "",
        )
        return cls(f"channel:{channel['id']}", prompt, channel)

    def explain(self) -> list[Content]:
        d = self.data
        rows = [
            Content.from_markup(
                "[b]$name[/b] [$text-muted]$kind $address[/]",
                name=line(d["name"]),
                kind=d["kind"],
                address=line(d["address"] or ""),
            ),
            Content(f"Ticket automation is {on_off(d['ticket_automation'])}."),
            Content(
                "On: every new conversation on this channel opens a ticket in the pipeline's "
                "first status. Off: conversations stay in the inbox, a rep can make a "
                "ticket by hand."
            ),
        ]
        if d["live"]:
            rows.append(Content(LIVE_NOTE))
        rows.extend(Content(note) for note in _web_notes(d))
        return rows

    def open(self, screen: SettingsHost) -> None:
        screen.action_switch()

    def switch(self, screen: SettingsHost) -> None:
        name, on = self.data["name"], not self.data["ticket_automation"]
        screen.change(
            lambda repo, me: admin.set_channel(repo, me, name, ticket_automation=on),
            f"Ticket automation of {line(name)}: {on_off(on)}",
        )


def _web_notes(channel: dict[str, Any]) -> list[str]:
    """Where a form or chat channel lives (C1), and that messenger has no transport."""
    if channel["kind"] == "messenger":
        return [
            "Messenger has no transport in Deskline: receiving it needs Meta's servers, so "
            "nothing arrives on this channel by itself."
        ]
    path = web_path(channel["kind"], channel["id"], channel["name"])
    if path is None:
        return []
    return [
        f"Its page is {path} on the address of `deskline serve --http ADDR:PORT`; "
        "`deskline channel list` shows it and `channel set` changes its web settings."
    ]


class TriggerRow(PagedRow):
    kind = "trigger"
    KEYS = (
        hint("switch on/off", SWITCH),
        hint("edit action: target status", "settings.target"),
        hint("view workflow", "settings.view_workflow"),
    )

    @classmethod
    def of(cls, trigger: dict[str, Any]) -> TriggerRow:
        if trigger["broken"]:
            target = Content.from_markup("[b $text-error]BROKEN: target status removed[/]")
        else:
            target = Content(line(trigger["target"]))
        prompt = Content.assemble(
            Content.from_markup("$box $name → ", box=box(trigger["enabled"]), name=trigger["name"]),
            target,
        )
        return cls(f"trigger:{trigger['kind']}", prompt, trigger)

    def explain(self) -> list[Content]:
        d = self.data
        rows = [
            Content.from_markup("[b]$name[/b]", name=d["name"]),
            Content(f"Checkbox: {'on' if d['enabled'] else 'off (does nothing)'}"),
        ]
        if d["broken"]:
            rows.append(
                Content.from_markup(
                    "[b $text-error]Broken:[/] its target status was removed; it does nothing "
                    "until you pick a target."
                )
            )
        else:
            rows.append(Content(f"Target status: {line(d['target'])}"))
        rows.append(Content(f"When: {d['workflow']['enrollment']}."))
        rows.append(Content("Re-checking it does not act on past messages."))
        return rows

    def page(self, name: KeyName) -> tuple[str, Content]:
        d = self.data
        rows = [
            Content(f"State: {on_off(d['enabled'])}"),
            Content(f"Enrollment: {d['workflow']['enrollment']}."),
            Content(f"Action: {line(d['workflow']['action'])}."),
        ]
        if d["broken"]:
            rows.append(
                Content.from_markup("[b $text-error]Broken[/]: it does nothing until fixed.")
            )
        return f"Workflow: {d['name']}", Content("\n\n").join(rows)

    def switch(self, screen: SettingsHost) -> None:
        d = self.data
        pipeline, key, on = screen.pipeline_name, d["key"], not d["enabled"]
        screen.change(
            lambda repo, me: admin.set_trigger(
                repo, me, pipeline, key, enabled=on, target_label=None
            ),
            f"{d['name']}: {on_off(on)}",
        )

    def target(self, screen: SettingsHost) -> None:
        """R-T4 "Edit action": the trigger's target, an open status of the pipeline (E5)."""
        pipeline, key, name = screen.pipeline_name, self.data["key"], self.data["name"]
        choices = [(s["status"], s["status"]) for s in screen.statuses if s["state"] == "OPEN"]

        def chosen(label: str | None) -> None:
            if label is not None:
                screen.change(
                    lambda repo, me: admin.set_trigger(
                        repo, me, pipeline, key, enabled=None, target_label=label
                    ),
                    f"{name} → {line(label)}",
                )

        screen.app.push_screen(
            PickerScreen(
                f"{name}: set the status to (open statuses)", choices, self.data["target"]
            ),
            chosen,
        )


class TemplateRow(Row):
    kind = "template"
    KEYS = (
        hint("edit with live preview", "settings.edit"),
        hint("rename", "settings.rename"),
        hint("delete (asks what its actions send instead)", "settings.delete"),
        hint("new template", "settings.new"),
        Hint((), "open", fixed="enter"),  # the list's own key: it has no id to remap
    )
    CUSTOM_ONLY = frozenset({"rename", "delete"})  # a built-in keeps its name and stays

    @classmethod
    def of(cls, template: dict[str, Any]) -> TemplateRow:
        prompt = Content.from_markup(
            "$name [$text-muted]$kind[/]",
            name=line(template["name"]),
            kind="built-in" if template["builtin"] else "custom",
        )
        return cls(f"template:{template['id']}", prompt, template)

    def takes(self, action: str) -> bool:
        if self.data.get("builtin") and action in self.CUSTOM_ONLY:
            return False
        return super().takes(action)

    def hints(self) -> tuple[Hint, ...]:
        return tuple(h for h in self.KEYS if not h.ids or all(map(self.takes, h.actions)))

    def explain(self) -> list[Content]:
        d = self.data
        return [
            Content.from_markup("[b]$name[/b]", name=line(d["name"])),
            Content.from_markup("[$text-muted]Subject:[/] $s", s=line(d["subject"])),
            Content(block(d["body"])),
            _used_by(d.get("used_by", [])),
        ]

    def open(self, screen: SettingsHost) -> None:
        open_template(screen, self.data)  # a rep reads it

    def edit(self, screen: SettingsHost) -> None:
        open_template(screen, self.data)

    def new(self, screen: SettingsHost) -> None:
        open_template(screen, None)

    def rename(self, screen: SettingsHost) -> None:
        name = self.data["name"]

        def renamed(text: str | None) -> None:
            if text and text.strip() and text.strip() != name:
                screen.change(
                    lambda repo, me: admin.rename_template(repo, me, name, text).id,
                    f"Template renamed to {line(' '.join(text.split()))}",
                )

        screen.app.push_screen(PromptScreen(f"Rename the template {name}", value=name), renamed)

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._delete(screen))

    async def _delete(self, screen: SettingsHost) -> None:
        """Issue 18 item 7: a template in use goes only once its actions send another one."""
        name, used_by = self.data["name"], self.data.get("used_by", [])
        replacement: str | None = None
        if used_by:
            others = [(t["name"], t["name"]) for t in screen.templates if t["name"] != name]
            replacement = await screen.app.push_screen_wait(
                PickerScreen(
                    f"{line(name)} is sent by {count(len(used_by), 'action')}: they send which "
                    "template instead? (escape cancels)",
                    others,
                )
            )
            if replacement is None:
                return
            question = (
                f"Delete the template {line(name)}? Its {count(len(used_by), 'action')} will "
                f"send {line(replacement)}."
            )
        else:
            question = f"Delete the template {line(name)}? No action sends it."
        if not await screen.app.push_screen_wait(ConfirmScreen(question)):
            return
        screen.change(
            lambda repo, me: admin.delete_template(repo, me, name, replace_with=replacement),
            f"Template {line(name)} deleted"
            + (f"; its actions send {line(replacement)}" if replacement else ""),
        )


def _used_by(uses: list[str]) -> Content:
    if not uses:
        return Content.from_markup("[$text-muted]Sent by no action.[/]")
    return Content.from_markup(
        "[$text-muted]Sent by:[/] $uses", uses="; ".join(line(use) for use in uses)
    )


def open_template(screen: SettingsHost, template: dict[str, Any] | None) -> None:
    """The template editor with a live preview against the newest ticket (B7); read-only for
    a rep. Saving lints against the newest tickets first, renders outside any transaction."""
    taken = frozenset(t["name"].casefold() for t in screen.templates)

    async def load_preview(number: int | None) -> dict[str, Any]:
        return await screen.backend.query(lambda s: settings_views.template_preview(s, number))

    async def lint(subject: str, body: str) -> list[str]:
        samples = await screen.backend.query(lambda s: admin.lint_samples(SqlRepository(s)))
        return await asyncio.to_thread(admin.lint, subject, body, samples)

    def save(name: str, subject: str, body: str, close: Callable[[], Any]) -> None:
        def saved(template_id: int) -> None:
            screen.select(f"template:{template_id}")
            close()

        screen.change(
            lambda repo, me: admin.set_template(repo, me, name, subject=subject, body=body).id,
            f"Template {line(name)} saved",
            after=saved,
        )

    screen.app.push_screen(
        TemplateEditor(
            name=template["name"] if template is not None else None,
            subject=template["subject"] if template is not None else "",
            body=template["body"] if template is not None else "",
            read_only=not screen.me.is_admin,
            load_preview=load_preview,
            save=save,
            lint=lint,
            taken=taken,
        )
    )


class BrandingRow(Row):
    kind = "branding"
    KEYS = (hint("switch on/off", SWITCH),)

    @classmethod
    def of(cls, enabled: bool) -> BrandingRow:
        prompt = Content.from_markup("$box Branding line at the end", box=box(enabled))
        return cls("branding", prompt, {"enabled": enabled})

    def explain(self) -> list[Content]:
        return [
            Content.from_markup("[b]Branding line[/b]"),
            Content(
                f"Automated emails end with a Deskline line: {on_off(self.data['enabled'])}. "
                "Switching it off removes the line."
            ),
        ]

    def open(self, screen: SettingsHost) -> None:
        screen.action_switch()

    def switch(self, screen: SettingsHost) -> None:
        on = not self.data["enabled"]
        screen.change(
            lambda repo, me: admin.set_branding(repo, me, on),
            f"Branding line: {on_off(on)}",
        )
