"""The demo's other lines: customers chasing, answering, thanking and reopening; reps' follow-ups
and internal notes; chats; newsletter titles. Picked by position with the seeded generator."""

from __future__ import annotations

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
