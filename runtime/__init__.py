"""The runtime: the one place that wires Deskline's parts together (the composition root).

`runtime.desk.Desk` opens a help desk from a URL as a user; `Desk.act(fn)` runs a change in one
transaction and then the automation it caused; `Desk.query(fn)` reads. The mail worker
(`runtime.worker`), IMAP (`runtime.inbound`) and SMTP (`runtime.smtp`) are built here from the
channel settings (`runtime.mail_settings`), and `runtime.standard` builds the standard desk that the
demo, the benchmarks and the tests start from. The CLI and the terminal app sit above this package;
the domain (`automation`, `mail`) and persistence (`storage`) below it; it never imports Textual.
"""
