"""A demo help desk, and a simulated customer feed that keeps it moving.

`build_demo` makes a fresh SQLite file that looks like three weeks of a real help desk: about 300
conversations on two email channels ("support", "billing") and a chat channel, tickets in every
status of the default pipeline, reps assigning, answering, noting and closing, customers chasing,
answering with quoted history, saying thanks and coming back after a close, out-of-office
replies, newsletters and no-reply notices, and a few attachments.

Everything goes through the runtime (`runtime.desk.Desk`) and the real paths, as live mail would
(SPEC E1): the desk is configured by `runtime.standard.build_standard`, each customer message is
an .eml file imported with `automation.importer.import_paths`, and every rep action is an
`automation.services` call made as that rep. The database runs on a simulated clock, so the
history carries times spread over the last three weeks; the random seed is fixed, so every build
tells the same story (only the dates move with today's date).

`run_feed` is a background service for the app: every few seconds a new customer email, a reply,
or a rep's answer or close, through the same paths.

The parts: `people`, `topics` and `texts` (what is written), `config` (the desk's setup),
`clock`, `fixtures` and `compose` (the mail), `plan` (the history as steps), `replay` and
`build` (storing it), `reads` (what the demo reads back) and `feed`.
"""

from demo.build import DemoExists, build_demo
from demo.feed import FEED_KINDS, deliver, feed_step, run_feed
from demo.plan import SEED, Step, Story, plan_history

__all__ = [
    "FEED_KINDS",
    "SEED",
    "DemoExists",
    "Step",
    "Story",
    "build_demo",
    "deliver",
    "feed_step",
    "plan_history",
    "run_feed",
]
