"""What the web's channels share in their settings (SPEC C2, C4, C5, C6): the desk's C5 limits
(`WEB_LIMITS`, set by `set_web_limit`), the site origins a
form's page may be embedded by and a chat's widget answers (C5), and the email channel a form
replies through and a chat sends transcripts and offline messages through. One module for both
`automation.forms.set_form_channel` and `automation.chat_settings.set_chat_channel`, and for the
web side's check of a request's origin (`origin_allowed`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from automation.admin.common import SettingsError, require_admin
from automation.ports import UserLike

NONE = ("", "-")  # "no reply-through channel"


def normalize_origin(text: str) -> str:
    """A site origin as a browser sends it: scheme://host[:port], http or https, no path, lower
    case; SettingsError saying the form otherwise."""
    value = text.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number, or out of range
        parts, port = None, ""
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or any(c in value for c in " '\";,*")
    ):
        raise SettingsError(
            f"an origin is scheme://host[:port] (e.g. https://www.example.com), not {text!r}"
        )
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def normalize_origins(origins: Iterable[str]) -> list[str]:
    """An allow-list as stored: each origin normalized, blanks dropped, each once, sorted."""
    return sorted({normalize_origin(o) for o in origins if o.strip()})


def origin_allowed(allowed: Iterable[str], origin: str) -> bool:
    """C5: is a request's Origin header one of the allowed site origins."""
    wanted = origin.strip().rstrip("/").lower()
    return any(wanted == o.rstrip("/").lower() for o in allowed)


def reply_channel_id(repo: Any, name: str, *, purpose: str) -> int | None:
    """The email channel named `name` ("" or "-": none) a web channel answers through; it must
    have an address. `purpose` starts the refusal: "a form replies through"."""
    if name in NONE:
        return None
    channel = repo.channel_by_name(name)
    if channel is None or channel.kind != "email" or not channel.address:
        emails = ", ".join(c.name for c in repo.channels() if c.kind == "email") or "none yet"
        raise SettingsError(
            f"{purpose} an email channel with an address, not {name!r} (email channels: {emails})"
        )
    return int(channel.id)


# --- the C5 limits (desk settings) ----------------------------------------------------------


@dataclass(frozen=True)
class WebLimit:
    """One C5 limit: its settings key (and CLI option), the SPEC's value, the range it may take."""

    key: str
    default: int
    low: int
    high: int
    says: str  # what it is, for the refusal: "form posts a minute per address"


WEB_LIMITS = (
    WebLimit("form_posts_per_minute", 10, 1, 10_000, "form posts a minute per address"),
    WebLimit("form_message_bytes", 100_000, 1_000, 10_000_000, "bytes of a form's message"),
    WebLimit("form_min_fill_seconds", 3, 0, 60, "seconds a form takes to fill in at least"),
    WebLimit("chat_new_per_minute", 5, 1, 10_000, "new chats a minute per address"),
    WebLimit("chat_messages_per_minute", 30, 1, 10_000, "chat messages a minute per visitor"),
    WebLimit("chat_message_bytes", 10_000, 100, 1_000_000, "bytes of a chat message"),
)
LIMIT_DEFAULTS = {limit.key: limit.default for limit in WEB_LIMITS}


def web_limits(repo: Any) -> dict[str, int]:
    """C5: the desk's settings of the web limits, else the SPEC's values."""
    return {limit.key: int(repo.setting(limit.key, limit.default)) for limit in WEB_LIMITS}


def set_web_limit(repo: Any, user: UserLike, key: str, value: int) -> int:
    """An admin sets one C5 limit (a desk setting, so the settings audit records it); a value
    out of its range is refused with one line."""
    require_admin(user)
    limit = next((x for x in WEB_LIMITS if x.key == key), None)
    if limit is None:
        raise SettingsError(f"no web limit {key!r} (limits: {', '.join(LIMIT_DEFAULTS)})")
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{limit.says} is a whole number, not {value!r}")
    if not limit.low <= value <= limit.high:
        raise SettingsError(
            f"{limit.says} is between {limit.low:,} and {limit.high:,}, not {value:,}"
        )
    repo.set_setting(key, value)
    return value
