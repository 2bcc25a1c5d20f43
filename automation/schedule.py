"""When a workflow's delay ends (SPEC R-A5): after a duration, at the next weekday and hour, or
at an hour of the next day. What people type is read by `automation.durations`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from automation.durations import WEEKDAYS, DelayError, parse_delay, time_zone

__all__ = ["DelayError", "describe_delay", "describe_due", "due_time", "parse_delay"]


def due_time(config: dict[str, Any], now: datetime) -> datetime:
    """The moment a delay that starts `now` ends (aware UTC in, aware out)."""
    if "seconds" in config:
        return now + timedelta(seconds=max(0, int(config["seconds"])))
    zone = time_zone(str(config.get("tz") or "UTC"))
    local = now.astimezone(zone)
    if "days" in config:  # "tomorrow 9": that hour of the day after the delay starts
        later = local + timedelta(days=int(config["days"]))
        target = later.replace(hour=int(config["hour"]), minute=0, second=0, microsecond=0)
        return target.astimezone(now.tzinfo)
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
    day = "the next day" if "days" in config else WEEKDAYS[int(config["weekday"])].capitalize()
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
