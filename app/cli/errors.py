"""Turn every error a user can cause into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from automation.actions import ActionFailed
from automation.admin import SettingsError
from automation.delivery import DeliveryError
from automation.outbound import MailRefused
from automation.services import DomainError
from mail.sources import SourceError
from runtime.desk import DeskError
from storage.database import DatabaseError, describe_error
from storage.pages import BadCursor, UnknownFilter

EXIT_ERROR = 1
EXIT_USAGE = 2

log = logging.getLogger("deskline")

# Errors whose message is already the one line a user should read.
SAID = (
    DomainError,
    SettingsError,
    SourceError,
    DatabaseError,
    DeskError,
    ActionFailed,
    DeliveryError,
    MailRefused,
    UnknownFilter,
    BadCursor,
)


class UserError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def run_command(args: argparse.Namespace) -> int:
    with user_errors():
        return int(await args.func(args) or 0)


@contextmanager
def user_errors() -> Iterator[None]:
    """Whatever fails inside becomes a UserError with one line (the app's opening uses it too);
    an unexpected error keeps its traceback with DESKLINE_DEBUG=1."""
    try:
        yield
    except (UserError, BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if not _expected(exc) and os.environ.get("DESKLINE_DEBUG"):
            raise
        raise as_user_error(exc) from exc


def _expected(exc: Exception) -> bool:
    return isinstance(exc, (*SAID, DBAPIError, OSError))


def as_user_error(exc: Exception) -> UserError:
    if isinstance(exc, SAID):
        return UserError(str(exc))
    if isinstance(exc, IntegrityError):
        return UserError(f"refused by the database: {describe_error(exc)}")
    if isinstance(exc, OperationalError | DBAPIError):
        return UserError(describe_error(exc))
    if isinstance(exc, OSError | ConnectionError):
        filename = getattr(exc, "filename", None)
        return UserError(f"{exc.strerror or exc}" + (f": {filename}" if filename else ""))
    log.debug("unexpected error", exc_info=exc)
    return UserError(
        f"unexpected {type(exc).__name__}: {exc} (run with DESKLINE_DEBUG=1 for details)"
    )
