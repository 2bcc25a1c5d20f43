"""The `deskline` command line: a module per command group, each with its parsers and handlers.

Every command is a thin call into `automation/` or `storage/` through a `runtime.desk.Desk`.
Errors a user can cause (unknown ticket, bad URL, locked database, bad mail) print one line on
stderr and exit non-zero; nothing already stored is lost.
"""

from app.cli.main import main

__all__ = ["main"]
