"""Delays and due times as people type them (SPEC R-A5 "delay", "a follow-up task with a due
time"): a pure parser, no clock and no database.

A duration: "90s", "30m", "1h30m", "2d", "1 hour", "90 minutes", "2 days", "1 hour and 30
minutes", "1w". A weekday and an hour: "monday 9", "mon 09:00 Europe/Berlin", "fri 5pm". The
next day at an hour: "tomorrow 9", "tomorrow 17:00 Europe/Paris". A time of day without a zone
is in `zone` (the desk's, UTC unless the caller says otherwise).

The answer is the stored config `automation.schedule` reads: {"seconds": N},
{"weekday": 0-6, "hour": 0-23, "tz": ZONE} or {"days": 1, "hour": 0-23, "tz": ZONE}.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DELAY = timedelta(days=366)
EXAMPLES = '30m, 1 hour, 90 minutes, 1h30m, 2 days, "monday 9" or "tomorrow 9"'

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_WORDS = {
    "s": ("s", "sec", "secs", "second", "seconds"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
}
_UNIT_OF = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_AMOUNT = re.compile(r"(\d+)\s*([a-z]+)")
_FILLER = re.compile(r"[\s,]+|\band\b")
_HOUR = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?")


class DelayError(ValueError):
    """A delay that cannot be scheduled; the message says why in one line."""


def parse_delay(text: str, *, zone: str = "UTC") -> dict[str, Any]:
    """The config of a delay typed as `text` (see the module's forms); DelayError otherwise."""
    spec = " ".join(text.split()).lower()
    if not spec:
        raise DelayError(f"write how long to wait, e.g. {EXAMPLES}")
    seconds = _duration(spec)
    if seconds is not None:
        return seconds_config(seconds)
    words = text.split()
    day = words[0].lower()
    if len(words) == 1 and (day == "tomorrow" or _weekday(day) is not None):
        raise DelayError(f"say the hour too, e.g. “{day} 9”")
    if len(words) in (2, 3):
        hour = _hour(words[1])
        where = words[2] if len(words) == 3 else zone
        if hour is not None and day == "tomorrow":
            return {"days": 1, "hour": hour, "tz": _zone_name(where)}
        weekday = _weekday(day)
        if hour is not None and weekday is not None:
            return {"weekday": weekday, "hour": hour, "tz": _zone_name(where)}
        if weekday is not None or day == "tomorrow":
            raise DelayError(f"cannot read the hour {words[1]!r}: write 9, 09:00 or 5pm")
    raise DelayError(f"cannot read the delay {text.strip()!r}: write e.g. {EXAMPLES}")


def seconds_config(seconds: float) -> dict[str, Any]:
    if seconds < 0 or timedelta(seconds=seconds) > MAX_DELAY:
        raise DelayError("a delay is between 0 seconds and 366 days")
    return {"seconds": int(seconds)}


def time_zone(name: str) -> tzinfo:
    """The zone of that name (UTC needs no tz database); DelayError for an unknown one."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DelayError(f"unknown time zone {name!r} (e.g. UTC, Europe/Berlin)") from exc


def _zone_name(name: str) -> str:
    time_zone(name)
    return "UTC" if name.upper() == "UTC" else name


def _duration(spec: str) -> int | None:
    """Seconds for "1h30m", "1 hour and 30 minutes", "90 minutes"; None if it is not one."""
    found = _AMOUNT.findall(spec)
    if not found or _FILLER.sub("", _AMOUNT.sub("", spec)):
        return None
    if any(word not in _UNIT_OF for _, word in found):
        return None
    return sum(int(n) * _UNIT_SECONDS[_UNIT_OF[word]] for n, word in found)


def _weekday(word: str) -> int | None:
    """Monday is 0; a prefix of three letters or more names a day ("mon", "thurs")."""
    if len(word) < 3:
        return None
    hits = [i for i, name in enumerate(WEEKDAYS) if name.startswith(word[:3]) and word in name]
    hits = hits or [i for i, name in enumerate(WEEKDAYS) if word.startswith(name)]
    return hits[0] if len(hits) == 1 else None


def _hour(word: str) -> int | None:
    """9, 09, 09:00, 9am, 5pm, 17:00; on the hour only (a delay waits for a whole hour)."""
    match = _HOUR.fullmatch(word.lower())
    if match is None or match.group(2) not in (None, "00"):
        return None
    hour, half = int(match.group(1)), match.group(3)
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    return hour if 0 <= hour <= 23 else None
