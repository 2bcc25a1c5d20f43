"""Turn every error a user can cause into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from automation.actions import ActionFailed
from automation.admin import SettingsError
from automation.delivery import DeliveryError
from automation.services import DomainError
from mail.sources import SourceError
from storage.database import DatabaseError, describe_error

EXIT_ERROR = 1
EXIT_USAGE = 2

log = logging.getLogger("deskline")


class UserError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def run_command(args: argparse.Namespace) -> int:
    try:
        return int(await args.func(args) or 0)
    except (
        DomainError,
        SettingsError,
        SourceError,
        DatabaseError,
        ActionFailed,
        DeliveryError,
    ) as exc:
        raise UserError(str(exc)) from exc
    except IntegrityError as exc:
        raise UserError(f"refused by the database: {describe_error(exc)}") from exc
    except (OperationalError, DBAPIError) as exc:
        raise UserError(describe_error(exc)) from exc
    except (UserError, BrokenPipeError):
        raise
    except (OSError, ConnectionError) as exc:
        raise UserError(
            f"{exc.strerror or exc}"
            + (f": {exc.filename}" if getattr(exc, "filename", None) else "")
        ) from exc
    except Exception as exc:
        if os.environ.get("DESKLINE_DEBUG"):
            raise
        log.debug("unexpected error", exc_info=True)
        raise UserError(
            f"unexpected {type(exc).__name__}: {exc} (run with DESKLINE_DEBUG=1 for details)"
        ) from exc
