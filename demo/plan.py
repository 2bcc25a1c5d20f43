"""The demo's three weeks, planned before anything is stored: stories (one conversation each,
from its first message to wherever it is today) cut into steps, each in a tick of TICK_HOURS.

A step is mail that arrives (a customer's first mail or reply, an out-of-office, a chat line, a
newsletter) or something a rep does (assign, note, reply, close, make a ticket of a chat). A
story has at most one step per tick, so a tick's steps never touch the same conversation. The
generator is seeded (SEED): every build tells the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from demo.config import REPS
from demo.people import COMPANIES, Person, make_person
from demo.texts import ANSWERS, CHASES, CHATS, FOLLOW_UPS, NEWSLETTERS, NOTES, REOPENS, THANKS
from demo.topics import TOPICS, Topic, topic_values

SEED = 20260301
DAYS = 21  # the history the demo replays, ending a couple of minutes before it is built
TICK_HOURS = 3  # everything in one tick happens at one simulated time
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


class MessageIds:
    """Message-IDs for the replayed mail, from their own seeded generator."""

    def __init__(self, seed: int = SEED + 1) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def next(self, domain: str) -> str:
        self.count += 1
        return f"<demo.{self.count}.{self.rng.getrandbits(48):012x}@{domain}>"


def topic_story(rng: random.Random, topic: Topic, person: Person, rep: str) -> Story:
    values = topic_values(rng)
    greeting = rng.choice(("Hi", "Hello", "Hi there", "Dear Brightwave team"))
    sign = rng.choice(("Thanks,", "Best regards,", "Cheers,", "Thank you,"))
    company = person.domain.split(".")[0].replace("-", " ").title()
    signature = person.first
    if person.domain in COMPANIES and rng.random() < 0.6:
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
        story = topic_story(rng, topic, rng.choice(people), rng.choice(reps))
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
