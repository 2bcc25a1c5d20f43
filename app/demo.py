"""A demo help desk, and a simulated customer feed that keeps it moving.

`build_demo` makes a fresh SQLite file that looks like three weeks of a real help desk: about 300
conversations on two email channels ("support", "billing") and a chat channel, tickets in every
status of the default pipeline, reps assigning, answering, noting and closing, customers chasing,
answering with quoted history, saying thanks and coming back after a close, out-of-office
replies, newsletters and no-reply notices, and a few attachments.

Everything goes through the real paths, as live mail would (SPEC E1): each customer message is an
.eml file imported with `automation.importer.import_paths` (triggers fire, status actions run) and
every rep action is an `automation.services` call followed by an engine drain.

History is replayed in three-hour ticks on a simulated clock (`_ClockedDatabase`): the repository's
`now()` reads the clock, so tickets, conversations, the timeline and the outbox carry times spread
over the last three weeks instead of the second the demo was built. The random seed is fixed, so
every build tells the same story (only the dates move with today's date).

`run_feed` is a background service for the app (`app.backend.Service`): every few seconds it
delivers a new customer email or a reply in an open ticket's thread through the same ingestion
code as IMAP (`prepare` + `store_batch`), or has bob answer or close a ticket, so the board and the
inbox move by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from automation import admin, services
from automation.engine import Engine
from automation.importer import import_paths, prepare, store_batch
from mail.classify import strip_subject_prefixes
from mail.sources import EPOCH, RawItem
from storage import models as m
from storage.database import Database, DatabaseError
from storage.repository import SqlRepository

log = logging.getLogger("deskline.demo")
T = TypeVar("T")

SEED = 20260301
DAYS = 21  # the history the demo replays, ending a couple of minutes before it is built
TICK_HOURS = 3  # everything in one tick happens at one simulated time
COMPANY = "Brightwave"
DOMAIN = "demo.deskline.test"
SUPPORT = f"support@{DOMAIN}"
BILLING = f"billing@{DOMAIN}"
REPS = (("alice", "Alice Novak"), ("bob", "Bob Ferreira"), ("carol", "Carol Mensah"))
TEAM = "Tier 1"

# --- who writes in -------------------------------------------------------------------------

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Marco",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tanja",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Aiko",
    "Bruno",
    "Carmen",
    "Diego",
    "Elif",
    "Felix",
    "Greta",
    "Hugo",
    "Ivana",
    "Jamal",
    "Kofi",
    "Lucía",
    "Mei",
    "Nils",
]
LAST_NAMES = [
    "Kowalska",
    "Okafor",
    "Martin",
    "Volkov",
    "Johansson",
    "Haddad",
    "Lee",
    "Tanaka",
    "García",
    "Becker",
    "Yilmaz",
    "Schneider",
    "Rossi",
    "Ahmed",
    "Larsen",
    "Patel",
    "Dubois",
    "Silva",
    "Nasser",
    "Horvat",
    "Khan",
    "Moreau",
    "Chen",
    "Torres",
    "Demir",
    "Nowak",
    "Sato",
    "Costa",
    "Romero",
    "Alvarez",
    "Aydin",
    "Weber",
    "Lindqvist",
    "Fontaine",
    "Petrović",
    "Mensah",
    "Boateng",
    "Ortega",
]
COMPANIES = (
    "northwind.example",
    "acme-logistics.example",
    "bluefin-studio.example",
    "greenleaf.example",
    "kestrel-labs.example",
    "harbor-dental.example",
    "polaris-legal.example",
    "tinybakery.example",
    "oakridge-school.example",
    "vertex-analytics.example",
    "lumen-architects.example",
    "riverside-clinic.example",
    "copperpot.example",
    "fjord-travel.example",
    "sable-media.example",
)
PERSONAL = ("mail.example", "post.example", "inbox.example")
BROWSERS = ("Safari 18", "Firefox 134", "Chrome 132", "Edge 131")
INTEGRATIONS = ("Google Calendar", "Slack", "HubSpot", "Jira", "Dropbox", "Zapier")
PLANS = ("Starter", "Team", "Growth")


@dataclass(frozen=True)
class Person:
    name: str
    addr: str

    @property
    def first(self) -> str:
        return self.name.split()[0]

    @property
    def header(self) -> str:
        return f"{self.name} <{self.addr}>"


def make_person(rng: random.Random) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = _ascii(first.lower())
    style = rng.random()
    if style < 0.3:
        return Person(f"{first} {last}", f"{local}.{_ascii(last.lower())}@{rng.choice(PERSONAL)}")
    if style < 0.6:
        return Person(f"{first} {last}", f"{local}@{rng.choice(COMPANIES)}")
    return Person(f"{first} {last}", f"{local[0]}{_ascii(last.lower())}@{rng.choice(COMPANIES)}")


def _ascii(text: str) -> str:
    table = str.maketrans("éíóúćçñš", "eioucens")
    return "".join(c for c in text.translate(table) if c.isascii() and c.isalnum())


# --- what they write about -----------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    channel: str  # "support" or "billing"
    subject: str
    body: str
    answer: str
    priority: str | None = None


TOPICS = (
    Topic(
        "support",
        "Cannot log in after password reset",
        "Since I reset my password this morning the login page keeps saying my credentials "
        "are wrong. I have tried {browser} and the mobile app, same result.",
        "I have cleared the old sessions on your account, which were still holding the previous "
        "password. Could you try logging in again now, ideally in a private window?",
    ),
    Topic(
        "support",
        "Two-factor codes rejected on my new phone",
        "I moved to a new phone and restored my authenticator app from a backup. Every code "
        "it shows is rejected as invalid.",
        "Authenticator backups sometimes restore with a clock offset. I have reset two-factor "
        "authentication on your account: log in with your password and you will be asked to "
        "scan a fresh QR code.",
        "high",
    ),
    Topic(
        "support",
        "CSV export only contains the header row",
        "When I export the contacts list to CSV the file only has the header row. It worked "
        "fine last month and we have {n} contacts in the list.",
        "Thanks for the report. The export skips rows when a saved filter is still active on the "
        "list. Could you clear the filter (the funnel icon above the table) and export again?",
    ),
    Topic(
        "support",
        "API returns 502 on /v2/orders",
        "Since {hour}:10 UTC every call to /v2/orders returns a 502 Bad Gateway. Other "
        "endpoints work. Request id of the last failure: req_{code}.",
        "We found the cause: one of the order service nodes lost its database connection. "
        "It has been replaced and the endpoint answers again. Could you confirm on your side?",
        "urgent",
    ),
    Topic(
        "support",
        "Webhook deliveries failing with a timeout",
        "Our endpoint has been receiving no webhooks since yesterday. The delivery log in "
        "Brightwave says 'timeout after 10s' but our server answers in 200 ms.",
        "Our delivery workers were blocked by a certificate check on your domain. We have fixed "
        "the check and re-sent the {n} queued deliveries.",
        "high",
    ),
    Topic(
        "support",
        "How do I add a second admin?",
        "We hired a new office manager and want to give her admin rights. Where is that "
        "setting? I only see 'member' and 'guest' in the role menu.",
        "Only the account owner sees the 'admin' role. As the owner, open Settings → Members, "
        "pick her name and choose 'Admin' in the role menu.",
    ),
    Topic(
        "support",
        "Feature request: dark mode",
        "Love the product! Any plans for a dark theme? My eyes would thank you during late "
        "planning sessions.",
        "Thank you! Dark mode is on our roadmap for next quarter. I have added your vote to the "
        "request so you will hear from us when it ships.",
    ),
    Topic(
        "support",
        "{integration} sync stopped",
        "Our {integration} sync stopped on {weekday}. The integration page still says "
        "'connected' but nothing new has come through since.",
        "The {integration} token expired on their side. Please open Settings → Integrations, "
        "disconnect {integration} and connect it again; the sync picks up where it stopped.",
    ),
    Topic(
        "support",
        "Calendar shows meetings an hour late",
        "All meetings in the calendar view show one hour later than they are. My time zone in "
        "the profile is correct.",
        "Your workspace time zone was still set to the old daylight saving rules. I have "
        "updated it; a reload of the calendar should show the right times.",
    ),
    Topic(
        "support",
        "Mobile app crashes when opening attachments",
        "The iOS app closes itself whenever I tap a PDF attachment in a task. Version 5.{n} "
        "on an iPhone 15.",
        "This is a known issue in 5.{n} with large PDFs. A fix is in review with Apple; until "
        "then, 'Open in…' from the share menu works.",
    ),
    Topic(
        "support",
        "Can't invite new team members",
        "The invite button is greyed out for me. We have {n} seats and only use some of them.",
        "Invites were blocked because two pending invitations still count as seats. I have "
        "expired the old ones, so the button works again.",
    ),
    Topic(
        "support",
        "Reports page loads forever",
        "The reports page shows the spinner for minutes and then a blank chart. Other pages "
        "are fast. Tried in {browser}.",
        "The monthly report for your workspace was being rebuilt after the data import. It has "
        "finished now; the page should load in a few seconds.",
    ),
    Topic(
        "support",
        "SSO login fails with 'invalid audience'",
        "Since we rotated our identity provider certificate, SSO login fails with 'invalid "
        "audience'. Nobody on our team can log in except with passwords.",
        "The audience URI in your identity provider must match the one shown in Settings → "
        "Security → SSO. It changed with the new certificate; please copy it over again.",
        "high",
    ),
    Topic(
        "support",
        "Deleted a project by mistake",
        "A colleague deleted our '{project}' project this morning. Is there any way to restore "
        "it? It had two years of work in it.",
        "Good news: deleted projects are kept for 30 days. I have restored '{project}' with all "
        "its tasks and files; it is back in your sidebar.",
        "urgent",
    ),
    Topic(
        "support",
        "Email notifications not arriving",
        "None of my colleagues get notification emails any more, not even in spam. In-app "
        "notifications work.",
        "Your mail server started rejecting our sender address. Could you ask your IT team to "
        "allow notifications@brightwave.example? I have re-sent today's notifications.",
    ),
    Topic(
        "support",
        "Import from Trello skipped comments",
        "We imported our Trello boards yesterday. Cards came through but the comments are "
        "missing on about {n} of them.",
        "Comments older than the Trello export limit are not in the export file. I can import "
        "them through the API instead; may I go ahead?",
    ),
    Topic(
        "support",
        "Question about data retention",
        "Our data protection officer asks how long you keep deleted tasks and backups, and "
        "whether we can get a signed DPA.",
        "Deleted items are purged after 30 days and backups after 90. I have attached our "
        "standard DPA to your account page; you can sign it there.",
    ),
    Topic(
        "support",
        "Page is blank in {browser}",
        "After the update yesterday the board page is completely blank in {browser}. The "
        "console says 'ResizeObserver loop limit exceeded'.",
        "Thanks for the console output, that helped. The fix is deployed; please reload the page "
        "with the cache cleared (Shift+Reload).",
    ),
    Topic(
        "support",
        "How do I transfer workspace ownership?",
        "I am leaving the company at the end of the month. How do I make my colleague the owner "
        "of our workspace?",
        "Open Settings → Workspace → Ownership and pick your colleague; they get an email to "
        "accept. You stay an admin until you remove yourself.",
    ),
    Topic(
        "support",
        "Attachments over 10 MB fail to upload",
        "Uploading a 14 MB video to a task stops at 99% and shows 'upload failed'. Smaller "
        "files are fine.",
        "Your plan allows 10 MB per file. I have raised the limit for your workspace to 50 MB "
        "as a courtesy while we look at plan options.",
    ),
    Topic(
        "support",
        "Recurring tasks are created twice",
        "Every weekly task in our '{project}' project now appears twice each Monday.",
        "A duplicated schedule was left behind by the project copy you made last week. I have "
        "removed the duplicate; next Monday's tasks will appear once.",
    ),
    Topic(
        "support",
        "Where can I find the audit log?",
        "Our auditor wants a list of who changed permissions in March. Is there an audit log?",
        "Yes: Settings → Security → Audit log. You can filter by 'permission changed' and "
        "export the result as CSV.",
    ),
    Topic(
        "support",
        "Slack notifications are duplicated",
        "Each comment now shows up twice in our #projects Slack channel.",
        "The Slack app was connected twice, once by you and once by a colleague. I have removed "
        "the older connection.",
    ),
    Topic(
        "support",
        "Custom field values disappeared",
        "The 'Budget' custom field is empty on all tasks in '{project}' since this morning. "
        "We need these numbers for a client meeting.",
        "The field was renamed by a workspace admin and the old values were hidden, not lost. "
        "I have restored them on all {n} tasks.",
        "high",
    ),
    Topic(
        "billing",
        "Invoice {invoice} shows the wrong VAT",
        "The invoice you sent last week applies 23% VAT, but we are VAT-registered in Germany "
        "(DE{code}). Could you reissue it with reverse charge?",
        "You are right, the VAT number was missing from your billing profile. I have added it "
        "and reissued {invoice} with reverse charge; it is on your billing page.",
    ),
    Topic(
        "billing",
        "Charged twice this month",
        "Our card was charged {amount} twice on the {day}th. Please refund the duplicate.",
        "I can see the duplicate charge; it came from a retry after a timeout at the bank. "
        "The refund of {amount} is on its way and takes 3-5 business days.",
        "high",
    ),
    Topic(
        "billing",
        "Please cancel our subscription",
        "Please cancel our subscription at the end of the billing period. Thanks for "
        "everything, the project is over.",
        "Done: your subscription ends on the last day of this period and you will not be "
        "charged again. Your data stays available for export for 30 days.",
    ),
    Topic(
        "billing",
        "Upgrade from {plan} to Business",
        "We would like to move from {plan} to Business for the SSO feature. Is the price "
        "prorated if we switch mid-month?",
        "Yes, switching is prorated to the day. You can upgrade from the billing page, or I can "
        "do it for you if you confirm the number of seats.",
    ),
    Topic(
        "billing",
        "Need a PO number on invoice {invoice}",
        "Our accounts payable team cannot process invoice {invoice} without our purchase order "
        "number PO-{code}. Could you add it?",
        "I have added PO-{code} to your billing profile and reissued {invoice} with it.",
    ),
    Topic(
        "billing",
        "Card declined but the payment went through",
        "The billing page said our card was declined, but the bank shows the payment of "
        "{amount}. Are we paid up?",
        "Yes, you are paid up. The first attempt was declined and the automatic retry went "
        "through; the banner will disappear within the hour.",
    ),
    Topic(
        "billing",
        "Refund for unused seats",
        "We reduced our team from {n} to {seats} people. Can we get a refund for the unused "
        "seats on the annual plan?",
        "On annual plans we credit unused seats to the next invoice rather than refunding. "
        "I have applied the credit; it shows on your billing page.",
    ),
    Topic(
        "billing",
        "Change of billing address",
        "We moved offices. Please use our new address on future invoices: {street}.",
        "Updated: future invoices will show the new address. Would you like me to reissue the "
        "last one as well?",
    ),
    Topic(
        "billing",
        "Annual pricing for {seats} seats",
        "We are comparing tools for a team of {seats}. What would an annual Business plan cost, "
        "and do you offer a discount for schools?",
        "For {seats} seats the annual Business plan is listed on our pricing page, and schools "
        "get 40% off. I have sent a quote to this address.",
    ),
    Topic(
        "billing",
        "Receipt for order {order}",
        "Could you send me a receipt for order {order}? I need it for my expense report.",
        "Here you go: the receipt for {order} is now on your billing page under 'Receipts'.",
    ),
)
CHASES = (
    "Any update on this? It is blocking our team.",
    "Just checking in: is there any news on this?",
    "Sorry to chase, but could someone look at this today? We have a deadline on Friday.",
    "Hello? I have not heard back yet.",
)
ANSWERS = (
    "Thanks, I tried that but it still fails. I get the same error as before.",
    "That worked for me, but two of my colleagues still have the problem.",
    "Could you clarify which setting you mean? I don't see it where you describe.",
    "OK, I did that. What happens next?",
    "Thanks. One more question: will this happen again after the next update?",
)
THANKS = (
    "That fixed it, thank you!",
    "All good now, thanks for the quick help.",
    "Perfect, that's exactly what I needed. Have a nice day.",
    "Works again. Much appreciated!",
)
REOPENS = (
    "Sorry, the problem is back since this morning.",
    "It happened again today, same thing as last time.",
)
FOLLOW_UPS = (
    "Thanks for checking. I have escalated this to our engineers and applied a fix on our side; "
    "could you try once more and tell me what you see?",
    "Good question. It is the third tab under Settings, called 'Workspace'. Let me know if you "
    "still cannot find it and I will send a screenshot.",
    "Thank you, that helps. I have changed the setting for your colleagues as well; they need to "
    "log out and in again once.",
    "It should not happen again: the fix is part of this week's release.",
)
NOTES = (
    "Checked the logs: the requests never reached our API gateway.",
    "Customer is on the annual Growth plan, handle with priority.",
    "Same root cause as last week's incident, see the status page post-mortem.",
    "Finance confirmed: reissue with reverse charge.",
    "Asked engineering in #support-escalations, waiting for an answer.",
)
CHATS = (
    ("Pricing question", "Hi! Does the Team plan include guest users?", "And is there a trial?"),
    ("Help with the API", "Where do I find my API key?", "Found it, thanks!"),
    ("Login problem", "I can't log in, it says my account is locked.", "It's for work, urgent"),
    ("Export question", "Can I export a project to PDF?", "ok, and to Excel?"),
    ("Mobile app", "Is there an Android app?", None),
    ("Trial extension", "Could you extend our trial by a week? We are still evaluating.", None),
    ("Integrations", "Do you integrate with Microsoft Teams?", "What about Outlook?"),
    ("Invoice copy", "I need a copy of last month's invoice", None),
)

NEWSLETTERS = (
    "pricing pages that convert",
    "why annual plans win",
    "onboarding emails people read",
    "the support metrics that matter",
)

# --- demo configuration ----------------------------------------------------------------------


def _user(r: SqlRepository, name: str) -> m.User:
    user = r.user_by_name(name)
    assert user is not None, f"the demo creates {name}"
    return user


def _configure(r: SqlRepository) -> None:
    admin.ensure_defaults(r)
    boss = _user(r, "admin")
    reps = [
        r.add_user(name, display_name=display, email=f"{name}@{DOMAIN}", is_admin=False)
        for name, display in REPS
    ]
    r.add_team(TEAM, reps)
    for name, address in (("support", SUPPORT), ("billing", BILLING)):
        admin.add_channel(
            r,
            boss,
            name=name,
            kind="email",
            address=address,
            pipeline_name=None,
            ticket_automation=True,
        )
    # Chat channels start with ticket automation off (R-C2, R-A8): its conversations stay in the
    # inbox until a rep makes a ticket of one by hand.
    admin.add_channel(
        r, boss, name="chat", kind="chat", address=None, pipeline_name=None, ticket_automation=None
    )
    admin.add_action(
        r,
        boss,
        pipeline_name=None,
        status_label="New",
        kind="send_email",
        template_name="Ticket received",
    )
    admin.add_action(
        r,
        boss,
        pipeline_name=None,
        status_label="Waiting on us",
        kind="notify",
        to="team",
        target_name=TEAM,
    )
    admin.add_action(
        r,
        boss,
        pipeline_name=None,
        status_label="Closed",
        kind="send_email",
        template_name="Ticket closed",
    )


# --- the simulated clock -----------------------------------------------------------------------


@dataclass
class _Clock:
    now: datetime
    real_start: datetime  # rows stamped by a column default at real time have times after this


class _ClockedRepository(SqlRepository):
    def __init__(self, session: Session, clock: _Clock) -> None:
        super().__init__(session)
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now


# Columns filled by a model default (real time) rather than by `repo.now()`: each transaction
# stamps its new rows with the simulated time. `sent_at` only where it is not a mail's Date.
_STAMPED: tuple[tuple[type[m.Base], str], ...] = (
    (m.Message, "created_at"),
    (m.Message, "sent_at"),
    (m.Notification, "created_at"),
    (m.Contact, "created_at"),
    (m.Enrollment, "at"),
    (m.ActionRun, "at"),
    (m.OutboxMail, "next_attempt_at"),
)
_SETUP_STAMPED = (
    (m.User, "created_at"),
    (m.Channel, "created_at"),
    (m.Workflow, "created_at"),
    (m.Template, "updated_at"),
)


class _ClockedDatabase(Database):
    """A `Database` whose transactions see the simulated clock (demo building only): the
    function run gets a repository whose `now()` is the clock.

    A few columns are filled by a model default with the real time instead (`_STAMPED`);
    `stamp()` gives the rows written since its last call the simulated time. Only rows above the
    last stamped id of each table are looked at, so it stays cheap.
    """

    def __init__(self, url: str, clock: _Clock) -> None:
        super().__init__(url)
        self.clock = clock
        self._floors: dict[str, int] = {}

    async def run(self, fn: Callable[[Any], T]) -> T:
        return await super().run(lambda repo: fn(_ClockedRepository(repo.session, self.clock)))

    async def run_bulk(self, fn: Callable[[Any], T]) -> T:
        return await super().run_bulk(lambda repo: fn(_ClockedRepository(repo.session, self.clock)))

    async def drain(self) -> int:
        return await Engine(self).drain()

    async def stamp(self) -> None:
        self._floors = await super().run_bulk(lambda repo: self._stamp(repo.session))

    def _stamp(self, session: Session) -> dict[str, int]:
        floors: dict[str, int] = {}
        for model, column in _STAMPED:
            table: Table = model.__table__  # type: ignore[assignment]
            floor = self._floors.get(table.name, 0)
            col = table.c[column]
            session.execute(
                update(table)
                .where(table.c.id > floor, col >= self.clock.real_start)
                .values({column: self.clock.now})
            )
            floors[table.name] = session.scalar(select(func.max(table.c.id))) or 0
        return floors


def _stamp_setup(r: SqlRepository, when: datetime) -> None:
    for model, column in _SETUP_STAMPED:
        table: Table = model.__table__  # type: ignore[assignment]
        r.session.execute(update(table).values({column: when}))


# --- the plan: stories replayed tick by tick ---------------------------------------------------

MAIL_KINDS = frozenset({"mail", "customer", "ooo", "chat", "bulk"})


@dataclass
class Story:
    """One conversation from its first message to wherever it is today."""

    channel: str
    person: Person
    subject: str
    body: str
    answer: str = ""
    rep: str = "alice"
    priority: str | None = None
    html: bool = False
    attachment: str | None = None  # "png" / "pdf"
    forwarded: bool = False
    origin_mid: str = ""
    mids: list[str] = field(default_factory=list)  # chat: the visitor's messages so far
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Step:
    tick: int  # which tick of TICK_HOURS since the start of the history
    minute: int  # the minute in the tick a mail is dated
    kind: str  # mail customer ooo chat bulk | assign note reply close chat_ticket
    story: Story
    text: str = ""


class _Planner:
    def __init__(self, rng: random.Random, ticks: int) -> None:
        self.rng = rng
        self.ticks = ticks
        self.steps: list[Step] = []
        self.ids = 0

    def message_id(self, domain: str) -> str:
        self.ids += 1
        return f"<demo.{self.ids}.{self.rng.getrandbits(48):012x}@{domain}>"

    def add(
        self, story: Story, hours: float, after: float | None, kind: str, text: str = ""
    ) -> float | None:
        """Schedule a step at `hours` (since the start), in a later tick than the story's
        previous step (at `after`); returns when it happens, or None (and nothing scheduled)
        when that would be in the future."""
        tick = int(hours // TICK_HOURS)
        if after is not None:
            tick = max(tick, int(after // TICK_HOURS) + 1)
        if tick >= self.ticks:
            return None
        minute = self.rng.randint(0, TICK_HOURS * 60 - 10)
        self.steps.append(Step(tick, minute, kind, story, text))
        return tick * TICK_HOURS + minute / 60

    def start_hour(self) -> float:
        """A time in the history, mostly during working hours on weekdays."""
        while True:
            hours = self.rng.uniform(0, self.ticks * TICK_HOURS - 0.5)
            hour_of_day = hours % 24
            if 7 <= hour_of_day <= 19 or self.rng.random() < 0.25:
                return hours


def _values(rng: random.Random) -> dict[str, Any]:
    return {
        "browser": rng.choice(BROWSERS),
        "integration": rng.choice(INTEGRATIONS),
        "plan": rng.choice(PLANS),
        "n": rng.randint(3, 48),
        "seats": rng.choice((12, 25, 40, 80)),
        "hour": f"{rng.randint(6, 17):02d}",
        "code": f"{rng.getrandbits(32):08x}",
        "invoice": f"INV-2026-{rng.randint(100, 999)}",
        "order": f"#{rng.randint(80000, 99999)}",
        "amount": f"€{rng.randint(4, 60) * 12}.00",
        "day": rng.randint(2, 28),
        "weekday": rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
        "project": rng.choice(("Website relaunch", "Q3 campaign", "Onboarding", "Warehouse")),
        "street": f"{rng.randint(1, 120)} Harbour Street, 2nd floor",
    }


def _topic_story(rng: random.Random, topic: Topic, person: Person, rep: str) -> Story:
    values = _values(rng)
    greeting = rng.choice(("Hi", "Hello", "Hi there", "Dear Brightwave team"))
    sign = rng.choice(("Thanks,", "Best regards,", "Cheers,", "Thank you,"))
    company = person.addr.split("@")[1].split(".")[0].replace("-", " ").title()
    signature = person.first
    if person.addr.split("@")[1] in COMPANIES and rng.random() < 0.6:
        signature = f"{person.name}\n{company}"
    body = f"{greeting},\n\n{topic.body.format(**values)}\n\n{sign}\n{signature}\n"
    return Story(
        channel=topic.channel,
        person=person,
        subject=topic.subject.format(**values),
        body=body,
        answer=topic.answer.format(**values),
        rep=rep,
        priority=topic.priority,
    )


def plan_history(rng: random.Random, *, tickets: int = 262, chats: int = 30) -> list[Step]:
    """Every step of the demo's three weeks, in the order they are replayed."""
    planner = _Planner(rng, DAYS * 24 // TICK_HOURS)
    people = [make_person(rng) for _ in range(190)]
    reps = [name for name, _ in REPS]
    for index in range(tickets):
        topic = rng.choice(TOPICS)
        story = _topic_story(rng, topic, rng.choice(people), rng.choice(reps))
        roll = rng.random()
        story.html = roll < 0.15
        if index % 37 == 5:
            story.attachment = "pdf" if topic.channel == "billing" else "png"
        if index % 61 == 11:  # a customer forwards something (R-T2.1 on the timeline later)
            story.forwarded = True
        _plan_ticket(planner, story, planner.start_hour(), ooo=index % 29 == 3)
    for index in range(chats):
        subject, first, second = CHATS[index % len(CHATS)]
        person = rng.choice(people) if rng.random() < 0.3 else make_person(rng)
        story = Story("chat", person, subject, first)
        hours = planner.start_hour()
        last = planner.add(story, hours, None, "chat", first)
        if last is not None and second is not None and rng.random() < 0.7:
            last = planner.add(story, hours + rng.uniform(0, 1), last, "chat", second) or last
        if last is not None and index in (4, 17):  # R-C2: a rep makes a ticket of a chat by hand
            planner.add(story, last + 1, last, "chat_ticket")
    _plan_automated(planner, rng)
    planner.steps.sort(key=lambda s: (s.tick, s.minute))
    return planner.steps


def _plan_ticket(planner: _Planner, story: Story, hours: float, *, ooo: bool) -> None:
    rng = planner.rng
    add = planner.add
    last = add(story, hours, None, "mail")
    if last is None:
        return
    if ooo:  # the customer's server answers our "Ticket received" (R-T7: no trigger fires)
        last = add(story, hours + 0.2, last, "ooo") or last
    if rng.random() < 0.85:  # triage: someone takes it
        step = add(story, hours + rng.uniform(0.3, 4), last, "assign")
        if step is None:
            return
        last = step
    if rng.random() < 0.12:
        last = add(story, last + rng.uniform(1, 5), last, "note", rng.choice(NOTES)) or last
    state, answered = "new", 0
    for _ in range(6):
        if state in ("new", "us"):
            if state == "new" and rng.random() < 0.12:  # the customer chases (R-T2 from New)
                step = add(story, last + rng.uniform(6, 30), last, "customer", rng.choice(CHASES))
                if step is None:
                    return
                last, state = step, "us"
            if rng.random() > 0.93:
                return  # nobody gets to it
            text = story.answer if answered == 0 else rng.choice(FOLLOW_UPS)
            gap = rng.uniform(1, 30) if state == "new" else rng.uniform(2, 60)
            step = add(story, last + gap, last, "reply", text)
            if step is None:
                return
            last, state, answered = step, "contact", answered + 1
        elif state == "contact":
            roll = rng.random()
            if roll < 0.35 and answered < 3:
                step = add(story, last + rng.uniform(2, 40), last, "customer", rng.choice(ANSWERS))
                if step is None:
                    return
                last, state = step, "us"
            elif roll < 0.6:
                step = add(story, last + rng.uniform(1, 24), last, "customer", rng.choice(THANKS))
                if step is None:
                    return
                last = add(story, step + rng.uniform(0.5, 6), step, "close") or step
                state = "closed"
            elif roll < 0.82:
                last = add(story, last + rng.uniform(24, 96), last, "close") or last
                state = "closed"
            else:
                return  # the customer never answers
        elif state == "closed":
            if rng.random() < 0.08:  # R-T2.3: a reply to a closed ticket reopens it
                step = add(story, last + rng.uniform(12, 72), last, "customer", rng.choice(REOPENS))
                if step is None:
                    return
                last, state = step, "us"
            else:
                return


def _plan_automated(planner: _Planner, rng: random.Random) -> None:
    """Newsletters and no-reply notices: inbox conversations under the automated filter, no
    ticket (R-C4)."""
    for week in range(DAYS // 7 + 1):
        hours = week * 7 * 24 + 9 + rng.uniform(0, 2)
        issue, title = 140 + week, NEWSLETTERS[week % len(NEWSLETTERS)]
        story = Story(
            "support",
            Person("SaaS Weekly", "news@saasweekly.example"),
            f"SaaS Weekly #{issue}: {title}",
            f"This week: {title.lower()}, a tool roundup and five jobs in customer support."
            f"\n\nRead online: https://saasweekly.example/issues/{issue}"
            "\n\nUnsubscribe: https://saasweekly.example/u\n",
            headers={
                "List-Id": "SaaS Weekly <weekly.saasweekly.example>",
                "List-Unsubscribe": "<https://saasweekly.example/u>",
                "Precedence": "bulk",
            },
        )
        planner.add(story, hours, None, "bulk")
    for month_day in (3, 10, 17):
        story = Story(
            "billing",
            Person("PayFlow", "no-reply@payflow.example"),
            "Your payout is on its way",
            "A payout of €4,812.40 to your account ending in 0042 is on its way and should "
            "arrive in 1-2 business days.\n\nThis is an automated message, please do not "
            "reply.\n",
        )
        planner.add(story, month_day * 24 + 6.5, None, "bulk")


# --- rendering mail ----------------------------------------------------------------------------


def _png() -> bytes:
    """A small real PNG (a grey gradient), standing in for a screenshot."""
    width, height = 64, 24
    rows = b"".join(b"\x00" + bytes((x * 4) % 256 for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _pdf(title: str) -> bytes:
    text = title.replace("(", "").replace(")", "")
    return (
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
        f"4 0 obj<</Length {len(text) + 30}>>stream\nBT /F1 18 Tf 72 760 Td ({text}) Tj ET\n"
        "endstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    ).encode()


def _html(text: str) -> str:
    paragraphs = "".join(
        "<p>" + part.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>") + "</p>"
        for part in text.strip().split("\n\n")
    )
    return f'<html><body style="font-family: sans-serif">{paragraphs}</body></html>'


def compose_mail(
    sender: Person,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str,
    *,
    parent: LastMessage | None = None,
    headers: dict[str, str] | None = None,
    html: bool = False,
    attachment: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender.header
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    if parent is not None:
        msg["In-Reply-To"] = parent.message_id
        msg["References"] = " ".join([*parent.references[-9:], parent.message_id])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(_html(body), subtype="html")
    if attachment == "png":
        msg.add_attachment(_png(), maintype="image", subtype="png", filename="screenshot.png")
    elif attachment == "pdf":
        msg.add_attachment(
            _pdf(subject), maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return bytes(msg)


@dataclass(frozen=True)
class LastMessage:
    """The newest message of a conversation that has a Message-ID: what a reply answers."""

    conversation_id: int
    message_id: str
    references: list[str]
    subject: str
    from_name: str
    from_addr: str
    sent_at: datetime
    text: str


def _last_message(session: Session, conversation_id: int) -> LastMessage | None:
    row = session.scalars(
        select(m.Message)
        .where(
            m.Message.conversation_id == conversation_id,
            m.Message.direction != "note",
            m.Message.message_id.is_not(None),
        )
        .order_by(m.Message.id.desc())
        .limit(1)
    ).first()
    if row is None or row.message_id is None:
        return None
    return LastMessage(
        conversation_id,
        row.message_id,
        list(row.references or []),
        row.subject,
        row.from_name,
        row.from_addr,
        row.sent_at,
        row.body_text,
    )


def _conversation_of(session: Session, message_id: str) -> int | None:
    return session.scalar(
        select(m.Message.conversation_id).where(m.Message.message_id == message_id).limit(1)
    )


def quoted_reply(text: str, parent: LastMessage, *, quote: bool = True) -> str:
    """A reply as mail clients write it: new text on top, then "On … wrote:" and "> " lines
    (the reading pane folds them away)."""
    if not quote:
        return text + "\n"
    name = parent.from_name
    if not name or name in ("support", "billing"):  # our mail carries the channel's name
        name = f"{COMPANY} Support"
    who = f"{name} <{parent.from_addr}>" if parent.from_addr else name
    sent = parent.sent_at
    when = f"{sent:%a}, {sent.day} {sent:%b %Y} at {sent:%H:%M}"
    lines = parent.text.strip().splitlines()[:20]
    quoted = "\n".join(f"> {line}".rstrip() for line in lines)
    return f"{text}\n\nOn {when}, {who} wrote:\n{quoted}\n"


def _reply_subject(parent: LastMessage, fallback: str) -> str:
    return "Re: " + (strip_subject_prefixes(parent.subject) or fallback)


def _forward_body(story: Story, when: datetime) -> str:
    return (
        f"Hi,\n\nforwarding this from our IT team, can you have a look?\n\n{story.person.first}\n\n"
        "---------- Forwarded message ---------\n"
        f"From: IT Desk <it@{story.person.addr.split('@')[1]}>\n"
        f"Date: {format_datetime(when - timedelta(hours=3))}\n"
        f"Subject: {story.subject}\n\n{story.body}"
    )


# --- replaying the plan ------------------------------------------------------------------------


async def _render(
    db: Database, step: Step, when: datetime, planner_ids: _Planner
) -> tuple[str, bytes] | None:
    """(channel name, raw mail) for a step that delivers mail; None when it has nothing to
    answer (its conversation is not there)."""
    story = step.story
    to = BILLING if story.channel == "billing" else SUPPORT
    domain = story.person.addr.split("@")[1]
    mid = planner_ids.message_id(domain)
    if step.kind in ("mail", "bulk"):
        story.origin_mid = mid
        subject, body = story.subject, story.body
        if story.forwarded:
            subject, body = f"Fwd: {story.subject}", _forward_body(story, when)
        raw = compose_mail(
            story.person,
            to,
            subject,
            body,
            when,
            mid,
            headers=story.headers,
            html=story.html,
            attachment=story.attachment,
        )
        return story.channel, raw
    if step.kind == "chat":
        # Chat lines go through the same importer, given the chat channel's id: ingestion
        # stores a message on a channel of any kind and the conversation takes the channel's
        # kind as its source ("chat"). With ticket automation off no ticket opens (R-C2). The
        # line is an email-shaped stand-in (there is no chat transport yet), so its timeline
        # entry reads "Email: …"; later lines thread onto the first by In-Reply-To.
        parent = None
        if story.mids:
            previous = story.mids[-1]
            parent = LastMessage(0, previous, story.mids[:-1], story.subject, "", "", when, "")
        story.mids.append(mid)
        story.origin_mid = story.origin_mid or mid
        raw = compose_mail(
            story.person, f"chat@{DOMAIN}", story.subject, step.text, when, mid, parent=parent
        )
        return "chat", raw
    found = await db.query(lambda s: _last_of_story(s, story.origin_mid))
    if found is None:
        return None
    if step.kind == "ooo":
        back = when + timedelta(days=4)
        body = (
            f"Thank you for your email. I am out of the office until "
            f"{back:%A}, {back.day} {back:%B} with limited access to email.\n\n"
            f"{story.person.name}\n"
        )
        raw = compose_mail(
            story.person,
            to,
            f"Automatic reply: {found.subject}",
            body,
            when,
            mid,
            parent=found,
            headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        )
        return story.channel, raw
    rng = random.Random(mid)
    text = f"{step.text}\n\n{story.person.first}"
    body = quoted_reply(text, found, quote=rng.random() < 0.85)
    raw = compose_mail(
        story.person, to, _reply_subject(found, story.subject), body, when, mid, parent=found
    )
    return story.channel, raw


def _last_of_story(session: Session, origin_mid: str) -> LastMessage | None:
    conversation_id = _conversation_of(session, origin_mid) if origin_mid else None
    return _last_message(session, conversation_id) if conversation_id is not None else None


def _act(repo: SqlRepository, steps: list[Step]) -> None:
    """The reps' work of one tick, each step in its own savepoint (a refused step is skipped)."""
    boss = _user(repo, "admin")
    for step in steps:
        story = step.story
        found = repo.messages_by_message_id([story.origin_mid]) if story.origin_mid else {}
        ref = found.get(story.origin_mid)
        if ref is None:
            continue
        conversation = repo.conversation(ref.conversation_id)
        rep = _user(repo, story.rep)
        try:
            with repo.savepoint():
                if step.kind == "chat_ticket":
                    if conversation.ticket_id is None:
                        services.create_ticket_by_hand(repo, rep, conversation.id)
                    continue
                number = conversation.ticket_id
                if number is None:
                    continue
                if step.kind == "assign":
                    services.assign(repo, boss, number, story.rep)
                    if story.priority:
                        services.set_priority(repo, boss, number, story.priority)
                elif step.kind == "note":
                    services.add_note(repo, rep, number, step.text)
                elif step.kind == "reply":
                    body = (
                        f"Hi {story.person.first},\n\n{step.text}\n\n"
                        f"Best regards,\n{rep.display_name}\n{COMPANY} Support"
                    )
                    services.reply(repo, rep, number, body)
                elif step.kind == "close":
                    services.close_ticket(repo, rep, number)
        except services.DomainError as exc:
            log.debug("demo step %s skipped: %s", step.kind, exc)


async def _replay(db: _ClockedDatabase, steps: list[Step], folder: Path, start: datetime) -> None:
    channel_ids = await db.run(lambda r: {c.name: c.id for c in r.channels()})
    ids = _Planner(random.Random(SEED + 1), 0)
    engine = Engine(db)
    by_tick: dict[int, list[Step]] = {}
    for step in steps:
        by_tick.setdefault(step.tick, []).append(step)
    for tick, group in sorted(by_tick.items()):
        db.clock.now = start + timedelta(hours=(tick + 1) * TICK_HOURS, minutes=-5)
        mails: dict[str, list[bytes]] = {}
        for step in group:
            if step.kind in MAIL_KINDS:
                when = start + timedelta(hours=tick * TICK_HOURS, minutes=step.minute)
                rendered = await _render(db, step, when, ids)
                if rendered is not None:
                    mails.setdefault(rendered[0], []).append(rendered[1])
        for channel, raws in mails.items():
            target = folder / f"{tick:04d}-{channel}"
            target.mkdir()
            for n, raw in enumerate(raws):
                (target / f"{n:03d}.eml").write_bytes(raw)
            await import_paths(db, channel_ids[channel], [target])
        actions = [s for s in group if s.kind not in MAIL_KINDS]
        if actions:
            await db.run_bulk(functools.partial(_act, steps=actions))
            await engine.drain(bulk=True)
        await db.stamp()  # every transaction of the tick ran at the same simulated time


class DemoExists(Exception):
    """The demo would overwrite a file that is already there."""


async def build_demo(path: str | None, *, replace: bool = False) -> Path:
    """A new demo database at `path` (default: a new temp file); returns its path.

    About 300 conversations over three weeks, replayed through the real import and services
    (see the module docstring). Takes a few seconds. An existing file at `path` is replaced
    only when asked to: it may be somebody's real help desk.
    """
    target = Path(path) if path else Path(tempfile.mkdtemp(prefix="deskline-demo-")) / "demo.db"
    if target.exists() and not replace:
        raise DemoExists(f"{target} exists: pass --replace to build the demo over it")
    for old in (
        target,
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
    ):
        if old.exists():
            old.unlink()
    real_start = datetime.now(UTC)
    end = real_start - timedelta(minutes=2)
    start = end - timedelta(days=DAYS)
    clock = _Clock(start, real_start)
    db = _ClockedDatabase(str(target), clock)
    try:
        await db.migrate()
        await db.run(_configure)
        await db.run(lambda r: _stamp_setup(r, start))
        steps = plan_history(random.Random(SEED))
        with tempfile.TemporaryDirectory(prefix="deskline-demo-mail-") as folder:
            await _replay(db, steps, Path(folder), start)
        await Engine(db).drain()
    finally:
        await db.close()
    return target


# --- the live feed -----------------------------------------------------------------------------

FEED_KINDS = ("new_email", "customer_reply", "rep_reply", "rep_close", "chat")
FEED_WEIGHTS = (45, 30, 12, 8, 5)
FEED_REP = "bob"


async def run_feed(
    db: Database, stop: asyncio.Event, *, interval: float = 4.0, seed: int | None = None
) -> None:
    """Deliver one simulated event every `interval` seconds until `stop` is set.

    A step that fails (a locked database, a ticket someone else just closed) is logged and the
    feed goes on; `stop` ends the wait at once.
    """
    rng = random.Random(seed)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        try:
            log.info("demo feed: %s", await feed_step(db, rng))
        except (services.DomainError, DatabaseError) as exc:  # a race with a rep, a lock
            log.warning("demo feed step skipped: %s", exc)
        except Exception:
            log.exception("demo feed step failed; going on")


async def feed_step(db: Database, rng: random.Random, *, kind: str | None = None) -> str:
    """One simulated event through the real paths; returns a one-line description.

    `kind` (one of FEED_KINDS) forces a step; a step with nothing to act on falls back to a new
    customer email.
    """
    kind = kind or rng.choices(FEED_KINDS, FEED_WEIGHTS)[0]
    if kind not in FEED_KINDS:
        raise ValueError(f"feed step kind must be one of {', '.join(FEED_KINDS)}")
    done: str | None = None
    if kind == "customer_reply":
        done = await _feed_customer_reply(db, rng)
    elif kind == "rep_reply":
        done = await _feed_rep(db, rng, close=False)
    elif kind == "rep_close":
        done = await _feed_rep(db, rng, close=True)
    elif kind == "chat":
        done = await _feed_chat(db, rng)
    return done or await _feed_new_email(db, rng)


async def deliver(db: Database, channel_id: int, raw: bytes, label: str = "demo-feed") -> None:
    """Store one raw message as IMAP does (`prepare` + `store_batch`), then drain the engine."""
    engine = Engine(db)
    await engine.drain()  # E6: older events first (store_batch handles its own inline)
    prepared = [prepare(RawItem(label, EPOCH, 0, lambda: raw))]
    summary = await db.run_bulk(lambda repo: store_batch(repo, channel_id, prepared, False))
    await engine.drain()
    if summary.failed:
        raise RuntimeError(f"the feed's message was not stored: {summary.failures[0][1]}")


@dataclass(frozen=True)
class _TicketRef:
    number: int
    status: str
    subject: str
    conversation_id: int
    channel_id: int
    contact_name: str
    contact_addr: str


def _open_tickets(session: Session) -> list[_TicketRef]:
    t, s, c, k = m.Ticket, m.Status, m.Conversation, m.Contact
    rows = session.execute(
        select(t.id, s.label, t.subject, c.id, c.channel_id, k.name, k.email)
        .join(s, t.status_id == s.id)
        .join(c, t.origin_conversation_id == c.id)
        .join(k, t.contact_id == k.id)
        .join(m.Channel, c.channel_id == m.Channel.id)
        .where(s.state == m.TicketState.OPEN, m.Channel.kind == "email")
        .order_by(t.id)
    )
    return [_TicketRef(*row) for row in rows]


def _status_of(session: Session, number: int) -> str:
    label = session.scalar(
        select(m.Status.label)
        .join(m.Ticket, m.Ticket.status_id == m.Status.id)
        .where(m.Ticket.id == number)
    )
    return label or "?"


async def _feed_customer_reply(db: Database, rng: random.Random) -> str | None:
    """A customer answers in the ticket's origin thread, In-Reply-To its newest message: R-T2
    moves the ticket to "Waiting on us" (mostly from "Waiting on contact")."""
    tickets = await db.query(_open_tickets)
    waiting = [x for x in tickets if x.status == "Waiting on contact"]
    pool = waiting or tickets
    if not pool:
        return None
    ticket = rng.choice(pool)
    parent = await db.query(lambda s: _last_message(s, ticket.conversation_id))
    if parent is None:
        return None
    person = Person(ticket.contact_name or ticket.contact_addr.split("@")[0], ticket.contact_addr)
    domain = person.addr.split("@")[1]
    text = f"{rng.choice(ANSWERS + THANKS)}\n\n{person.first}"
    raw = compose_mail(
        person,
        await db.query(lambda s: _channel_address(s, ticket.channel_id)),
        _reply_subject(parent, ticket.subject),
        quoted_reply(text, parent),
        datetime.now(UTC),
        make_msgid(domain=domain),
        parent=parent,
    )
    await deliver(db, ticket.channel_id, raw)
    after = await db.query(lambda s: _status_of(s, ticket.number))
    return f"{person.name} replied on #{ticket.number}: {ticket.status} → {after}"


def _channel_address(session: Session, channel_id: int) -> str:
    return session.scalar(select(m.Channel.address).where(m.Channel.id == channel_id)) or SUPPORT


async def _feed_rep(db: Database, rng: random.Random, *, close: bool) -> str | None:
    """The simulated rep answers a ticket that waits on us (R-T1 → "Waiting on contact") or
    closes one (the Closed status actions run)."""
    tickets = await db.query(_open_tickets)
    if close:
        pool = [x for x in tickets if x.status == "Waiting on contact"] or tickets
    else:
        pool = [x for x in tickets if x.status != "Waiting on contact"]
    if not pool:
        return None
    ticket = rng.choice(pool)

    def act(repo: SqlRepository) -> str:
        rep = repo.user_by_name(FEED_REP) or next(
            (u for u in repo.users() if not u.is_admin), repo.users()[0]
        )
        current = services.get_ticket(repo, ticket.number)
        if current.owner_id is None:
            services.assign(repo, rep, ticket.number, rep.name)
        if close:
            services.close_ticket(repo, rep, ticket.number)
            return f"{rep.name} closed #{ticket.number}"
        first = (ticket.contact_name or "there").split()[0]
        body = (
            f"Hi {first},\n\n{rng.choice(FOLLOW_UPS)}\n\n"
            f"Best regards,\n{rep.display_name or rep.name}\n{COMPANY} Support"
        )
        services.reply(repo, rep, ticket.number, body)
        return f"{rep.name} replied on #{ticket.number}"

    said = await db.run(act)
    await Engine(db).drain()
    after = await db.query(lambda s: _status_of(s, ticket.number))
    return f"{said}: {ticket.status} → {after}"


async def _feed_new_email(db: Database, rng: random.Random) -> str:
    """A new customer email on an email channel: R-C1 opens a ticket in New."""
    channels = await db.query(
        lambda s: list(
            s.execute(
                select(m.Channel.id, m.Channel.name, m.Channel.address)
                .where(m.Channel.kind == "email", m.Channel.address.is_not(None))
                .order_by(m.Channel.id)
            )
        )
    )
    if not channels:
        raise RuntimeError("the feed needs an email channel with an address")
    topic = rng.choice(TOPICS)
    channel = next((c for c in channels if c.name == topic.channel), channels[0])
    person = make_person(rng)
    if rng.random() < 0.3:  # a returning customer
        known = await db.query(
            lambda s: list(s.execute(select(m.Contact.name, m.Contact.email).limit(500)))
        )
        if known:
            name, addr = rng.choice(known)
            person = Person(name or addr.split("@")[0], addr)
    story = _topic_story(rng, topic, person, FEED_REP)
    mid = make_msgid(domain=person.addr.split("@")[1])
    raw = compose_mail(
        person,
        channel.address,
        story.subject,
        story.body,
        datetime.now(UTC),
        mid,
        html=rng.random() < 0.15,
        attachment=("png" if channel.name != "billing" else "pdf") if rng.random() < 0.05 else None,
    )
    await deliver(db, channel.id, raw)
    number = await db.query(lambda s: _ticket_of_message(s, mid))
    where = f"ticket #{number}" if number is not None else "inbox"
    return f"New email from {person.name} on {channel.name}: “{story.subject}” → {where}"


def _ticket_of_message(session: Session, message_id: str) -> int | None:
    return session.scalar(
        select(m.Conversation.ticket_id)
        .join(m.Message, m.Message.conversation_id == m.Conversation.id)
        .where(m.Message.message_id == message_id)
        .limit(1)
    )


async def _feed_chat(db: Database, rng: random.Random) -> str | None:
    """A visitor starts a chat: with ticket automation off it stays in the inbox (R-C2)."""
    channel_id = await db.query(
        lambda s: s.scalar(select(m.Channel.id).where(m.Channel.kind == "chat").limit(1))
    )
    if channel_id is None:
        return None
    subject, first, _ = rng.choice(CHATS)
    person = make_person(rng)
    raw = compose_mail(
        person,
        f"chat@{DOMAIN}",
        subject,
        first,
        datetime.now(UTC),
        make_msgid(domain=person.addr.split("@")[1]),
    )
    await deliver(db, channel_id, raw)
    return f"Chat from {person.name}: “{subject}”"
