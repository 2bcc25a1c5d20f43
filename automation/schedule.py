"""When a workflow's delay ends (SPEC R-A5): after a duration, or at the next weekday and hour."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DELAY = timedelta(days=366)


class DelayError(ValueError):
    """A delay that cannot be scheduled; the message says why."""


def delay_config(
    *,
    seconds: float | None = None,
    weekday: str | None = None,
    hour: int | None = None,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """Check and normalise a delay: {"seconds": N} or {"weekday": 0-6, "hour": 0-23, "tz": …}."""
    if seconds is not None:
        if seconds < 0 or timedelta(seconds=seconds) > MAX_DELAY:
            raise DelayError("a delay is between 0 seconds and 366 days")
        return {"seconds": int(seconds)}
    if weekday is None or hour is None:
        raise DelayError("a delay is a duration, or a weekday and an hour")
    day = weekday.strip().lower()
    matches = [i for i, name in enumerate(WEEKDAYS) if name.startswith(day[:3])] if day else []
    if len(matches) != 1:
        raise DelayError(f"unknown weekday {weekday!r}")
    if not 0 <= hour <= 23:
        raise DelayError("the hour is 0 to 23")
    _zone(timezone)
    return {"weekday": matches[0], "hour": hour, "tz": timezone}


_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*(min|s|m|h|d|w)", re.IGNORECASE)


def parse_delay(text: str) -> dict[str, Any]:
    """ "90s", "30m", "1h", "1h30m", "2d", "0s"; or "monday 9", "mon 09:00 Europe/Berlin"."""
    spec = " ".join(text.split()).lower()
    compact = spec.replace(" ", "")
    if compact and _DURATION.sub("", compact) == "":
        seconds = sum(int(n) * _UNITS[unit.lower()] for n, unit in _DURATION.findall(compact))
        return delay_config(seconds=seconds)
    parts = text.split()
    if len(parts) in (2, 3):
        hour_text = parts[1].split(":")[0]
        if hour_text.isdigit() and (":" not in parts[1] or parts[1].endswith(":00")):
            zone = parts[2] if len(parts) == 3 else "UTC"
            return delay_config(weekday=parts[0], hour=int(hour_text), timezone=zone)
    raise DelayError(
        f"cannot read the delay {text!r}: write a duration such as 30m, 1h or 2d, "
        'or a weekday and an hour such as "monday 9" or "fri 16:00 Europe/Paris"'
    )


def due_time(config: dict[str, Any], now: datetime) -> datetime:
    """The moment a delay that starts `now` ends (aware UTC in, aware out)."""
    if "seconds" in config:
        return now + timedelta(seconds=max(0, int(config["seconds"])))
    zone = _zone(str(config.get("tz") or "UTC"))
    local = now.astimezone(zone)
    days = (int(config["weekday"]) - local.weekday()) % 7
    target = (local + timedelta(days=days)).replace(
        hour=int(config["hour"]), minute=0, second=0, microsecond=0
    )
    if target <= local:
        target += timedelta(days=7)
    return target.astimezone(now.tzinfo)


def describe_delay(config: dict[str, Any]) -> str:
    if "seconds" in config:
        return f"Wait {format_duration(int(config['seconds']))}"
    day = WEEKDAYS[int(config["weekday"])].capitalize()
    return f"Wait until {day} {int(config['hour']):02d}:00 ({config.get('tz') or 'UTC'})"


def describe_due(config: dict[str, Any]) -> str:
    """A task's due time in words: "due in 2 h", "due Monday 09:00 (UTC)"."""
    if "seconds" in config:
        return f"due in {format_duration(int(config['seconds']))}"
    return describe_delay(config).replace("Wait until", "due", 1)


def format_duration(seconds: int) -> str:
    if seconds == 0:
        return "no time"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts)


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC  # needs no tz database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DelayError(f"unknown time zone {name!r}") from exc
