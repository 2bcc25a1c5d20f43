"""The loop limits on automated email (SPEC §7), the age of old mail (D1) and the branding line
(R-A3)."""

from __future__ import annotations

from automation import undo
from automation.admin.common import SettingsError, require_admin
from automation.outbound import (
    OLD_MAIL_SETTING,
    PER_RECIPIENT_LIMITS,
    PER_TICKET_LIMITS,
)
from automation.ports import AdminRepository, UserLike
from mail.attach import MAX_SEND_SETTING
from mail.sources import MAX_MESSAGE_MB, MAX_MESSAGE_SETTING


def parse_limits(text: str) -> list[list[int]]:
    """ "10/10,15/30" → [[10, 10], [15, 30]]: at most N automated emails in M minutes."""
    limits = []
    for part in text.split(","):
        count, sep, minutes = part.strip().partition("/")
        if not sep or not count.isdigit() or not minutes.isdigit():
            raise SettingsError(f"a limit is COUNT/MINUTES, e.g. 10/10,15/30 — not {part!r}")
        if int(count) < 1 or int(minutes) < 1:
            raise SettingsError(f"a limit needs a count and minutes of at least 1: {part!r}")
        limits.append([int(count), int(minutes)])
    return sorted(limits, key=lambda limit: limit[1])


def set_loop_limits(
    repo: AdminRepository, user: UserLike, *, per_ticket: str | None, per_recipient: str | None
) -> None:
    require_admin(user)
    if per_ticket is not None:
        repo.set_setting("loop_limits_per_ticket", parse_limits(per_ticket))
    if per_recipient is not None:
        repo.set_setting("loop_limits_per_recipient", parse_limits(per_recipient))


def loop_limits(repo: AdminRepository) -> dict[str, list[list[int]]]:
    return {
        "per_ticket": [list(x) for x in repo.setting("loop_limits_per_ticket", PER_TICKET_LIMITS)],
        "per_recipient": [
            list(x) for x in repo.setting("loop_limits_per_recipient", PER_RECIPIENT_LIMITS)
        ],
    }


MAX_OLD_MAIL_HOURS = 24 * 365 * 10


def set_old_mail_hours(repo: AdminRepository, user: UserLike, hours: int) -> int:
    """D1: email caused by a message older than this many hours when it was stored is held."""
    require_admin(user)
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise SettingsError(f"old mail is a whole number of hours, not {hours!r}")
    if not 1 <= hours <= MAX_OLD_MAIL_HOURS:
        raise SettingsError(
            f"old mail is between 1 and {MAX_OLD_MAIL_HOURS} hours (ten years), not {hours}"
        )
    repo.set_setting(OLD_MAIL_SETTING, hours)
    return hours


def set_undo_seconds(repo: AdminRepository, user: UserLike, seconds: int) -> int:
    """D2: how long a person's change stays undoable, its email waiting; 0 switches it off."""
    require_admin(user)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise SettingsError(f"the undo window is a whole number of seconds, not {seconds!r}")
    if not 0 <= seconds <= undo.MAX_UNDO_SECONDS:
        raise SettingsError(
            f"the undo window is between 0 and {undo.MAX_UNDO_SECONDS} seconds, not {seconds}"
        )
    repo.set_setting(undo.UNDO_SETTING, seconds)
    return seconds


def undo_window(repo: AdminRepository) -> int:
    return undo.undo_seconds(repo)


def set_max_message_mb(repo: AdminRepository, user: UserLike, megabytes: float) -> float:
    """D11: a message bigger than this is not stored (import and IMAP), it goes to failed."""
    require_admin(user)
    if not 0 < megabytes <= 10_000:
        raise SettingsError(f"the largest message is over 0 and up to 10000 MB, not {megabytes:g}")
    repo.set_setting(MAX_MESSAGE_SETTING, megabytes)
    return megabytes


def max_message_mb(repo: AdminRepository) -> float:
    return float(repo.setting(MAX_MESSAGE_SETTING, MAX_MESSAGE_MB))


MAX_SEND_LIMIT = 1_000_000_000


def set_max_send_bytes(repo: AdminRepository, user: UserLike, count: int) -> int:
    """D15: a person's email, attachments included, may be this many bytes once encoded."""
    require_admin(user)
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 1_000 <= count <= MAX_SEND_LIMIT
    ):
        raise SettingsError(
            f"the largest email sent is between 1,000 and {MAX_SEND_LIMIT:,} bytes, not {count!r}"
        )
    repo.set_setting(MAX_SEND_SETTING, count)
    return count


# --- settings screen: pipelines, statuses and branding (SPEC §1, §5, R-A3) ----------------------


def set_branding(repo: AdminRepository, user: UserLike, enabled: bool) -> bool:
    """R-A3: automated emails end with a Deskline branding line; an admin setting removes it."""
    require_admin(user)
    repo.set_setting("branding", bool(enabled))
    return bool(enabled)
