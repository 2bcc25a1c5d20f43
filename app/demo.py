"""A demo help desk: a fresh SQLite file with channels, users, status actions and realistic mail
imported through the real ingestion path, then a few rep actions so tickets sit in every status."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from automation import admin, services
from automation.engine import Engine
from automation.importer import import_paths
from storage.database import Database
from storage.models import User
from storage.repository import SqlRepository

SUPPORT = "support@demo.deskline.test"
PEOPLE = [
    ("Ana Kowalska", "ana@kowalska.example"),
    ("Ben Okafor", "ben.okafor@example.org"),
    ("Chloé Martin", "chloe@martin.example"),
    ("Dmitri Volkov", "dmitri@volkov.example"),
    ("Emma Johansson", "emma.j@example.net"),
    ("Farid Haddad", "farid@haddad.example"),
    ("Grace Lee", "grace@lee-design.example"),
    ("Hiro Tanaka", "hiro@tanaka.example"),
]
TOPICS = [
    (
        "Cannot log in after password reset",
        "Hi, since I reset my password this morning the "
        "login page keeps saying my credentials are wrong. Can you help?",
    ),
    (
        "Invoice 2026-114 shows the wrong VAT",
        "Hello, the invoice you sent last week applies 23% "
        "VAT but we are VAT-registered in Germany. Could you reissue it?",
    ),
    (
        "Export to CSV is empty",
        "When I export the contacts list to CSV the file only has the "
        "header row. This worked fine last month.",
    ),
    (
        "Feature request: dark mode",
        "Love the product! Any plans for a dark theme? My eyes would thank you.",
    ),
    (
        "Order #88231 has not arrived",
        "The tracking page has said 'in transit' for nine days. Is the parcel lost?",
    ),
    (
        "How do I add a second admin?",
        "We hired a new office manager and want to give her admin rights. Where is that setting?",
    ),
    (
        "API returns 502 on /v2/orders",
        "Since 09:10 UTC every call to /v2/orders returns a 502 Bad Gateway. Other endpoints work.",
    ),
    (
        "Cancel my subscription",
        "Please cancel our subscription at the end of the billing period. Thanks for everything.",
    ),
]


def _mail(
    sender: tuple[str, str],
    subject: str,
    body: str,
    when: datetime,
    *,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[EmailMessage, str]:
    msg = EmailMessage()
    msg["From"] = f"{sender[0]} <{sender[1]}>"
    msg["To"] = f"Demo Support <{SUPPORT}>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    message_id = make_msgid(domain=sender[1].split("@")[1])
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg, message_id


def write_demo_mail(folder: Path, seed: int = 7) -> int:
    """Write the demo's customer mail as .eml files; returns how many."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(days=3)
    count = 0
    for index, (person, (subject, body)) in enumerate(zip(PEOPLE, TOPICS, strict=True)):
        when = start + timedelta(hours=index * 5, minutes=rng.randint(0, 59))
        first, first_id = _mail(person, subject, body, when)
        files = [first]
        if index % 3 == 1:  # the customer follows up in the same thread
            follow, _ = _mail(
                person,
                f"Re: {subject}",
                "Any news on this? Thanks.",
                when + timedelta(hours=7),
                reply_to=first_id,
            )
            files.append(follow)
        if index == 4:  # an out-of-office answer from the customer's server
            ooo, _ = _mail(
                person,
                f"Automatic reply: {subject}",
                "I am away until Monday.",
                when + timedelta(minutes=1),
                reply_to=first_id,
                headers={"Auto-Submitted": "auto-replied"},
            )
            files.append(ooo)
        for msg in files:
            count += 1
            (folder / f"{count:04d}.eml").write_bytes(bytes(msg))
    newsletter, _ = _mail(
        ("Weekly Digest", "news@list.example"),
        "Your weekly digest",
        "Top stories this week...",
        start,
        headers={"List-Id": "<digest.list.example>", "Precedence": "bulk"},
    )
    (folder / "0100.eml").write_bytes(bytes(newsletter))
    return count + 1


async def build_demo(path: str | None) -> Path:
    target = Path(path) if path else Path(tempfile.mkdtemp(prefix="deskline-demo-")) / "demo.db"
    if target.exists():
        target.unlink()
    db = Database(str(target))
    try:
        await db.migrate()
        await db.run(_configure)
        mail_dir = target.parent / "demo-mail"
        write_demo_mail(mail_dir)
        channel_id = await db.run(lambda repo: admin.channel_named(repo, "support").id)
        await import_paths(db, channel_id, [mail_dir])
        await db.run(_rep_activity)
        await Engine(db).drain()
    finally:
        await db.close()
    return target


def _user(r: SqlRepository, name: str) -> User:
    user = r.user_by_name(name)
    assert user is not None, f"the demo creates {name}"
    return user


def _configure(r: SqlRepository) -> None:
    admin.ensure_defaults(r)
    boss = _user(r, "admin")
    alice = r.add_user(
        "alice", display_name="Alice Rep", email="alice@demo.deskline.test", is_admin=False
    )
    bob = r.add_user("bob", display_name="Bob Rep", email="bob@demo.deskline.test", is_admin=False)
    r.add_team("Tier 1", [alice, bob])
    admin.add_channel(
        r,
        boss,
        name="support",
        kind="email",
        address=SUPPORT,
        pipeline_name=None,
        ticket_automation=True,
    )
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
        target_name="Tier 1",
    )
    admin.add_action(
        r,
        boss,
        pipeline_name=None,
        status_label="Closed",
        kind="send_email",
        template_name="Ticket closed",
    )


def _rep_activity(r: SqlRepository) -> None:
    alice = _user(r, "alice")
    services.assign(r, alice, 1, "alice")
    services.reply(r, alice, 1, "Hi Ana, I have reset your session; please try again now.")
    services.add_note(r, alice, 2, "Finance confirmed: reissue with reverse charge.")
    services.assign(r, alice, 3, "bob")
    services.close_ticket(r, alice, 4)
