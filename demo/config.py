"""How the demo desk is set up: the company, its addresses, reps, team, channels and status
actions, as one `runtime.standard.Setup` (the standard desk builder configures it)."""

from __future__ import annotations

from runtime.standard import CLOSED, RECEIVED, ChannelSpec, RepSpec, Setup, notify_team

COMPANY = "Brightwave"
DOMAIN = "demo.deskline.test"
SUPPORT = f"support@{DOMAIN}"
BILLING = f"billing@{DOMAIN}"
CHAT = f"chat@{DOMAIN}"  # the chat channel's address: the demo's chat lines are written to it
REPS = (("alice", "Alice Novak"), ("bob", "Bob Ferreira"), ("carol", "Carol Mensah"))
TEAM = "Tier 1"

SETUP = Setup(
    channels=(
        ChannelSpec("support", address=SUPPORT),
        ChannelSpec("billing", address=BILLING),
        # Chat channels start with ticket automation off (R-C2, R-A8): its conversations stay
        # in the inbox until a rep makes a ticket of one by hand.
        ChannelSpec("chat", kind="chat", address=CHAT, ticket_automation=None),
    ),
    reps=tuple(RepSpec(name, display, f"{name}@{DOMAIN}") for name, display in REPS),
    team=TEAM,
    actions=(RECEIVED, notify_team(TEAM), CLOSED),
)


def address_of(channel: str) -> str:
    """The address customers write to on an email channel."""
    return BILLING if channel == "billing" else SUPPORT
