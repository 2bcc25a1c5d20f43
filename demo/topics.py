"""What the demo's customers write about: support and billing topics, each with the first email
and the answer a rep gives, with placeholders a seed fills in (`topic_values`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

BROWSERS = ("Safari 18", "Firefox 134", "Chrome 132", "Edge 131")
INTEGRATIONS = ("Google Calendar", "Slack", "HubSpot", "Jira", "Dropbox", "Zapier")
PLANS = ("Starter", "Team", "Growth")


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


def topic_values(rng: random.Random) -> dict[str, Any]:
    """Values for a topic's placeholders (drawn in a fixed order: the seed's story)."""
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
